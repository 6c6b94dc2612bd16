"""Answers: what the public survey page records, the webhook on every response, the rate limit,
and the sync to the warehouse.

The page (tenure.web.survey_public) is thin: it calls `record_score` when a score link is
clicked, `record_comment` when the comment form is posted, and `link_answer` for a share link.
Each writes the state DB (voc_responses, voc_invitations) and, in the same transaction, a signed
webhook through the outbox (surveys.webhook_url or the program's), so a receiver hears of every
response. A link answers once: a second click shows "already answered" and changes nothing.

`sync` brings the state DB's invitations and responses to the warehouse's survey_invitations and
survey_responses through the one ingest path (tenure.ingest.pipeline.ingest_table: validation,
quarantine, upsert by natural key), so metrics, health and risk read them like any imported
answer. It writes only rows changed since their last sync, and re-running changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from tenure.config import SURVEY_SCALES, Config, SurveyProgram, survey_category
from tenure.errors import InputError
from tenure.notify import outbox
from tenure.notify.signing import project_secret
from tenure.state.models import SurveyInvitation, SurveyRateHit, SurveyResponse, utcnow
from tenure.voc.programs import fill, get_program, labels, scale, text_for
from tenure.voc.tokens import (InvitationClaim, check_form_nonce, form_nonce, read_invitation_token,
                               read_link_token)

SOURCE = "tenure-surveys"  # the `source` of synced rows in the warehouse


@dataclass
class Answer:
    """What the page shows after a request.

    status: recorded (the score was kept), commented (the comment was kept), ask (a valid link
    without a score: show the scale), already (answered before), expired, invalid (forged,
    edited, unknown), bad_score (outside the scale), closed (the comment window passed),
    bad_form (the comment form's nonce is wrong), paused (the program is paused)."""

    status: str
    program: SurveyProgram | None = None
    response_id: str | None = None
    score: int | None = None
    nonce: str | None = None
    locale: str | None = None

    def page(self, config: Config) -> dict[str, Any]:
        """What the template needs: question, follow-up, scale and its labels, thanks."""
        if self.program is None:
            return {"status": self.status}
        _, text = text_for(self.program, self.locale)
        low, high = labels(self.program, text)
        values = {"account": "your company", "project": config.project}
        return {"status": self.status, "program": self.program.name, "kind": self.program.kind,
                "title": self.program.title or config.project, "question": fill(text.question, **values),
                "follow_up": fill(text.follow_up, **values), "thanks": text.thanks, "low": low, "high": high,
                "scale": scale(self.program.kind), "score": self.score, "nonce": self.nonce,
                "response_id": self.response_id, "max_comment": config.surveys.max_comment_chars}


# -- the rate limit ---------------------------------------------------------------------------------

def allow(session: Session, config: Config, keys: dict[str, int], now: datetime | None = None) -> bool:
    """Count one request against each key ({key: limit per window}); False when any key is over
    its limit. Counters live in the state DB (one row per key and window: every server process
    shares them); windows older than an hour are deleted as they pass."""
    now = now or utcnow()
    minutes = config.surveys.rate_limit.window_minutes
    size = timedelta(minutes=minutes)
    epoch = datetime(2000, 1, 1)
    start = epoch + size * int((now - epoch) / size)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    ok = True
    for key, limit in keys.items():
        stmt = insert(SurveyRateHit).values(key=key[:120], window_start=start, hits=1)
        stmt = stmt.on_conflict_do_update(index_elements=["key", "window_start"],
                                          set_={"hits": SurveyRateHit.hits + 1}).returning(SurveyRateHit.hits)
        hits = session.scalar(stmt)
        ok = ok and (hits or 0) <= limit
    if now.minute % 10 == 0:  # now and then: forget old windows
        session.execute(SurveyRateHit.__table__.delete().where(
            SurveyRateHit.window_start < now - max(size, timedelta(hours=1))))
    return ok


def rate_keys(config: Config, ip: str | None, token: str | None) -> dict[str, int]:
    limits = config.surveys.rate_limit
    keys = {f"ip:{ip or 'unknown'}": limits.per_address}
    if token:
        import hashlib

        keys["tok:" + hashlib.sha256(token.encode()).hexdigest()[:32]] = limits.per_token
    return keys


# -- the webhook --------------------------------------------------------------------------------

def webhook_url(config: Config, program: SurveyProgram) -> str | None:
    return program.webhook_url or config.surveys.webhook_url


def _webhook(session: Session, config: Config, program: SurveyProgram, r: SurveyResponse, event: str) -> None:
    """A signed webhook (outbox channel "webhook") for a response or its comment, once per event."""
    url = webhook_url(config, program)
    if not url:
        return
    body = {"event": event, "response_id": r.response_id, "program": r.program, "kind": r.kind, "score": r.score,
            "comment": r.comment, "account_id": r.account_id, "contact_id": r.contact_id, "channel": r.channel,
            "touchpoint": r.touchpoint, "responded_at": r.responded_at.isoformat(timespec="seconds") + "Z",
            "category": _category(r.kind, r.score, config)}
    outbox.enqueue(session, channel="webhook", payload={"url": url, "body": body},
                   dedupe_key=f"survey-webhook:{r.response_id}:{event}")


def _category(kind: str, score: int, config: Config) -> str:
    """promoter/passive/detractor (NPS), satisfied/unsatisfied (CSAT), or the CES score's side."""
    return survey_category(kind, score, config.metrics.surveys.csat_satisfied_min)


# -- answering an invitation ------------------------------------------------------------------------

def _claim(config: Config, token: str | None) -> InvitationClaim | None:
    return read_invitation_token(project_secret(config), token)


def _check_score(kind: str, score: Any) -> int | None:
    try:
        n = int(str(score).strip())
    except (TypeError, ValueError):
        return None
    low, high = SURVEY_SCALES[kind]
    return n if low <= n <= high else None


def _open_link(session: Session, config: Config, token: str | None, now: datetime
               ) -> tuple[Answer | None, SurveyInvitation | None, SurveyProgram | None]:
    """(None, invitation, program) for a link that can take an answer now; else (what to show
    instead: invalid, already answered, expired or paused, None, None)."""
    claim = _claim(config, token)
    if claim is None:
        return Answer("invalid"), None, None
    inv = session.scalar(select(SurveyInvitation).where(SurveyInvitation.invitation_id == claim.invitation_id))
    program = config.surveys.program(inv.program) if inv is not None else None
    if inv is None or program is None:
        return Answer("invalid"), None, None
    if inv.answered_at is not None:
        return _after_answer(session, config, program, inv, now), None, None
    if claim.expires_at <= now or inv.expires_at <= now:
        return Answer("expired", program, locale=inv.locale), None, None
    if program.status != "active":
        return Answer("paused", program, locale=inv.locale), None, None
    return None, inv, program


def lookup(session: Session, config: Config, token: str | None, now: datetime | None = None) -> Answer:
    """What a link without a score shows: ask (the scale), or already/expired/invalid/paused."""
    shown, inv, program = _open_link(session, config, token, now or utcnow())
    return shown or Answer("ask", program, locale=inv.locale)


def _after_answer(session: Session, config: Config, program: SurveyProgram, inv: SurveyInvitation,
                  now: datetime) -> Answer:
    """A used link: the comment form again while the comment window is open and no comment was
    given (e.g. the page was reloaded), else "already answered"."""
    r = session.scalar(select(SurveyResponse).where(SurveyResponse.invitation_id == inv.invitation_id))
    if r is not None and r.comment is None and now - r.responded_at < timedelta(minutes=config.surveys.comment_minutes):
        return Answer("recorded", program, r.response_id, r.score, form_nonce(project_secret(config), r.response_id),
                      inv.locale)
    return Answer("already", program, locale=inv.locale)


def record_score(session: Session, config: Config, token: str | None, score: Any, *,
                 now: datetime | None = None) -> Answer:
    """The one-click answer: keep the score of a valid, unexpired, unused invitation (and send
    the webhook), in the caller's transaction. A used link changes nothing."""
    now = (now or utcnow()).replace(microsecond=0)
    shown, inv, program = _open_link(session, config, token, now)
    if shown is not None:
        return shown
    value = _check_score(inv.kind, score)
    if value is None:
        return Answer("bad_score", program, locale=inv.locale)
    # single use even against a concurrent click: only the update that finds it unanswered wins
    won = session.execute(update(SurveyInvitation).where(SurveyInvitation.id == inv.id,
                                                         SurveyInvitation.answered_at.is_(None))
                          .values(answered_at=now, status="answered", changed_at=now)
                          .execution_options(synchronize_session=False)).rowcount
    if not won:
        session.expire(inv)
        return _after_answer(session, config, program, inv, now)
    r = SurveyResponse(response_id=f"r{inv.invitation_id[1:]}", invitation_id=inv.invitation_id, program=program.name,
                       kind=inv.kind, channel=inv.channel, touchpoint=program.touchpoint, account_id=inv.account_id,
                       contact_id=inv.contact_id, score=value, responded_at=now, changed_at=now)
    session.add(r)
    session.flush()
    _webhook(session, config, program, r, "response")
    return Answer("recorded", program, r.response_id, value, form_nonce(project_secret(config), r.response_id),
                  inv.locale)


def record_comment(session: Session, config: Config, response_id: str | None, nonce: str | None, comment: str | None,
                   *, now: datetime | None = None) -> Answer:
    """Keep the optional comment of a response just recorded: the form must carry the response's
    nonce (CSRF), within surveys.comment_minutes of the score, once. Stored as typed (the page
    escapes it when shown); longer than surveys.max_comment_chars is refused."""
    now = (now or utcnow()).replace(microsecond=0)
    key = project_secret(config)
    if not response_id or len(response_id) > 100 or not check_form_nonce(key, response_id, nonce):
        return Answer("bad_form")
    r = session.scalar(select(SurveyResponse).where(SurveyResponse.response_id == response_id))
    if r is None:
        return Answer("bad_form")
    program = config.surveys.program(r.program)
    if program is None:
        return Answer("invalid")
    locale = session.scalar(select(SurveyInvitation.locale).where(SurveyInvitation.invitation_id == r.invitation_id))
    text = (comment or "").replace("\r\n", "\n").strip()
    if r.comment is not None:
        return Answer("already", program, locale=locale)
    if now - r.responded_at >= timedelta(minutes=config.surveys.comment_minutes):
        return Answer("closed", program, locale=locale)
    if len(text) > config.surveys.max_comment_chars:
        raise InputError(f"comment: at most {config.surveys.max_comment_chars:,} characters (got {len(text):,}); "
                         "shorten it and send again")
    if not text:
        return Answer("commented", program, r.response_id, r.score, locale=locale)
    r.comment, r.commented_at, r.changed_at = text, now, now
    session.flush()
    _webhook(session, config, program, r, "comment")
    return Answer("commented", program, r.response_id, r.score, locale=locale)


def link_answer(session: Session, config: Config, token: str | None, score: Any, email: str | None, *,
                wh_contacts: Callable[[str, str], str | None] | None = None,
                now: datetime | None = None) -> Answer:
    """An answer through a program's share link (one link per account): the respondent gives an
    email address and a score. The address is matched to the account's contacts
    (`wh_contacts(account_id, email) -> contact_id`); an unknown address is recorded without a
    contact (anonymous within the account) and the address itself is not kept. One answer per
    address and account per program within its every_days (or throttle_days): a repeat is
    "already"."""
    import hashlib

    now = (now or utcnow()).replace(microsecond=0)
    got = read_link_token(project_secret(config), token)
    program = config.surveys.program(got[0]) if got else None
    if got is None or program is None or "link" not in program.channels:
        return Answer("invalid")
    if program.status != "active":
        return Answer("paused", program)
    value = _check_score(program.kind, score)
    address = (email or "").strip().lower()
    if value is None:
        return Answer("bad_score", program)
    if "@" not in address or len(address) > 320:
        return Answer("bad_email", program)
    account_id = got[1]
    contact_id = wh_contacts(account_id, address) if wh_contacts else None
    period = now.date().toordinal() // max(1, program.trigger.every_days)
    digest = hashlib.sha256(f"{program.name}\n{account_id}\n{address}\n{period}".encode()).hexdigest()[:24]
    iid = "l" + digest
    dedupe = f"{program.name}:link:{account_id}:{digest}"
    from tenure.voc.send import _insert_new

    made = _insert_new(session, [dict(invitation_id=iid, dedupe_key=dedupe, program=program.name, kind=program.kind,
                                      channel="link", account_id=account_id, contact_id=contact_id, email=None,
                                      locale=None, trigger="link", status="answered", sent_at=now,
                                      expires_at=now, answered_at=now, changed_at=now)])
    if not made:
        return Answer("already", program)
    r = SurveyResponse(response_id=f"r{iid[1:]}", invitation_id=iid, program=program.name, kind=program.kind,
                       channel="link", touchpoint=program.touchpoint, account_id=account_id, contact_id=contact_id,
                       score=value, responded_at=now, changed_at=now)
    session.add(r)
    session.flush()
    _webhook(session, config, program, r, "response")
    return Answer("recorded", program, r.response_id, value, form_nonce(project_secret(config), r.response_id))


# -- reading ----------------------------------------------------------------------------------------

def response_dict(r: SurveyResponse) -> dict[str, Any]:
    iso = (lambda v: None if v is None else v.isoformat(timespec="seconds") + "Z")
    return {"response_id": r.response_id, "invitation_id": r.invitation_id, "program": r.program, "kind": r.kind,
            "channel": r.channel, "touchpoint": r.touchpoint, "account_id": r.account_id, "contact_id": r.contact_id,
            "score": r.score, "comment": r.comment, "responded_at": iso(r.responded_at),
            "commented_at": iso(r.commented_at), "synced": r.synced_at is not None and r.synced_at >= r.changed_at}


def list_responses(session: Session, *, account_id: str | None = None, program: str | None = None,
                   accounts: list[str] | None = None, limit: int = 50, offset: int = 0
                   ) -> tuple[list[dict[str, Any]], int]:
    """Responses recorded by tenure's own surveys (newest first) and how many match; `accounts`
    narrows to a book of business (None: all)."""
    q = select(SurveyResponse)
    n = select(func.count()).select_from(SurveyResponse)
    conds = []
    if account_id is not None:
        conds.append(SurveyResponse.account_id == account_id)
    if program is not None:
        conds.append(SurveyResponse.program == program)
    if accounts is not None:
        conds.append(SurveyResponse.account_id.in_(accounts))
    for c in conds:
        q, n = q.where(c), n.where(c)
    rows = session.scalars(q.order_by(SurveyResponse.responded_at.desc(), SurveyResponse.id.desc())
                           .offset(offset).limit(limit)).all()
    return [response_dict(r) for r in rows], int(session.scalar(n) or 0)


# -- to the warehouse -------------------------------------------------------------------------------

def _changed(model: Any):
    return or_(model.synced_at.is_(None), model.synced_at < model.changed_at)


def sync(config: Config, wh: Any, *, now: datetime | None = None, fence: Callable[[Session], None] | None = None,
         chunk: int = 50_000) -> dict[str, Any]:
    """Write the invitations and responses changed since their last sync to the warehouse through
    tenure.ingest.pipeline.ingest_table (the path `tenure ingest` takes), then mark them synced.
    Returns {invitations, responses, rejected, runs}. `wh` must be open for writing."""
    import pyarrow as pa

    from tenure.ingest.pipeline import ingest_table
    from tenure.state.db import session_scope

    now = now or utcnow()
    out: dict[str, Any] = {"invitations": 0, "responses": 0, "rejected": 0, "runs": []}
    for model, entity, columns in (
            (SurveyInvitation, "survey_invitations", _invitation_columns),
            (SurveyResponse, "survey_responses", _response_columns)):
        while True:
            with session_scope(config) as session:
                rows = session.scalars(select(model).where(_changed(model)).order_by(model.id).limit(chunk)).all()
                if not rows:
                    break
                seen = {r.id: r.changed_at for r in rows}
                data = pa.table(columns(rows))
            result = ingest_table(wh, config, entity, data, source=SOURCE, file_label=f"state DB {model.__tablename__}")
            out["runs"].append(result.run_id)
            out["rejected"] += result.rejected
            out["invitations" if entity == "survey_invitations" else "responses"] += result.loaded
            with session_scope(config) as session:
                if fence:
                    fence(session)
                # a row changed again while it was written keeps its newer changed_at: synced next time
                for rid, changed in seen.items():
                    session.execute(update(model).where(model.id == rid, model.changed_at == changed)
                                    .values(synced_at=changed).execution_options(synchronize_session=False))
            if len(seen) < chunk:
                break
    return out


def _invitation_columns(rows: list[SurveyInvitation]) -> dict[str, list]:
    return {"invitation_id": [r.invitation_id for r in rows], "account_id": [r.account_id for r in rows],
            "contact_id": [r.contact_id for r in rows], "kind": [r.kind for r in rows],
            "sent_at": [r.sent_at for r in rows], "survey_id": [r.program for r in rows],
            "channel": [r.channel for r in rows]}


def _response_columns(rows: list[SurveyResponse]) -> dict[str, list]:
    return {"response_id": [r.response_id for r in rows], "account_id": [r.account_id for r in rows],
            "contact_id": [r.contact_id for r in rows], "kind": [r.kind for r in rows],
            "score": [r.score for r in rows], "comment": [r.comment for r in rows],
            "responded_at": [r.responded_at for r in rows], "survey_id": [r.program for r in rows],
            "touchpoint": [r.touchpoint for r in rows]}


def program_of(config: Config, name: str) -> SurveyProgram:
    return get_program(config, name)


def pending_sync(config: Config) -> int:
    """How many invitations and responses changed since their last sync (0: nothing to do)."""
    from tenure.state.db import session_scope

    with session_scope(config) as session:
        return sum(int(session.scalar(select(func.count()).select_from(m).where(_changed(m))) or 0)
                   for m in (SurveyInvitation, SurveyResponse))
