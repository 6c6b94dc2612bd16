"""Leases: one holder at a time, expiry, renewal, fencing tokens, and a dead local holder freed
at once (SQLite and PostgreSQL)."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tenure.config import config_from_dict
from tenure.jobs.db import session
from tenure.jobs.leases import LeaseLost, acquire, holder_gone, leases
from tenure.state.models import utcnow


def _config(tmp_path: Path, state_url: str):
    return config_from_dict({"state": {"url": state_url}}, base_dir=tmp_path, env={})


def test_one_holder_at_a_time_until_expiry_then_the_token_fences_the_old_holder(tmp_path: Path, state_url: str):
    cfg = _config(tmp_path, state_url)
    t0 = utcnow()
    a = acquire(cfg, "job:x", 30, holder="h:1:a", now=t0)
    assert a is not None and a.token == 1
    assert acquire(cfg, "job:x", 30, holder="h:2:b", now=t0 + timedelta(seconds=29)) is None
    assert acquire(cfg, "job:y", 30, holder="h:2:b", now=t0) is not None  # another job's lease is separate
    a.renew(30, now=t0 + timedelta(seconds=20))  # now held until t0 + 50 s
    assert acquire(cfg, "job:x", 30, holder="h:2:b", now=t0 + timedelta(seconds=49)) is None
    b = acquire(cfg, "job:x", 30, holder="h:2:b", now=t0 + timedelta(seconds=51))
    assert b is not None and b.token == 2
    with pytest.raises(LeaseLost):
        a.renew(30)
    with pytest.raises(LeaseLost), session(cfg) as s:
        a.check(s)
    with session(cfg) as s:
        b.check(s)
    a.release()  # a no-op: b holds it
    assert acquire(cfg, "job:x", 30, holder="h:3:c", now=t0 + timedelta(seconds=52)) is None
    b.release()
    c = acquire(cfg, "job:x", 30, holder="h:3:c", now=t0 + timedelta(seconds=52))
    assert c is not None and c.token == 3
    assert [(r["name"], r["token"]) for r in leases(cfg)] == [("job:x", 3), ("job:y", 1)]


def test_a_lease_held_by_a_dead_process_on_this_host_is_free_at_once(tmp_path: Path, state_url: str):
    cfg = _config(tmp_path, state_url)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = f"{socket.gethostname()}:{child.pid}:x"
    assert holder_gone(dead) and not holder_gone(f"{socket.gethostname()}:1:x")
    assert not holder_gone(f"another-host:{child.pid}:x")  # elsewhere: wait for the expiry
    assert acquire(cfg, "job:x", 3600, holder=dead) is not None
    taken = acquire(cfg, "job:x", 3600, holder="me:1:z")
    assert taken is not None and taken.token == 2
