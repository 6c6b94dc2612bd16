"""Drill-down: the accounts (and contract lines) behind a metric's number, summing exactly to it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tenure.config import Config
from tenure.errors import InputError
from tenure.metrics.arr import MONEY, RATE, fx_ranges, periods_table
from tenure.metrics.bridge import movements
from tenure.metrics.periods import parse_period, trailing_12
from tenure.metrics.registry import get_metric
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis

# which movement amounts each bridge metric's numerator is made of (sign, column)
PARTS = {
    "arr": [(1, "closing")], "opening_arr": [(1, "opening")], "new_arr": [(1, "new")],
    "reactivation_arr": [(1, "reactivation")], "expansion_arr": [(1, "expansion")],
    "contraction_arr": [(1, "contraction")], "churned_arr": [(1, "churn")],
    "net_new_arr": [(1, "closing"), (-1, "opening")],
    "grr": [(1, "opening"), (-1, "contraction"), (-1, "churn")],
    "nrr": [(1, "opening"), (1, "expansion"), (-1, "contraction"), (-1, "churn")],
    "revenue_churn_rate": [(1, "churn")], "expansion_rate": [(1, "expansion")],
    "contraction_rate": [(1, "contraction")], "arpa": [(1, "closing")],
}
PARTS["grr_t12m"], PARTS["nrr_t12m"] = PARTS["grr"], PARTS["nrr"]
DENOMINATOR = {"grr": "opening", "nrr": "opening", "grr_t12m": "opening", "nrr_t12m": "opening",
               "revenue_churn_rate": "opening", "expansion_rate": "opening", "contraction_rate": "opening"}


def explain(wh: Warehouse, config: Config, metric: str, period: str, where: dict[str, str] | None = None,
            with_lines: bool = False) -> dict[str, Any]:
    """Accounts with their opening, closing, movement and contribution; the contributions sum to
    the metric's numerator (and the openings to its denominator, for rates)."""
    m = get_metric(metric)
    if m.source != "bridge":
        raise InputError(f"explain works on ARR-bridge metrics; {metric} comes from {m.source}")
    p = parse_period(period)
    q = trailing_12(p) if m.trailing_12 else p
    where = where or {}
    mv = movements(wh, config, [q], list(where))
    for k, v in where.items():
        mv = mv.filter(mv[k] == v)
    if metric in PARTS:
        contribution = sum((mv[c] * s for s, c in PARTS[metric][1:]), mv[PARTS[metric][0][1]] * PARTS[metric][0][0])
        mv = mv.mutate(contribution=contribution.cast(MONEY))
        relevant = (mv.contribution != 0)
        if metric in DENOMINATOR:
            relevant = relevant | (mv.opening > 0)
            mv = mv.filter(mv.opening > 0)
        mv = mv.filter(relevant)
    else:  # counts: logo churn, customers, new/churned customers
        flag = {"logo_churn_rate": mv.kind == "churn", "churned_customers": mv.kind == "churn",
                "new_customers": mv.kind == "new", "customers": mv.closing > 0}[metric]
        mv = mv.mutate(contribution=ibis.ifelse(flag, 1, 0))
        mv = mv.filter(mv.opening > 0) if metric == "logo_churn_rate" else mv.filter(flag)
    rows = wh.execute(mv.order_by([ibis.desc(mv.contribution.abs()), "account_id"])).to_dict(orient="records")
    total = sum((Decimal(r["contribution"]) for r in rows), Decimal(0))
    denominator = (sum((Decimal(r["opening"]) for r in rows), Decimal(0)) if metric in DENOMINATOR else
                   len(rows) if metric == "logo_churn_rate" else None)
    result = {"metric": metric, "period": p.label, "measured_over": q.label, "where": where,
              "numerator": total, "denominator": denominator, "accounts": rows}
    if with_lines and rows:
        result["lines"] = _lines(wh, config, q, [r["account_id"] for r in rows])
    return result


def _lines(wh: Warehouse, config: Config, period, account_ids: Sequence[str]) -> list[dict]:
    """Contract lines of these accounts active on the opening or closing day, in reporting currency."""
    lines = wh.table("contract_lines").filter(lambda t: t.account_id.isin(list(account_ids)))
    ptab = periods_table([period])
    fx = fx_ranges(wh)
    out = []
    for day in ("opening_day", "last_day"):
        j = lines.join(ptab, (lines.start_date <= ptab[day]) & (lines.end_date.isnull() | (lines.end_date >= ptab[day])))
        j = j.left_join(fx, (j.currency == fx.fx_currency) & (fx.fx_from <= j[day])
                        & (fx.fx_to.isnull() | (fx.fx_to >= j[day])))
        rate = ibis.ifelse(j.rate.isnull() & (j.currency == config.reporting_currency), ibis.literal(1, RATE), j.rate)
        sel = j.select("account_id", "line_id", "product", "start_date", "end_date", "arr", "currency",
                       on=ibis.literal("opening" if day == "opening_day" else "closing"),
                       arr_reporting=(j.arr.cast(MONEY) * rate).round(2).cast(MONEY))
        out.extend(wh.execute(sel.order_by(["account_id", "line_id"])).to_dict(orient="records"))
    return out
