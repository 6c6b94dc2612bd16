"""The cockpit's review queue on a site of its own (tests/playbooks/site.py; it is written to): a
CSM sees the emails held for its review (not another book's), edits and releases one with a plain
form (no JavaScript) and with htmx, cannot release another CSM's, and every release is audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.playbooks.site import build_task_site
from tests.web.conftest import HTML, csrf_of, login_token


@pytest.fixture(scope="module")
def site(demo_built, tmp_path_factory):
    from tenure.notify import outbox
    from tenure.state.db import session_scope

    ns = build_task_site(demo_built, tmp_path_factory.mktemp("review-site"))
    ns.held = {}
    with session_scope(ns.config) as s:
        for key, owner in (("mine", "csm01"), ("second", "csm01"), ("theirs", "csm03")):
            payload = {"to": f"{key}@acme.example", "to_name": f"Ana {key}", "subject": f"Renewal talk {key}",
                       "text": "Hello <Ana>,\nshall we talk?", "owner": owner, "account_id": ns.books[owner][0]}
            ns.held[key] = outbox.enqueue(s, channel="email", dedupe_key=f"review-{key}", hold_for_review=True,
                                          payload=payload).id
    yield ns
    ns.app.state.ctx.close()


def _login(site, username: str) -> TestClient:
    c = TestClient(site.app, raise_server_exceptions=False, headers=HTML)
    r = c.post("/login", data={"username": username, "password": site.passwords[username],
                               "csrf_token": login_token(c), "next": "/cockpit"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def test_a_csm_edits_and_releases_its_held_email_without_javascript(site):
    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog, OutboxMessage

    mine, theirs = site.held["mine"], site.held["theirs"]
    c = _login(site, "csm01")
    html = c.get("/cockpit").text
    assert 'id="email-review"' in html and "Emails to review (2)" in html
    assert f'id="email-{mine}"' in html and f'id="email-{theirs}"' not in html
    assert "Hello &lt;Ana&gt;," in html  # the text is shown escaped, in its textarea
    token = csrf_of(html)
    edited = {"subject": "Renewal talk, Ana", "text": "Hello Ana,\r\nshall we talk on Tuesday?"}
    assert c.post(f"/emails/{mine}/release", data=edited).status_code == 403  # no CSRF token
    assert c.post(f"/emails/{theirs}/release", data={**edited, "csrf_token": token}).status_code == 403
    r = c.post(f"/emails/{mine}/release", data={**edited, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cockpit#email-review"
    assert "Emails to review (1)" in c.get("/cockpit").text
    again = c.post(f"/emails/{mine}/release", data={**edited, "csrf_token": token})
    assert again.status_code == 409 and "not held_for_review" in again.text
    with session_scope(site.config) as s:
        msg = s.get(OutboxMessage, mine)
        assert (msg.status, msg.released_by, msg.payload["subject"], msg.payload["text"]) == (
            "pending", "csm01", "Renewal talk, Ana", "Hello Ana,\nshall we talk on Tuesday?")
        assert s.get(OutboxMessage, theirs).status == "held_for_review"
        trail = s.execute(select(AuditLog.actor, AuditLog.after).where(
            AuditLog.entity == "outbox_message", AuditLog.entity_id == str(mine))).all()
    assert [(a, after["edited"]) for a, after in trail] == [("csm01", ["subject", "text"])]


def test_htmx_gets_the_queue_back_and_others_see_only_what_they_review(site):
    from tenure.state.db import session_scope
    from tenure.state.models import OutboxMessage

    c = _login(site, "csm01")
    token = csrf_of(c.get("/cockpit").text)
    hx = {"HX-Request": "true", "HX-Target": "email-review"}
    second = site.held["second"]
    bad = c.post(f"/emails/{site.held['theirs']}/release", data={"subject": "x", "text": "y", "csrf_token": token},
                 headers=hx)
    assert bad.status_code == 200 and bad.text.lstrip().startswith("<section") and "<html" not in bad.text
    assert "not csm01&#39;s to review" in bad.text and f'id="email-{second}"' in bad.text
    r = c.post(f"/emails/{second}/release", data={"subject": "Renewal talk second",
                                                   "text": "Hello <Ana>,\nshall we talk?", "csrf_token": token},
               headers=hx)
    assert r.status_code == 200 and f'id="email-{second}"' not in r.text
    with session_scope(site.config) as s:
        msg = s.get(OutboxMessage, second)
        assert (msg.status, msg.payload["subject"]) == ("pending", "Renewal talk second")
    assert 'id="email-review"' not in _login(site, "csm02").get("/cockpit").text.replace(
        '<section id="email-review" hidden></section>', "")
    assert f'id="email-{site.held["theirs"]}"' in _login(site, "admin").get("/cockpit").text
