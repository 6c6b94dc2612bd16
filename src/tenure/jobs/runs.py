"""Refresh runs and their steps in the state DB: who runs what, since when, how far it got, how
long each step took and why a step failed.

A run is `queued` (the API accepted it), `running`, `succeeded` or `failed`. A running run
writes a heartbeat every `HEARTBEAT_SECONDS`; a run whose process is gone (same host, pid not
alive) or whose heartbeat is older than `STALE_SECONDS` is marked failed by the next process
that looks (`reap_stale`), so a run killed mid-way never shows "running" forever.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from tenure.errors import TenureError
from tenure.jobs.versions import lock_data_version
from tenure.jobs.db import session as session_scope
from tenure.state.models import JobRun, JobStep, utcnow
from tenure.warehouse.processes import pid_alive

HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 60.0
ACTIVE = ("queued", "running")


class RunConflict(TenureError):
    """Another refresh is queued or running."""

    exit_code = 4

    def __init__(self, message: str, run_id: str):
        super().__init__(message)
        self.run_id = run_id


def _host() -> str:
    return socket.gethostname()[:255]


def _is_stale(run: JobRun, now: datetime, stale_seconds: float) -> str | None:
    """Why an active run is dead, or None if it may still be alive."""
    if run.host == _host() and run.pid and not pid_alive(run.pid):
        return f"its process (pid {run.pid} on {run.host}) ended before the run finished"
    seen = run.heartbeat_at or run.started_at or run.created_at
    if seen is not None and (now - seen).total_seconds() > stale_seconds:
        return (f"no heartbeat from pid {run.pid} on {run.host} since {seen:%Y-%m-%d %H:%M:%S} UTC "
                f"(more than {stale_seconds:.0f} s): the process was killed or hangs")
    return None


def reap_stale(config: Any, stale_seconds: float = STALE_SECONDS) -> list[str]:
    """Mark queued or running runs whose process is gone as failed; returns their ids."""
    now = utcnow()
    reaped = []
    with session_scope(config) as session:
        for run in session.scalars(select(JobRun).where(JobRun.status.in_(ACTIVE))):
            why = _is_stale(run, now, stale_seconds)
            if why:
                _fail(session, run, f"interrupted: {why}", now)
                reaped.append(run.id)
    return reaped


def _fail(session, run: JobRun, error: str, now: datetime) -> None:
    run.status, run.error, run.finished_at = "failed", error, now
    for step in session.scalars(select(JobStep).where(JobStep.run_id == run.id, JobStep.status == "running")):
        step.status, step.error, step.finished_at = "failed", error, now


def _active(session) -> JobRun | None:
    return session.scalars(select(JobRun).where(JobRun.status.in_(ACTIVE))
                           .order_by(JobRun.created_at)).first()


def _conflict(run: JobRun) -> RunConflict:
    return RunConflict(f"refresh run {run.id} is already {run.status} (pid {run.pid} on {run.host}, since "
                       f"{(run.started_at or run.created_at):%Y-%m-%d %H:%M:%S} UTC); wait for it to finish "
                       f"(`tenure refresh --runs` shows it)", run.id)


def create(config: Any, *, trigger: str, as_of: str | None = None, known_at: str | None = None,
           force: bool = False, steps_total: int = 0, pid: int | None = None) -> str:
    """Queue a run for the process `pid` (default: this one); RunConflict when one is active."""
    reap_stale(config)
    run_id = uuid.uuid4().hex[:16]
    with session_scope(config) as session:
        lock_data_version(session)  # serializes concurrent creators in SQLite and PostgreSQL
        active = _active(session)
        if active is not None:
            raise _conflict(active)
        session.add(JobRun(id=run_id, status="queued", trigger=trigger, force=force, as_of=as_of,
                           known_at=known_at, created_at=utcnow(), host=_host(), pid=pid or os.getpid(),
                           heartbeat_at=utcnow(), steps_total=steps_total))
    return run_id


def start(config: Any, run_id: str, *, steps: list[str], as_of: str | None) -> None:
    """queued -> running in this process, with one pending row per step."""
    now = utcnow()
    with session_scope(config) as session:
        lock_data_version(session)
        run = session.get(JobRun, run_id)
        if run is None:
            raise TenureError(f"refresh run {run_id} does not exist")
        active = _active(session)
        if active is not None and active.id != run_id:
            raise _conflict(active)
        if run.status != "queued":
            raise TenureError(f"refresh run {run_id} is {run.status}, not queued")
        run.status, run.started_at, run.heartbeat_at = "running", now, now
        run.host, run.pid, run.as_of, run.steps_total = _host(), os.getpid(), as_of, len(steps)
        for i, name in enumerate(steps):
            session.add(JobStep(run_id=run_id, position=i, name=name, status="pending"))


def heartbeat(config: Any, run_id: str) -> None:
    with session_scope(config) as session:
        run = session.get(JobRun, run_id)
        if run is not None and run.status == "running":
            run.heartbeat_at = utcnow()


def step_started(config: Any, run_id: str, name: str, fingerprint: str, reason: str | None) -> None:
    now = utcnow()
    with session_scope(config) as session:
        step = _step(session, run_id, name)
        step.status, step.started_at, step.fingerprint, step.reason = "running", now, fingerprint, reason
        session.get(JobRun, run_id).heartbeat_at = now


def step_finished(config: Any, run_id: str, name: str, status: str, *, seconds: float | None = None,
                  result: dict | None = None, error: str | None = None, reason: str | None = None,
                  fingerprint: str | None = None) -> None:
    """A step succeeded, was skipped or failed: record it and count it on its run."""
    now = utcnow()
    with session_scope(config) as session:
        step = _step(session, run_id, name)
        step.status, step.finished_at, step.error = status, now, error
        step.seconds = None if seconds is None else round(seconds, 3)
        step.result = result
        if reason is not None:
            step.reason = reason
        if fingerprint is not None:
            step.fingerprint = fingerprint
        run = session.get(JobRun, run_id)
        run.heartbeat_at = now
        if status in ("succeeded", "skipped"):
            run.steps_done += 1
            run.steps_run += status == "succeeded"
            run.steps_skipped += status == "skipped"


def _step(session, run_id: str, name: str) -> JobStep:
    return session.scalars(select(JobStep).where(JobStep.run_id == run_id, JobStep.name == name)).one()


def finish(config: Any, run_id: str, error: str | None = None) -> None:
    """running -> succeeded, or failed with `error` (steps not reached stay `pending`)."""
    now = utcnow()
    with session_scope(config) as session:
        run = session.get(JobRun, run_id)
        if error is None:
            run.status, run.finished_at = "succeeded", now
        else:
            _fail(session, run, error, now)


def abandon(config: Any, run_id: str, error: str) -> None:
    """A queued or running run that cannot go on (e.g. the warehouse could not be opened): failed."""
    with session_scope(config) as session:
        run = session.get(JobRun, run_id)
        if run is not None and run.status in ACTIVE:
            _fail(session, run, error, utcnow())


def get(config: Any, run_id: str) -> dict[str, Any] | None:
    """A run with its steps, or None."""
    with session_scope(config) as session:
        run = session.get(JobRun, run_id)
        if run is None:
            return None
        steps = session.scalars(select(JobStep).where(JobStep.run_id == run_id).order_by(JobStep.position)).all()
        return {**_run_dict(run), "steps": [_step_dict(s) for s in steps]}


def list_runs(config: Any, limit: int = 20, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The newest runs first (without their steps) and how many there are."""
    with session_scope(config) as session:
        total = session.scalar(select(func.count()).select_from(JobRun))
        rows = session.scalars(select(JobRun).order_by(JobRun.created_at.desc(), JobRun.id.desc())
                               .offset(offset).limit(limit)).all()
        return [_run_dict(r) for r in rows], int(total or 0)


def active(config: Any) -> dict[str, Any] | None:
    """The queued or running run (after reaping dead ones), or None."""
    reap_stale(config)
    with session_scope(config) as session:
        run = _active(session)
        return None if run is None else _run_dict(run)


def _iso(v: datetime | None) -> str | None:
    return None if v is None else v.isoformat(timespec="seconds") + "Z"


def _run_dict(r: JobRun) -> dict[str, Any]:
    end = r.finished_at or (utcnow() if r.started_at else None)
    return {"id": r.id, "status": r.status, "trigger": r.trigger, "force": r.force, "as_of": r.as_of,
            "known_at": r.known_at, "created_at": _iso(r.created_at), "started_at": _iso(r.started_at),
            "finished_at": _iso(r.finished_at), "heartbeat_at": _iso(r.heartbeat_at), "host": r.host, "pid": r.pid,
            "steps_total": r.steps_total, "steps_done": r.steps_done, "steps_run": r.steps_run,
            "steps_skipped": r.steps_skipped, "error": r.error,
            "seconds": None if r.started_at is None else round((end - r.started_at).total_seconds(), 2)}


def _step_dict(s: JobStep) -> dict[str, Any]:
    return {"name": s.name, "status": s.status, "reason": s.reason, "started_at": _iso(s.started_at),
            "finished_at": _iso(s.finished_at), "seconds": s.seconds, "result": s.result, "error": s.error}
