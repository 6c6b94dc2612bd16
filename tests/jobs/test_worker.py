"""The worker: jobs run when due (cron, after each refresh, interval), state and failures are
recorded, config overrides apply; two real worker processes never run the same job at once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tenure.config import config_from_dict
from tenure.errors import ConfigError
from tenure.jobs.versions import bump
from tenure.jobs.worker import RETRY_FAILED_SECONDS, Worker, WorkerRegistry, job_states

HERE = Path(__file__).parent


def _config(tmp_path: Path, state_url: str, **worker):
    return config_from_dict({"state": {"url": state_url}, "worker": worker}, base_dir=tmp_path, env={})


def _registry(calls: list, fail: set | None = None) -> WorkerRegistry:
    def job(name):
        def run(ctx):
            calls.append((name, ctx.reason, ctx.data_version))
            if fail and name in fail:
                raise RuntimeError("boom")
            return {"done": 1}
        return run

    reg = WorkerRegistry()
    reg.register_worker_job("on-refresh", job("on-refresh"), after_refresh=True)
    reg.register_worker_job("weekday-6am", job("weekday-6am"), schedule="0 6 * * 1-5")
    reg.register_worker_job("always", job("always"), every_seconds=0)
    return reg


def test_jobs_run_when_due_by_refresh_schedule_and_interval(tmp_path: Path, state_url: str):
    cfg = _config(tmp_path, state_url)
    calls: list = []
    worker = Worker(cfg, _registry(calls))
    mon_5am = datetime(2030, 6, 3, 5, 0)  # a Monday
    worker.run_once(now=mon_5am)
    assert calls == [("always", "interval", 0)]  # no data yet; the cron job's first time is 06:00
    calls.clear()
    version = bump(cfg, ["accounts"])["*"]
    worker.run_once(now=mon_5am + timedelta(minutes=1))
    assert calls == [("on-refresh", "refresh", version), ("always", "interval", version)]
    calls.clear()
    worker.run_once(now=mon_5am + timedelta(minutes=2))  # same data version: no second evaluation
    assert [c[0] for c in calls] == ["always"]
    calls.clear()
    worker.run_once(now=datetime(2030, 6, 3, 6, 0))
    assert [c[:2] for c in calls] == [("weekday-6am", "schedule"), ("always", "interval")]
    states = {s["name"]: s for s in job_states(cfg)}
    assert states["weekday-6am"]["next_run_at"] == "2030-06-04T06:00:00Z"
    assert states["on-refresh"]["last_data_version"] == version and states["on-refresh"]["runs"] == 1
    calls.clear()
    # down all of Tuesday to Thursday: the missed 06:00 runs happen once, not three times
    worker.run_once(now=datetime(2030, 6, 7, 5, 0))
    worker.run_once(now=datetime(2030, 6, 7, 5, 1))
    assert [c[0] for c in calls].count("weekday-6am") == 1
    assert {s["name"]: s for s in job_states(cfg)}["weekday-6am"]["next_run_at"] == "2030-06-07T06:00:00Z"


def test_a_failed_job_is_recorded_and_tried_again_later(tmp_path: Path, state_url: str):
    cfg = _config(tmp_path, state_url)
    calls: list = []
    worker = Worker(cfg, _registry(calls, fail={"always"}))
    t = datetime(2030, 6, 1, 12, 0)
    out = {o.name: o for o in worker.run_once(now=t)}
    assert (out["always"].status, out["always"].error) == ("failed", "RuntimeError: boom")
    state = {s["name"]: s for s in job_states(cfg)}["always"]
    assert (state["last_status"], state["last_error"]) == ("failed", "RuntimeError: boom")
    assert worker.run_once(now=t + timedelta(seconds=RETRY_FAILED_SECONDS - 1)) == []
    assert [o.name for o in worker.run_once(now=t + timedelta(seconds=RETRY_FAILED_SECONDS + 1))] == ["always"]


def test_config_overrides_a_schedule_disables_a_job_and_names_an_unknown_one(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    cfg = _config(tmp_path, url, jobs={"always": {"enabled": False}, "weekday-6am": {"schedule": "30 7 * * *"}})
    jobs = {j.name: j for j in _registry([]).jobs(cfg)}
    assert not jobs["always"].enabled and jobs["weekday-6am"].schedule.cron == "30 7 * * *"
    with pytest.raises(ConfigError, match=r"worker\.jobs\.nope: no worker job has this name"):
        _registry([]).jobs(_config(tmp_path, url, jobs={"nope": {}}))
    with pytest.raises(ConfigError, match=r"worker\.jobs\.always\.schedule"):
        _config(tmp_path, url, jobs={"always": {"schedule": "every day"}})


def test_two_worker_processes_never_run_the_same_job_at_once(tmp_path: Path, state_url: str):
    """Two real processes loop over run_once; the job holds an exclusive marker file while it
    runs (O_EXCL), so an overlap is recorded as OVERLAP whatever the timing."""
    from tenure.state.db import upgrade

    upgrade(state_url)  # as `tenure db upgrade` before starting workers (two first-time migrations would race)
    log = tmp_path / "runs.log"
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1])}
    procs = [subprocess.Popen([sys.executable, str(HERE / "worker_proc.py"), state_url, str(tmp_path), "4"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    lines = log.read_text().split()
    assert "OVERLAP" not in lines
    tokens = [int(x.split(":")[1]) for x in lines if x.startswith("run:")]
    assert len(tokens) == len(set(tokens)) == 8  # every run had its own lease token
    counts = [o[0].split() for o in outs]
    assert [c[1] for c in counts] == ["4", "4"]
    assert sum(int(c[3]) for c in counts) > 0  # they did compete: one found the other holding the lease
