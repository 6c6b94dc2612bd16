"""The account page's "Success plan" section: a CSM starts a plan from a template, sees its
objectives and tasks (the blocked one with no buttons, naming what it waits for), completes a ready
task (CSRF-checked), and a blocked task posted anyway is refused with 409; a CSM outside the book and
a viewer cannot write. Audited."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.api.test_success_plans_api import TEMPLATES
from tests.web.conftest import csrf_of


def test_a_csm_works_a_success_plan_from_the_account_page(writable_site, writable_login, books):
    from tenure.config import SuccessPlanSettings
    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog

    writable_site.app.state.ctx.config.success_plans = SuccessPlanSettings.model_validate(TEMPLATES)
    target = books["csm01"][0]
    c = writable_login("csm01")
    page = c.get(f"/accounts/{target}").text
    assert 'id="success-plan"' in page and "no active success plan" in page and 'id="start-success-plan"' in page
    token = csrf_of(page)
    assert c.post(f"/accounts/{target}/success-plans", data={"template": "adoption"},
                  follow_redirects=False).status_code == 403  # no CSRF token
    r = c.post(f"/accounts/{target}/success-plans", data={"template": "adoption", "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("#success-plan")
    page = c.get(r.headers["location"]).text
    assert "Started the success plan" in page and "Reports in every region" in page
    assert 'id="start-success-plan"' not in page  # the only template is running
    plan = int(re.search(r'data-plan="(\d+)"', page).group(1))
    blocked = int(re.search(r'data-task="(\d+)" data-state="blocked"', page).group(1))
    ready = [int(t) for t in re.findall(r'data-task="(\d+)" data-state="open"', page)]
    assert len(ready) == 2 and f'action="/success-plans/{plan}/tasks/{blocked}"' not in page
    assert all(f'action="/success-plans/{plan}/tasks/{t}"' in page for t in ready)
    # a blocked task posted anyway: 409, still open
    r = c.post(f"/success-plans/{plan}/tasks/{blocked}", data={"state": "done", "outcome": "resolved",
                                                                "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 409
    # outside the book / a viewer: refused
    other = writable_login("csm03")
    assert other.post(f"/success-plans/{plan}/tasks/{ready[0]}", data={
        "state": "skipped", "csrf_token": csrf_of(other.get("/").text)}, follow_redirects=False).status_code == 403
    v = writable_login("viewer")
    vpage = v.get(f"/accounts/{target}").text
    assert "Reports in every region" in vpage and "Complete</button>" not in vpage
    # the map task (the first, due soonest) done: the blocked one is ready now
    first = min(ready)
    r = c.post(f"/success-plans/{plan}/tasks/{first}", data={"state": "done", "outcome": "resolved",
                                                              "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert f"Task {first} done." in page and 'data-state="blocked"' not in page
    assert f'data-task="{first}" data-state="done"' in page
    with session_scope(writable_site.config) as s:
        acts = s.execute(select(AuditLog.actor, AuditLog.action).where(
            AuditLog.entity == "success_plan", AuditLog.entity_id == str(plan)).order_by(AuditLog.id)).all()
        assert [tuple(a) for a in acts] == [("csm01", "create"), ("csm01", "task")]


def test_objective_buttons_and_adding_a_task_from_the_account_page(writable_site, writable_login, books):
    from tenure.config import SuccessPlanSettings
    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog

    writable_site.app.state.ctx.config.success_plans = SuccessPlanSettings.model_validate(TEMPLATES)
    target = books["csm01"][1]
    c = writable_login("csm01")
    token = csrf_of(c.get(f"/accounts/{target}").text)
    r = c.post(f"/accounts/{target}/success-plans", data={"template": "adoption", "csrf_token": token},
               follow_redirects=False)
    page = c.get(r.headers["location"]).text
    plan = int(re.search(r'data-plan="(\d+)"', page).group(1))
    objectives = [int(o) for o in re.findall(rf'action="/success-plans/{plan}/objectives/(\d+)"', page)]
    assert len(objectives) == 2 and f'action="/success-plans/{plan}/tasks"' in page
    first_task = int(re.search(r'data-task="(\d+)"', page).group(1))
    assert c.post(f"/success-plans/{plan}/objectives/{objectives[1]}", data={"status": "achieved"},
                  follow_redirects=False).status_code == 403  # no CSRF token
    r = c.post(f"/success-plans/{plan}/objectives/{objectives[1]}", data={"status": "achieved", "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("#success-plan")
    page = c.get(r.headers["location"]).text
    assert "Objective Executive sponsor engaged achieved." in page and "1 of 2 objectives achieved" in page
    r = c.post(f"/success-plans/{plan}/tasks", data={"title": "Present the regional reports", "csrf_token": token,
                                                     "objective_id": str(objectives[0]),
                                                     "depends_on": [str(first_task)], "due": "2030-01-15"},
               follow_redirects=False)
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "Added the task Present the regional reports." in page
    added = re.search(r'data-task="(\d+)" data-state="blocked">Present the regional reports', page)
    assert added and f"waits for task {first_task}" in page
    other = writable_login("csm03")
    assert other.post(f"/success-plans/{plan}/objectives/{objectives[0]}", data={
        "status": "dropped", "csrf_token": csrf_of(other.get("/").text)}, follow_redirects=False).status_code == 403
    with session_scope(writable_site.config) as s:
        acts = s.execute(select(AuditLog.actor, AuditLog.action).where(
            AuditLog.entity == "success_plan", AuditLog.entity_id == str(plan)).order_by(AuditLog.id)).all()
        assert [tuple(a) for a in acts] == [("csm01", "create"), ("csm01", "objective"), ("csm01", "add_task")]
