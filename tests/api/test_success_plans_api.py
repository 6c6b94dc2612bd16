"""/api/v1 success plans on a demo copy of their own (they write to it): the permission matrix
rows (tests/api/test_permissions.py PLAN_ENDPOINTS), starting a plan from a template, and a
blocked task refused with 409 until what it waits for is done; every change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.api.test_permissions import PLAN_ENDPOINTS, PRINCIPALS, expected
from tests.playbooks.site import build_task_site

TEMPLATES = {"templates": {"adoption": {
    "title": "Roll out reporting to every region",
    "objectives": [
        {"title": "Reports in every region", "due_days": 90, "tasks": [
            {"key": "map", "title": "Map the regions' report owners", "due_days": 7},
            {"key": "train", "title": "Train the report owners", "due_days": 30, "depends_on": ["map"]}]},
        {"title": "Executive sponsor engaged", "tasks": [
            {"key": "ebr", "title": "Hold an EBR", "due_days": 45}]}]}}}


@pytest.fixture(scope="module")
def site(demo_built, tmp_path_factory):
    """The task site (tests/playbooks/site.py) with the 'adoption' template, a plan on the third
    account of csm01 and of csm03, a TestClient and headers(principal)."""
    from fastapi.testclient import TestClient

    from tenure.config import SuccessPlanSettings
    from tenure.playbooks import success_plans as sp
    from tenure.state.db import session_scope

    ns = build_task_site(demo_built, tmp_path_factory.mktemp("plans-site"))
    ns.app.state.ctx.config.success_plans = SuccessPlanSettings.model_validate(TEMPLATES)
    ns.plans = {}
    with session_scope(ns.config) as s:
        for csm in ("csm01", "csm03"):
            plan = sp.start_plan(s, account_id=ns.books[csm][2], template="adoption",
                                 settings=ns.app.state.ctx.config.success_plans, owner=csm, actor="tests")
            s.flush()
            ns.plans[csm] = sp.plan_view(s, plan.id)
    with TestClient(ns.app, raise_server_exceptions=False) as client:
        ns.api = client
        ns.headers = lambda who: {} if who == "anonymous" else {"Authorization": f"Bearer {ns.tokens[who]}"}
        yield ns
    ns.app.state.ctx.close()


def _keys(plan: dict) -> dict[str, int]:
    return {t["step_key"]: t["id"] for o in plan["objectives"] for t in o["tasks"]}


def test_success_plan_rows_of_the_permission_matrix(site):
    from tenure.playbooks import success_plans as sp
    from tenure.state.db import session_scope

    values = {"p01": site.books["csm01"][0], "p03": site.books["csm03"][0],
              "plan01": site.plans["csm01"]["id"], "plan03": site.plans["csm03"]["id"],
              "task01": _keys(site.plans["csm01"])["map"], "task03": _keys(site.plans["csm03"])["map"],
              "objective01": site.plans["csm01"]["objectives"][1]["id"],
              "objective03": site.plans["csm03"]["objectives"][1]["id"]}
    bodies = {None: None, "plan_start": {"template": "adoption"}, "plan_skip": {"state": "skipped"},
              "plan_add_task": {"title": "Matrix task"}, "plan_objective": {"status": "achieved"}}
    failures = []
    for method, path, body, allowed, ok in PLAN_ENDPOINTS:
        for principal in PRINCIPALS:
            r = site.api.request(method, "/api/v1" + path.format(**values), json=bodies[body],
                                 headers=site.headers(principal))
            want = expected(principal, allowed, ok)
            if r.status_code != want:
                failures.append(f"{method} {path} as {principal}: {r.status_code}, expected {want}: {r.text[:200]}")
            elif want >= 400:
                assert r.headers["content-type"].startswith("application/problem+json")
            if body == "plan_start" and r.status_code == 201:  # one active plan per template: end it for the next
                with session_scope(site.config) as s:
                    sp.close_plan(s, r.json()["id"], "abandoned", actor="tests")
    assert failures == []


def test_start_a_plan_and_a_blocked_task_is_refused_with_409(site):
    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog

    api, h = site.api, site.headers
    account = site.books["csm01"][1]
    r = api.post(f"/api/v1/accounts/{account}/success-plans", json={"template": "nope"}, headers=h("csm01"))
    assert r.status_code == 422 and "templates: adoption" in r.json()["detail"]
    r = api.post(f"/api/v1/accounts/{account}/success-plans", json={"template": "adoption"}, headers=h("manager"))
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["owner"] == "csm01" and plan["progress"]["tasks_blocked"] == 1  # the account's CSM, not the caller
    again = api.post(f"/api/v1/accounts/{account}/success-plans", json={"template": "adoption"}, headers=h("csm01"))
    assert again.status_code == 409 and "already has an active" in again.json()["detail"]
    keys = _keys(plan)
    url = f"/api/v1/success-plans/{plan['id']}/tasks/"
    r = api.post(url + str(keys["train"]), json={"state": "done", "outcome": "resolved"}, headers=h("csm01"))
    assert r.status_code == 409 and f"waits for success plan task(s) {keys['map']}" in r.json()["detail"]
    # the generic task route refuses it too
    r = api.patch(f"/api/v1/tasks/{keys['train']}", json={"state": "done", "outcome": "resolved"}, headers=h("csm01"))
    assert r.status_code == 409
    r = api.post(url + str(keys["map"]), json={"state": "done"}, headers=h("csm01"))
    assert r.status_code == 422 and "outcome" in r.json()["detail"]
    r = api.post(url + str(keys["map"]), json={"state": "done", "outcome": "resolved"}, headers=h("csm01"))
    assert r.status_code == 200 and r.json()["progress"]["tasks_blocked"] == 0
    r = api.post(url + str(keys["train"]), json={"state": "done", "outcome": "resolved", "comment": "trained"},
                 headers=h("csm01"))
    assert r.status_code == 200 and r.json()["progress"]["tasks_done"] == 2
    other = site.plans["csm03"]
    r = api.post(f"/api/v1/success-plans/{plan['id']}/tasks/{_keys(other)['ebr']}", json={"state": "skipped"},
                 headers=h("cco"))
    assert r.status_code == 404  # a task of another plan
    listed = api.get(f"/api/v1/accounts/{account}/success-plans", headers=h("csm01")).json()
    assert [p["id"] for p in listed] == [plan["id"]]
    with session_scope(site.config) as s:
        acts = s.execute(select(AuditLog.actor, AuditLog.action).where(
            AuditLog.entity == "success_plan", AuditLog.entity_id == str(plan["id"])).order_by(AuditLog.id)).all()
        assert [tuple(a) for a in acts] == [("manager", "create"), ("csm01", "task"), ("csm01", "task")]


def test_add_a_task_and_mark_objectives_over_the_api(site):
    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog

    api, h = site.api, site.headers
    account = site.books["csm01"][3]
    plan = api.post(f"/api/v1/accounts/{account}/success-plans", json={"template": "adoption"},
                    headers=h("csm01")).json()
    first, second = (o["id"] for o in plan["objectives"])
    keys = _keys(plan)
    base = f"/api/v1/success-plans/{plan['id']}"
    r = api.post(base + "/tasks", json={"title": "Present the reports", "objective_id": first,
                                        "depends_on": [keys["train"]], "due_date": "2030-01-15", "priority": "high"},
                 headers=h("csm01"))
    assert r.status_code == 201, r.text
    new = next(t for t in r.json()["objectives"][0]["tasks"] if t["title"] == "Present the reports")
    assert (new["blocked"], new["waiting_for"], new["owner"], new["due_at"][:10]) == (True, [keys["train"]], "csm01",
                                                                                       "2030-01-15")
    r = api.post(base + "/tasks", json={"title": "x", "depends_on": [_keys(site.plans["csm03"])["map"]]},
                 headers=h("csm01"))
    assert r.status_code == 422 and "is not a task of success plan" in r.json()["detail"]
    r = api.post(base + "/tasks", json={"title": "x", "objective_id": site.plans["csm03"]["objectives"][0]["id"]},
                 headers=h("csm01"))
    assert r.status_code == 422 and "is not an objective of success plan" in r.json()["detail"]
    r = api.post(f"{base}/objectives/{second}", json={"status": "achieved"}, headers=h("manager"))
    assert r.status_code == 200 and r.json()["progress"]["objectives_achieved"] == 1
    assert r.json()["objectives"][1]["status"] == "achieved"
    r = api.post(f"{base}/objectives/{site.plans['csm03']['objectives'][0]['id']}", json={"status": "dropped"},
                 headers=h("admin"))
    assert r.status_code == 404 and f"in success plan {plan['id']}" in r.json()["detail"]
    r = api.post(f"{base}/objectives/{first}", json={"status": "done"}, headers=h("csm01"))
    assert r.status_code == 422
    r = api.post(f"{base}/objectives/{first}", json={"status": "dropped"}, headers=h("csm03"))
    assert r.status_code == 403
    with session_scope(site.config) as s:
        acts = s.execute(select(AuditLog.actor, AuditLog.action).where(
            AuditLog.entity == "success_plan", AuditLog.entity_id == str(plan["id"])).order_by(AuditLog.id)).all()
        assert [tuple(a) for a in acts] == [("csm01", "create"), ("csm01", "add_task"), ("manager", "objective")]
