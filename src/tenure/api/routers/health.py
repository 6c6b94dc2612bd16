"""Health: scores (scoped), one account's explanation and history, the scorecard's validation
against real churn, and early-warning signals."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query

from tenure.http.auth import Access, allowed, open_account
from tenure.http.cache import cached
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.api.routers.accounts import AccountQuery, list_page
from tenure.api.routers.common import deep_plain, paginated, plain_rows
from tenure.api.schemas import COMMON_PROBLEMS, HealthExplanation, HealthScoreRow, Paginated, Signal, \
    problem_responses

router = APIRouter(prefix="/health", tags=["health"], responses=COMMON_PROBLEMS)

HEALTH_SORTS = Literal["score", "score_change_30", "arr", "account_id", "name", "band"]


@router.get("/scores", response_model=Paginated[HealthScoreRow], summary="Health scores in the book of business")
def scores(p: AccountQuery = Depends(), sort: HEALTH_SORTS = "score", order: Literal["asc", "desc"] = "asc",
           acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """Each account's health score and band on the last refresh (lowest first by default), with
    the change over 30 days."""
    page = list_page(ctx, acc, p, sort, order == "desc")
    return paginated(page.rows, page.total, page.page, page.page_size)


@router.get("/scores/{account_id}", response_model=HealthExplanation, responses=problem_responses(404))
def explanation(account_id: str = Path(min_length=1, max_length=100), acc: Access = Depends(allowed("read")),
                ctx: AppContext = Depends(get_context)):
    """Why the account scores what it does: each component's value, points, weight and
    contribution (they sum to the score), and the score history."""
    from tenure.portfolio.account360 import health_history

    open_account(acc, ctx, account_id)
    history = health_history(ctx.warehouse(), account_id)
    if not history:
        raise Problem(404, f"no health score stored for {account_id!r} yet; run `tenure refresh`", kind="no-data")
    latest = history[-1]
    return {"account_id": account_id, "as_of": latest["as_of"], "score": latest["score"], "band": latest["band"],
            "components": latest["components"],
            "history": [{"as_of": h["as_of"], "score": h["score"], "band": h["band"]} for h in history]}


@router.get("/validation", summary="How well the scorecard predicts churn")
def validation(horizon: int = Query(180, ge=30, le=730, description="days after each scoring day to watch for churn"),
               acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)) -> dict:
    """AUC of the score and of each component against churn within `horizon` days, churn and
    renewal rates per band, and proposed weights fitted out of time (cached per data version)."""
    from tenure.health.validate import validate

    acc.figure("health_validation")

    def run():
        return deep_plain(validate(ctx.warehouse(), ctx.config, horizon=horizon))

    try:
        return cached(ctx, ("health_validation", horizon), run)
    except ValueError as err:  # too little history for this horizon
        raise Problem(422, f"cannot validate with a {horizon}-day horizon: {err}", kind="invalid-input") from None


@router.get("/signals", response_model=Paginated[Signal], summary="Early-warning signals in the book of business")
def signals(days: int = Query(30, ge=1, le=365, description="signals dated within this many days of the refresh"),
            severity: Literal["high", "medium", "low"] | None = None,
            page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500),
            acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """Sponsor left, overdue invoice, detractor, usage decline, support spike, renewal without an
    opportunity: biggest ARR at stake first, newest first on equal ARR; `total` counts them all."""
    from tenure.portfolio.cockpit import signals as book_signals

    found = book_signals(ctx.warehouse(), acc.owners, days=days, severity=severity, page=page, page_size=page_size)
    return paginated(plain_rows(found.rows), found.total, found.page, found.page_size)
