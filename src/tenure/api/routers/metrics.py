"""Metrics from the one registry: definitions, any metric by period and grouping, the ARR bridge,
cohorts and the drill-down to accounts. Results are cached per data version (cache.py).

Scope (tenure.access): metrics, the bridge and cohorts are company-wide figures every reader
sees; a breakdown by owner (or parent account) is limited to the caller's book; the accounts
behind a number (explain) are an account read, scoped to the book."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from tenure.http.auth import Access, Principal, allowed, require
from tenure.http.cache import cached
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.api.routers.common import default_period, dimensions_of, period_of, plain, plain_rows
from tenure.api.schemas import (
    COMMON_PROBLEMS, BridgeResult, CohortRow, ExplainResult, MetricInfo, MetricResult, problem_responses,
)
from tenure.metrics.registry import METRICS, get_metric

router = APIRouter(prefix="/metrics", tags=["metrics"], responses=COMMON_PROBLEMS)

PERIOD = Query(None, max_length=40, description="2026-09, 2026-Q3, 2026 or 2025-10..2026-09 "
                                                "(default: the trailing 12 months of the data)")
BY = Query(None, max_length=200, description="comma-separated dimensions, e.g. segment,region")
METRIC_NAME = Path(max_length=60, description="a registry metric name (GET /metrics lists them)")


@router.get("", response_model=list[MetricInfo], summary="The metric registry with formulas")
def registry(who: Principal = Depends(require("read"))):
    return [{"name": m.name, "description": m.description, "unit": m.unit, "formula": m.formula,
             "source": m.source, "direction": m.direction, "grain": m.grain, "dimensions": m.dimensions,
             "trailing_12": m.trailing_12} for m in METRICS]


@router.get("/bridge", response_model=BridgeResult, summary="The ARR bridge for a period")
def bridge(period: str | None = PERIOD, by: str | None = BY, acc: Access = Depends(allowed("read")),
           ctx: AppContext = Depends(get_context)):
    """Opening ARR, new, reactivation, expansion, contraction, churn and closing ARR with logo
    counts, per group."""
    from tenure.metrics.compute import bridge_rows

    p = period_of(period or default_period(ctx))
    fig = acc.figure("bridge", dimensions_of(by))
    rows = cached(ctx, ("bridge", p.label, fig.dims),
                  lambda: plain_rows(bridge_rows(ctx.warehouse(), ctx.config, p, list(fig.dims))))
    return {"period": p.label, "by": list(fig.dims), "rows": fig.keep(rows)}


@router.get("/cohorts", response_model=list[CohortRow], summary="Cohort retention by first-ARR month")
def cohorts(acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """Logo and revenue retention of each monthly cohort at each month-end since (a company-wide
    figure: every reader sees it)."""
    from tenure.metrics.cohorts import cohorts as cohort_rows

    acc.figure("cohorts")
    return cached(ctx, ("cohorts",), lambda: plain_rows(cohort_rows(ctx.warehouse(), ctx.config)))


@router.get("/{name}", response_model=MetricResult, responses=problem_responses(404))
def metric(name: str = METRIC_NAME, period: str | None = PERIOD, by: str | None = BY,
           acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """One registry metric for a period, per group, with numerator, denominator and target status."""
    from tenure.metrics.compute import compute

    m = get_metric(name)
    p = period_of(period or default_period(ctx))
    fig = acc.figure("metrics", dimensions_of(by))
    rows = cached(ctx, ("metric", m.name, p.label, fig.dims),
                  lambda: [{**plain_rows([r])[0], "group": {k: plain(v) for k, v in r["group"].items()}}
                           for r in compute(ctx.warehouse(), ctx.config, m, p, list(fig.dims))])
    return {"metric": m.name, "period": p.label, "by": list(fig.dims), "rows": fig.keep(rows)}


def _where(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition(":") if ":" in part else part.partition("=")
        if not sep or not key.strip():
            raise Problem(422, f"where: {part!r} is not dimension:value", kind="invalid-input")
        out[key.strip()] = value.strip()
    return out


@router.get("/{name}/explain", response_model=ExplainResult, responses=problem_responses(404))
def explain(name: str = METRIC_NAME, period: str | None = PERIOD,
            where: str | None = Query(None, max_length=300, description="filters: segment:enterprise,region:emea"),
            limit: int = Query(200, ge=1, le=5000, description="accounts returned (the sums cover all)"),
            acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """The accounts behind an ARR-bridge metric's number; their contributions sum to its numerator.
    A CSM or manager sees the accounts of its book of business (explained per owner)."""
    from tenure.metrics.bridge import check_dimensions
    from tenure.metrics.explain import explain as explain_metric

    get_metric(name)
    p = period_of(period or default_period(ctx))
    filters = _where(where)
    check_dimensions(ctx.warehouse(), list(filters))
    wheres = acc.accounts_behind(filters)

    def run(w: dict[str, str]) -> dict:
        r = explain_metric(ctx.warehouse(), ctx.config, name, p.label, w)
        return {**r, "numerator": plain(r["numerator"]), "denominator": plain(r["denominator"]),
                "accounts": plain_rows(r["accounts"])}

    parts = [cached(ctx, ("explain", name, p.label, tuple(sorted(w.items()))), lambda w=w: run(w)) for w in wheres]
    accounts = [a for part in parts for a in part["accounts"]]

    def total(key: str):
        values = [part[key] for part in parts]
        return None if any(v is None for v in values) else sum(values)

    return {"metric": name, "period": parts[0]["period"], "measured_over": parts[0]["measured_over"],
            "where": filters, "numerator": total("numerator"), "denominator": total("denominator"),
            "total_accounts": len(accounts), "accounts": accounts[:limit]}
