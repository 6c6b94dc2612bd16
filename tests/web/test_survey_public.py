"""The public survey page (tenure.web.survey_public) on the real app and state DB, as a
respondent and as an attacker: one click records the score, the comment form works without
JavaScript; guessed, edited, reused and expired links; CSRF on the comment form; a comment
carrying markup is shown escaped; the rate limit per address and per token; the share link.
The company is tests/voc/conftest.py's tiny one."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tenure.notify.signing import project_secret
from tenure.state.db import session_scope
from tenure.state.models import OutboxMessage, SurveyInvitation, SurveyResponse, utcnow
from tenure.voc import send, tokens
from tests.voc.conftest import project, survey_built  # noqa: F401  (fixtures)

HTML = {"accept": "text/html"}


@pytest.fixture
def site(project):  # noqa: F811
    """(client, config, {contact_id: token}) after a relationship wave sent now."""
    from tenure.serve import create_app
    from tenure.warehouse import connect

    wh = connect(config=project, write=False)
    try:
        send.send_all(project, wh, program="rel-nps")
    finally:
        wh.close()
    with session_scope(project) as s:
        toks = {i.contact_id: tokens.invitation_token(project_secret(project), i.invitation_id, i.expires_at)
                for i in s.scalars(select(SurveyInvitation))}
    app = create_app(project)
    try:
        with TestClient(app, raise_server_exceptions=True) as client:
            yield client, project, toks
    finally:
        app.state.ctx.close()


def _form(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def _responses(config) -> list[SurveyResponse]:
    with session_scope(config) as s:
        return list(s.scalars(select(SurveyResponse)))


def test_one_click_then_comment_without_javascript(site):
    client, config, toks = site
    r = client.get(f"/s/{toks['c2']}", headers=HTML)  # the link without a score: the scale as links
    assert r.status_code == 200
    for n in range(11):
        assert f'href="/s/{toks["c2"]}?score={n}"' in r.text
    assert 'aria-label="0 (Not at all likely)"' in r.text and "<script" not in r.text.split("</head>")[1]
    r = client.get(f"/s/{toks['c2']}?score=9", headers=HTML)
    assert r.status_code == 200 and "recorded" in r.text
    assert '<label for="survey-comment">' in r.text and 'id="survey-comment"' in r.text
    assert r.headers["cache-control"] == "no-store" and "form-action 'self'" in r.headers["content-security-policy"]
    [row] = _responses(config)
    assert (row.score, row.contact_id, row.comment) == (9, "c2", None)
    form = _form(r.text)
    r = client.post(f"/s/{toks['c2']}/comment", data={**form, "comment": "<img src=x onerror=alert(1)> fast & good"},
                    headers=HTML)
    assert r.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt; fast &amp; good" in r.text and "<img src=x" not in r.text
    [row] = _responses(config)
    assert row.comment == "<img src=x onerror=alert(1)> fast & good"


def test_guessed_edited_and_reused_links(site):
    client, config, toks = site
    iid, expiry, mac = toks["c1"].split(".")
    for bad in (f"i{'A' * 22}.{expiry}.{mac}", f"{iid}.{int(expiry) + 999}.{mac}", f"{iid}.{expiry}.{mac[::-1]}",
                "nothing", "L" + "x" * 30 + ".abc", "a" * 400):
        r = client.get(f"/s/{bad}?score=10", headers=HTML)
        assert r.status_code == 404 and "not valid" in r.text, bad
    assert _responses(config) == []
    assert client.get(f"/s/{toks['c1']}?score=12", headers=HTML).status_code == 400
    assert client.get(f"/s/{toks['c1']}?score=7", headers=HTML).status_code == 200
    # reused (another score, after the comment window): already answered, the first score stays
    with session_scope(config) as s:
        s.execute(SurveyResponse.__table__.update().values(responded_at=utcnow() - timedelta(hours=3)))
    r = client.get(f"/s/{toks['c1']}?score=0", headers=HTML)
    assert r.status_code == 200 and "Already answered" in r.text
    assert [x.score for x in _responses(config)] == [7]


def test_expired_link(site):
    client, config, toks = site
    with session_scope(config) as s:
        s.execute(SurveyInvitation.__table__.update().values(expires_at=datetime(2020, 1, 1)))
    r = client.get(f"/s/{toks['c3']}?score=5", headers=HTML)
    assert r.status_code == 410 and "expired" in r.text and _responses(config) == []


def test_comment_form_csrf(site):
    client, config, toks = site
    r = client.get(f"/s/{toks['c3']}?score=2", headers=HTML)
    form = _form(r.text)
    # a cross-site form that knows the response id but not the nonce; and one with another response's
    for data in ({"response_id": form["response_id"], "comment": "spam"},
                 {"response_id": form["response_id"], "nonce": "x" * 22, "comment": "spam"},
                 {"response_id": "r" + "B" * 22, "nonce": form["nonce"], "comment": "spam"}):
        r = client.post(f"/s/{toks['c3']}/comment", data=data, headers=HTML)
        assert r.status_code == 403, data
    assert _responses(config)[0].comment is None
    r = client.post(f"/s/{toks['c3']}/comment", data={**form, "comment": "x" * 6000}, headers=HTML)
    assert r.status_code == 400 and "at most 5,000 characters" in r.text


def test_rate_limit_per_token_and_per_address(site):
    client, config, toks = site
    codes = [client.get(f"/s/{toks['c1']}", headers=HTML).status_code for _ in range(8)]
    assert codes[:6] == [200] * 6 and codes[6:] == [429, 429]  # per_token 6 in the window
    # the address: 40 per window across tokens (6 + 2 used above)
    codes = [client.get(f"/s/i{n:022d}.1.x", headers=HTML).status_code for n in range(40)]
    assert codes.count(429) == 8 and set(codes[:32]) == {404}
    assert client.get(f"/s/{toks['c2']}?score=10", headers=HTML).status_code == 429
    assert _responses(config) == []


def test_share_link_asks_for_an_email(site):
    client, config, _ = site
    token = tokens.link_token(project_secret(config), "support-csat", "acct-1")
    r = client.get(f"/s/{token}", headers=HTML)
    assert r.status_code == 200 and '<label for="survey-email">' in r.text and 'name="score"' in r.text
    r = client.post(f"/s/{token}", data={"email": "Ana@One.example", "score": "4"}, headers=HTML)
    assert r.status_code == 200 and "recorded" in r.text
    r = client.post(f"/s/{token}", data={"email": "stranger@else.example", "score": "2"}, headers=HTML)
    assert r.status_code == 200
    r = client.post(f"/s/{token}", data={"email": "ana@one.example", "score": "1"}, headers=HTML)
    assert "Already answered" in r.text  # one answer per address and account per period
    assert sorted((x.contact_id or "-", x.score, x.channel) for x in _responses(config)) == [
        ("-", 2, "link"), ("c1", 4, "link")]
    rel = tokens.link_token(project_secret(config), "rel-nps", "acct-1")  # no link channel
    assert client.get(f"/s/{rel}", headers=HTML).status_code == 404
    with session_scope(config) as s:  # the webhook went for both answers
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.channel == "webhook")) == 2


def test_public_posts_are_read_without_credentials_but_bounded(site):
    """The survey forms are public (their token is the credential): BodyGuard reads them without a
    login, but a body over 64 KB is refused before it is read."""
    client, config, toks = site
    r = client.post(f"/s/{toks['c1']}/comment", data={"comment": "x" * 100_000}, headers=HTML)
    assert r.status_code == 413
    r = client.post("/s/whatever/comment", data={"comment": "hi"}, headers=HTML)
    assert r.status_code == 403  # read (not emptied as for an anonymous caller elsewhere): a bad form
