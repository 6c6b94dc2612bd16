"""The demo's survey wave: a relationship NPS program in tenure.yaml, invitations sent through the
outbox and written as .eml files, simulated answers given through the public page's own code
path (tenure.voc.responses.record_score / record_comment: what GET /s/<token>?score=N and the
comment form call), and the answers synced to the warehouse through the ingest path.

The demo company lives on its last data day (the as of): the wave is sent that day at 09:00 UTC
and answered during the day, so the as of does not move. Its links stay open a year
(expiry_days 365) so the .eml files can be clicked against `tenure serve` later."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from sqlalchemy import func, select

from tenure.config import survey_category

PROGRAM = "relationship-nps"
WAVE_SIZE = 40  # invitations in the demo's wave (small: the demo is built once per test run)
ANSWER_SHARE = 0.6
COMMENT_SHARE = 0.5
SEED = 12

DEMO_SURVEYS = """\
surveys:                         # docs/voc.md "Surveys" (added by tenure demo)
  throttle_days: 30              # no contact is asked by any program more than once in 30 days
  # webhook_url: https://hooks.example.com/tenure-surveys   # a signed POST on every response
  programs:
    - name: relationship-nps
      kind: nps
      title: Relationship NPS
      trigger: {type: relationship, every_days: 90}
      audience: {roles: [champion, exec_sponsor], segments: [Enterprise]}
      channels: [email, link]
      reminder_days: 3
      expiry_days: 365           # the demo company lives on its last data day: links stay open a year
      max_per_run: 40
      text:
        en: {question: "How likely are you to recommend {project} to a friend or colleague?",
             follow_up: "What is the main reason for your score?"}
        de: {question: "Wie wahrscheinlich ist es, dass Sie {project} einem Freund oder Kollegen empfehlen?",
             follow_up: "Was ist der wichtigste Grund für Ihre Bewertung?", low_label: "Unwahrscheinlich",
             high_label: "Äußerst wahrscheinlich", thanks: "Vielen Dank für Ihre Antwort."}
        fr: {question: "Quelle est la probabilité que vous recommandiez {project} à un ami ou un collègue ?",
             follow_up: "Quelle est la raison principale de votre note ?", low_label: "Pas du tout probable",
             high_label: "Très probable", thanks: "Merci pour votre réponse."}
    - name: support-csat
      kind: csat
      title: Support CSAT
      touchpoint: support
      trigger: {type: transactional}   # a playbook's send_survey step sends it (e.g. after a ticket is resolved)
      audience: {roles: [champion, user]}
      text:
        en: {question: "How satisfied were you with how we handled your request?"}
"""

COMMENTS = {
    "promoter": ["The reporting saves our team hours every week.", "Great onboarding and a responsive CSM.",
                 "Forecasts are finally something finance trusts."],
    "passive": ["Good product, but exports are slow.", "Works well; the mobile view needs love.",
                "Solid, though pricing went up this year."],
    "detractor": ["Too many outages last quarter.", "Support took a week to answer our ticket.",
                  "Missing the Salesforce sync we were promised."],
}


def add_surveys(config_path: Path) -> bool:
    """Give the demo's tenure.yaml survey programs (once). True when it added them."""
    text = config_path.read_text(encoding="utf-8")
    if "\nsurveys:" in "\n" + text:
        return False
    config_path.write_text(text.rstrip("\n") + "\n\n" + DEMO_SURVEYS, encoding="utf-8")
    return True


def _score(rng: np.random.Generator, band: str | None) -> int:
    if band == "green":
        return int(rng.choice([7, 8, 9, 9, 10, 10]))
    if band == "red":
        return int(rng.choice([0, 2, 3, 4, 5, 6, 7]))
    return int(rng.choice([5, 6, 7, 8, 8, 9]))


def deliver_wave(config: Any, prefix: str, start: datetime, rounds: int = 24) -> int:
    """Deliver the wave's emails (only those: dedupe keys starting with `prefix`) as the worker
    would, moving the clock to each recipient's next send window; returns how many were sent."""
    from tenure.notify.deliver import deliver_due
    from tenure.state.db import session_scope
    from tenure.state.models import OutboxMessage

    sent, moment = 0, start
    for _ in range(rounds):
        sent += deliver_due(config, now=moment, dedupe_prefix=prefix).sent
        with session_scope(config) as s:
            nxt = s.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status == "pending", OutboxMessage.dedupe_key.startswith(prefix, autoescape=True)))
        if nxt is None:
            break
        moment = max(moment, nxt)
    return sent


def demo_step(wh: Any, config: Any, out: Console) -> dict:
    """Send the wave, write it as .eml files, answer part of it through the page's code path and
    sync the answers; returns counts and hints."""
    from tenure.notify.signing import project_secret
    from tenure.state.db import session_scope
    from tenure.state.models import SurveyInvitation, utcnow
    from tenure.voc.programs import program_status
    from tenure.voc.responses import record_comment, record_score, sync
    from tenure.voc.send import send_program
    from tenure.voc.tokens import invitation_token
    from tenure.warehouse.asof import latest_event_day

    if config.surveys.program(PROGRAM) is None:
        return {"skipped": f"no program {PROGRAM} in tenure.yaml"}
    day = latest_event_day(wh) or utcnow().date()
    sent_at = datetime.combine(day, time(9))
    with session_scope(config) as session:
        sent_before = session.scalar(select(func.count()).select_from(SurveyInvitation)
                                     .where(SurveyInvitation.program == PROGRAM))
    if sent_before:  # a re-run of the demo: the wave exists, nothing is sent or answered again
        [status] = [r for r in program_status(config, wh, today=day) if r["name"] == PROGRAM]
        return {"invited": 0, "emails": 0, "answered": 0, "commented": 0, "synced": {}, "status": status,
                "hints": ["tenure voc programs   # invited, answered, response rate and the current NPS"]}
    report = send_program(config, wh, PROGRAM, now=sent_at)
    emails = deliver_wave(config, f"survey:{PROGRAM}:", utcnow())
    band = {}
    if "account_summary" in wh.list_tables():
        s = wh.table("account_summary")
        band = dict(wh.execute(s.select("account_id", "band")).itertuples(index=False, name=None))
    rng = np.random.default_rng(SEED)
    key = project_secret(config)
    answered = commented = 0
    with session_scope(config) as session:
        invs = session.scalars(select(SurveyInvitation).where(SurveyInvitation.program == PROGRAM,
                                                              SurveyInvitation.answered_at.is_(None))
                               .order_by(SurveyInvitation.id)).all()
        chosen = [i for i in invs if rng.random() < ANSWER_SHARE]
        for n, inv in enumerate(chosen):
            at = sent_at + timedelta(minutes=45 + 11 * n)
            token = invitation_token(key, inv.invitation_id, inv.expires_at)
            a = record_score(session, config, token, _score(rng, band.get(inv.account_id)), now=at)
            if a.status != "recorded":
                continue
            answered += 1
            if rng.random() < COMMENT_SHARE:
                cat = survey_category("nps", a.score)
                record_comment(session, config, a.response_id, a.nonce, str(rng.choice(COMMENTS[cat])),
                               now=at + timedelta(minutes=2))
                commented += 1
    synced = sync(config, wh)
    [status] = [r for r in program_status(config, wh, today=day) if r["name"] == PROGRAM]
    eml_dir = config.resolve_path(config.notify.eml_dir)
    return {"invited": report.invited, "emails": emails, "answered": answered, "commented": commented,
            "synced": {k: v for k, v in synced.items() if k != "runs"}, "status": status, "eml_dir": str(eml_dir),
            "hints": [f"{eml_dir}/   # the survey wave's invitations as .eml files (open one; its links need "
                      "`tenure serve`)",
                      "tenure voc programs   # invited, answered, response rate and the current NPS with its interval",
                      "tenure voc send --dry-run   # who the next wave would ask (throttle and unsubscribes applied)"]}
