"""The ARR bridge: every account's movement over a period, and their sums by group.

Per account over a period (opening = ARR on the day before the first day, closing = ARR on the
last day):
  opening = 0, closing > 0: new if the account never had ARR before the period, otherwise
    reactivation (when `metrics.reactivation_window_days` is set, only if its last day with ARR
    was within that many days before the period; a later return counts as new);
  opening > 0, closing = 0: churn (the opening amount);
  both > 0: expansion (closing - opening) or contraction (opening - closing).
closing = opening + new + reactivation + expansion - contraction - churn holds exactly for every
account, hence for every group and overall."""

from __future__ import annotations

from collections.abc import Sequence

from tenure.config import Config
from tenure.errors import InputError
from tenure.ingest.validate import RESERVED_ATTRIBUTES
from tenure.metrics.arr import LINE_DIMENSIONS, MONEY, arr_at, periods_table
from tenure.metrics.periods import Period
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis, ir

MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")
ACCOUNT_DIMENSIONS = ("segment", "region", "industry", "owner", "tier", "partner_id", "parent_account_id")


def dimensions(wh: Warehouse) -> list[str]:
    """Every dimension a metric can be grouped by: account columns, line columns, and the
    custom attributes present in account_attributes."""
    attrs = wh.execute(wh.table("account_attributes").select("name").distinct())["name"].tolist()
    taken = {*ACCOUNT_DIMENSIONS, *LINE_DIMENSIONS, *RESERVED_ATTRIBUTES}  # ingest refuses these names now
    return [*ACCOUNT_DIMENSIONS, *LINE_DIMENSIONS, *sorted(a for a in attrs if a not in taken)]


def _unit(by: Sequence[str]) -> list[str]:
    return ["account_id", *[d for d in by if d in LINE_DIMENSIONS]]


def movements(wh: Warehouse, config: Config, periods: Sequence[Period], by: Sequence[str] = ()) -> ir.Table:
    """One row per (period, unit) with opening, closing, each movement amount and `kind`; the
    unit is the account (or account x product/plan when grouping by those), plus the group
    columns in `by`."""
    unit = _unit(by)
    ptab = periods_table(periods)
    opening = arr_at(wh, config, ptab, "opening_day", unit).rename(opening="arr")
    closing = arr_at(wh, config, ptab, "last_day", unit).rename(closing="arr")
    keys = ["period", *unit]
    both = opening.select(keys).union(closing.select(keys), distinct=True)
    m = both.left_join(opening, keys).drop([f"{k}_right" for k in keys])
    m = m.left_join(closing, keys).drop([f"{k}_right" for k in keys])

    # had ARR before the period (and, for the reactivation window, its last day with ARR before it)
    lines = wh.table("contract_lines").filter(lambda t: t.arr > 0)
    window = config.metrics.reactivation_window_days
    if window is None:  # only "ever had ARR before": one row per unit, compared per period
        first = lines.group_by(unit).aggregate(first_start=lines.start_date.min())
        m = m.left_join(first, unit).drop([f"{k}_right" for k in unit])
    else:
        before = lines.join(ptab, lines.start_date < ptab.first_day)
        last_arr_day = ibis.least(before.end_date.fill_null(before.opening_day), before.opening_day)
        prior = before.group_by(["period", *unit]).aggregate(last_before=last_arr_day.max())
        m = m.left_join(prior, keys).drop([f"{k}_right" for k in keys])
    m = m.left_join(ptab, "period").drop("period_right")

    zero = ibis.literal(0, MONEY)
    o = m.opening.fill_null(zero)
    c = m.closing.fill_null(zero)
    if window is None:
        returning = m.first_start.notnull() & (m.first_start < m.first_day)
    else:
        returning = m.last_before.notnull() & (m.last_before >= (m.first_day - ibis.interval(days=window)))
    is_new = (o == 0) & (c > 0) & ~returning
    is_react = (o == 0) & (c > 0) & returning
    is_churn = (o > 0) & (c == 0)
    is_exp = (o > 0) & (c > o)
    is_con = (o > 0) & (c > 0) & (c < o)
    diff = (c - o).cast(MONEY)
    out = m.select(
        "period", "first_day", "last_day", *unit,
        opening=o.cast(MONEY),
        closing=c.cast(MONEY),
        new=ibis.ifelse(is_new, c, zero).cast(MONEY),
        reactivation=ibis.ifelse(is_react, c, zero).cast(MONEY),
        expansion=ibis.ifelse(is_exp, diff, zero).cast(MONEY),
        contraction=ibis.ifelse(is_con, (o - c).cast(MONEY), zero).cast(MONEY),
        churn=ibis.ifelse(is_churn, o, zero).cast(MONEY),
        kind=ibis.cases((is_new, "new"), (is_react, "reactivation"), (is_churn, "churn"), (is_exp, "expansion"),
                        (is_con, "contraction"), else_=ibis.ifelse(o > 0, "retained", "none")),
    )
    return attach_dimensions(wh, out, by)


def attach_dimensions(wh: Warehouse, t: ir.Table, by: Sequence[str]) -> ir.Table:
    """Join account columns and custom attributes named in `by` onto a table with account_id."""
    account_dims = [d for d in by if d in ACCOUNT_DIMENSIONS]
    custom = [d for d in by if d not in ACCOUNT_DIMENSIONS and d not in LINE_DIMENSIONS]
    if account_dims:
        acc = wh.table("accounts").select("account_id", *account_dims)
        t = t.left_join(acc, "account_id").drop("account_id_right")
    for name in custom:
        attrs = wh.table("account_attributes")
        a = attrs.filter(attrs.name == name).select(account_id=attrs.account_id, **{name: attrs.value})
        t = t.left_join(a, "account_id").drop("account_id_right")
    for d in by:
        t = t.mutate(**{d: t[d].fill_null("(none)")})
    return t


def check_dimensions(wh: Warehouse, by: Sequence[str]) -> None:
    known = dimensions(wh)
    bad = [d for d in by if d not in known]
    if bad:
        raise InputError(f"unknown dimension(s) {', '.join(bad)}; one of: {', '.join(known)}")


def bridge(wh: Warehouse, config: Config, periods: Sequence[Period], by: Sequence[str] = ()) -> ir.Table:
    """The ARR bridge per (period, *by): opening, each movement, closing, and logo counts."""
    m = movements(wh, config, periods, by)
    one, zero = ibis.literal(1), ibis.literal(0)
    agg = {
        "opening": m.opening.sum().cast(MONEY),
        **{k: m[k].sum().cast(MONEY) for k in MOVEMENTS},
        "closing": m.closing.sum().cast(MONEY),
        "opening_accounts": ibis.ifelse(m.opening > 0, one, zero).sum(),
        "closing_accounts": ibis.ifelse(m.closing > 0, one, zero).sum(),
        "new_accounts": ibis.ifelse(m.kind == "new", one, zero).sum(),
        "reactivated_accounts": ibis.ifelse(m.kind == "reactivation", one, zero).sum(),
        "churned_accounts": ibis.ifelse(m.kind == "churn", one, zero).sum(),
        "expanded_accounts": ibis.ifelse(m.kind == "expansion", one, zero).sum(),
        "contracted_accounts": ibis.ifelse(m.kind == "contraction", one, zero).sum(),
    }
    return m.group_by(["period", *by]).aggregate(**agg).order_by(["period", *by])
