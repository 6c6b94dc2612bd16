"""A run writes its actions' tasks and outbox messages in bulk (tenure.playbooks.actions.ActionBatch);
the owner rules that count tasks in the state DB still see the tasks the same run made
(DuckDB + SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.playbooks.pb_company import AS_OF, company, warehouse_company, write_playbook  # noqa: F401
from tenure.config import Team
from tenure.playbooks.engine import run_playbooks
from tenure.state.db import session_scope
from tenure.state.models import AuditLog, OutboxMessage, PlaybookStepRun, Task

NOW = datetime(2026, 7, 1, 9, 0)

SPREAD = """
name: spread
status: active
triggers:
  - {type: band_change, to: [red]}
steps:
  - {action: create_task, type: risk, reason: health_red, title: "Save {{ account.name }}", owner: "fewest_open:pod"}
  - {action: send_email, to: role:champion, subject: "About {{ account.name }}", body: "Hello {{ contact.name }}"}
  - {action: create_task, type: risk, reason: health_red, title: "Call {{ account.name }}"}
"""


def test_fewest_open_counts_the_tasks_the_same_run_made_and_steps_name_their_tasks(company):
    wh, config = company
    config.operating_model.teams["pod"] = Team(manager="boss", members=["ann", "bob"])
    write_playbook(config, "spread", SPREAD)
    report = run_playbooks(wh, config, as_of=AS_OF, now=NOW)
    res = next(p for p in report["playbooks"] if p["name"] == "spread")
    assert (res["started"], res["tasks"], res["emails"]) == (2, 4, 1)
    with session_scope(config) as s:
        saves = s.scalars(select(Task).where(Task.title.like("Save %")).order_by(Task.account_id)).all()
        # both accounts fire in one run: the second task goes to the member with fewer open tasks
        assert sorted(t.owner for t in saves) == ["ann", "bob"]
        tasks = {t.id: t for t in s.scalars(select(Task))}
        runs = s.scalars(select(PlaybookStepRun).order_by(PlaybookStepRun.id)).all()
        # every task step records its own task; the email step none
        assert sorted(r.task_id for r in runs if r.action == "create_task") == sorted(tasks)
        assert all(r.task_id is None for r in runs if r.action == "send_email")
        for r in runs:
            if r.task_id:
                assert r.result[0]["id"] == r.task_id and r.result[0]["title"] == tasks[r.task_id].title
        audited = set(s.scalars(select(AuditLog.entity_id).where(AuditLog.entity == "task")))
        assert {str(i) for i in tasks} <= {str(i) for i in audited}
        assert s.scalars(select(OutboxMessage)).one().payload["subject"] == "About Beta GmbH"
    for entry in res["accounts"]:
        assert [a["kind"] for a in entry["actions"]] == ["task", "email", "task"][:len(entry["actions"])]
        assert all(a.get("id") for a in entry["actions"] if a["kind"] == "task")
