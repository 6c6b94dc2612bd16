"""Table versions, the data version shared by processes, and runs killed mid-way (SQLite and
PostgreSQL state DBs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from tenure.config import config_from_dict
from tenure.jobs import runs, versions
from tenure.jobs.db import session
from tenure.state.models import JobRun, utcnow

ROOT = Path(__file__).resolve().parents[2]


def _config(state_url, tmp_path):
    return config_from_dict({"state": {"url": state_url}}, base_dir=tmp_path, env={})


def _python(code: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=ROOT, **kw)


def test_bumps_count_per_table_and_move_the_data_version(state_url, tmp_path):
    config = _config(state_url, tmp_path)
    assert versions.table_versions(config, ["tickets"]) == {"tickets": 0}
    assert versions.read_data_version(config) == 0
    assert versions.bump(config, ["tickets", "usage_daily"]) == {"tickets": 1, "usage_daily": 1, "*": 1}
    assert versions.bump(config, ["tickets"]) == {"tickets": 2, "*": 2}
    assert versions.table_versions(config, ["tickets", "usage_daily", "fx"]) == {"tickets": 2, "usage_daily": 1,
                                                                                "fx": 0}


def test_another_process_bumping_makes_this_process_caches_stale(state_url, tmp_path, monkeypatch):
    from tenure.http.cache import cached
    from tenure.http.context import AppContext

    config = _config(state_url, tmp_path)
    ctx = AppContext(config=config, root=None, sessions=None)
    calls = []
    assert cached(ctx, ("answer",), lambda: calls.append(1) or len(calls)) == 1
    assert cached(ctx, ("answer",), lambda: calls.append(1) or len(calls)) == 1  # a hit
    before = ctx.data_version
    child = _python(f"""
        from tenure.jobs.versions import bump
        bump({config.state_url!r}, ["tickets"])
    """)
    assert child.wait(timeout=120) == 0
    monkeypatch.setattr(versions, "MAX_AGE_SECONDS", 0.0)  # do not wait for the once-a-second read
    assert ctx.data_version[0] == before[0] + 1
    assert cached(ctx, ("answer",), lambda: calls.append(1) or len(calls)) == 2  # recomputed


def test_a_run_whose_process_was_killed_shows_failed(state_url, tmp_path):
    config = _config(state_url, tmp_path)
    marker = tmp_path / "step-started"
    child = _python(f"""
        import time
        from datetime import date
        from pathlib import Path
        from tenure.config import config_from_dict
        from tenure.jobs import Graph, run_graph

        g = Graph()

        @g.step("slow", reads=("tickets",), writes=("slow_out",), version="1")
        def slow(ctx):
            Path({str(marker)!r}).write_text("x")
            time.sleep(600)

        config = config_from_dict({{"state": {{"url": {config.state_url!r}}}}}, env={{}})
        run_graph(g, None, config, as_of=date(2026, 6, 30))
    """)
    try:
        for _ in range(1200):  # wait until the step runs (the child imports, migrates, starts)
            if marker.exists() or child.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), "the child never reached its step"
        [run], _ = runs.list_runs(config)
        assert run["status"] == "running" and runs.get(config, run["id"])["steps"][0]["status"] == "running"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert runs.active(config) is None  # looking reaps it
    run = runs.get(config, run["id"])
    assert run["status"] == "failed" and f"pid {child.pid}" in run["error"] and "ended" in run["error"]
    assert run["steps"][0]["status"] == "failed"


def test_a_run_without_heartbeat_from_another_host_is_failed_after_the_stale_time(state_url, tmp_path):
    config = _config(state_url, tmp_path)
    run_id = runs.create(config, trigger="cli")
    with session(config) as s:
        s.execute(update(JobRun).where(JobRun.id == run_id).values(
            status="running", host="elsewhere", heartbeat_at=utcnow().replace(year=2000)))
    assert runs.reap_stale(config) == [run_id]
    assert "no heartbeat" in runs.get(config, run_id)["error"]
    fresh = runs.create(config, trigger="cli")
    with session(config) as s:
        s.execute(update(JobRun).where(JobRun.id == fresh).values(status="running", host="elsewhere"))
    assert runs.reap_stale(config) == []  # alive as far as anyone can tell
    with pytest.raises(runs.RunConflict):
        runs.create(config, trigger="cli")
