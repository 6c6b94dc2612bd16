"""`tenure tasks list [--mine] [--overdue] [--json]` and `tenure tasks done ID --outcome CODE`."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from tenure.cli import app
from tenure.config import load_config
from tenure.playbooks import tasks
from tenure.state import users
from tenure.state.db import session_scope
from tenure.state.models import AuditLog, Task, utcnow

runner = CliRunner()


def test_list_mine_overdue_and_done(tmp_project, monkeypatch):
    config = load_config()
    now = utcnow()
    with session_scope(config) as s:
        users.create_user(s, "ana", "long enough", "csm")
        users.create_user(s, "mia", "long enough", "manager", csm_key="mia-book")
        late = tasks.create_task(s, account_id="A1", type="risk", title="Call the sponsor", owner="ana",
                                 due_at=now - timedelta(days=2)).id
        soon = tasks.create_task(s, account_id="A2", type="renewal", reason="t90", title="Renewal plan", owner="ana",
                                 due_at=now + timedelta(days=5)).id
        tasks.create_task(s, account_id="A3", type="risk", title="Not mine", owner="ben")
    res = runner.invoke(app, ["tasks", "list", "--mine", "--json"], env={"TENURE_USER": "ana"})
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["total"] == 2 and [t["id"] for t in out["tasks"]] == [late, soon]
    res = runner.invoke(app, ["tasks", "list", "--mine", "--overdue", "--json", "--user", "ana"])
    assert [t["id"] for t in json.loads(res.output)["tasks"]] == [late]
    everyone = json.loads(runner.invoke(app, ["tasks", "list", "--json"]).output)
    assert everyone["total"] == 3
    # who am I? a clear line, not a traceback
    monkeypatch.delenv("TENURE_USER", raising=False)
    res = runner.invoke(app, ["tasks", "list", "--mine"])
    assert res.exit_code != 0 and "--user NAME or set TENURE_USER" in str(res.exception)
    res = runner.invoke(app, ["tasks", "list", "--mine", "--user", "nobody"])
    assert "no user 'nobody'" in str(res.exception)
    # a manager's tasks are owned by its csm key
    assert json.loads(runner.invoke(app, ["tasks", "list", "--mine", "--json", "--user", "mia"]).output)["total"] == 0

    res = runner.invoke(app, ["tasks", "done", str(late), "--outcome", "saved", "--comment", "plan agreed",
                              "--user", "ana"])
    assert res.exit_code == 0, res.output
    assert f"task {late} done (saved)" in res.output
    res = runner.invoke(app, ["tasks", "done", str(soon), "--outcome", "great", "--user", "ana"])
    assert res.exit_code != 0 and "outcome 'great' is not one of" in str(res.exception)
    with session_scope(config) as s:
        t = s.get(Task, late)
        assert t.state == "done" and t.outcome == "saved"
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "task", AuditLog.entity_id == str(late),
                                                 AuditLog.action == "transition")).one()
        assert entry.actor == "ana" and entry.after == {"state": "done", "outcome": "saved"}
        assert entry.before == {"state": "open", "outcome": None}
    listed = json.loads(runner.invoke(app, ["tasks", "list", "--mine", "--json", "--user", "ana"]).output)
    assert [t["id"] for t in listed["tasks"]] == [soon]  # done tasks are not listed by default
