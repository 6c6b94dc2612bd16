"""/api/v1/outbox on a copy of the demo of this module's own (it is written to): the permission
matrix rows (tests/api/test_permissions.py OUTBOX_ENDPOINTS), listing by status, releasing a held
email with edits, replaying a dead letter, conflicts, and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.api.test_permissions import OUTBOX_ENDPOINTS, PRINCIPALS, expected
from tenure.notify import outbox
from tenure.state.models import AuditLog, OutboxMessage


def _email(session, key: str, owner: str | None = None, **kw) -> OutboxMessage:
    payload = {"to": f"{key}@acme.example", "subject": "Your renewal", "text": "Hello"}
    msg = outbox.enqueue(session, channel="email", dedupe_key=key, category="renewal",
                         payload={**payload, "owner": owner} if owner else payload, **kw)
    session.flush()
    return msg


def _dead(session, key: str) -> OutboxMessage:
    msg = _email(session, key)
    session.execute(update(OutboxMessage).where(OutboxMessage.id == msg.id)
                    .values(status="dead", attempts=8, last_error="SMTPServerDisconnected: gone"))
    return msg


@pytest.fixture(scope="module")
def site(module_site):
    site = module_site

    def headers(who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        token = site.special_tokens.get(who) or site.tokens[who]
        return {"Authorization": f"Bearer {token}"}

    site.headers = headers
    return site


def test_outbox_rows_of_the_permission_matrix(site):
    with site.app.state.ctx.db() as s:
        ids = {"dead": _dead(s, "matrix-dead").id}
    failures = []
    for method, path, body, allowed, ok in OUTBOX_ENDPOINTS:
        for principal in PRINCIPALS:  # admin comes first: its replay succeeds, later ones are refused before
            if body == "release":  # each caller reviews an email of its own, still held
                with site.app.state.ctx.db() as s:
                    ids.update({f"held{n}": _email(s, f"matrix-held{n}-{principal}-{path}", owner=f"csm{n}",
                                                   hold_for_review=True).id for n in ("01", "03")})
            url = "/api/v1" + path.format(**ids)
            r = site.api.request(method, url, json={"subject": "Edited"} if body == "release" else None,
                                 headers=site.headers(principal))
            want = expected(principal, allowed, ok)
            if r.status_code != want:
                failures.append(f"{method} {path} as {principal}: {r.status_code}, expected {want}: {r.text[:200]}")
            elif want >= 400:
                assert r.headers["content-type"].startswith("application/problem+json")
    assert failures == []


def test_release_with_edits_and_replay_are_audited(site):
    admin = site.headers("admin")
    with site.app.state.ctx.db() as s:
        held = _email(s, "review-me", hold_for_review=True, recipient_tz="Europe/Berlin").id
        dead = _dead(s, "dead-letter").id
    listed = site.api.get("/api/v1/outbox", params={"status": "held_for_review", "page_size": 500}, headers=admin)
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == len(body["items"]) and held in {m["id"] for m in body["items"]}
    assert {m["status"] for m in body["items"]} == {"held_for_review"}
    row = next(m for m in body["items"] if m["id"] == held)
    assert (row["recipient"], row["recipient_tz"], row["subject"]) == ("review-me@acme.example", "Europe/Berlin",
                                                                       "Your renewal")
    r = site.api.post(f"/api/v1/outbox/{held}/release", json={"subject": "Your renewal, Ana", "text": "Hi Ana"},
                      headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["subject"]) == ("pending", "Your renewal, Ana")
    again = site.api.post(f"/api/v1/outbox/{held}/release", headers=admin)
    assert again.status_code == 409 and "not held_for_review" in again.json()["detail"]
    bad = site.api.post(f"/api/v1/outbox/{dead}/release", json={"subject": "a\r\nBcc: x@evil.example"},
                        headers=admin)
    assert bad.status_code == 409  # a dead letter is not held; nothing changed
    r = site.api.post(f"/api/v1/outbox/{dead}/replay", headers=admin)
    assert r.status_code == 200 and (r.json()["status"], r.json()["attempts"]) == ("pending", 0)
    assert site.api.post(f"/api/v1/outbox/{dead}/replay", headers=admin).status_code == 409
    assert site.api.post("/api/v1/outbox/999999/replay", headers=admin).status_code == 404
    with site.app.state.ctx.db() as s:
        msg = s.get(OutboxMessage, held)
        assert (msg.payload["subject"], msg.payload["text"], msg.released_by) == ("Your renewal, Ana", "Hi Ana",
                                                                                  "admin")
        trail = s.execute(select(AuditLog.action, AuditLog.actor, AuditLog.after).where(
            AuditLog.entity == "outbox_message", AuditLog.entity_id.in_([str(held), str(dead)]))
            .order_by(AuditLog.id)).all()
    assert [(a, who) for a, who, _ in trail] == [("outbox.release", "admin"), ("outbox.replay", "admin")]
    assert trail[0][2] == {"status": "pending", "edited": ["subject", "text"]}


def test_a_held_email_cannot_be_released_with_a_header_injected_subject(site):
    with site.app.state.ctx.db() as s:
        held = _email(s, "inject", hold_for_review=True).id
    r = site.api.post(f"/api/v1/outbox/{held}/release", json={"subject": "Hi\r\nBcc: x@evil.example"},
                      headers=site.headers("admin"))
    assert r.status_code == 422 and "subject" in r.json()["detail"]
    with site.app.state.ctx.db() as s:
        assert s.get(OutboxMessage, held).status == "held_for_review"


def test_a_csm_lists_and_releases_its_own_held_emails_only(site):
    with site.app.state.ctx.db() as s:
        mine = _email(s, "csm01-review", owner="csm01", hold_for_review=True).id
        theirs = _email(s, "csm03-review", owner="csm03", hold_for_review=True).id
        ownerless = _email(s, "nobody-review", hold_for_review=True).id
    queue = site.api.get("/api/v1/outbox/review", params={"page_size": 500}, headers=site.headers("csm01")).json()
    listed = {m["id"] for m in queue["items"]}
    assert mine in listed and not listed & {theirs, ownerless}
    assert {m["owner"] for m in queue["items"]} == {"csm01"} and queue["total"] == len(queue["items"])
    team = {m["id"] for m in site.api.get("/api/v1/outbox/review", params={"page_size": 500},
                                          headers=site.headers("manager")).json()["items"]}
    assert mine in team and theirs not in team
    assert site.api.get("/api/v1/outbox/review", headers=site.headers("cco")).json()["total"] == 0
    admin_sees = {m["id"] for m in site.api.get("/api/v1/outbox/review", params={"page_size": 500},
                                                headers=site.headers("admin")).json()["items"]}
    assert {mine, theirs, ownerless} <= admin_sees
    refused = site.api.post(f"/api/v1/outbox/{theirs}/release", json={"subject": "Mine now"},
                            headers=site.headers("csm01"))
    assert refused.status_code == 403 and "csm03" in refused.json()["detail"]
    r = site.api.post(f"/api/v1/outbox/{mine}/release", json={"text": "Hi Ana, as promised"},
                      headers=site.headers("csm01"))
    assert r.status_code == 200 and r.json()["status"] == "pending"
    with site.app.state.ctx.db() as s:
        assert s.get(OutboxMessage, mine).released_by == "csm01"
        assert s.get(OutboxMessage, theirs).payload["subject"] == "Your renewal"
        actor = s.scalar(select(AuditLog.actor).where(AuditLog.entity == "outbox_message",
                                                      AuditLog.entity_id == str(mine)))
    assert actor == "csm01"
