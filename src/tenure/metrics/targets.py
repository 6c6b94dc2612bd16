"""Metric targets from tenure.yaml (metrics.targets) and whether a value is on track."""

from __future__ import annotations

import operator
from decimal import Decimal
from typing import Any

from tenure.config import Config

OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


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


def evaluate_target(config: Config, metric, group: dict[str, Any], value) -> dict[str, Any]:
    t = find_target(config, metric.name, group)
    if t is None:
        return {"target": None, "status": None}
    if value is None:
        return {"target": f"{t.op} {t.value:g}", "status": "unknown"}
    ok = OPS[t.op](Decimal(value), Decimal(str(t.value)))
    return {"target": f"{t.op} {t.value:g}", "status": "on track" if ok else "off track"}
