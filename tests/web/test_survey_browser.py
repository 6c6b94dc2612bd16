"""A survey answered in a real browser (Playwright on Debian's Chromium) through the emailed link:
a relationship wave is sent on the tiny surveyed company (tests/voc/conftest.py), the outbox
writes the invitations as .eml files, the test opens the score link found in one of them at
phone width (opening it is the click: the score is recorded at once), writes a comment with
markup in it, submits the form, and finds the answer in the state DB and, after
`sync`, in the warehouse. No request leaves the server, no console or CSP errors, no sideways
scrolling, and the page works with JavaScript turned off."""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from sqlalchemy import select

from tests.voc.conftest import project, survey_built  # noqa: F401  (fixtures)
from tests.web.test_browser import TIMEOUT_MS, Watch, _serve, _shot, browser  # noqa: F401

pytestmark = pytest.mark.browser


def _emailed_links(config) -> dict[str, str]:
    """{recipient: the score-8 link} from the .eml files the outbox wrote."""
    out = {}
    for f in sorted(config.resolve_path(config.notify.eml_dir).glob("*.eml")):
        msg = email.message_from_bytes(f.read_bytes(), policy=policy.default)
        body = msg.get_body(("plain",)).get_content()
        found = re.search(r"^\s*8: (\S+)\s*$", body, re.M)
        if found:
            out[msg["To"].addresses[0].addr_spec] = found.group(1)
    return out


def test_answer_a_survey_in_chromium_through_the_emailed_link(project, browser):  # noqa: F811
    from tenure.notify.deliver import deliver_due
    from tenure.serve import create_app
    from tenure.state.db import session_scope
    from tenure.state.models import SurveyResponse
    from tenure.voc import responses, send
    from tenure.warehouse import connect

    wh = connect(config=project, write=False)
    try:
        send.send_all(project, wh, program="rel-nps")
    finally:
        wh.close()
    assert deliver_due(project).sent == 3
    links = _emailed_links(project)
    assert set(links) == {"ana@one.example", "bo@one.example", "cy@two.example"}
    app = create_app(project)
    try:
        with _serve(app) as base:
            link = links["bo@one.example"].replace(project.web.public_url, base)
            for js in (True, False):
                context = browser.new_context(viewport={"width": 375, "height": 740}, java_script_enabled=js)
                page = context.new_page()
                watch = Watch(page, base)
                page.goto(link, timeout=TIMEOUT_MS)
                if not js:  # the same link again, without JavaScript: used, plain message
                    assert page.get_by_role("heading", name="Already answered").is_visible()
                    _shot(page, "survey-used-no-js")
                    context.close()
                    continue
                assert page.get_by_text("Your score: 8").is_visible()
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
                _shot(page, "survey-scored")
                box = page.get_by_label("What is the main reason for your score?")
                box.fill("<b>fast</b> answers & friendly people")
                page.get_by_role("button", name="Send comment").click()
                page.wait_for_selector("blockquote.survey-comment", timeout=TIMEOUT_MS)
                assert page.locator("blockquote.survey-comment").inner_text() == "<b>fast</b> answers & friendly people"
                assert page.locator("blockquote.survey-comment b").count() == 0  # escaped, not markup
                _shot(page, "survey-commented")
                watch.check()
                context.close()
    finally:
        app.state.ctx.close()
    with session_scope(project) as s:
        [r] = s.scalars(select(SurveyResponse)).all()
        assert (r.contact_id, r.score, r.comment) == ("c2", 8, "<b>fast</b> answers & friendly people")
    wh = connect(config=project, write=True)
    try:
        assert responses.sync(project, wh)["responses"] == 1
        got = wh.execute(wh.table("survey_responses").select("contact_id", "score", "comment", "survey_id"))
        assert got.to_dict(orient="records") == [{"contact_id": "c2", "score": 8, "survey_id": "rel-nps",
                                                  "comment": "<b>fast</b> answers & friendly people"}]
    finally:
        wh.close()
