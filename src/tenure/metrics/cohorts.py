"""Cohort tables: accounts grouped by the first month they end with ARR (the month-end ARR that
`arr_monthly` holds); logo and revenue retention at each month-end since (month 0 = the cohort's own
month-end, 100% by definition)."""

from __future__ import annotations

from datetime import date

from tenure.config import Config
from tenure.metrics.arr import MONEY, arr_at, periods_table
from tenure.metrics.periods import monthly, to_date
from tenure.warehouse import Warehouse
from tenure.warehouse.asof import latest_event_day
from tenure.warehouse.expr import ibis, ir


def cohort_table(wh: Warehouse, config: Config, last: date | None = None) -> ir.Table:
    """Rows: cohort (first-ARR month), months_since, accounts, active_accounts, arr, logo_retention
    and revenue_retention are derived in `cohorts()`."""
    lines = wh.table("contract_lines").filter(lambda t: t.arr > 0)
    bounds = wh.execute(lines.aggregate(first=lines.start_date.min(), last=lines.start_date.max()))
    if bounds["first"].isna().all():
        return None
    first = to_date(bounds["first"][0])
    last = to_date(last or latest_event_day(wh) or bounds["last"][0])  # through the one "as of"
    months = monthly(first, last)
    ptab = periods_table(months)
    me = arr_at(wh, config, ptab, "last_day").join(ptab, "period")
    # membership is the month-end ARR series itself (what arr_monthly holds): an account joins the
    # cohort of the first month it ends with ARR, so month 0 is 100% by definition and a line that
    # starts and ends inside one month makes no cohort member
    held = me.filter(me.arr > 0)
    first_arr = held.group_by("account_id").aggregate(cohort=held.last_day.min().truncate("M"))
    j = me.join(first_arr, "account_id")
    since = (j.last_day.year() * 12 + j.last_day.month()) - (j.cohort.year() * 12 + j.cohort.month())
    j = j.mutate(months_since=since)
    active = j.filter(j.arr > 0).group_by(["cohort", "months_since"]).aggregate(
        active_accounts=j.account_id.nunique(), arr=j.arr.sum().cast(MONEY))
    size = first_arr.group_by("cohort").aggregate(accounts=first_arr.account_id.count())
    return active.join(size, "cohort").order_by(["cohort", "months_since"])


def cohorts(wh: Warehouse, config: Config) -> list[dict]:
    t = cohort_table(wh, config)
    if t is None:
        return []
    rows = wh.execute(t).to_dict(orient="records")
    base = {r["cohort"]: r["arr"] for r in rows if r["months_since"] == 0}
    for r in rows:
        r["cohort"] = str(r["cohort"])[:7]
        r["logo_retention"] = round(r["active_accounts"] / r["accounts"], 6) if r["accounts"] else None
        b = base.get(next((k for k in base if str(k)[:7] == r["cohort"]), None))
        r["revenue_retention"] = round(float(r["arr"] / b), 6) if b else None
    return rows
