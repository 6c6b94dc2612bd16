"""Churn risk: stored predictions with their drivers (scoped), and honest time-based backtests."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Depends

from tenure.http.auth import Access, allowed
from tenure.http.cache import cached
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.api.routers.accounts import AccountQuery, list_page
from tenure.api.routers.common import deep_plain, paginated
from tenure.api.schemas import COMMON_PROBLEMS, BacktestIn, BacktestReport, Paginated, RiskPrediction

router = APIRouter(prefix="/risk", tags=["risk"], responses=COMMON_PROBLEMS)

RISK_SORTS = Literal["risk", "arr_at_risk", "arr", "renewal_date", "days_to_renewal", "account_id"]
MIN_TRAINING_DAYS = 180  # a backtest needs this much history before its cutoff


@router.get("/predictions", response_model=Paginated[RiskPrediction],
            summary="Churn-risk predictions in the book of business")
def predictions(p: AccountQuery = Depends(), sort: RISK_SORTS = "risk", order: Literal["asc", "desc"] = "desc",
                acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """The stored churn probability of each scored account (as of the last refresh) with its top
    drivers, riskiest first; ARR at risk = ARR x risk."""
    page = list_page(ctx, acc, p, sort, order == "desc", min_risk=p.min_risk if p.min_risk is not None else 0.0)
    items = [{**r, "drivers": r.get("risk_drivers") or []} for r in page.rows]  # arr_at_risk: the read model's
    return paginated(items, page.total, page.page, page.page_size)


@router.post("/backtest", response_model=BacktestReport, summary="Backtest the churn-risk model at a cutoff")
def backtest(body: BacktestIn, acc: Access = Depends(allowed("write")), ctx: AppContext = Depends(get_context)):
    """Train on what was known before `cutoff`, judge on churn in the `horizon` days after it:
    AUC, Brier score and calibration for the logistic and the boosted model. Takes seconds;
    the same question is answered from a cache until the data changes."""
    from tenure.metrics.periods import to_date
    from tenure.predict.risk import backtest as run_backtest

    acc.figure("risk_backtest")
    wh = ctx.warehouse()

    def bounds():  # history starts with the first contract line; data ends on the one "as of"
        from tenure.warehouse.asof import latest_event_day

        lines = wh.table("contract_lines")
        first = wh.execute(lines.start_date.min())
        last = latest_event_day(wh)
        return (None, None) if first is None or first != first or last is None else (to_date(first), last)

    first, last = cached(ctx, ("data_bounds",), bounds)
    if first is None:
        raise Problem(422, "the warehouse holds no contract lines yet; ingest data first", kind="no-data")
    if body.cutoff < first + timedelta(days=MIN_TRAINING_DAYS):
        raise Problem(422, f"cutoff {body.cutoff} leaves less than {MIN_TRAINING_DAYS} days of history to train on "
                           f"(data starts {first})", kind="invalid-input")
    if body.cutoff + timedelta(days=body.horizon) > last:
        raise Problem(422, f"the outcome of {body.cutoff} + {body.horizon} days is not known yet (data ends {last})",
                      kind="invalid-input")
    try:
        return cached(ctx, ("risk_backtest", body.cutoff.isoformat(), body.horizon),
                      lambda: deep_plain(run_backtest(wh, ctx.config, body.cutoff, body.horizon)))
    except ValueError as err:  # e.g. a training set with a single class
        raise Problem(422, f"cannot backtest at {body.cutoff}: {err}", kind="invalid-input") from None
