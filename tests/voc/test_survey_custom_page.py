"""The public page of a custom survey (tenure.web.survey_custom) on the real app, state DB and
warehouse of tests/voc/conftest.py's tiny company: a respondent walks the branching without
JavaScript, one page at a time; an attacker's forged or edited link, edited state, missing
nonce, answers to questions the branching hides, and markup in a text answer all fail safely;
finished answers reach survey_answers through the ingest path, once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tenure.config import CustomSurvey
from tenure.voc import custom
from tests.voc.conftest import project, survey_built  # noqa: F401  (fixtures)
from tests.voc.test_custom import EXIT

HTML = {"accept": "text/html"}


@pytest.fixture
def site(project):  # noqa: F811
    from tenure.serve import create_app

    project.custom_surveys["exit"] = CustomSurvey.model_validate(EXIT)
    app = create_app(project)
    try:
        with TestClient(app, raise_server_exceptions=True) as client:
            yield client, project
    finally:
        app.state.ctx.close()


def _hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def _post(client, token, page_html, **answers):
    data = {**_hidden(page_html), **answers}
    return client.post(f"/s/c/{token}", data=data, headers=HTML)


def test_walk_the_branching_page_by_page_and_sync_once(site):
    client, config = site
    token = custom.link_for(config, "exit", "acct-1", "c1")
    r = client.get(f"/s/c/{token}", headers=HTML)
    assert r.status_code == 200 and "Main reason?" in r.text
    assert 'type="radio" name="q_reason"' in r.text and "<legend>Main reason?" in r.text
    # a question the branching hides cannot be answered from this page: price_gap is ignored
    r = _post(client, token, r.text, q_reason="Product", q_price_gap="5")
    assert r.status_code == 200 and "What was missing?" in r.text and "How far off" not in r.text
    r = _post(client, token, r.text, q_missing=["API", "SSO"])
    assert "Rank what matters" in r.text
    r = _post(client, token, r.text, q_rank_0="1", q_rank_1="1", q_rank_2="2")  # a rank given twice
    assert r.status_code == 400 and "give each option a different rank, from 1 to 3" in r.text
    assert '<option value="2" selected>' in r.text  # the choices made are kept
    r = _post(client, token, r.text, q_rank_0="3", q_rank_1="1", q_rank_2="2")
    assert "Anything else?" in r.text
    r = _post(client, token, r.text, q_comments="")
    assert r.status_code == 200 and "Your answers are recorded" in r.text
    assert len(custom.pending(config)) == 1
    from tenure.warehouse import connect

    wh = connect(config=config)
    try:
        res = custom.sync_inbox(config, wh)
        assert res.inserted == 6 and res.rejected == 0  # reason, missing x2, rank x3 (comments left blank)
        assert custom.pending(config) == [] and custom.sync_inbox(config, wh) is None
        rows = wh.execute(wh.table("survey_answers"))
    finally:
        wh.close()
    assert set(rows["question_id"]) == {"reason", "missing", "rank"}
    ranks = dict(zip(rows[rows.question_id == "rank"]["choice"], rows[rows.question_id == "rank"]["number"]))
    assert ranks == {"Support": 1.0, "Features": 2.0, "Price": 3.0}
    assert set(rows["account_id"]) == {"acct-1"} and set(rows["contact_id"]) == {"c1"}


def test_skip_to_end_and_errors_named_next_to_their_question(site):
    client, config = site
    token = custom.link_for(config, "exit", "acct-2")
    page = client.get(f"/s/c/{token}", headers=HTML).text
    r = _post(client, token, page)  # nothing chosen
    assert r.status_code == 400 and 'role="alert"' in r.text
    assert 'aria-describedby="q-reason-error"' in r.text and "an answer is required" in r.text
    r = _post(client, token, r.text, q_reason="Price")
    r = _post(client, token, r.text, q_price_gap="4")  # a gap of 4 or more ends the survey
    assert "Your answers are recorded" in r.text


def test_forged_edited_expired_and_replayed_forms_fail_safely(site):
    client, config = site
    token = custom.link_for(config, "exit", "acct-1")
    assert client.get(f"/s/c/{token[:-2]}xx", headers=HTML).status_code == 404  # edited signature
    assert client.get("/s/c/Lbm90LWEtdG9rZW4.abc", headers=HTML).status_code == 404
    old = custom.link_for(config, "exit", "acct-1", now=datetime.utcnow() - timedelta(days=31))
    r = client.get(f"/s/c/{old}", headers=HTML)
    assert r.status_code == 410 and "expired" in r.text
    page = client.get(f"/s/c/{token}", headers=HTML).text
    form = _hidden(page)
    # CSRF: a form without the nonce of a shown page is refused
    r = client.post(f"/s/c/{token}", data={**form, "nonce": "forged", "q_reason": "Price"}, headers=HTML)
    assert r.status_code == 403
    # the answers so far cannot be edited (e.g. to skip the branching)
    body, mac = form["state"].split(".")
    r = client.post(f"/s/c/{token}", data={**form, "state": f"eyJyZWFzb24iOiJPdGhlciJ9.{mac}", "q_reason": "Price"},
                    headers=HTML)
    assert r.status_code == 403
    # state signed for another link is refused too
    other = custom.link_for(config, "exit", "acct-2")
    r = client.post(f"/s/c/{other}", data={**form, "q_reason": "Price"}, headers=HTML)
    assert r.status_code == 403


def test_markup_in_a_text_answer_is_shown_escaped(site):
    client, config = site
    token = custom.link_for(config, "exit", "acct-1")
    r = _post(client, token, client.get(f"/s/c/{token}", headers=HTML).text, q_reason="Other")
    evil = "<script>alert(1)</script>" + "x" * 60  # over max_length 50: shown back with the error
    r = _post(client, token, r.text, q_comments=evil)
    assert r.status_code == 400 and "<script>alert(1)" not in r.text and "&lt;script&gt;" in r.text
