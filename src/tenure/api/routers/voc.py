"""The voice of the customer, read: survey scores with their intervals (now and by month), themes,
feature requests and churn reasons ranked by ARR, loop closure, one account's responses with
their loop status, and the survey programs with their live counts (administrators). The same read
model as the VoC page (tenure.portfolio.voc), so page, API and `tenure metrics compute` agree.

Scope (tenure.access): scores are the registry's metrics, a company-wide figure every reader sees
(a segment is not a book dimension). Rankings' ARR totals and loop closure by team are aggregates
naming no account; their example quotes and the per-CSM closure rows are kept to the caller's
book. One account's responses are an account read (404 / the policy's 403). Programs: admin only.
Warehouse results are cached per data version; the loop and the programs' counts read the state
DB live."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from tenure.api.routers.common import default_period, period_of, plain
from tenure.api.schemas import COMMON_PROBLEMS, problem_responses
from tenure.http.auth import Access, allowed, open_account
from tenure.http.cache import cached
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem

router = APIRouter(prefix="/voc", tags=["voice of the customer"], responses=COMMON_PROBLEMS)

PERIOD = Query(None, max_length=40, description="2026-09, 2026-Q3, 2026 or 2025-10..2026-09 "
                                                "(default: the trailing 12 months of the data)")
SEGMENT = Query(None, max_length=100, description="one account segment (default: every account)")
LIMIT = Query(20, ge=1, le=200, description="rows returned, biggest ARR first")


class ScoreRow(BaseModel):
    metric: str = Field(description="nps, csat, ces or survey_response_rate")
    period: str
    previous_period: str | None = Field(None, description="the period the change is measured against")
    group: dict[str, Any] = Field(default_factory=dict, description="{segment: ...} when one segment was asked")
    value: float | None = Field(description="NPS in points (-100..100), CSAT and the response rate as shares, "
                                            "CES as the mean score; null with no answers")
    n: int = Field(description="respondents counted (accounts under account/ARR weighting; invitations for the "
                               "response rate)")
    responses: int | None = None
    se: float | None = None
    ci_low: float | None = Field(None, description="95% interval, low end")
    ci_high: float | None = Field(None, description="95% interval, high end")
    ci_method: str | None = None
    window: str = Field(description="the days whose answers count (the aggregation window)")
    weighting: str = Field(description="response, contact, account or arr (invitation for the response rate)")
    previous: float | None = None
    previous_n: int | None = None
    change: float | None = None
    z: float | None = None
    p_value: float | None = Field(None, description="two-sided z-test of the change")
    significant: bool | None = Field(None, description="p < 0.05")


class ScoresResult(BaseModel):
    period: str
    previous_period: str
    segment: str | None
    rows: list[ScoreRow]


class TrendResult(BaseModel):
    metric: str
    segment: str | None
    months: list[ScoreRow] = Field(description="one row per month, each against the month before")


class Ranked(BaseModel):
    kind: str = Field(description="themes, feature_requests or churn_reasons")
    missing: str | None = Field(None, description="set when nothing is ranked yet; `how` says what to run")
    how: str | None = None
    computed_at: str | None = Field(None, description="when the worker's voc-rankings job ranked them (UTC)")
    as_of: str | None = Field(None, description="the day of the data they were ranked on")
    rows: list[dict[str, Any]] = Field(default_factory=list, description="biggest ARR first: key, label, detail, "
                                       "n (texts), accounts, arr, arr_at_risk, churned_arr (churn reasons), quotes "
                                       "[{text, account_id, account_name, at}] (only accounts of the caller's book)")


class LoopResult(BaseModel):
    missing: str | None = None
    how: str | None = None
    period: dict[str, Any] | None = None
    kinds: list[str] = Field(default_factory=list)
    thresholds: dict[str, int] = Field(default_factory=dict, description="the highest score needing a loop")
    overall: dict[str, Any] | None = Field(None, description="responses, open, closed, overdue, none, closure_rate "
                                           "(closure_low/high: Wilson 95%), median_hours, p90_hours")
    by_team: list[dict[str, Any]] = Field(default_factory=list)
    by_csm: list[dict[str, Any]] = Field(default_factory=list, description="the CSMs of the caller's book")


class AccountResponse(BaseModel):
    response_id: str
    kind: str
    score: int | None = None
    comment: str | None = None
    responded_at: datetime | None = None
    touchpoint: str | None = None
    survey_id: str | None = None
    contact_id: str | None = None
    loop: str = Field(description="closed, open, overdue, none (no task), or 'not needed' (no follow-up due)")
    task_id: int | None = None
    task_state: str | None = None
    owner: str | None = None
    closed_at: datetime | None = None
    sla_due_at: datetime | None = None
    hours_to_close: float | None = None


class ProgramRow(BaseModel):
    name: str
    title: str
    kind: str
    status: str
    trigger: str | None = None
    channels: list[str] = Field(default_factory=list)
    invited: int
    answered: int
    response_rate: float | None = None
    reminded: int | None = None
    expired: int | None = None
    commented: int | None = None
    unsynced: int | None = None
    score: dict[str, Any] | None = Field(None, description="value, n, ci_low, ci_high, ci_method, window, weighting "
                                                           "(null before the first answer reaches the warehouse)")


def _period(ctx: AppContext, text: str | None):
    return period_of(text or default_period(ctx))


def _segment(ctx: AppContext, segment: str | None) -> str | None:
    from tenure.portfolio.voc import segments

    segment = (segment or "").strip() or None
    if segment is None:
        return None
    known = cached(ctx, ("voc", "segments"), lambda: segments(ctx.warehouse()))
    if segment not in known:
        raise Problem(422, f"segment {segment!r} is not an account segment (one of: {', '.join(known)})",
                      kind="invalid-input")
    return segment


def _plain(row: dict) -> dict:
    return {k: ({g: plain(v) for g, v in row[k].items()} if k == "group" else plain(v)) for k, v in row.items()}


def score_rows(ctx: AppContext, period, segment: str | None) -> list[dict]:
    """The page's and the API's score rows (one cached computation per data version)."""
    from tenure.portfolio.voc import scores

    return cached(ctx, ("voc", "scores", period.label, segment),
                  lambda: [_plain(r) for r in scores(ctx.warehouse(), ctx.config, period, segment)])


@router.get("/scores", response_model=ScoresResult, summary="NPS, CSAT, CES and response rate with intervals")
def scores(period: str | None = PERIOD, segment: str | None = SEGMENT, acc: Access = Depends(allowed("read")),
           ctx: AppContext = Depends(get_context)):
    """Each survey score for the period (one segment, or every account) with n, its 95% interval,
    the aggregation window and the weighting, and the change against the period before with its
    two-sided p-value: the rows of `tenure metrics compute nps --period P --vs Q`."""
    from tenure.portfolio.voc import previous_period

    p = _period(ctx, period)
    seg = _segment(ctx, segment)
    acc.figure("metrics", ("segment",) if seg else ())
    return {"period": p.label, "previous_period": previous_period(p).label, "segment": seg,
            "rows": score_rows(ctx, p, seg)}


@router.get("/trend", response_model=TrendResult, summary="A survey score per month with intervals")
def trend(metric: str = Query("nps", pattern="^(nps|csat|ces|survey_response_rate)$"),
          segment: str | None = SEGMENT, months: int = Query(12, ge=2, le=36),
          acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """The score per month for the `months` months ending with the month of the latest data."""
    from tenure.portfolio.voc import latest_month, trend as trend_rows

    seg = _segment(ctx, segment)
    acc.figure("metrics", ("segment",) if seg else ())
    last = cached(ctx, ("voc", "latest_month"), lambda: latest_month(ctx.warehouse()))
    if last is None:
        raise Problem(404, "the warehouse holds no events yet; ingest data first", kind="no-data")
    rows = cached(ctx, ("voc", "trend", metric, last.isoformat(), months, seg),
                  lambda: [_plain(r) for r in trend_rows(ctx.warehouse(), ctx.config, metric, last, months, seg)])
    return {"metric": metric, "segment": seg, "months": rows}


def ranked_view(ctx: AppContext, acc: Access, kind: str, limit: int) -> dict:
    from tenure.portfolio.voc import Missing, ranked

    out = ranked(ctx.warehouse(), ctx.config, kind, owners=acc.owners, limit=limit)
    if isinstance(out, Missing):
        return {"kind": kind, **out.as_dict(), "rows": []}
    return {"kind": kind, "computed_at": out["computed_at"], "as_of": out["as_of"], "rows": out["rows"]}


@router.get("/themes", response_model=Ranked, summary="Themes ranked by the ARR behind them")
def themes(limit: int = LIMIT, acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    return ranked_view(ctx, acc, "themes", limit)


@router.get("/feature-requests", response_model=Ranked, summary="Feature requests ranked by ARR")
def feature_requests(limit: int = LIMIT, acc: Access = Depends(allowed("read")),
                     ctx: AppContext = Depends(get_context)):
    return ranked_view(ctx, acc, "feature_requests", limit)


@router.get("/churn-reasons", response_model=Ranked, summary="Churn reasons ranked by ARR")
def churn_reasons(limit: int = LIMIT, acc: Access = Depends(allowed("read")),
                  ctx: AppContext = Depends(get_context)):
    return ranked_view(ctx, acc, "churn_reasons", limit)


def loop_view(ctx: AppContext, acc: Access, period) -> dict:
    from tenure.portfolio.voc import Missing, loop_closure

    with ctx.db() as session:
        out = loop_closure(session, ctx.warehouse(), ctx.config, period, owners=acc.owners)
    if isinstance(out, Missing):
        return out.as_dict()
    return {k: ([_plain(r) for r in v] if isinstance(v, list) and v and isinstance(v[0], dict)
                else _plain(v) if isinstance(v, dict) else v) for k, v in out.items()}


@router.get("/loop", response_model=LoopResult, summary="Loop closure rate and time, by team")
def loop(period: str | None = PERIOD, acc: Access = Depends(allowed("read")),
         ctx: AppContext = Depends(get_context)):
    """Of the responses answered in the period that needed a follow-up (a detractor, a low CSAT):
    how many were closed, with the Wilson 95% interval, and the median and p90 hours to close,
    overall, by team and by CSM (the CSMs of the caller's book)."""
    return loop_view(ctx, acc, _period(ctx, period))


@router.get("/accounts/{account_id}/responses", response_model=list[AccountResponse],
            responses=problem_responses(404), summary="One account's survey responses with their loop status")
def account_responses(account_id: str = Path(max_length=100), limit: int = Query(50, ge=1, le=500),
                      acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    from tenure.portfolio.voc import account_responses as rows_of

    open_account(acc, ctx, account_id)  # 404 / 403
    with ctx.db() as session:
        return [_plain(r) for r in rows_of(session, ctx.warehouse(), account_id, limit=limit)]


def program_rows(ctx: AppContext) -> list[dict] | dict:
    from tenure.portfolio.voc import Missing, programs

    out = programs(ctx.config, ctx.warehouse())
    if isinstance(out, Missing):
        return out.as_dict()
    return [{**_plain({k: v for k, v in r.items() if k != "score"}),
             "score": None if r.get("score") is None else _plain(r["score"])} for r in out]


@router.get("/programs", response_model=list[ProgramRow], summary="Survey programs with live counts (admins)")
def programs(acc: Access = Depends(allowed("admin")), ctx: AppContext = Depends(get_context)):
    """Each program in tenure.yaml `surveys.programs`: status, trigger, channels, invitations sent,
    answered, response rate (live, from the state DB) and its current score with n and 95% interval."""
    rows = program_rows(ctx)
    return rows if isinstance(rows, list) else []
