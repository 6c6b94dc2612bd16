"""The survey programs page (/voc/programs) and GET /api/v1/voc/programs on the tiny surveyed company
of the survey tests (tests/voc/conftest.py: programs rel-nps and support-csat): a wave of three
invitations, two answers (a promoter and a detractor) synced to the warehouse. The administrator
sees live counts, the response rate and the current score with its interval and n (never "NA");
the program with no invitations says so; nobody else may open it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.voc.conftest import build_project
from tests.web.conftest import HTML, login_token

NOW = datetime(2026, 11, 2, 10, 0)


@pytest.fixture
def surveyed(tmp_path_factory, tmp_path):
    from tenure.config import load_config
    from tenure.notify.signing import project_secret
    from tenure.serve import create_app
    from tenure.state import users
    from tenure.state.db import session_scope
    from tenure.state.models import SurveyInvitation
    from tenure.voc import responses, send, tokens
    from tenure.warehouse import connect
    from tests.sites import built_once, copy_site

    built = built_once(tmp_path_factory, "voc-surveys-v3", build_project)
    copy_site(built, tmp_path / "p")
    config = load_config(tmp_path / "p" / "tenure.yaml")
    wh = connect(config=config, write=False)
    try:
        send.send_all(config, wh, program="rel-nps", now=NOW)
    finally:
        wh.close()
    with session_scope(config) as s:
        invs = {i.contact_id: i for i in s.query(SurveyInvitation).all()}
        secret = project_secret(config)
        for contact, score, hours in (("c1", 10, 1), ("c2", 4, 2)):
            token = tokens.invitation_token(secret, invs[contact].invitation_id, invs[contact].expires_at)
            responses.record_score(s, config, token, score, now=NOW + timedelta(hours=hours))
    wh = connect(config=config, write=True)
    try:
        responses.sync(config, wh)
    finally:
        wh.close()
    passwords = {"boss": "admin-password-123", "exec": "exec-password-123"}
    with session_scope(config) as s:
        users.create_user(s, "boss", passwords["boss"], "admin")
        users.create_user(s, "exec", passwords["exec"], "executive")
    return config, create_app(config), passwords


def _login(app, username, password) -> TestClient:
    c = TestClient(app, raise_server_exceptions=False, headers=HTML)
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": login_token(c),
                               "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def test_admin_sees_live_counts_and_the_score_with_its_interval(surveyed):
    config, app, passwords = surveyed
    page = _login(app, "boss", passwords["boss"]).get("/voc/programs")
    assert page.status_code == 200, page.text
    row = re.search(r'<tr data-program="rel-nps">(.*?)</tr>', page.text, re.S).group(1)
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
    assert cells[1] == "NPS" and cells[2] == "active"
    assert cells[5:8] == ["3", "2", "66.7%"]  # invited, answered, response rate (live, state DB)
    assert cells[8].startswith("0.0 (") and " to " in cells[8] and cells[9] == "2"  # one promoter, one detractor
    other = re.search(r'<tr data-program="support-csat">(.*?)</tr>', page.text, re.S).group(1)
    assert "none sent yet" in other and "no answers yet" in other
    assert not re.search(r"\bNA\b", page.text)
    with TestClient(app, raise_server_exceptions=False) as c:
        from tenure.state import tokens as api_tokens
        from tenure.state.db import session_scope

        with session_scope(config) as s:
            _, secret = api_tokens.create_token(s, "boss", "t", ["read", "admin"])
            _, exec_secret = api_tokens.create_token(s, "exec", "t", ["read"])
        got = c.get("/api/v1/voc/programs", headers={"Authorization": f"Bearer {secret}"})
        assert got.status_code == 200, got.text
        rel = next(p for p in got.json() if p["name"] == "rel-nps")
        assert (rel["invited"], rel["answered"], rel["score"]["n"], rel["score"]["value"]) == (3, 2, 2, 0.0)
        assert c.get("/api/v1/voc/programs", headers={"Authorization": f"Bearer {exec_secret}"}).status_code == 403


def test_only_administrators_open_the_programs_page(surveyed):
    _, app, passwords = surveyed
    assert _login(app, "exec", passwords["exec"]).get("/voc/programs").status_code == 403
