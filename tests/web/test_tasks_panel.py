"""The cockpit's task panel on a site of its own (tests/playbooks/site.py; it is written to): a CSM
sees its overdue and this week's tasks, completes one and snoozes one with plain forms (no
JavaScript) and with htmx, cannot touch another book's task, and a real browser completes one."""

from __future__ import annotations

import re
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.playbooks.site import build_task_site
from tests.web.conftest import HTML, csrf_of, login_token


@pytest.fixture(scope="module")
def site(demo_built, tmp_path_factory):
    ns = build_task_site(demo_built, tmp_path_factory.mktemp("panel-site"))
    yield ns
    ns.app.state.ctx.close()


def _login(site, username: str) -> TestClient:
    c = TestClient(site.app, raise_server_exceptions=False, headers=HTML)
    r = c.post("/login", data={"username": username, "password": site.passwords[username],
                               "csrf_token": login_token(c), "next": "/cockpit"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<h3", start + 1)
    return html[start:end if end != -1 else len(html)]


def test_the_panel_lists_mine_and_works_without_javascript(site):
    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog, Task

    ids = site.ids
    c = _login(site, "csm01")
    page = c.get("/cockpit")
    assert page.status_code == 200
    html = page.text
    assert 'id="tasks"' in html and "Overdue (1)" in html and "Due this week (1)" in html
    assert f'id="task-{ids["late"]}"' in _section(html, "tasks-overdue")
    assert f'id="task-{ids["csm01"]}"' in _section(html, "tasks-week")
    assert "Save csm03" not in html and "Save csm02" not in html  # other books' tasks are not mine
    token = csrf_of(html)
    # without JavaScript: a form post, then back to the cockpit
    r = c.post(f"/tasks/{ids['late']}/done", data={"outcome": "renewed", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cockpit#tasks"
    r = c.post(f"/tasks/{ids['csm01']}/snooze", data={"days": "3", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    html = c.get("/cockpit").text
    assert "No open tasks (1 snoozed)" in html
    # no CSRF token, or another book's task: refused, nothing changes
    assert c.post(f"/tasks/{ids['csm03']}/done", data={"outcome": "saved"}).status_code == 403
    assert c.post(f"/tasks/{ids['csm03']}/done", data={"outcome": "saved", "csrf_token": token}).status_code == 403
    with session_scope(site.config) as s:
        assert s.get(Task, ids["late"]).state == "done" and s.get(Task, ids["late"]).outcome == "renewed"
        assert s.get(Task, ids["csm01"]).state == "snoozed"
        assert s.get(Task, ids["csm03"]).state == "open"
        # this test's tasks only (the demo's own follow-ups were closed by their CSMs)
        actors = set(s.scalars(select(AuditLog.actor).where(
            AuditLog.entity == "task", AuditLog.action == "transition",
            AuditLog.entity_id.in_([str(i) for i in ids.values()]))))
        assert actors == {"csm01"}


def test_htmx_gets_the_panel_back_with_errors_shown(site):
    c = _login(site, "csm02")
    token = csrf_of(c.get("/cockpit").text)
    hx = {"HX-Request": "true", "HX-Target": "tasks"}
    r = c.post(f"/tasks/{site.ids['csm02']}/done", data={"outcome": "bogus", "csrf_token": token}, headers=hx)
    assert r.status_code == 200 and r.text.lstrip().startswith("<section")
    assert 'id="tasks"' in r.text and "outcome &#39;bogus&#39; is not one of" in r.text
    assert "<html" not in r.text  # a fragment
    r = c.post(f"/tasks/{site.ids['csm02']}/done", data={"outcome": "saved", "csrf_token": token}, headers=hx)
    assert r.status_code == 200 and "No open tasks" in r.text


@pytest.mark.browser
def test_a_csm_logs_in_sees_its_tasks_and_completes_one(site, tmp_path):
    """Chromium: csm03 logs in, the cockpit lists its task, it picks an outcome and presses Done;
    the task leaves the list (htmx in place when installed, a page load otherwise) and is done."""
    import os

    import uvicorn

    from tenure.state.db import session_scope
    from tenure.state.models import Task
    from tests.web.test_browser import ARGS, CHROMIUM, Watch, _free_port

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (scripts/test installs it)")
    from playwright.sync_api import sync_playwright

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    task_id = site.ids["csm03"]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page()
            page.set_default_timeout(60_000)
            watch = Watch(page, base)
            page.goto(base + "/cockpit")
            page.get_by_label("Username").fill("csm03")
            page.get_by_label("Password").fill(site.passwords["csm03"])
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(re.compile(re.escape(base) + r"/cockpit"))
            item = page.locator(f"#task-{task_id}")
            assert "Save csm03's account" in item.inner_text()
            item.get_by_label(re.compile("Outcome of")).select_option("saved")
            item.get_by_role("button", name="Done").click()
            page.locator(f"#task-{task_id}").wait_for(state="detached")
            assert "No open tasks" in page.locator("#tasks").inner_text()
            watch.check()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    with session_scope(site.config) as s:
        t = s.get(Task, task_id)
        assert (t.state, t.outcome) == ("done", "saved")
