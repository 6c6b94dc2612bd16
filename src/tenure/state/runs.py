"""The log of ingest runs in the state DB."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tenure.state.db import session_scope
from tenure.state.models import IngestRun

FIELDS = ("run_id", "entity", "file", "source", "status", "started_at", "finished_at", "rows_read", "loaded",
          "inserted", "updated", "unchanged", "rejected", "rejected_by_reason", "report_path")


def record_run(config_or_url: Any, result: dict[str, Any]) -> None:
    """Insert or update one ingest run (idempotent by run_id)."""
    values = {k: result.get(k) for k in FIELDS}
    with session_scope(config_or_url) as session:
        run = session.get(IngestRun, values["run_id"])
        if run is None:
            session.add(IngestRun(**values))
        else:
            for k, v in values.items():
                setattr(run, k, v)


def list_runs(config_or_url: Any, limit: int = 50) -> list[dict[str, Any]]:
    with session_scope(config_or_url) as session:
        rows = session.scalars(select(IngestRun).order_by(IngestRun.started_at.desc(), IngestRun.run_id.desc())
                               .limit(limit)).all()
        return [{k: getattr(r, k) for k in FIELDS} for r in rows]
