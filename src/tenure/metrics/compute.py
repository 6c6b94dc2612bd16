"""Compute any registry metric for a period and grouping; unit economics and time to value.

Amounts are computed in the engine (Ibis); only the handful of aggregate rows (one per group)
come back to Python, where numerator / denominator become the value."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from tenure.config import Config
from tenure.errors import InputError
from tenure.metrics.arr import MONEY, RATE, arr_at, fx_ranges, periods_table
from tenure.metrics.bridge import bridge, check_dimensions
from tenure.metrics.periods import Period, monthly, parse_period, trailing_12
from tenure.metrics.registry import Metric, get_metric
from tenure.metrics.targets import evaluate_target
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis

RATIO_PLACES = Decimal("0.000001")


def _records(df) -> list[dict[str, Any]]:
    return df.to_dict(orient="records")


def _agg(t, keys, **aggs):
    """Aggregate by keys, or over the whole table when there are none."""
    return t.group_by(keys).aggregate(**aggs) if keys else t.aggregate(**aggs)


def _ratio(num, den) -> Decimal | None:
    if num is None or den is None or Decimal(den) == 0:
        return None
    return (Decimal(num) / Decimal(den)).quantize(RATIO_PLACES)


def bridge_rows(wh: Warehouse, config: Config, period: Period, by: Sequence[str] = ()) -> list[dict[str, Any]]:
    return _records(wh.execute(bridge(wh, config, [period], by)))


def _converted(wh: Warehouse, name: str, period: Period, by: Sequence[str], reporting: str):
    """spend or costs in the period, in the reporting currency, by segment (or in total)."""
    t = wh.table(name)
    t = t.filter((t.period >= period.first_day) & (t.period <= period.last_day))
    fx = fx_ranges(wh)
    j = t.left_join(fx, (t.currency == fx.fx_currency) & (fx.fx_from <= t.period)
                    & (fx.fx_to.isnull() | (fx.fx_to >= t.period)))
    rate = ibis.ifelse(j.rate.isnull() & (j.currency == reporting), ibis.literal(1, RATE), j.rate)
    j = j.mutate(value=(j.amount.cast(MONEY) * rate).round(2).cast(MONEY))
    keys = [d for d in by if d == "segment"]
    return {tuple(r[k] for k in keys): r["value"]
            for r in _records(wh.execute(_agg(j, keys, value=j.value.sum().cast(MONEY))))}


def economics_rows(wh: Warehouse, config: Config, period: Period, by: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Unit economics per group (segment or total) for the period."""
    bad = [d for d in by if d != "segment"]
    if bad:
        raise InputError(f"unit economics group only by segment (spend and costs are per segment), not {bad}")
    keys = list(by)
    rows = bridge_rows(wh, config, period, by)
    spend = _converted(wh, "spend", period, by, config.reporting_currency)
    cost = _converted(wh, "costs", period, by, config.reporting_currency)
    months = monthly(period.first_day, period.last_day)
    me = arr_at(wh, config, periods_table(months), "last_day")
    if keys:
        acc = wh.table("accounts").select("account_id", *keys)
        me = me.left_join(acc, "account_id").drop("account_id_right")
        me = me.mutate(**{k: me[k].fill_null("(none)") for k in keys})
    rev = {tuple(r[k] for k in keys): r["arr"] for r in _records(wh.execute(
        _agg(me, keys, arr=me.arr.sum().cast(MONEY))))}
    out = []
    for r in rows:
        g = tuple(r[k] for k in keys)
        revenue = (Decimal(rev[g]) / 12).quantize(Decimal("0.01")) if rev.get(g) is not None else None
        sp, co = spend.get(g), cost.get(g) or Decimal(0)
        arpa = _ratio(r["closing"], r["closing_accounts"])
        gm = _ratio(revenue - Decimal(co), revenue) if revenue else None
        annual_churn = (_ratio(r["churned_accounts"], r["opening_accounts"]) or Decimal(0)) * 12 / period.months \
            if r["opening_accounts"] else None
        if annual_churn:
            lifetime = (1 / annual_churn).quantize(RATIO_PLACES)
        elif annual_churn is not None and config.metrics.ltv_zero_churn == "cap":
            lifetime = Decimal(str(config.metrics.max_lifetime_years))
        else:
            lifetime = None
        cac = _ratio(sp, r["new_accounts"]) if sp is not None else None
        clv = (arpa * gm * lifetime).quantize(Decimal("0.01")) if None not in (arpa, gm, lifetime) else None
        payback = _ratio(cac, arpa * gm / 12) if None not in (cac, arpa, gm) and arpa * gm else None
        out.append({**r, "spend": sp, "cost": co, "revenue": revenue, "arpa": arpa, "gross_margin": gm,
                    "annual_logo_churn": annual_churn, "lifetime_years": lifetime, "cac": cac, "clv": clv,
                    "payback_months": payback,
                    "avg_accounts": Decimal(r["opening_accounts"] + r["closing_accounts"]) / 2})
    return out


def ttv_rows(wh: Warehouse, config: Config, period: Period, by: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Days from account creation to the first-value milestone, for accounts created in the
    period: median, quartiles, how many reached it, by group."""
    keys = [d for d in by if d == "segment"]
    acc = wh.table("accounts")
    acc = acc.filter((acc.created_at >= period.first_day) & (acc.created_at < period.last_day + timedelta(days=1)))
    ms = wh.table("milestones")
    ms = ms.filter((ms.milestone == config.metrics.first_value_milestone) & ms.completed_at.notnull())
    j = acc.left_join(ms, "account_id")
    created = j.created_at.cast("date")
    j = j.mutate(days=ibis.ifelse(j.completed_at.notnull(), j.completed_at.delta(created, unit="day"), ibis.null("int64")))
    if keys:
        j = j.mutate(segment=j.segment.fill_null("(none)"))
    agg = _agg(j, keys,
        accounts=j.account_id.count(), reached=j.days.count(), median_days=j.days.median(),
        p25_days=j.days.quantile(0.25), p75_days=j.days.quantile(0.75))
    return [{"period": period.label, **r} for r in _records(wh.execute(agg))]


def metric_value(m: Metric, source_row: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(value, numerator, denominator) of a metric on one source row (bridge, economics or
    time-to-value row): the one place a registry metric's value is formed."""
    num = m.numerator(source_row)
    den = m.denominator(source_row) if m.denominator else None
    return (_ratio(num, den) if m.denominator else num), num, den


def metric_rows(config: Config, m: Metric, period: Period, measured_over: Period, source_rows: list[dict[str, Any]],
                by: Sequence[str]) -> list[dict[str, Any]]:
    """compute()'s result rows from source rows already fetched (pages that show several
    bridge-sourced metrics fetch the bridge once and call this per metric)."""
    out = []
    for r in source_rows:
        value, num, den = metric_value(m, r)
        row = {"metric": m.name, "period": period.label, "measured_over": measured_over.label,
               "group": {k: r[k] for k in by}, "value": value, "numerator": num, "denominator": den, "unit": m.unit}
        row.update(evaluate_target(config, m, row["group"], value, measured_over.months))
        out.append(row)
    return out


def compute(wh: Warehouse, config: Config, metric: str | Metric, period: str | Period,
            by: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Rows of {period, group values, value, numerator, denominator, target, status}."""
    m = metric if isinstance(metric, Metric) else get_metric(metric)
    p = period if isinstance(period, Period) else parse_period(period)
    by = list(by)
    check_dimensions(wh, by)
    q = trailing_12(p) if m.trailing_12 else p
    if m.source == "bridge":
        rows = bridge_rows(wh, config, q, by)
    elif m.source == "economics":
        rows = economics_rows(wh, config, q, by)
    elif m.source == "survey":
        return survey_metric_rows(wh, config, m, p, by)
    else:
        rows = ttv_rows(wh, config, q, by)
    out = metric_rows(config, m, p, q, rows, by)
    if not out:
        out.append({"metric": m.name, "period": p.label, "measured_over": q.label, "group": {}, "value": None,
                    "numerator": None, "denominator": None, "unit": m.unit, "target": None, "status": None})
    return out


def survey_metric_rows(wh: Warehouse, config: Config, m: Metric, p: Period, by: Sequence[str],
                       settings=None) -> list[dict[str, Any]]:
    """compute()'s rows for a survey score: the value with n, its 95% interval, the window and
    the weighting (metrics/surveys.py); a period with no answers is one row with n = 0."""
    from tenure.metrics.surveys import response_rate_rows, survey_rows, window

    s = settings or config.metrics.surveys
    rows = response_rate_rows(wh, config, p, by, s) if m.name == "survey_response_rate" else \
        survey_rows(wh, config, m.name, p, by, s)
    out = [{"metric": m.name, "period": p.label, "measured_over": r["window"], "unit": m.unit, **r,
            **evaluate_target(config, m, r["group"], r["value"], p.months)} for r in rows]
    if not out:
        w = window(p, s)
        out.append({"metric": m.name, "period": p.label, "measured_over": w.label, "unit": m.unit, "group": {},
                    "window": w.label, "window_first_day": w.first_day, "window_last_day": w.last_day,
                    "weighting": "invitation" if m.name == "survey_response_rate" else s.weighting,
                    "n": 0, "responses": 0, "value": None, "numerator": None,
                    "denominator": 0, "se": None, "ci_low": None, "ci_high": None, "ci_method": None,
                    "target": None, "status": None})
    return out


def compare(wh: Warehouse, config: Config, metric: str | Metric, period: str | Period, previous: str | Period,
            by: Sequence[str] = ()) -> list[dict[str, Any]]:
    """compute() for `period`, each row with the same group's value in `previous`, the change,
    and (when both values carry a standard error) its z statistic, two-sided p-value and whether
    it is significant at 5%."""
    from tenure.metrics.surveys import change

    prev = {tuple(sorted(r["group"].items())): r for r in compute(wh, config, metric, previous, by)}
    rows = compute(wh, config, metric, period, by)
    for r in rows:
        old = prev.get(tuple(sorted(r["group"].items())), {})
        if "se" not in r:  # not a survey score: the change without a test
            r.update({"previous": old.get("value"), "change": None if None in (r["value"], old.get("value"))
                      else Decimal(r["value"]) - Decimal(old["value"]), "z": None, "p_value": None,
                      "significant": None})
        else:
            r.update(change(r, old))
    return rows


def series(wh: Warehouse, config: Config, metric: str, first: str, last: str, by: Sequence[str] = ()):
    """A monthly series of a metric from month `first` to month `last`."""
    months = monthly(parse_period(first).first_day, parse_period(last).last_day)
    return [row for p in months for row in compute(wh, config, metric, p, by)]
