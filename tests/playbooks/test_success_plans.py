"""Success plans in the state DB (SQLite and PostgreSQL): a plan from a tenure.yaml template makes
its objectives and tasks; a task waits (blocked) until the tasks it depends on are done or
skipped; one active plan per account and template; closing a plan skips its open tasks; every
change is audited; templates with unknown or circular dependencies are refused when tenure.yaml loads."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tenure.config import SuccessPlanSettings, config_from_dict
from tenure.errors import ConfigError, ConflictError, InputError
from tenure.playbooks import success_plans as sp
from tenure.playbooks import tasks
from tenure.state.db import session_scope
from tenure.state.models import AuditLog, Task

NOW = datetime(2026, 3, 2, 9, 0)

TEMPLATES = SuccessPlanSettings.model_validate({"templates": {"adoption": {
    "title": "Roll out reporting to every region",
    "objectives": [
        {"title": "Reports in every region", "due_days": 90, "tasks": [
            {"key": "map", "title": "Map the regions' report owners", "due_days": 7},
            {"key": "train", "title": "Train the report owners", "due_days": 30, "depends_on": ["map"]},
            {"key": "review", "title": "Review usage with the sponsor", "due_days": 60, "type": "lifecycle",
             "depends_on": ["train", "map"]}]},
        {"title": "Executive sponsor engaged", "tasks": [
            {"key": "ebr", "title": "Hold an EBR", "due_days": 45, "priority": "high"}]},
    ]}}})


def _plan_audit(s, plan_id: int) -> list[str]:
    q = select(AuditLog.action).where(AuditLog.entity == "success_plan", AuditLog.entity_id == str(plan_id))
    return list(s.scalars(q.order_by(AuditLog.id)))


def test_a_template_makes_objectives_and_tasks_that_wait_for_each_other(state_url):
    with session_scope(state_url) as s:
        plan = sp.start_plan(s, account_id="A1", template="adoption", settings=TEMPLATES, owner="csm01",
                             actor="csm01", now=NOW)
        pid = plan.id
    with session_scope(state_url) as s:
        v = sp.plan_view(s, pid)
        assert (v["title"], v["status"], v["owner"], v["template"]) == (
            "Roll out reporting to every region", "active", "csm01", "adoption")
        first, second = v["objectives"]
        assert first["target_date"] == date(2026, 5, 31) and second["target_date"] is None
        by_key = {t["step_key"]: t for o in v["objectives"] for t in o["tasks"]}
        assert [t["step_key"] for t in first["tasks"]] == ["map", "train", "review"]  # by due date
        assert by_key["map"]["due_at"] == NOW + timedelta(days=7) and by_key["ebr"]["priority"] == "high"
        assert {t["owner"] for t in by_key.values()} == {"csm01"}
        assert not by_key["map"]["blocked"] and not by_key["ebr"]["blocked"]
        assert by_key["train"]["blocked"] and by_key["train"]["waiting_for"] == [by_key["map"]["id"]]
        assert by_key["review"]["blocked"]
        assert v["progress"] == {"objectives": 2, "objectives_achieved": 0, "tasks": 4, "tasks_done": 0,
                                 "tasks_blocked": 2}
        tasks.transition(s, by_key["map"]["id"], "done", outcome="resolved", actor="csm01", now=NOW)
    with session_scope(state_url) as s:
        by_key = {t["step_key"]: t for o in sp.plan_view(s, pid)["objectives"] for t in o["tasks"]}
        assert not by_key["train"]["blocked"]  # map is done
        assert by_key["review"]["blocked"] and by_key["review"]["waiting_for"] == [by_key["train"]["id"]]
        tasks.close_tasks(s, [by_key["train"]["id"]], "not needed", actor="csm01")
    with session_scope(state_url) as s:
        v = sp.plan_view(s, pid)
        assert v["progress"]["tasks_done"] == 2 and v["progress"]["tasks_blocked"] == 0  # skipped unblocks too
        sp.set_objective(s, v["objectives"][1]["id"], "achieved", actor="csm01", now=NOW)
        assert sp.plan_view(s, pid)["progress"]["objectives_achieved"] == 1
        assert _plan_audit(s, pid) == ["create", "objective"]
        created = s.scalars(select(Task).where(Task.dedupe_key.like(f"success:{pid}:%"))).all()
        assert len(created) == 4


def test_one_active_plan_per_template_and_closing_skips_open_tasks(state_url):
    with session_scope(state_url) as s:
        pid = sp.start_plan(s, account_id="A1", template="adoption", settings=TEMPLATES, actor="csm01", now=NOW).id
    with session_scope(state_url) as s:
        with pytest.raises(ConflictError, match="already has an active 'adoption' success plan"):
            sp.start_plan(s, account_id="A1", template="adoption", settings=TEMPLATES, actor="csm01", now=NOW)
    with session_scope(state_url) as s:
        with pytest.raises(InputError, match="template 'onboard' does not exist; templates: adoption"):
            sp.start_plan(s, account_id="A1", template="onboard", settings=TEMPLATES, actor="csm01")
    with session_scope(state_url) as s:
        plan = sp.close_plan(s, pid, "abandoned", actor="manager", now=NOW)
        assert plan.status == "abandoned"
    with session_scope(state_url) as s:
        v = sp.plan_view(s, pid)
        states = {t["state"] for o in v["objectives"] for t in o["tasks"]}
        assert states == {"skipped"}
        assert {t["close_reason"] for o in v["objectives"] for t in o["tasks"]} == {f"success plan {pid} abandoned"}
        assert _plan_audit(s, pid) == ["create", "close"]
        with pytest.raises(ConflictError, match="abandoned already"):
            sp.close_plan(s, pid, "achieved", actor="manager")
        again = sp.start_plan(s, account_id="A1", template="adoption", settings=TEMPLATES, actor="csm01", now=NOW)
        assert again.id != pid  # the old one is closed: a new plan may start
        assert [p["id"] for p in sp.list_plans(s, accounts=["A1"], status="active")] == [again.id]


def test_tasks_added_by_hand_depend_only_on_the_plans_own_tasks(state_url):
    with session_scope(state_url) as s:
        plan = sp.create_plan(s, account_id="B1", title="Expand to finance", objectives=["Finance live"],
                              owner="csm02", actor="csm02", now=NOW)
        other = tasks.create_task(s, account_id="B1", type="lifecycle", title="Unrelated", now=NOW)
        obj = sp.plan_view(s, plan.id)["objectives"][0]["id"]
        a = sp.add_task(s, plan.id, title="Demo to finance", objective_id=obj, actor="csm02", now=NOW)
        b = sp.add_task(s, plan.id, title="Pilot", objective_id=obj, depends_on=[a.id], actor="csm02", now=NOW)
        with pytest.raises(InputError, match=f"task {other.id} is not a task of success plan {plan.id}"):
            sp.add_task(s, plan.id, title="x", depends_on=[other.id], actor="csm02")
        v = sp.plan_view(s, plan.id)
        rows = {t["id"]: t for t in v["objectives"][0]["tasks"]}
        assert rows[b.id]["blocked"] and rows[b.id]["owner"] == "csm02" and not rows[a.id]["blocked"]
        assert [p["id"] for p in sp.list_plans(s, owners=["csm02"])] == [plan.id]
        assert sp.list_plans(s, owners=["csm01"]) == []


@pytest.mark.parametrize("template, words", [
    ({"title": "t", "objectives": [{"title": "o", "tasks": [{"key": "a", "title": "A", "depends_on": ["b"]}]}]},
     "task 'a' depends on unknown task 'b'"),
    ({"title": "t", "objectives": [{"title": "o", "tasks": [
        {"key": "a", "title": "A", "depends_on": ["b"]}, {"key": "b", "title": "B", "depends_on": ["a"]}]}]},
     "in a circle: a -> b -> a"),
    ({"title": "t", "objectives": [{"title": "o", "tasks": [{"key": "a", "title": "A"}]},
                                   {"title": "p", "tasks": [{"key": "a", "title": "A2"}]}]},
     "task key 'a' is used twice"),
])
def test_bad_templates_are_refused_naming_the_template(tmp_path, template, words):
    with pytest.raises(ConfigError) as err:
        config_from_dict({"success_plans": {"templates": {"adoption": template}}}, base_dir=tmp_path, env={})
    assert words in str(err.value) and "success_plans.templates.adoption" in str(err.value)


def test_migration_0010_up_down_up(state_url):
    from alembic import command
    from sqlalchemy import inspect

    from tenure.state.db import _alembic_config, current_revision, make_engine, upgrade
    from tenure.state.models import Base

    tables = ("success_plans", "success_objectives", "success_plan_tasks")

    def names() -> set[str]:
        return set(inspect(make_engine(state_url)).get_table_names())

    upgrade(state_url, "0010")
    assert set(tables) <= names()
    cols = {t: {c["name"] for c in inspect(make_engine(state_url)).get_columns(t)} for t in tables}
    assert cols == {t: set(Base.metadata.tables[t].columns.keys()) for t in tables}
    with make_engine(state_url).begin() as connection:
        cfg = _alembic_config(state_url)
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0009")
    assert current_revision(state_url) == "0009" and not set(tables) & names()
    upgrade(state_url, "0010")
    assert set(tables) <= names()


def test_a_blocked_task_cannot_be_completed_or_skipped_by_hand(state_url):
    """Before, tasks.transition closed a task whose dependencies were still open (the plan showed it
    done while the work it waits for was not); now every way of closing it by hand is refused."""
    with session_scope(state_url) as s:
        pid = sp.start_plan(s, account_id="A1", template="adoption", settings=TEMPLATES, owner="csm01",
                            actor="csm01", now=NOW).id
    with session_scope(state_url) as s:
        by_key = {t["step_key"]: t["id"] for o in sp.plan_view(s, pid)["objectives"] for t in o["tasks"]}
    for state, outcome in (("done", "resolved"), ("skipped", None)):
        with session_scope(state_url) as s, pytest.raises(ConflictError, match=rf"task {by_key['train']} is blocked"):
            tasks.transition(s, by_key["train"], state, outcome=outcome, actor="csm01", now=NOW)
    with session_scope(state_url) as s, pytest.raises(ConflictError, match=f"waits for success plan task"):
        sp.finish_task(s, pid, by_key["review"], "done", outcome="resolved", actor="csm01", now=NOW)
    with session_scope(state_url) as s, pytest.raises(ConflictError):
        tasks.bulk(s, [by_key["train"], by_key["map"]], state="skipped", actor="csm01")  # train first: blocked
    with session_scope(state_url) as s:
        assert s.get(Task, by_key["train"]).state == "open" and s.get(Task, by_key["map"]).state == "open"
        v = sp.finish_task(s, pid, by_key["map"], "done", outcome="resolved", actor="csm01", now=NOW)
        assert v["progress"]["tasks_done"] == 1
        v = sp.finish_task(s, pid, by_key["train"], "skipped", actor="csm01", now=NOW)  # map done: ready now
        assert v["progress"]["tasks_blocked"] == 0
        with pytest.raises(InputError, match="done or skipped"):
            sp.finish_task(s, pid, by_key["review"], "open", actor="csm01")
        assert _plan_audit(s, pid) == ["create", "task", "task"]
        tasks.transition(s, by_key["ebr"], "in_progress", actor="csm01")  # no dependencies: always allowed
