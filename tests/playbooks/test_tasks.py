"""Tasks (CTAs) in the state DB on SQLite and PostgreSQL: creation with dedupe keys, states and
outcomes, owners by rule, bulk actions, closing, listing with filters, and the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from tenure.config import OperatingModel, Team
from tenure.errors import InputError, NotFoundError
from tenure.playbooks import tasks
from tenure.state import users
from tenure.state.db import session_scope
from tenure.state.models import AuditLog, Task

NOW = datetime(2026, 3, 2, 9, 0)


def _audit(s, task_id: int) -> list[str]:
    q = select(AuditLog.action).where(AuditLog.entity == "task", AuditLog.entity_id == str(task_id))
    return list(s.scalars(q.order_by(AuditLog.id)))


def test_a_dedupe_key_makes_a_task_once(state_url):
    with session_scope(state_url) as s:
        first = tasks.create_task(s, account_id="A1", type="risk", title="Save A1", reason="health_red",
                                  owner="csm01", dedupe_key="at-risk:A1:2026-03", playbook="at-risk", playbook_version=2,
                                  checklist=["call the sponsor", {"item": "plan", "done": True}], now=NOW)
        assert first is not None and first.state == "open" and first.playbook_version == 2
        assert first.checklist == [{"item": "call the sponsor", "done": False}, {"item": "plan", "done": True}]
        # due from the type (risk: 3 days), SLA from the priority (normal: 72 h)
        assert first.due_at == NOW + timedelta(days=3) and first.sla_due_at == NOW + timedelta(hours=72)
    with session_scope(state_url) as s:
        again = tasks.create_task(s, account_id="A1", type="risk", title="Save A1", dedupe_key="at-risk:A1:2026-03")
        assert again is None
        ids = tasks.create_tasks(s, [dict(account_id="A2", type="renewal", title="Renew", dedupe_key="r:A2"),
                                     dict(account_id="A2", type="renewal", title="Renew", dedupe_key="r:A2"),
                                     dict(account_id="A3", type="lifecycle", title="Hello")], actor="playbooks")
        assert len(ids) == 2
    with session_scope(state_url) as s:
        assert s.scalar(select(func.count()).select_from(Task)) == 3
        assert _audit(s, first.id) == ["create"]
        created = s.scalars(select(AuditLog).where(AuditLog.entity == "task", AuditLog.action == "create")).all()
        assert len(created) == 3 and {a.actor for a in created} == {"system", "playbooks"}


def test_the_vocabulary_comes_from_config(state_url):
    with session_scope(state_url) as s:
        with pytest.raises(InputError, match="type 'chores' is not one of risk"):
            tasks.create_task(s, account_id="A1", type="chores", title="x")
        with pytest.raises(InputError, match="reason 't45' is not one of t120, t90, t60, t30"):
            tasks.create_task(s, account_id="A1", type="renewal", reason="t45", title="x")
        with pytest.raises(InputError, match="priority 'asap'"):
            tasks.create_task(s, account_id="A1", type="risk", title="x", priority="asap")
        with pytest.raises(InputError, match="owner or a queue, not both"):
            tasks.create_task(s, account_id="A1", type="risk", title="x", owner="a", queue="b")


def test_states_outcomes_snooze_and_reopen_are_audited(state_url):
    with session_scope(state_url) as s:
        t = tasks.create_task(s, account_id="A1", type="risk", title="Save", owner="csm01", now=NOW)
        tid = t.id
    with session_scope(state_url) as s:
        with pytest.raises(InputError, match="records its outcome"):
            tasks.transition(s, tid, "done", actor="csm01", now=NOW)
        with pytest.raises(InputError, match="outcome 'yay' is not one of"):
            tasks.transition(s, tid, "done", outcome="yay", actor="csm01", now=NOW)
        with pytest.raises(InputError, match="snoozing needs a time in the future"):
            tasks.transition(s, tid, "snoozed", snoozed_until=NOW - timedelta(hours=1), actor="csm01", now=NOW)
        tasks.transition(s, tid, "in_progress", actor="csm01", now=NOW)
        tasks.transition(s, tid, "in_progress", actor="csm01", now=NOW)  # no change, no audit entry
        tasks.transition(s, tid, "snoozed", snoozed_until=NOW + timedelta(days=2), actor="csm01", now=NOW)
    with session_scope(state_url) as s:
        # the snooze ends: listing wakes the task (audited as the system)
        page = tasks.list_tasks(s, owner="csm01", states=["open"], now=NOW + timedelta(days=3))
        assert [r["id"] for r in page.rows] == [tid] and page.rows[0]["snoozed_until"] is None
        t = tasks.transition(s, tid, "done", outcome="saved", comment="sponsor agreed to a plan", actor="csm01",
                             now=NOW + timedelta(days=3))
        assert t.closed_at == NOW + timedelta(days=3) and t.outcome == "saved"
        assert [c["body"] for c in tasks.comments(s, tid)] == ["sponsor agreed to a plan"]
    with session_scope(state_url) as s:
        t = tasks.transition(s, tid, "open", actor="manager", now=NOW + timedelta(days=4))
        assert t.closed_at is None and t.outcome is None
        assert _audit(s, tid) == ["create", "transition", "transition", "wake", "comment", "transition", "transition"]
        last = s.scalars(select(AuditLog).where(AuditLog.entity_id == str(tid)).order_by(AuditLog.id.desc())).first()
        assert last.actor == "manager" and last.before["state"] == "done" and last.after["state"] == "open"
        with pytest.raises(NotFoundError, match="no task 99999"):
            tasks.transition(s, 99999, "done", outcome="saved", actor="x")


def test_listing_filters_overdue_and_counts_in_the_database(state_url):
    with session_scope(state_url) as s:
        for i in range(7):
            tasks.create_task(s, account_id=f"A{i}", type="risk", title=f"t{i}", owner="csm01" if i < 5 else "csm02",
                              due_at=NOW + timedelta(days=i - 3), now=NOW - timedelta(days=10))
    with session_scope(state_url) as s:
        overdue = tasks.list_tasks(s, owner="csm01", overdue=True, now=NOW)
        assert overdue.total == 3 and [r["title"] for r in overdue.rows] == ["t0", "t1", "t2"]
        assert all(r["overdue"] for r in overdue.rows)
        page = tasks.list_tasks(s, owners=["csm01"], limit=2, offset=2, now=NOW)
        assert page.total == 5 and [r["title"] for r in page.rows] == ["t2", "t3"]
        first = tasks.list_tasks(s, owners=["csm02"], now=NOW).rows[0]["id"]
        tasks.transition(s, first, "done", outcome="resolved", actor="csm02", now=NOW)
        assert tasks.list_tasks(s, owners=["csm02"], overdue=True, now=NOW).total == 0  # done is never overdue
        assert tasks.list_tasks(s, due_before=NOW, now=NOW).total == 3
        by = tasks.summary(s, by=("owner",), now=NOW)
        assert by == [{"owner": "csm01", "tasks": 5, "open": 5, "overdue": 3, "done": 0, "skipped": 0},
                      {"owner": "csm02", "tasks": 2, "open": 1, "overdue": 0, "done": 1, "skipped": 0}]


def test_owner_rules(state_url):
    model = OperatingModel(teams={"east": Team(manager="mia", members=["ana", "ben", "cy"])})
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(5)],
                             "owner": ["ana", "ben", None, "zed", "ana"]})
    with session_scope(state_url) as s:
        users.create_user(s, "boss", "long enough", "manager")
        users.create_user(s, "zed", "long enough", "csm", manager="boss")
        tasks.create_tasks(s, [dict(account_id="X", type="risk", title="x", owner="ana")] * 3
                           + [dict(account_id="X", type="risk", title="x", owner="cy")])
    with session_scope(state_url) as s:
        assert list(tasks.assign_owners(s, accounts, "account_owner")) == ["ana", "ben", None, "zed", "ana"]
        # from the operating model's teams; zed is in none, so the users table names its manager
        assert list(tasks.assign_owners(s, accounts, "manager", model=model)) == ["mia", "mia", None, "boss", "mia"]
        assert list(tasks.assign_owners(s, accounts, "queue")) == [None] * 5
        # fewest open: ana 3, ben 0, cy 1 -> ben, ben, cy, ben, cy (ties go to the earlier member)
        assert list(tasks.assign_owners(s, accounts, "fewest_open", "east", model=model)) == [
            "ben", "ben", "cy", "ben", "cy"]
        # round robin continues after the 4 tasks the team already had: 4 % 3 = 1 -> ben first
        assert list(tasks.assign_owners(s, accounts, "round_robin", ["ana", "ben", "cy"])) == [
            "ben", "cy", "ana", "ben", "cy"]
        with pytest.raises(InputError, match="no team 'west'"):
            tasks.assign_owners(s, accounts, "round_robin", "west", model=model)
        with pytest.raises(InputError, match="owner rule 'random'"):
            tasks.assign_owners(s, accounts, "random")


def test_fewest_open_is_the_greedy_sequence():
    """The vectorised water-filling equals giving each task, one at a time, to the member with the
    fewest open tasks (ties: the earlier member)."""
    import numpy as np

    rng = np.random.default_rng(3)
    for _ in range(50):
        counts = rng.integers(0, 6, size=rng.integers(1, 6))
        k = int(rng.integers(0, 15))
        c, expected = counts.copy(), []
        for _ in range(k):
            i = int(np.argmin(c))
            expected.append(i)
            c[i] += 1
        assert list(tasks._fewest_open(counts, k)) == expected


def test_bulk_reassign_and_close_are_audited_and_rerunnable(state_url):
    with session_scope(state_url) as s:
        ids = tasks.create_tasks(s, [dict(account_id=f"A{i}", type="risk", title="t", owner="ana") for i in range(4)])
    with session_scope(state_url) as s:
        tasks.bulk(s, ids[:2], owner="ben", actor="mia")
        tasks.bulk(s, ids[2:], state="snoozed", snoozed_until=datetime(2099, 1, 1), actor="mia")
        with pytest.raises(InputError, match="sets a state, an owner or a queue"):
            tasks.bulk(s, ids, actor="mia")
        tasks.reassign(s, ids[0], queue="renewals-desk", actor="mia")
    with session_scope(state_url) as s:
        assert [s.get(Task, i).owner for i in ids] == [None, "ben", "ana", "ana"]
        assert s.get(Task, ids[0]).queue == "renewals-desk"
        tasks.transition(s, ids[1], "done", outcome="resolved", actor="ben")
        assert tasks.close_tasks(s, ids, "the account is no longer red", actor="playbooks") == 3
        assert tasks.close_tasks(s, ids, "the account is no longer red", actor="playbooks") == 0
    with session_scope(state_url) as s:
        assert [s.get(Task, i).state for i in ids] == ["skipped", "done", "skipped", "skipped"]
        assert s.get(Task, ids[2]).close_reason == "the account is no longer red"
        assert _audit(s, ids[0]) == ["create", "reassign", "reassign", "close"]
        assert _audit(s, ids[1]) == ["create", "reassign", "transition"]


def test_the_commented_default_config_shows_the_task_defaults():
    """`tenure init` writes the task vocabulary as it is: the YAML and the model agree."""
    import yaml

    from tenure.config import DEFAULT_CONFIG_YAML, Config, TaskSettings

    assert TaskSettings.model_validate(yaml.safe_load(DEFAULT_CONFIG_YAML)["tasks"]) == Config().tasks
