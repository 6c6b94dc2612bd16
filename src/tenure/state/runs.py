"""Ingest runs: what a run is (`IngestRunResult`) and the one service that records it.

    with ingest_run(config, result) as run:     # recorded as `running` (pid, host, heartbeat)
        ...load...; run.heartbeat()              # a sign of life, written at most every 30 s
    # on return: recorded with its final status; if the block raises: `failed` with the error

A run whose process died (kill -9, power loss) cannot record its own end: the next run that
starts, and every listing, marks `running` rows failed when their process is gone (same host)
or their heartbeat is older than STALE_AFTER. The state DB is the run log; the warehouse load
stands on its own, so a state DB that cannot be written adds a warning, never a failure."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from tenure.state.db import session_scope
from tenure.state.models import IngestRun
from tenure.warehouse.processes import pid_alive as process_alive

STATUSES = ("running", "loaded", "partial", "rejected", "failed")
STALE_AFTER = timedelta(minutes=10)
HEARTBEAT_EVERY = timedelta(seconds=30)
LIVENESS = ("pid", "host", "heartbeat_at")
FIELDS = tuple(c.name for c in IngestRun.__table__.columns if c.name not in LIVENESS)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _stamp(at: datetime | None = None) -> str:
    return (at or _now()).isoformat(timespec="seconds")


@dataclass
class IngestRunResult:
    """What one ingest run did; `to_dict()` is the `--json` summary and the run log row."""

    run_id: str
    entity: str
    file: str
    source: str
    status: str = "running"  # running | loaded | partial | rejected | failed
    rows_read: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates_in_file: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    report_path: str | None = None
    quarantine_path: str | None = None
    strict: bool = False
    started_at: str = ""
    finished_at: str = ""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def exit_code(self) -> int:
        if self.status in ("rejected", "failed"):
            return 2
        return 1 if self.rejected else 0


def record_run(config_or_url: Any, result: dict[str, Any], **liveness: Any) -> None:
    """Insert or update one ingest run (idempotent by run_id)."""
    values = {k: result.get(k) for k in FIELDS if k in result or k == "run_id"}
    values.update({k: v for k, v in liveness.items() if k in LIVENESS})
    with session_scope(config_or_url) as session:
        run = session.get(IngestRun, values["run_id"])
        if run is None:
            session.add(IngestRun(**values))
        else:
            for k, v in values.items():
                setattr(run, k, v)


def mark_stale(config_or_url: Any, now: datetime | None = None) -> int:
    """Mark `running` runs whose process is gone (on this host) or whose heartbeat is older
    than STALE_AFTER as failed; returns how many."""
    now = now or _now()
    host = socket.gethostname()
    marked = 0
    with session_scope(config_or_url) as session:
        for run in session.scalars(select(IngestRun).where(IngestRun.status == "running")):
            beat = run.heartbeat_at or run.started_at
            gone = run.host == host and run.pid is not None and run.pid != os.getpid() and not process_alive(run.pid)
            silent = beat is not None and datetime.fromisoformat(beat) < now - STALE_AFTER
            if gone or silent:
                run.status = "failed"
                run.finished_at = beat
                run.error = (f"the process running it (pid {run.pid} on {run.host}) ended before the run finished"
                             if gone else f"no sign of life since {beat}: the process running it stopped")
                marked += 1
    return marked


class RunHandle:
    """A running ingest run: `heartbeat()` keeps it from being taken for dead."""

    def __init__(self, config: Any, result: IngestRunResult):
        self.config, self.result = config, result
        self._last_beat = _now()

    def heartbeat(self) -> None:
        now = _now()
        if now - self._last_beat < HEARTBEAT_EVERY:
            return
        self._last_beat = now
        with contextlib.suppress(Exception):  # a sign of life is best effort
            with session_scope(self.config) as session:
                run = session.get(IngestRun, self.result.run_id)
                if run is not None and run.status == "running":
                    run.heartbeat_at = _stamp(now)


def _record(config: Any, result: IngestRunResult, **liveness: Any) -> None:
    try:
        record_run(config, result.to_dict(), **liveness)
    except Exception as err:  # the warehouse load stands; the run log is best effort
        result.warnings.append(f"could not record the run in the state DB: {err}")


@contextlib.contextmanager
def ingest_run(config: Any, result: IngestRunResult) -> Iterator[RunHandle]:
    """Record `result` as running for the block, then with its final status; `failed` with the
    error when the block raises (the exception goes on)."""
    with contextlib.suppress(Exception):
        mark_stale(config)
    result.status = "running"
    result.started_at = result.started_at or _stamp()
    _record(config, result, pid=os.getpid(), host=socket.gethostname(), heartbeat_at=_stamp())
    try:
        yield RunHandle(config, result)
    except BaseException as err:
        result.status = "failed"
        result.error = str(err) or type(err).__name__
        result.finished_at = _stamp()
        _record(config, result)
        raise
    if result.status == "running":  # the loader set no outcome: it loaded everything
        result.status = "loaded"
    result.finished_at = result.finished_at or _stamp()
    _record(config, result)


def _query(entity: str | None, status: str | None):
    q = select(IngestRun)
    if entity:
        q = q.where(IngestRun.entity == entity)
    if status:
        q = q.where(IngestRun.status == status)
    return q


def runs_page(config_or_url: Any, limit: int = 50, offset: int = 0, entity: str | None = None,
              status: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """Ingest runs, newest first (stale `running` rows marked failed first), and how many match."""
    with contextlib.suppress(Exception):
        mark_stale(config_or_url)
    q = _query(entity, status)
    with session_scope(config_or_url) as session:
        total = session.scalar(select(func.count()).select_from(q.subquery()))
        rows = session.scalars(q.order_by(IngestRun.started_at.desc(), IngestRun.run_id.desc())
                               .limit(limit).offset(offset)).all()
        return [{k: getattr(r, k) for k in FIELDS} for r in rows], int(total or 0)


def list_runs(config_or_url: Any, limit: int = 50, entity: str | None = None,
              status: str | None = None) -> list[dict[str, Any]]:
    return runs_page(config_or_url, limit, 0, entity, status)[0]


def get_run(config_or_url: Any, run_id: str) -> dict[str, Any] | None:
    with contextlib.suppress(Exception):
        mark_stale(config_or_url)
    with session_scope(config_or_url) as session:
        r = session.get(IngestRun, run_id)
        return None if r is None else {k: getattr(r, k) for k in FIELDS}
