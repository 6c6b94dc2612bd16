"""Refresh runs: queue a run of the refresh graph (as `tenure refresh`), then follow it.

`POST /refresh` answers 202 at once with the queued run and a Location; the server runs it in a
background thread (one at a time across every process on the state DB). A second POST while a
run is queued or running gets 409 with that run's id (`run_id`) and its Location, so a client
can follow the run already under way instead of starting another. `GET /refresh/{run_id}` shows
the status, steps done out of total, each step's status, reason, timing and error.

A refresh recomputes company-wide tables and its runs describe them: starting one and reading
runs are for principals whose book of business is every account."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from tenure.access import Access
from tenure.api.routers.common import paginated
from tenure.api.schemas import COMMON_PROBLEMS, Paginated, problem_responses
from tenure.http.auth import allowed, client_ip
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem

router = APIRouter(tags=["refresh"], responses=COMMON_PROBLEMS)
API_PREFIX = "/api/v1"

RunStatus = Literal["queued", "running", "succeeded", "failed"]


class RefreshIn(BaseModel):
    as_of: date | None = Field(None, description="snapshot day (default: the latest day with events, at most "
                                                 "yesterday)")
    force: bool = Field(False, description="rerun every step, changed inputs or not")


class StepOut(BaseModel):
    name: str
    status: Literal["pending", "running", "succeeded", "skipped", "failed"]
    reason: str | None = Field(None, description="why it ran (first run, forced, which inputs changed) or why "
                                                 "it was skipped")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float | None = None
    result: dict[str, Any] | None = Field(None, description="what the step reports (rows written, ...)")
    error: str | None = None


class RunOut(BaseModel):
    id: str
    status: RunStatus
    trigger: str = Field(description="cli or api")
    force: bool
    as_of: date | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    host: str | None = None
    pid: int | None = None
    steps_total: int
    steps_done: int = Field(description="steps finished (run or skipped)")
    steps_run: int
    steps_skipped: int = Field(description="steps whose inputs had not changed")
    error: str | None = None
    seconds: float | None = Field(None, description="wall time so far, or in all once finished")


class RunDetail(RunOut):
    steps: list[StepOut]


def _location(run_id: str) -> str:
    return f"{API_PREFIX}/refresh/{run_id}"


def _worker(request: Request, ctx: AppContext):
    """This app's background refresh (created on first use)."""
    from tenure.jobs.background import BackgroundRefresh
    from tenure.portfolio.steps import refresh_graph

    worker = getattr(request.app.state, "refresh_worker", None)
    if worker is None:
        worker = BackgroundRefresh(ctx.config, refresh_graph, ctx.writing, done=ctx.changed)
        request.app.state.refresh_worker = worker
    return worker


@router.post("/refresh", response_model=RunDetail, status_code=202, responses=problem_responses(409),
             summary="Start a refresh (as `tenure refresh`): 202 with the queued run")
def start_refresh(request: Request, response: Response, body: RefreshIn | None = None,
                  acc: Access = Depends(allowed("write")), ctx: AppContext = Depends(get_context)):
    """Queue a run of the refresh graph and run it in the background; follow it at the returned
    Location. Steps whose inputs did not change since they last ran are skipped. 409 (with
    `run_id`) while another run is queued or running."""
    from tenure.jobs import runs
    from tenure.state import audit

    acc.records("refresh")
    body = body or RefreshIn()
    try:
        run_id = _worker(request, ctx).submit(as_of=body.as_of, force=body.force, trigger="api")
    except runs.RunConflict as err:
        raise Problem(409, str(err), kind="conflict", run_id=err.run_id,
                      headers={"Location": _location(err.run_id)}) from None
    with ctx.db() as session:
        audit.record(session, acc.who.username, "refresh", "warehouse", run_id, None,
                     {"as_of": None if body.as_of is None else body.as_of.isoformat(), "force": body.force},
                     ip=client_ip(request))
    response.headers["Location"] = _location(run_id)
    return runs.get(ctx.config, run_id)


@router.get("/refresh", response_model=Paginated[RunOut], summary="Refresh runs, newest first")
def list_refreshes(page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(20, ge=1, le=200),
                   acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    from tenure.jobs import runs

    acc.records("refresh")
    runs.reap_stale(ctx.config)
    items, total = runs.list_runs(ctx.config, limit=page_size, offset=(page - 1) * page_size)
    return paginated(items, total, page, page_size)


@router.get("/refresh/{run_id}", response_model=RunDetail, responses=problem_responses(404),
            summary="One refresh run with its steps")
def get_refresh(run_id: str = Path(max_length=32, pattern=r"^[0-9a-f]+$"),
                acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    from tenure.jobs import runs

    acc.records("refresh")
    runs.reap_stale(ctx.config)
    run = runs.get(ctx.config, run_id)
    if run is None:
        raise Problem(404, f"no refresh run {run_id}", kind="not-found")
    return run
