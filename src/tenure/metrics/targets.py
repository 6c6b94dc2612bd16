"""Metric targets from tenure.yaml (metrics.targets) and whether a value is on track.

Every target declares its grain (month, quarter or year). A value measured over a period of the
same length is compared with the target as written. A value measured over another length is
compared only when the metric is a compounding rate (GRR, NRR, churn and expansion rates): the
target is restated for the value's period length and labelled as such, e.g. a 90% annual GRR
target is a 97.4% quarterly one (0.90 ** (3/12)). Money and counts are never compared across
grains: the row says which grain its target is for instead.
"""

from __future__ import annotations

import operator
from decimal import Decimal
from typing import Any

from tenure.config import Config
from tenure.metrics.registry import Metric

OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}
GRAIN_MONTHS = {"month": 1, "quarter": 3, "year": 12}
ADJECTIVE = {1: "monthly", 3: "quarterly", 12: "annual"}


def find_target(config: Config, metric: str, group: dict[str, Any]):
    """The most specific target for this metric whose `where` matches the group (a target with
    no `where` applies to every group)."""
    best = None
    for t in config.metrics.targets:
        if t.metric != metric:
            continue
        if all(str(group.get(k)) == str(v) for k, v in t.where.items()):
            if best is None or len(t.where) > len(best.where):
                best = t
    return best


def restate(metric: Metric, value: float, from_months: int, to_months: int) -> float | None:
    """A rate set for `from_months` restated for `to_months`, by how the metric compounds;
    None when the metric does not compound (money, counts)."""
    if from_months == to_months:
        return value
    k = to_months / from_months
    if metric.compounding == "retained":
        return value ** k if value > 0 else value
    if metric.compounding == "lost":
        return 1 - (1 - value) ** k if value < 1 else value
    if metric.compounding == "gained":
        return (1 + value) ** k - 1 if value > -1 else value
    return None


def format_target(metric: Metric, op: str, value: float) -> str:
    """'≥ 90.0%' for ratios (targets are read as percentages), '≥ 1,200' otherwise."""
    shown = f"{value * 100:.1f}%" if metric.unit == "ratio" else f"{value:,.4g}"
    return f"{SYMBOLS[op]} {shown}"


def target_at(config: Config, metric: Metric, group: dict[str, Any], months: int) -> dict[str, Any] | None:
    """The target that applies to a value measured over `months` months: {value, op, label,
    grain, restated}; None when there is none, or when it cannot be restated to that length."""
    t = find_target(config, metric.name, group)
    if t is None:
        return None
    grain_months = GRAIN_MONTHS[t.grain]
    value = restate(metric, t.value, grain_months, months)
    if value is None:
        return {"value": None, "op": t.op, "grain": t.grain, "restated": False,
                "label": f"{format_target(metric, t.op, t.value)} per {t.grain} (not comparable with "
                         f"{months} month{'s' if months != 1 else ''})"}
    restated = grain_months != months
    label = format_target(metric, t.op, value)
    if restated:
        label += f" ({ADJECTIVE.get(months, f'{months}-month')} equivalent of {format_target(metric, t.op, t.value)} " \
                 f"{ADJECTIVE[grain_months]})"
    return {"value": value, "op": t.op, "grain": t.grain, "restated": restated, "label": label}


def evaluate_target(config: Config, metric: Metric, group: dict[str, Any], value, months: int = 12) -> dict[str, Any]:
    """{target, status} for a value measured over `months` months: status is "on track",
    "off track", "unknown" (no value) or None (no comparable target)."""
    t = target_at(config, metric, group, months)
    if t is None:
        return {"target": None, "status": None}
    if t["value"] is None:
        return {"target": t["label"], "status": None}
    if value is None:
        return {"target": t["label"], "status": "unknown"}
    ok = OPS[t["op"]](Decimal(value), Decimal(str(t["value"])))
    return {"target": t["label"], "status": "on track" if ok else "off track"}
