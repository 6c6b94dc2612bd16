"""The demo runs a survey wave (issue 12, "Done when"): its invitations land as .eml files with
one-click score links, simulated answers come back through the public page's code path (they
are answers in the state DB, marked answered on their invitations), and they reach the
warehouse through the ingest path, where the survey metric reads them."""

from __future__ import annotations

import email
from email import policy

from sqlalchemy import func, select

from tenure.state.db import session_scope
from tenure.state.models import IngestRun, OutboxMessage, SurveyInvitation, SurveyResponse


def test_the_demo_sends_and_answers_a_survey_wave(demo_site):
    wave = demo_site.summary["compute"]["surveys"]
    assert wave["invited"] > 10 and wave["emails"] == wave["invited"]
    assert 0 < wave["answered"] < wave["invited"] and wave["commented"] > 0
    files = sorted((demo_site.dir / "outbox").glob("*.eml"))
    invitations = []
    for f in files:
        msg = email.message_from_bytes(f.read_bytes(), policy=policy.default)
        body = msg.get_body(("plain",)).get_content()
        if "/s/" in body:
            invitations.append((msg, body))
    assert len(invitations) == wave["invited"]
    msg, body = invitations[0]
    assert "List-Unsubscribe" in msg and "?score=0" in body and "?score=10" in body
    with session_scope(demo_site.config) as s:
        answered = s.scalar(select(func.count()).select_from(SurveyInvitation)
                            .where(SurveyInvitation.answered_at.isnot(None)))
        responses = s.scalars(select(SurveyResponse)).all()
        sent = s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedupe_key.like("survey:relationship-nps:%"), OutboxMessage.status == "sent"))
        runs = s.scalars(select(IngestRun.entity).where(IngestRun.source == "tenure-surveys")).all()
    assert answered == len(responses) == wave["answered"] and sent == wave["invited"]
    assert all(r.synced_at is not None and r.synced_at >= r.changed_at for r in responses)
    assert {"survey_invitations", "survey_responses"} <= set(runs)  # the ingest path, recorded as runs
    wh = demo_site.app.state.ctx.warehouse()
    t = wh.table("survey_responses")
    assert wh.execute(t.filter(t.survey_id == "relationship-nps").count()) == wave["answered"]
    status = wave["status"]
    assert (status["invited"], status["answered"]) == (wave["invited"], wave["answered"])
    assert status["score"]["n"] == wave["answered"] and status["score"]["ci_low"] <= status["score"]["value"]
