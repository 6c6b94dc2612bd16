"""The in-app / web channel: should the product's widget ask this user now, and the ask itself.

A customer's product embeds /embed/survey.js (tenure.web.survey_embed) and tells it who the user
is: tenure's contact id, an HMAC of it made with the program's secret (identity verification:
nobody can ask or answer as someone else), the day the product first saw the user and how many
sessions they had. `ask` decides, in the caller's transaction:

- the program is active and lists the `inapp` channel (else `not_inapp` / `paused`);
- the user is old enough: first seen at least `inapp.min_user_age_days` ago (`too_new`);
- the user is engaged: at least `inapp.min_sessions` sessions (`few_sessions`);
- this program did not ask the user in the last `inapp.days_between_asks` days (`recently_asked`);
- no program asked the contact in the last `surveys.throttle_days` (`throttled`, the same
  cross-program throttle as email invitations: both read voc_invitations);
- the contact's address is not unsubscribed from surveys (category "survey") or from everything
  (`unsubscribed`): opting out of survey emails opts out of the widget too.

A yes writes the ask as an invitation (channel "inapp", the ledger every throttle reads) and
returns its signed token; the widget answers with it through `tenure.voc.responses.record_score`
and `record_comment`, the public page's own code path, so the answer is rate-limited, single use,
sent to the webhook and synced to the warehouse like any other. An ask not answered still counts
as an ask (the user saw the widget)."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tenure.config import Config, SurveyProgram
from tenure.errors import ConfigError
from tenure.notify import outbox
from tenure.notify.signing import project_secret
from tenure.state.models import SurveyInvitation, utcnow
from tenure.voc.programs import fill, labels, scale, text_for
from tenure.voc.tokens import invitation_token, new_invitation_id

CHANNEL = "inapp"
MAX_USER_ID = 100


def program_secret(program: SurveyProgram) -> bytes:
    """The program's identity-verification secret, from the environment variable its `inapp.secret_env`
    names. ConfigError (naming the variable) when it is unset or shorter than 16 characters."""
    assert program.inapp is not None
    name = program.inapp.secret_env
    value = os.environ.get(name, "")
    if len(value) < 16:
        raise ConfigError(f"surveys.programs[{program.name}].inapp.secret_env: set the environment variable {name} "
                          f"to a secret of at least 16 characters (it is {'unset' if not value else 'too short'}); "
                          "the product signs user ids with it")
    return value.encode("utf-8")


def user_hash(secret: bytes | str, user_id: str) -> str:
    """What the product's server computes for a user: HMAC-SHA256(secret, user_id), hex."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_user(program: SurveyProgram, user_id: str | None, given: str | None) -> bool:
    """True when `given` is the user's HMAC under the program's secret (constant-time compare)."""
    if not user_id or not given or len(user_id) > MAX_USER_ID or len(given) > 128:
        return False
    return hmac.compare_digest(user_hash(program_secret(program), user_id), given.strip().lower())


@dataclass
class Ask:
    """The answer to "ask now?": ask True with the token and what the widget shows, or ask False
    with a reason (not_inapp, paused, too_new, few_sessions, recently_asked, throttled,
    unknown_user, unsubscribed)."""

    ask: bool
    reason: str | None = None
    token: str | None = None
    widget: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ask": self.ask}
        if self.ask:
            out.update(token=self.token, **self.widget)
        else:
            out["reason"] = self.reason
        return out


def last_asks(session: Session, program: SurveyProgram, contact_id: str) -> tuple[datetime | None, datetime | None]:
    """(the last time this program asked the contact in-app, the last time any program asked the
    contact on any channel), from the invitations ledger."""
    mine = session.scalar(select(func.max(SurveyInvitation.sent_at)).where(
        SurveyInvitation.contact_id == contact_id, SurveyInvitation.program == program.name,
        SurveyInvitation.channel == CHANNEL))
    anyone = session.scalar(select(func.max(SurveyInvitation.sent_at)).where(SurveyInvitation.contact_id == contact_id))
    return mine, anyone


def eligibility(session: Session, config: Config, program: SurveyProgram, contact_id: str, *,
                first_seen: date | None, sessions: int | None, now: datetime | None = None) -> str | None:
    """None when the user may be asked now, else the reason not (see `Ask`). Writes nothing."""
    now = now or utcnow()
    if CHANNEL not in program.channels or program.inapp is None:
        return "not_inapp"
    if program.status != "active":
        return "paused"
    rules = program.inapp
    if first_seen is None or (now.date() - first_seen).days < rules.min_user_age_days:
        return "too_new"
    if (sessions or 0) < rules.min_sessions:
        return "few_sessions"
    mine, anyone = last_asks(session, program, contact_id)
    if mine is not None and now - mine < timedelta(days=rules.days_between_asks):
        return "recently_asked"
    if config.surveys.throttle_days and anyone is not None and now - anyone < timedelta(days=config.surveys.throttle_days):
        return "throttled"
    return None


def ask(session: Session, config: Config, program: SurveyProgram, *, contact_id: str, account_id: str | None,
        first_seen: date | None, sessions: int | None, locale: str | None = None, email: str | None = None,
        now: datetime | None = None) -> Ask:
    """Decide and, on a yes, record the ask (an "inapp" invitation) in the caller's transaction.
    `account_id` None: the contact is unknown to the warehouse (`unknown_user`). The identity must
    have been verified (`verify_user`) before; `email` (the contact's address, if any) is checked
    against the survey unsubscribes. Two asks at once for one user make one invitation
    (its dedupe key names the user and the period of days_between_asks)."""
    from tenure.voc.send import CATEGORY, _insert_new

    now = (now or utcnow()).replace(microsecond=0)
    reason = eligibility(session, config, program, contact_id, first_seen=first_seen, sessions=sessions, now=now)
    if reason is None and account_id is None:
        reason = "unknown_user"
    if reason is None and email and outbox.is_suppressed(outbox.suppressed(session, [email]), email, CATEGORY):
        reason = "unsubscribed"
    if reason is not None:
        return Ask(False, reason)
    assert program.inapp is not None
    expires = now + timedelta(days=min(program.expiry_days, 1))  # the widget answers within the visit
    iid = new_invitation_id()
    period = now.date().toordinal() // program.inapp.days_between_asks
    loc, text = text_for(program, locale)
    made = _insert_new(session, [dict(invitation_id=iid, dedupe_key=f"{program.name}:inapp:{contact_id}:{period}",
                                      program=program.name, kind=program.kind, channel=CHANNEL, account_id=account_id,
                                      contact_id=contact_id, email=None, locale=loc, trigger=CHANNEL, status="sent",
                                      sent_at=now, expires_at=expires, changed_at=now)])
    if not made:
        return Ask(False, "recently_asked")
    low, high = labels(program, text)
    values = {"account": "your company", "project": config.project}
    widget = {"program": program.name, "kind": program.kind, "question": fill(text.question, **values),
              "follow_up": fill(text.follow_up, **values), "thanks": text.thanks, "low": low, "high": high,
              "scale": list(scale(program.kind)), "max_comment": config.surveys.max_comment_chars}
    return Ask(True, token=invitation_token(project_secret(config), iid, expires), widget=widget)
