"""`tenure outbox` and `tenure worker` end to end on a project with the embedded defaults (SQLite,
.eml files): dead letters listed as JSON and replayed, a held email released, the worker's one
look delivering the outbox."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tenure.cli import app
from tenure.config import load_config
from tenure.errors import NotFoundError
from tenure.jobs.db import session
from tenure.notify import outbox
from tenure.state.models import OutboxMessage

runner = CliRunner()


def _project(tmp_path: Path) -> Path:
    (tmp_path / "tenure.yaml").write_text(
        "state: {url: sqlite:///state.db}\nnotify: {send_window: null, eml_dir: mail, max_attempts: 1}\n")
    return tmp_path / "tenure.yaml"


def test_worker_once_delivers_and_outbox_lists_replays_and_releases(tmp_path: Path):
    cfg_path = _project(tmp_path)
    config = load_config(cfg_path)
    with session(config) as s:
        outbox.enqueue(s, channel="email", payload={"to": "a@x.example", "subject": "s", "text": "t"}, dedupe_key="ok")
        outbox.enqueue(s, channel="email", payload={"to": "b@x.example", "subject": "held", "text": "t"},
                       dedupe_key="held", hold_for_review=True)
        outbox.enqueue(s, channel="webhook", payload={"url": "http://127.0.0.1:9/none", "body": {}}, dedupe_key="bad")
    result = runner.invoke(app, ["worker", "--once", "--json", "--config", str(cfg_path)])
    assert result.exit_code == 0, result.output
    ran = json.loads(result.output)
    ran = [o for o in ran if o["name"] == "deliver-outbox"]  # other stages' jobs may run too
    assert [o["status"] for o in ran] == ["succeeded"]
    assert ran[0]["result"]["sent"] == 1 and ran[0]["result"]["dead"] == 1
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1

    listed = json.loads(runner.invoke(app, ["outbox", "list", "--dead", "--json", "--config", str(cfg_path)]).output)
    assert listed["counts"] == {"pending": 0, "held_for_review": 1, "sent": 1, "dead": 1, "suppressed": 0}
    assert [m["dedupe_key"] for m in listed["messages"]] == ["bad"]
    assert "cannot reach 127.0.0.1:9" in listed["messages"][0]["last_error"]
    dead_id = listed["messages"][0]["id"]
    assert runner.invoke(app, ["outbox", "replay", str(dead_id), "--config", str(cfg_path)]).exit_code == 0
    again = runner.invoke(app, ["outbox", "replay", str(dead_id), "--config", str(cfg_path)])
    # the console entry point prints a TenureError as one line with its exit code
    assert isinstance(again.exception, outbox.OutboxError) and again.exception.exit_code == 2
    assert "is pending, not dead" in str(again.exception)
    missing = runner.invoke(app, ["outbox", "replay", "999", "--config", str(cfg_path)])
    assert isinstance(missing.exception, NotFoundError) and "999 does not exist" in str(missing.exception)

    body = tmp_path / "body.txt"
    body.write_text("edited by the CSM")
    held_id = json.loads(runner.invoke(app, ["outbox", "list", "--held", "--json", "--config",
                                             str(cfg_path)]).output)["messages"][0]["id"]
    out = runner.invoke(app, ["outbox", "release", str(held_id), "--subject", "Hello", "--text-file", str(body),
                              "--by", "jane", "--config", str(cfg_path)])
    assert out.exit_code == 0, out.output
    assert runner.invoke(app, ["outbox", "deliver", "--config", str(cfg_path)]).exit_code == 0
    with session(config) as s:
        held = s.get(OutboxMessage, held_id)
        assert (held.status, held.released_by, held.payload["subject"]) == ("sent", "jane", "Hello")
    status = json.loads(runner.invoke(app, ["worker", "--status", "--json", "--config", str(cfg_path)]).output)
    mine = [(r["name"], r["last_status"], r["runs"]) for r in status if r["name"] == "deliver-outbox"]
    assert mine == [("deliver-outbox", "succeeded", 1)]  # other stages' jobs are listed too


def test_the_long_running_worker_delivers_and_stops_cleanly_on_sigterm(tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tenure.state.db import upgrade

    cfg_path = _project(tmp_path)
    (tmp_path / "tenure.yaml").write_text(cfg_path.read_text() + "worker: {poll_seconds: 0.2}\n")
    config = load_config(cfg_path)
    upgrade(config)
    proc = subprocess.Popen([sys.executable, "-c", "from tenure.cli import main; main()", "worker", "--config",
                             str(cfg_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    try:
        with session(config) as s:  # enqueued while the worker runs: picked up at a later look
            outbox.enqueue(s, channel="email", payload={"to": "a@x.example", "subject": "s", "text": "t"},
                           dedupe_key="live")
        deadline = time.monotonic() + 120
        while not list((tmp_path / "mail").glob("*.eml")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "deliver-outbox (at every look)" in out and "worker stopped" in out
