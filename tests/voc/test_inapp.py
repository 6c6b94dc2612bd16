"""The in-app / web survey channel (tenure.voc.inapp, tenure.web.survey_embed) on the tiny
surveyed company (tests/voc/conftest.py) with one more program, `app-nps`, on the inapp channel:
the throttles (user age, sessions, days between asks, the cross-program throttle), CORS for a
listed origin and refusal for another (preflight too), a forged user hash, an answer recorded
through the public page's path and reaching survey_responses after `tenure voc sync`, and a
script that names no other site."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tenure.state.db import session_scope
from tenure.state.models import OutboxMessage, SurveyInvitation, SurveyResponse
from tenure.voc import inapp, send

SECRET = "s3cret-for-the-app-nps-program"
ORIGIN = "https://app.customer.example"
NOW = datetime(2026, 11, 20, 12, 0)
PROGRAM = {"name": "app-nps", "kind": "nps", "channels": ["inapp"], "trigger": {"type": "transactional"},
           "inapp": {"origins": [ORIGIN], "secret_env": "TENURE_TEST_INAPP_SECRET", "min_user_age_days": 14,
                     "min_sessions": 3, "days_between_asks": 60},
           "text": {"en": {"question": "How likely are you to recommend {project}?"}}}


@pytest.fixture
def config(survey_built, tmp_path, monkeypatch):
    from tenure.config import load_config
    from tests.sites import copy_site

    copy_site(survey_built, tmp_path / "p")
    path = tmp_path / "p" / "tenure.yaml"
    data = yaml.safe_load(path.read_text())
    data["surveys"]["programs"].append(PROGRAM)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("TENURE_TEST_INAPP_SECRET", SECRET)
    return load_config(path)


@pytest.fixture
def client(config):
    from tenure.serve import create_app

    app = create_app(config)
    try:
        with TestClient(app, raise_server_exceptions=True) as c:
            yield c
    finally:
        app.state.ctx.close()


def _ask(config, contact, *, first_seen=date(2026, 10, 1), sessions=5, now=NOW):
    program = config.surveys.program("app-nps")
    with session_scope(config) as s:
        return inapp.ask(s, config, program, contact_id=contact, account_id="acct-1", first_seen=first_seen,
                         sessions=sessions, now=now)


def _params(user="c2", **extra):
    return {"program": "app-nps", "user": user, "user_hash": inapp.user_hash(SECRET, user),
            "first_seen": "2020-01-01", "sessions": "9", **extra}


def _invitations(config):
    with session_scope(config) as s:
        return int(s.scalar(select(func.count()).select_from(SurveyInvitation)) or 0)


def test_throttles_user_age_sessions_days_between_asks(config):
    assert _ask(config, "c2", first_seen=NOW.date() - timedelta(days=13)).reason == "too_new"
    assert _ask(config, "c2", first_seen=None).reason == "too_new"
    assert _ask(config, "c2", sessions=2).reason == "few_sessions"
    assert _invitations(config) == 0  # a no writes nothing
    first = _ask(config, "c2", first_seen=NOW.date() - timedelta(days=14), sessions=3)
    assert first.ask and first.token and first.widget["scale"] == list(range(11))
    # asked (not answered): not again within days_between_asks (60) ...
    assert _ask(config, "c2", now=NOW + timedelta(days=59)).reason == "recently_asked"
    # ... then again; the ledger holds both asks
    assert _ask(config, "c2", now=NOW + timedelta(days=61)).ask
    with session_scope(config) as s:
        rows = s.scalars(select(SurveyInvitation).where(SurveyInvitation.contact_id == "c2")).all()
        assert [(r.channel, r.program, r.email) for r in rows] == [("inapp", "app-nps", None)] * 2
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0  # no email for an in-app ask


def test_cross_program_throttle_counts_email_invitations(config, wh_read):
    send.send_all(config, wh_read, program="rel-nps", now=NOW)  # emails c1, c2, c3
    assert _ask(config, "c1", now=NOW + timedelta(days=29)).reason == "throttled"  # surveys.throttle_days: 30
    assert _ask(config, "c1", now=NOW + timedelta(days=31)).ask
    # and an in-app ask throttles the email program in turn (one ledger)
    assert _ask(config, "c5", now=NOW).ask
    program = config.surveys.program("rel-nps")
    report = send.SendReport("rel-nps")
    with session_scope(config) as s:
        send.invite(s, config, program, [{"contact_id": "c5", "account_id": "acct-3", "email": "eve@three.example"}],
                    trigger="t", occurrence=lambda r: "t:c5", now=NOW + timedelta(days=1), report=report)
    assert report.throttled == 1 and report.invited == 0


def test_cors_allowed_origin_refused_origin_and_preflight(client):
    ok = client.get("/embed/v1/ask", params=_params(), headers={"Origin": ORIGIN})
    assert ok.status_code == 200 and ok.json()["ask"] is True
    assert ok.headers["access-control-allow-origin"] == ORIGIN and "Origin" in ok.headers["vary"]
    bad = client.get("/embed/v1/ask", params=_params("c3"), headers={"Origin": "https://evil.example"})
    assert bad.status_code == 403 and "access-control-allow-origin" not in bad.headers
    assert "inapp.origins" in bad.json()["detail"]
    pre = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    yes = client.options("/embed/v1/answer?program=app-nps", headers=pre)
    assert yes.status_code == 204 and yes.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in yes.headers["access-control-allow-methods"] and "access-control-allow-credentials" not in yes.headers
    no = client.options("/embed/v1/answer?program=app-nps", headers={**pre, "Origin": "https://evil.example"})
    assert no.status_code == 403 and "access-control-allow-origin" not in no.headers


def test_forged_user_hash_is_refused(client, config):
    forged = _params("c2", user_hash=inapp.user_hash("not-the-secret-at-all", "c2"))
    r = client.get("/embed/v1/ask", params=forged, headers={"Origin": ORIGIN})
    assert r.status_code == 403 and r.json()["status"] == "forbidden"
    other = _params("c2", user_hash=inapp.user_hash(SECRET, "c1"))  # c1's genuine hash, claiming to be c2
    assert client.get("/embed/v1/ask", params=other, headers={"Origin": ORIGIN}).status_code == 403
    assert _invitations(config) == 0
    # a genuine ask for c2 cannot be answered as c1
    token = client.get("/embed/v1/ask", params=_params("c2"), headers={"Origin": ORIGIN}).json()["token"]
    as_c1 = {"program": "app-nps", "user": "c1", "user_hash": inapp.user_hash(SECRET, "c1"), "token": token,
             "score": 0}
    r = client.post("/embed/v1/answer?program=app-nps", json=as_c1, headers={"Origin": ORIGIN})
    assert r.status_code == 403
    with session_scope(config) as s:
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_answer_goes_the_public_page_path_and_reaches_survey_responses(client, config):
    from tenure.cli import app
    from tenure.warehouse import connect

    w = client.get("/embed/v1/ask", params=_params("c2"), headers={"Origin": ORIGIN}).json()
    assert w["ask"] and w["question"].startswith("How likely")
    who = {"program": "app-nps", "user": "c2", "user_hash": inapp.user_hash(SECRET, "c2")}
    r = client.post("/embed/v1/answer?program=app-nps", json={**who, "token": w["token"], "score": 3},
                    headers={"Origin": ORIGIN})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ORIGIN
    rec = r.json()
    assert rec["status"] == "recorded"
    again = client.post("/embed/v1/answer", json={**who, "token": w["token"], "score": 10}, headers={"Origin": ORIGIN})
    assert again.json()["response_id"] == rec["response_id"]  # single use, as on the public page: 3 is kept
    with session_scope(config) as s:
        assert [r.score for r in s.scalars(select(SurveyResponse))] == [3]
    c = client.post("/embed/v1/answer", json={**who, "response_id": rec["response_id"], "nonce": rec["nonce"],
                                              "comment": "<b>slow</b> reports"}, headers={"Origin": ORIGIN})
    assert c.json()["status"] == "commented"
    with session_scope(config) as s:  # the webhook of every response, as for email answers
        hooks = s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("survey-webhook:%"))).all()
        assert sorted(m.payload["body"]["event"] for m in hooks) == ["comment", "response"]
        assert hooks[0].payload["body"]["channel"] == "inapp"
    res = CliRunner().invoke(app, ["voc", "sync", "--config", str(config.base_dir / "tenure.yaml")])
    assert res.exit_code == 0, res.output
    wh = connect(config=config, write=False)
    try:
        got = wh.execute(wh.table("survey_responses")).to_dict(orient="records")
        assert [(g["contact_id"], g["account_id"], g["score"], g["comment"], g["survey_id"]) for g in got] == [
            ("c2", "acct-1", 3, "<b>slow</b> reports", "app-nps")]
        inv = wh.execute(wh.table("survey_invitations")).to_dict(orient="records")
        assert [(i["contact_id"], i["channel"]) for i in inv] == [("c2", "inapp")]
    finally:
        wh.close()


def test_unknown_user_unsubscribed_user_and_missing_secret(client, config, monkeypatch):
    from tenure.notify import outbox

    r = client.get("/embed/v1/ask", params=_params("nobody"), headers={"Origin": ORIGIN})
    assert r.json() == {"ask": False, "reason": "unknown_user"}
    with session_scope(config) as s:  # c3 opted out of survey emails: not asked in-app either
        outbox.suppress(s, "cy@two.example", "survey")
    r = client.get("/embed/v1/ask", params=_params("c3"), headers={"Origin": ORIGIN})
    assert r.json() == {"ask": False, "reason": "unsubscribed"}
    assert _invitations(config) == 0
    monkeypatch.delenv("TENURE_TEST_INAPP_SECRET")
    r = client.get("/embed/v1/ask", params=_params("c2"), headers={"Origin": ORIGIN})
    assert r.status_code == 503 and "TENURE_TEST_INAPP_SECRET" in r.json()["detail"]


def test_script_is_small_and_names_no_other_site(client):
    r = client.get("/embed/survey.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    text = r.text
    assert len(text.encode()) < 8_000
    assert not re.search(r"https?:|//[\w-]+\.[\w.-]+|import\s*\(|document\.cookie|innerHTML|eval\(", text)
    assert "new URL(me.src" in text  # every request goes to the origin that served the script
    json.dumps(text)  # plain text


def test_config_refuses_inapp_without_settings_and_bad_origins():
    from pydantic import ValidationError

    from tenure.config import SurveyProgram

    base = {k: v for k, v in PROGRAM.items() if k != "inapp"}
    with pytest.raises(ValidationError, match="no `inapp:` block"):
        SurveyProgram(**base)
    with pytest.raises(ValidationError, match="no path"):
        SurveyProgram(**{**PROGRAM, "inapp": {**PROGRAM["inapp"], "origins": ["https://app.example.com/"]}})


def test_docs_name_every_inapp_setting_and_reason():
    from pathlib import Path

    from tenure.config import SurveyInApp

    doc = (Path(__file__).parents[2] / "docs" / "voc.md").read_text(encoding="utf-8")
    section = doc[doc.index("## In-app channel"):]
    reasons = ("not_inapp", "paused", "too_new", "few_sessions", "recently_asked", "throttled", "unknown_user",
               "unsubscribed")
    assert [n for n in (*SurveyInApp.model_fields, *reasons, "/embed/survey.js") if n not in section] == []


def test_answers_share_the_public_pages_rate_limit(client, config):
    w = client.get("/embed/v1/ask", params=_params("c2"), headers={"Origin": ORIGIN}).json()
    who = {"program": "app-nps", "user": "c2", "user_hash": inapp.user_hash(SECRET, "c2"), "token": w["token"]}
    codes = [client.post("/embed/v1/answer", json={**who, "score": "x"}, headers={"Origin": ORIGIN}).status_code
             for _ in range(config.surveys.rate_limit.per_token + 1)]
    assert codes[:-1] == [400] * config.surveys.rate_limit.per_token and codes[-1] == 429
