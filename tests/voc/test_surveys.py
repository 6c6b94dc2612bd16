"""Survey programs end to end without the web layer: who is invited (audience, throttle across
programs, recently asked, unsubscribed), the signed single-use token, the answer and its
comment, the webhook, reminders and expiry, and the sync to the warehouse through the ingest
path (then the survey metric reads it). The company is tests/voc/conftest.py's."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tenure.notify import outbox
from tenure.notify.signing import project_secret
from tenure.state.db import session_scope
from tenure.state.models import OutboxMessage, SurveyEnrolment, SurveyInvitation, SurveyResponse
from tenure.voc import responses, send, tokens

NOW = datetime(2026, 11, 2, 10, 0)


def _invitations(config) -> dict[str, SurveyInvitation]:
    with session_scope(config) as s:
        return {i.contact_id: i for i in s.scalars(select(SurveyInvitation))}


def _token(config, inv: SurveyInvitation) -> str:
    return tokens.invitation_token(project_secret(config), inv.invitation_id, inv.expires_at)


def test_relationship_wave_invites_the_audience_once(project, wh_read):
    [rel, csat] = send.send_all(project, wh_read, now=NOW)
    # c1, c2, c3: champion/user with an email, still active; c4 billing, c5 no email, c6 left
    assert (rel.audience, rel.invited) == (3, 3)
    assert (csat.audience, csat.invited) == (0, 0)  # transactional: only when a playbook asks
    invs = _invitations(project)
    assert sorted(invs) == ["c1", "c2", "c3"]
    assert invs["c1"].locale == "de" and invs["c3"].locale == "en"  # de-AT -> de; fr -> the default
    assert invs["c1"].expires_at == NOW + timedelta(days=14)
    with session_scope(project) as s:
        msgs = {m.recipient: m for m in s.scalars(select(OutboxMessage))}
    assert set(msgs) == {"ana@one.example", "bo@one.example", "cy@two.example"}
    ana = msgs["ana@one.example"]
    assert ana.category == "survey" and ana.recipient_tz == "Europe/Vienna"
    assert ana.payload["subject"].startswith("Wie wahrscheinlich")
    token = _token(project, invs["c1"])
    for n in range(0, 11):  # one link per NPS score
        assert f"http://surveys.test/s/{token}?score={n}" in ana.payload["text"]
    assert "?score=11" not in ana.payload["text"]
    # again the same day, and a month later: nobody twice (this program asks every 90 days)
    for later in (NOW, NOW + timedelta(days=30)):
        [again, _] = send.send_all(project, wh_read, now=later)
        assert (again.invited, again.recently_asked) == (0, 3)
    with session_scope(project) as s:
        assert s.scalar(select(func.count()).select_from(SurveyInvitation)) == 3


def test_dry_run_writes_nothing(project, wh_read):
    [rel] = send.send_all(project, wh_read, program="rel-nps", now=NOW, dry_run=True)
    assert rel.audience == 3 and rel.invited == 3 and rel.dry_run  # would invite 3
    with session_scope(project) as s:
        assert s.scalar(select(func.count()).select_from(SurveyInvitation)) == 0
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_unsubscribed_contacts_are_skipped_and_counted(project, wh_read):
    with session_scope(project) as s:
        outbox.suppress(s, "ana@one.example", "survey")
        outbox.suppress(s, "bo@one.example", None)  # everything
        outbox.suppress(s, "cy@two.example", "renewal")  # another category: still asked
    [rel] = send.send_all(project, wh_read, program="rel-nps", now=NOW)
    assert (rel.invited, rel.suppressed) == (1, 2)
    assert sorted(_invitations(project)) == ["c3"]


def test_throttle_across_programs(project, wh_read):
    """c1 asked by the transactional CSAT (a playbook) 10 days ago: the relationship wave skips
    it (throttle_days 30) and asks it once the 30 days have passed."""
    enrol(project, "c1", at=NOW - timedelta(days=10))
    [csat] = send.send_all(project, wh_read, program="support-csat", now=NOW - timedelta(days=10))
    assert (csat.enrolments, csat.invited) == (1, 1)
    [rel] = send.send_all(project, wh_read, program="rel-nps", now=NOW)
    assert (rel.invited, rel.throttled) == (2, 1)
    [rel] = send.send_all(project, wh_read, program="rel-nps", now=NOW + timedelta(days=21))
    assert (rel.invited, rel.recently_asked) == (1, 2)


def enrol(config, contact_id: str, at: datetime) -> None:
    from tenure.playbooks.records import enrol_in_survey

    with session_scope(config) as s:
        enrol_in_survey(s, "support-csat", "acct-1", contact_id, "ticket-csat", f"t|{contact_id}|{at}", at)


def test_token_is_signed_and_single_use(project, wh_read):
    send.send_all(project, wh_read, program="rel-nps", now=NOW)
    inv = _invitations(project)["c2"]
    token = _token(project, inv)
    iid, expiry, mac = token.split(".")
    forged = [f"{iid}.{int(expiry) + 86400}.{mac}",  # a later expiry
              f"i{'A' * 22}.{expiry}.{mac}",  # another (guessed) id
              f"{iid}.{expiry}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",  # an edited signature
              token[:-3], "", "x" * 400, f"{iid}.{expiry}"]
    with session_scope(project) as s:
        for bad in forged:
            assert responses.record_score(s, project, bad, 9, now=NOW).status == "invalid", bad
        assert responses.record_score(s, project, token, 11, now=NOW).status == "bad_score"
        assert responses.record_score(s, project, token, "nine", now=NOW).status == "bad_score"
        first = responses.record_score(s, project, token, 3, now=NOW + timedelta(hours=1))
        assert (first.status, first.score) == ("recorded", 3)
    with session_scope(project) as s:  # reused much later: already, nothing changes
        again = responses.record_score(s, project, token, 10, now=NOW + timedelta(days=1))
        assert again.status == "already"
        [row] = s.scalars(select(SurveyResponse)).all()
        assert (row.score, row.contact_id, row.account_id, row.kind, row.touchpoint) == (3, "c2", "acct-1", "nps",
                                                                                       "relationship")
        assert s.get(SurveyInvitation, inv.id).status == "answered"


def test_expired_link(project, wh_read):
    send.send_all(project, wh_read, program="rel-nps", now=NOW)
    token = _token(project, _invitations(project)["c1"])
    with session_scope(project) as s:
        assert responses.record_score(s, project, token, 9, now=NOW + timedelta(days=14)).status == "expired"
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_comment_needs_the_forms_nonce_and_is_kept_once(project, wh_read):
    send.send_all(project, wh_read, program="rel-nps", now=NOW)
    token = _token(project, _invitations(project)["c3"])
    with session_scope(project) as s:
        a = responses.record_score(s, project, token, 2, now=NOW)
    assert a.nonce and a.response_id
    with session_scope(project) as s:
        assert responses.record_comment(s, project, a.response_id, "forged", "hi", now=NOW).status == "bad_form"
        other = tokens.form_nonce(b"another key", a.response_id)
        assert responses.record_comment(s, project, a.response_id, other, "hi", now=NOW).status == "bad_form"
        done = responses.record_comment(s, project, a.response_id, a.nonce, "  <script>alert(1)</script> slow  ",
                                        now=NOW + timedelta(minutes=5))
        assert done.status == "commented"
        assert responses.record_comment(s, project, a.response_id, a.nonce, "again", now=NOW).status == "already"
        row = s.scalar(select(SurveyResponse))
        assert row.comment == "<script>alert(1)</script> slow"  # kept as typed; the page escapes it
    # webhooks: one for the score, one for the comment, signed by the outbox at delivery
    with session_scope(project) as s:
        hooks = [m.payload for m in s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")
                                              .order_by(OutboxMessage.id))]
    assert [h["body"]["event"] for h in hooks] == ["response", "comment"]
    assert hooks[0]["url"] == "http://hooks.test/survey"
    assert (hooks[0]["body"]["score"], hooks[0]["body"]["category"], hooks[0]["body"]["account_id"]) == (
        2, "detractor", "acct-2")


def test_comment_window_closes(project, wh_read):
    send.send_all(project, wh_read, program="rel-nps", now=NOW)
    token = _token(project, _invitations(project)["c3"])
    with session_scope(project) as s:
        a = responses.record_score(s, project, token, 8, now=NOW)
        late = responses.record_comment(s, project, a.response_id, a.nonce, "late", now=NOW + timedelta(hours=2))
        assert late.status == "closed"


def test_reminder_once_then_expiry(project, wh_read):
    send.send_all(project, wh_read, program="rel-nps", now=NOW)
    token = _token(project, _invitations(project)["c1"])
    with session_scope(project) as s:
        responses.record_score(s, project, token, 10, now=NOW + timedelta(days=1))
    assert send.remind(project, now=NOW + timedelta(days=2)) == {"reminded": 0, "expired": 0}
    assert send.remind(project, now=NOW + timedelta(days=3)) == {"reminded": 2, "expired": 0}  # c2, c3
    assert send.remind(project, now=NOW + timedelta(days=4)) == {"reminded": 0, "expired": 0}
    with session_scope(project) as s:
        reminders = s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("survey-reminder:%"))).all()
        assert sorted(m.recipient for m in reminders) == ["bo@one.example", "cy@two.example"]
        assert all(m.payload["subject"].startswith("Reminder: ") for m in reminders)
    assert send.remind(project, now=NOW + timedelta(days=15)) == {"reminded": 0, "expired": 2}
    with session_scope(project) as s:
        assert sorted(s.scalars(select(SurveyInvitation.status))) == ["answered", "expired", "expired"]


def test_sync_reaches_the_warehouse_through_ingest_and_the_metric_reads_it(project, wh_read):
    from tenure.metrics.periods import Period
    from tenure.metrics.surveys import response_rate_rows, survey_rows
    from tenure.voc.programs import program_status
    from tenure.warehouse import connect

    send.send_all(project, wh_read, program="rel-nps", now=NOW)
    invs = _invitations(project)
    with session_scope(project) as s:
        a = responses.record_score(s, project, _token(project, invs["c1"]), 10, now=NOW + timedelta(hours=1))
        responses.record_score(s, project, _token(project, invs["c2"]), 4, now=NOW + timedelta(hours=2))
    wh_read.close()
    wh = connect(config=project, write=True)
    try:
        first = responses.sync(project, wh)
        assert (first["invitations"], first["responses"], first["rejected"]) == (3, 2, 0)
        assert responses.sync(project, wh)["runs"] == []  # nothing changed: nothing written
        with session_scope(project) as s:  # a comment later: that response goes again (an update)
            responses.record_comment(s, project, a.response_id, a.nonce, "great",
                                     now=NOW + timedelta(hours=1, minutes=3))
        again = responses.sync(project, wh)
        assert (again["invitations"], again["responses"]) == (0, 1)
        got = wh.execute(wh.table("survey_responses").order_by("response_id")).to_dict(orient="records")
        assert sorted((r["contact_id"], r["score"], r["comment"], r["survey_id"], r["source"]) for r in got) == [
            ("c1", 10, "great", "rel-nps", "tenure-surveys"), ("c2", 4, None, "rel-nps", "tenure-surveys")]
        period = Period("Nov 2026", NOW.date().replace(day=1), NOW.date().replace(day=30))
        [nps] = survey_rows(wh, project, "nps", period, survey_id="rel-nps")
        assert (nps["n"], float(nps["value"])) == (2, 0.0)  # one promoter, one detractor
        [rate] = response_rate_rows(wh, project, period, survey_id="rel-nps")
        assert (rate["numerator"], rate["denominator"]) == (2, 3)
        [status, _] = program_status(project, wh, today=NOW.date())
        assert (status["invited"], status["answered"], status["unsynced"]) == (3, 2, 0)
        assert status["score"]["n"] == 2 and status["score"]["ci_low"] is not None
    finally:
        wh.close()


def test_send_survey_playbook_action(project, wh_read):
    """A playbook's send_survey step invites in the playbook's own session, once per occurrence."""
    from types import SimpleNamespace

    from tenure.playbooks.actions import ACTION_TYPES, ActionContext
    from tenure.voc.actions import SendSurvey

    assert "send_survey" in ACTION_TYPES
    contact = {"contact_id": "c3", "email": "cy@two.example", "name": "Cy", "locale": None, "role": "champion"}
    for _ in range(2):
        with session_scope(project) as s:
            ctx = ActionContext(session=s, config=project, playbook=SimpleNamespace(name="ticket-csat"), version=1,
                                enrolment_id=None, account={"account_id": "acct-2", "name": "Two SARL"},
                                contact=contact, trigger={}, occurrence_key="ticket_resolved|t-9", now=NOW)
            out = ACTION_TYPES["send_survey"].run(ctx, SendSurvey(program="support-csat"), "s1")
    # the second run invites nobody: the throttle (across programs) stops it before the dedupe key
    assert out == [{"kind": "survey", "program": "support-csat", "skipped": "throttled 1"}]
    [inv] = _invitations(project).values()
    assert (inv.program, inv.kind, inv.trigger, inv.contact_id) == (
        "support-csat", "csat", "playbook:ticket-csat", "c3")


def test_send_survey_sends_no_email_for_a_program_without_the_email_channel(project, wh_read):
    """A playbook pointed at a program asked only in-app or by share link must not email anyone."""
    from types import SimpleNamespace

    from tenure.playbooks.actions import ACTION_TYPES, ActionContext
    from tenure.voc.actions import SendSurvey

    linked = project.model_copy(deep=True)
    next(p for p in linked.surveys.programs if p.name == "support-csat").channels = ["link"]
    contact = {"contact_id": "c3", "email": "cy@two.example", "name": "Cy", "locale": None, "role": "champion"}
    with session_scope(linked) as s:
        ctx = ActionContext(session=s, config=linked, playbook=SimpleNamespace(name="ticket-csat"), version=1,
                            enrolment_id=None, account={"account_id": "acct-2", "name": "Two SARL"},
                            contact=contact, trigger={}, occurrence_key="ticket_resolved|t-9", now=NOW)
        out = ACTION_TYPES["send_survey"].run(ctx, SendSurvey(program="support-csat"), "s1")
    assert out == [{"kind": "survey", "program": "support-csat", "skipped": "the program has no email channel"}]
    assert _invitations(linked) == {}


def test_unknown_program_names_the_config_key(project, wh_read):
    from tenure.errors import NotFoundError

    with pytest.raises(NotFoundError, match="surveys.programs"):
        send.send_all(project, wh_read, program="nope")


def test_a_playbook_file_with_send_survey_validates():
    """The example of docs/voc.md: a transactional CSAT after each resolved ticket."""
    from tenure.playbooks.spec import parse

    text = """
name: support-csat
status: active
triggers: [{type: ticket_resolved}]
steps:
  - {action: send_survey, program: support-csat, roles: [champion, user]}
"""
    pb, problems = parse(text, "playbooks/support-csat.yaml")
    assert problems == [] and pb is not None
    _, problems = parse(text.replace("program: support-csat", "programme: x"), "playbooks/bad.yaml")
    assert {p.field for p in problems} == {"steps[0].program", "steps[0].programme"}  # file, line and field named


def test_cap_pause_and_the_unsubscribe_link(project, wh_read):
    from tenure.notify.signing import read_unsubscribe_token

    capped = project.model_copy(deep=True)
    capped.surveys.programs[0].max_per_run = 2
    [rel] = send.send_all(capped, wh_read, program="rel-nps", now=NOW)
    assert (rel.invited, rel.capped) == (2, 1)
    with session_scope(project) as s:
        text = s.scalars(select(OutboxMessage)).first().payload["text"]
    link = next(line for line in text.splitlines() if line.startswith("No more surveys: "))
    token = link.split("token=")[1]
    assert read_unsubscribe_token(project_secret(project), token)[1] == "survey"
    paused = project.model_copy(deep=True)
    paused.surveys.programs[0].status = "paused"
    assert send.send_all(paused, wh_read, program="rel-nps", now=NOW + timedelta(days=200))[0].invited == 0
    inv = next(iter(_invitations(project).values()))
    with session_scope(paused) as s:
        assert responses.record_score(s, paused, _token(project, inv), 9, now=NOW).status == "paused"


def test_the_demo_wave_is_sent_once(project, wh_read, monkeypatch):
    """A re-run of the demo's wave sends and answers nothing more, also when the first wave was
    capped (max_per_run) below its audience."""
    from rich.console import Console

    from tenure.voc import demo
    from tenure.warehouse import connect

    monkeypatch.setattr(demo, "PROGRAM", "rel-nps")
    config = project.model_copy(deep=True)
    config.surveys.programs[0].max_per_run = 2
    wh_read.close()
    counts = []
    for _ in range(2):
        wh = connect(config=config, write=True)
        try:
            out = demo.demo_step(wh, config, Console(quiet=True))
        finally:
            wh.close()
        with session_scope(config) as s:
            counts.append((s.scalar(select(func.count()).select_from(SurveyInvitation)),
                           s.scalar(select(func.count()).select_from(SurveyResponse))))
        assert out["status"]["invited"] == 2
    assert counts[0] == counts[1] and counts[0][0] == 2
