"""kill -9 at several points of producing and delivering: every email still arrives at the real
SMTP server, a repeat carries the same Message-ID, and nothing is created twice (SQLite and
PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tenure.config import load_config
from tenure.jobs.db import session
from tenure.notify.outbox import idempotency_key
from tenure.state.db import upgrade
from tenure.state.models import OutboxMessage

HERE = Path(__file__).parent
N = 12


def _worker(folder: Path, failpoint: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1])}
    env.pop("TENURE_FAILPOINTS", None)
    if failpoint:
        env["TENURE_FAILPOINTS"] = failpoint
    return subprocess.run([sys.executable, str(HERE / "worker_main.py"), str(folder)], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("failpoint, mark_every, repeats", [
    ("produced:5", 1, 0),     # mid-production: 5 of 12 emails enqueued, then killed
    ("before_send:3", 1, 0),  # claimed a batch, sent 2, killed before sending the 3rd
    ("after_send:3", 1, 1),   # the 3rd reached the SMTP server, killed before it was marked sent
    ("after_mark:7", 1, 0),   # mid-batch, after the 7th was marked sent
    ("after_send:3", 4, 3),   # marked 4 at a time: the 3 sent since the last mark go again
])
def test_kill_9_loses_nothing_and_repeats_carry_the_same_message_id(tmp_path: Path, state_url: str, smtp_server,
                                                                    failpoint: str, mark_every: int, repeats: int):
    host, port, inbox = smtp_server
    (tmp_path / "tenure.yaml").write_text(yaml.safe_dump({
        "state": {"url": state_url},
        "notify": {"smtp": {"host": host, "port": port, "security": "none"}, "send_window": None,
                   "from_address": "cs@vendor.example", "retry_base_seconds": 0.2, "batch_size": 5,
                   "mark_every": mark_every},
        "worker": {"lease_seconds": 30}}))
    (tmp_path / "n").write_text(str(N))
    config = load_config(tmp_path / "tenure.yaml")
    upgrade(config)

    crashed = _worker(tmp_path, failpoint)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    for _ in range(20):  # restart until everything is delivered (a crashed claim waits its backoff)
        done = _worker(tmp_path)
        assert done.returncode == 0, done.stderr
        with session(config) as s:
            left = s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
            rows = s.scalar(select(func.count()).select_from(OutboxMessage))
        if rows == N and left == 0:
            break
    assert (rows, left) == (N, 0)  # nothing created twice, nothing left behind
    expected = {f"<{idempotency_key(f'task:{i}:email')}@vendor.example>" for i in range(N)}
    received = Counter(inbox.message_ids())
    assert set(received) == expected  # every email arrived, and only those
    assert sum(received.values()) - N == repeats  # a repeat only when the kill came after the send
    subjects = Counter(m["Subject"] for m in inbox.messages)
    assert sorted(subjects) == sorted(f"Task {i}" for i in range(N))
