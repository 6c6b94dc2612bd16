"""/api/v1/tasks on a small demo company of its own (it is written to): the permission matrix rows
for tasks (tests/api/test_permissions.py TASK_ENDPOINTS), scoping of lists to the book, changes
with outcome, snooze, reassignment and bulk, and the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.api.test_permissions import PRINCIPALS, TASK_ENDPOINTS, expected
from tests.playbooks.site import build_task_site


@pytest.fixture(scope="module")
def site(demo_built, tmp_path_factory):
    """The task site (tests/playbooks/site.py) with a TestClient and headers(principal)."""
    from fastapi.testclient import TestClient

    ns = build_task_site(demo_built, tmp_path_factory.mktemp("tasks-site"))
    with TestClient(ns.app, raise_server_exceptions=False) as client:
        ns.api = client
        ns.headers = lambda who: {} if who == "anonymous" else {"Authorization": f"Bearer {ns.tokens[who]}"}
        yield ns
    ns.app.state.ctx.close()


def _body(kind: str | None, ids: dict) -> dict | None:
    return {None: None, "task_start": {"state": "in_progress"},
            "task_bulk_t01": {"ids": [ids["csm01"]], "state": "in_progress"},
            "task_bulk_t03": {"ids": [ids["csm03"]], "state": "in_progress"}}[kind]


def test_task_rows_of_the_permission_matrix(site):
    """Every task route for every kind of caller (one site: each case is one request)."""
    failures = []
    for method, path, body, allowed, ok in TASK_ENDPOINTS:
        url = "/api/v1" + path.format(t01=site.ids["csm01"], t03=site.ids["csm03"])
        for principal in PRINCIPALS:
            r = site.api.request(method, url, json=_body(body, site.ids), headers=site.headers(principal))
            want = expected(principal, allowed, ok)
            if r.status_code != want:
                failures.append(f"{method} {path} as {principal}: {r.status_code}, expected {want}: {r.text[:200]}")
            elif want >= 400:
                assert r.headers["content-type"].startswith("application/problem+json")
    assert failures == []


def _ids(site, who: str, **params) -> set[int]:
    r = site.api.get("/api/v1/tasks", params={"page_size": 500, **params}, headers=site.headers(who))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return {t["id"] for t in body["items"]}


def test_lists_are_scoped_to_the_book(site):
    ids = site.ids
    assert _ids(site, "csm01") == {ids["csm01"], ids["late"]}
    assert _ids(site, "csm03") == {ids["csm03"]}
    assert _ids(site, "manager") == {ids["csm01"], ids["late"], ids["csm02"]}  # its team's; csm03 is outside
    assert _ids(site, "cco") == set(ids.values())  # everything, the queue too
    assert _ids(site, "csm01", overdue="true") == {ids["late"]}
    assert _ids(site, "csm01", mine="true") == {ids["csm01"], ids["late"]}
    assert _ids(site, "cco", queue="renewals-desk") == {ids["queue"]}
    assert _ids(site, "csm03", owner="csm01") == set()  # asking for another book finds nothing in yours
    counts = site.api.get("/api/v1/tasks/summary", params={"by": "owner"}, headers=site.headers("manager")).json()
    assert {c["owner"]: (c["open"], c["overdue"]) for c in counts} == {"csm01": (2, 1), "csm02": (1, 0)}


def test_done_snooze_reassign_and_bulk_through_the_api(site):
    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog

    api, h, ids = site.api, site.headers, site.ids
    r = api.patch(f"/api/v1/tasks/{ids['late']}", json={"state": "done"}, headers=h("csm01"))
    assert r.status_code == 422 and "records its outcome" in r.json()["detail"]
    r = api.patch(f"/api/v1/tasks/{ids['late']}", json={"state": "done", "outcome": "renewed",
                                                         "comment": "signed for two years"}, headers=h("csm01"))
    assert r.status_code == 200, r.text
    t = r.json()
    assert (t["state"], t["outcome"], t["overdue"]) == ("done", "renewed", False)
    assert [c["body"] for c in t["comments"]] == ["signed for two years"]
    until = (datetime.utcnow() + timedelta(days=3)).replace(microsecond=0)
    r = api.patch(f"/api/v1/tasks/{ids['csm02']}", json={"state": "snoozed", "snoozed_until": until.isoformat() + "Z"},
                  headers=h("manager"))
    assert r.status_code == 200 and r.json()["snoozed_until"].startswith(until.isoformat()[:16])
    # a manager may hand its team's task to another member, not to a CSM outside the team
    assert api.patch(f"/api/v1/tasks/{ids['csm02']}", json={"owner": "csm03"}, headers=h("manager")).status_code == 403
    r = api.patch(f"/api/v1/tasks/{ids['csm02']}", json={"owner": "csm01"}, headers=h("manager"))
    assert r.status_code == 200 and r.json()["owner"] == "csm01"
    # bulk is all or nothing: one task outside the book refuses every change
    r = api.post("/api/v1/tasks/bulk", json={"ids": [ids["csm01"], ids["csm03"]], "state": "skipped"},
                 headers=h("csm01"))
    assert r.status_code == 403
    assert api.get(f"/api/v1/tasks/{ids['csm01']}", headers=h("csm01")).json()["state"] != "skipped"
    r = api.post("/api/v1/tasks/bulk", json={"ids": [ids["csm01"], ids["csm02"]], "due_at": "2030-01-01T09:00:00"},
                 headers=h("csm01"))
    assert r.status_code == 200 and {t["due_at"][:10] for t in r.json()} == {"2030-01-01"}
    assert api.patch("/api/v1/tasks/999999", json={"state": "open"}, headers=h("cco")).status_code == 404
    assert api.patch(f"/api/v1/tasks/{ids['csm01']}", json={"bogus": 1}, headers=h("cco")).status_code == 422
    with session_scope(site.config) as s:
        acts = s.execute(select(AuditLog.actor, AuditLog.action).where(
            AuditLog.entity == "task", AuditLog.entity_id == str(ids["csm02"])).order_by(AuditLog.id)).all()
        assert [tuple(a) for a in acts][-3:] == [("manager", "transition"), ("manager", "reassign"),
                                                 ("csm01", "reschedule")]
