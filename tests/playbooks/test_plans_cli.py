"""`tenure plans templates|list|show|start|task-done|task-skip|close` on a project's state DB."""

from __future__ import annotations

import json

import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from tenure.cli import app
from tenure.config import load_config
from tenure.state import users
from tenure.state.db import session_scope
from tenure.state.models import AuditLog

runner = CliRunner()

TEMPLATES = {"templates": {"adoption": {
    "title": "Roll out reporting to every region",
    "objectives": [
        {"title": "Reports in every region", "due_days": 90, "tasks": [
            {"key": "map", "title": "Map the regions' report owners", "due_days": 7},
            {"key": "train", "title": "Train the report owners", "due_days": 30, "depends_on": ["map"]}]}]}}}


def _ok(args: list[str]):
    res = runner.invoke(app, args)
    assert res.exit_code == 0, (res.output, res.exception)
    return res


def test_start_show_and_finish_a_plan_from_the_command_line(tmp_project):
    path = tmp_project / "tenure.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["success_plans"] = TEMPLATES
    path.write_text(yaml.safe_dump(raw))
    with session_scope(load_config()) as s:
        users.create_user(s, "ana", "long enough", "csm", csm_key="ana")
    assert json.loads(_ok(["plans", "templates", "--json"]).output)[0]["name"] == "adoption"
    plan = json.loads(_ok(["plans", "start", "A1", "--template", "adoption", "--owner", "ana", "--user", "ana",
                           "--json"]).output)
    keys = {t["step_key"]: t["id"] for o in plan["objectives"] for t in o["tasks"]}
    res = runner.invoke(app, ["plans", "start", "A1", "--template", "adoption", "--owner", "ana"])
    assert res.exit_code != 0 and "already has an active 'adoption' success plan" in str(res.exception)
    shown = _ok(["plans", "show", str(plan["id"])]).output
    assert "1 blocked" in shown and "Train" in shown
    listed = json.loads(_ok(["plans", "list", "--account", "A1", "--json"]).output)
    assert [p["id"] for p in listed] == [plan["id"]]
    res = runner.invoke(app, ["plans", "task-done", str(plan["id"]), str(keys["train"]), "--outcome", "resolved",
                              "--user", "ana"])
    assert res.exit_code != 0 and f"waits for success plan task(s) {keys['map']}" in str(res.exception)
    out = _ok(["plans", "task-done", str(plan["id"]), str(keys["map"]), "--outcome", "resolved", "--user", "ana"])
    assert f"task {keys['map']} done (resolved)" in out.output and "0 blocked" in out.output
    _ok(["plans", "task-skip", str(plan["id"]), str(keys["train"]), "--user", "ana"])
    _ok(["plans", "close", str(plan["id"]), "--as", "achieved", "--user", "ana"])
    assert json.loads(_ok(["plans", "list", "--json"]).output) == []  # active only by default
    assert json.loads(_ok(["plans", "list", "--status", "all", "--json"]).output)[0]["status"] == "achieved"
    with session_scope(load_config()) as s:
        acts = s.execute(select(AuditLog.actor, AuditLog.action).where(
            AuditLog.entity == "success_plan", AuditLog.entity_id == str(plan["id"])).order_by(AuditLog.id)).all()
        assert [tuple(a) for a in acts] == [("ana", "create"), ("ana", "task"), ("ana", "task"), ("ana", "close")]


def test_objectives_and_added_tasks_from_the_command_line(tmp_project):
    path = tmp_project / "tenure.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["success_plans"] = TEMPLATES
    path.write_text(yaml.safe_dump(raw))
    with session_scope(load_config()) as s:
        users.create_user(s, "ana", "long enough", "csm", csm_key="ana")
    plan = json.loads(_ok(["plans", "start", "A1", "--template", "adoption", "--owner", "ana", "--json"]).output)
    obj = plan["objectives"][0]
    keys = {t["step_key"]: t["id"] for t in obj["tasks"]}
    added = json.loads(_ok(["plans", "add-task", str(plan["id"]), "--title", "Present the regional reports",
                            "--objective", "reports in every REGION", "--depends-on", str(keys["train"]),
                            "--due", "2030-01-15", "--priority", "high", "--user", "ana", "--json"]).output)
    new = next(t for t in added["objectives"][0]["tasks"] if t["title"] == "Present the regional reports")
    assert (new["depends_on"], new["blocked"], new["priority"], new["owner"]) == ([keys["train"]], True, "high", "ana")
    assert str(new["due_at"]).startswith("2030-01-15")
    res = runner.invoke(app, ["plans", "add-task", str(plan["id"]), "--title", "x", "--depends-on", "999999"])
    assert res.exit_code != 0 and "task 999999 is not a task of success plan" in str(res.exception)
    res = runner.invoke(app, ["plans", "objective", "A1", "no such goal", "--achieved"])
    assert res.exit_code != 0 and f"{obj['id']} Reports in every region" in str(res.exception)
    res = runner.invoke(app, ["plans", "objective", "A1", str(obj["id"])])
    assert res.exit_code != 0 and "--achieved, --dropped or --open" in res.output + str(res.exception)
    out = _ok(["plans", "objective", "A1", str(obj["id"]), "--achieved", "--user", "ana"]).output
    assert "achieved" in out and "objectives 1/1 achieved" in out
    shown = json.loads(_ok(["plans", "objective", "A1", "Reports in every region", "--dropped", "--json"]).output)
    assert shown["objectives"][0]["status"] == "dropped"
    res = runner.invoke(app, ["plans", "objective", "A2", str(obj["id"]), "--open"])  # another account's plan
    assert res.exit_code != 0 and "no objective" in str(res.exception)
    with session_scope(load_config()) as s:
        acts = s.execute(select(AuditLog.actor, AuditLog.action).where(
            AuditLog.entity == "success_plan", AuditLog.entity_id == str(plan["id"])).order_by(AuditLog.id)).all()
        assert [tuple(a) for a in acts] == [("cli", "create"), ("ana", "add_task"), ("ana", "objective"),
                                            ("cli", "objective")]
