"""The public unsubscribe page (tenure.web.unsubscribe) with the real app and state DB: the link an
email's List-Unsubscribe header carries opens it, its button and an RFC 8058 one-click POST from
a mail client (no session, no cookie) both suppress the address, audited; a forged or edited
token does nothing."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from tenure.notify import outbox
from tenure.notify.email import build_email
from tenure.notify.signing import project_secret, unsubscribe_token
from tenure.state.models import AuditLog, OutboxMessage


def _suppressed(site, address):
    with site.app.state.ctx.db() as s:
        return outbox.suppressed(s, [address]).get(address, set())


def _link(site, address, category):
    return f"/unsubscribe?token={unsubscribe_token(project_secret(site.config), address, category)}"


def test_the_emails_link_opens_the_page_whose_button_unsubscribes(module_site):
    site = module_site
    config = site.config.model_copy(update={"web": site.config.web.model_copy(
        update={"public_url": "https://tenure.example.com/"})})
    with site.app.state.ctx.db() as s:
        msg = outbox.enqueue(s, channel="email", payload={"to": "Ana@Acme.example", "subject": "Renewal",
                                                          "text": "Hello"},
                             dedupe_key="test-unsubscribe-ana", category="renewal")
        s.flush()
        email = build_email(config, msg)
    (url,) = re.findall(r"<([^>]+)>", email["List-Unsubscribe"])
    assert url.startswith("https://tenure.example.com/unsubscribe?token=")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    parts = urlsplit(url)
    page = site.api.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200
    assert "ana@acme.example" in page.text and "renewal" in page.text and 'method="post"' in page.text
    assert _suppressed(site, "ana@acme.example") == set()  # looking is not unsubscribing
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = site.api.post("/unsubscribe", data={"token": token})
    assert done.status_code == 200 and "will no longer receive" in done.text
    assert _suppressed(site, "ana@acme.example") == {"renewal"}
    with site.app.state.ctx.db() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "outbox.suppress",
                                                 AuditLog.entity_id == "ana@acme.example")).one()
        assert entry.actor == "unsubscribe:ana@acme.example"
        # the next delivery pass does not send the queued renewal email
        assert outbox.is_suppressed(outbox.suppressed(s, ["ana@acme.example"]), "ana@acme.example", "renewal")
        assert s.get(OutboxMessage, msg.id).status == "pending"
    again = site.api.get(_link(site, "ana@acme.example", "renewal"))
    assert "already unsubscribed" in again.text


def test_one_click_post_from_a_mail_client_needs_no_session(module_site):
    site = module_site
    url = _link(site, "bo@beta.example", "survey")
    site.api.cookies.clear()
    answer = site.api.post(url, content=b"List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200, answer.text
    # the body reached the page (a public route): it answered the mail client, not a browser
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == "unsubscribed bo@beta.example from survey"
    assert _suppressed(site, "bo@beta.example") == {"survey"}
    with site.app.state.ctx.db() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.entity_id == "bo@beta.example")).one()
        assert entry.after == {"category": "survey", "reason": "one-click unsubscribe"}
    assert site.api.post(url, content=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 200


def test_the_page_can_stop_every_automated_email(module_site):
    site = module_site
    answer = site.api.post("/unsubscribe", data={"token": unsubscribe_token(project_secret(site.config),
                                                                            "cy@gamma.example", "renewal"),
                                                 "scope": "all"})
    assert answer.status_code == 200 and "any automated email" in answer.text
    assert _suppressed(site, "cy@gamma.example") == {"*"}


def test_a_forged_or_edited_token_does_nothing(module_site):
    site = module_site
    genuine = unsubscribe_token(project_secret(site.config), "dee@delta.example", "renewal")
    other = unsubscribe_token(b"not the project's key", "dee@delta.example", "renewal")
    body, mac = genuine.split(".")
    edited = unsubscribe_token(project_secret(site.config), "eve@delta.example", None).split(".")[0] + "." + mac
    for token in (other, edited, "nonsense", "", "a" * 5000):
        assert site.api.get(f"/unsubscribe?token={token}").status_code == 400
        assert site.api.post(f"/unsubscribe?token={token}", content=b"List-Unsubscribe=One-Click",
                             headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 400
        assert site.api.post("/unsubscribe", data={"token": token, "scope": "all"}).status_code == 400
    assert _suppressed(site, "dee@delta.example") == set() and _suppressed(site, "eve@delta.example") == set()


def test_the_demos_emails_link_to_its_own_unsubscribe_page(demo_site):
    """`tenure demo` sets web.public_url to the local `tenure serve`, so the .eml files it writes
    carry a List-Unsubscribe link that opens this page (read only: nothing is enqueued)."""
    from fastapi.testclient import TestClient

    config = demo_site.config
    assert config.web.public_url == "http://127.0.0.1:8000"
    msg = OutboxMessage(id=1, channel="email", idempotency_key="k" * 32, category="renewal",
                        payload={"to": "fay@demo.example", "subject": "Hi", "text": "Hello"})
    email = build_email(config, msg)
    (url,) = re.findall(r"<([^>]+)>", email["List-Unsubscribe"])
    assert url.startswith("http://127.0.0.1:8000/unsubscribe?token=")
    parts = urlsplit(url)
    with TestClient(demo_site.app) as client:
        page = client.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200 and "fay@demo.example" in page.text
