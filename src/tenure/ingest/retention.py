"""How long uploaded files, quarantine files and run folders are kept (`ingest.retention_days`).

Everything an ingest run leaves under `runs_dir` — `uploads/<id>/` (files uploaded over HTTP)
and `<run_id>/` (report.json and quarantine.csv) — is deleted once it is older than the
retention period, judged by its modification time. Pruning runs when a new ingest runs (the
upload route and `tenure ingest`) and on demand (`tenure ingest prune`). The run log in the
state DB and the quarantine table in the warehouse are kept: only the files go.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from tenure.config import Config

DAY = 86_400


def _newest_mtime(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for p in folder.rglob("*"):
        try:
            newest = max(newest, p.stat().st_mtime)
        except OSError:
            continue
    return newest


def prune_runs(config: Config, *, now: float | None = None, days: int | None = None) -> int:
    """Delete run folders and upload folders older than `days` (default `ingest.retention_days`;
    nothing when that is null). Returns how many folders were deleted."""
    days = config.ingest.retention_days if days is None else days
    root = config.runs_dir
    if days is None or not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - days * DAY
    candidates = [p for p in root.iterdir() if p.is_dir() and p.name != "uploads"]
    uploads = root / "uploads"
    if uploads.is_dir():
        candidates += [p for p in uploads.iterdir() if p.is_dir()]
    removed = 0
    for folder in candidates:
        try:
            if _newest_mtime(folder) < cutoff:
                shutil.rmtree(folder)
                removed += 1
        except OSError:  # another process removed or is writing it: leave it for the next time
            continue
    return removed
