"""The ingest-run service: every run is in the run log, also one that fails or is killed."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

import pytest

from tenure.errors import InputError
from tenure.ingest.pipeline import ingest_file
from tenure.state.runs import IngestRunResult, ingest_run, list_runs, mark_stale, record_run


def test_a_loaded_run_is_recorded_with_its_counts(loaded_accounts, config):
    [run] = list_runs(config)
    assert (run["entity"], run["status"], run["inserted"], run["error"]) == ("accounts", "loaded", 3, None)
    assert run["finished_at"] >= run["started_at"]


def test_a_run_that_raises_is_recorded_failed_with_the_error(loaded_accounts, config, write):
    path = write("lines.csv", "line_id,account_id\nL1,A1\n")
    with pytest.raises(InputError, match="missing required column"):
        ingest_file(loaded_accounts, config, "contract_lines", path)
    failed = list_runs(config, status="failed")
    assert len(failed) == 1 and failed[0]["entity"] == "contract_lines"
    assert "missing required column(s) product" in failed[0]["error"]


def test_the_run_is_running_while_it_loads(config):
    result = IngestRunResult(run_id="r-live", entity="accounts", file="a.csv", source="file")
    with ingest_run(config, result):
        [run] = list_runs(config)
        assert run["status"] == "running"  # this process is alive: not taken for dead
    assert list_runs(config)[0]["status"] == "loaded"


def _running(config, run_id, pid, host, heartbeat):
    record_run(config, {"run_id": run_id, "entity": "accounts", "file": "a.csv", "source": "file",
                        "status": "running", "started_at": heartbeat}, pid=pid, host=host, heartbeat_at=heartbeat)


def test_a_run_whose_process_is_gone_or_silent_is_marked_failed(config):
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    recent, old = (now - timedelta(minutes=1)).isoformat(), (now - timedelta(hours=1)).isoformat()
    _running(config, "dead", 2**22 + 12345, socket.gethostname(), recent)  # no such pid here
    _running(config, "silent", 1, "elsewhere", old)  # another host, no heartbeat for an hour
    _running(config, "busy", 1, "elsewhere", recent)  # another host, beating
    assert mark_stale(config, now=now) == 2
    runs = {r["run_id"]: r for r in list_runs(config)}
    assert runs["dead"]["status"] == "failed" and "ended before the run finished" in runs["dead"]["error"]
    assert runs["silent"]["status"] == "failed" and "no sign of life" in runs["silent"]["error"]
    assert runs["busy"]["status"] == "running"
