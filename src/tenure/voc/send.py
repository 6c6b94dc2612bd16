"""Sending surveys: invitations and reminders through the outbox (tenure.notify.outbox).

An invitation is one row in the state DB (voc_invitations, random id, expiry) and one email in
the outbox, written in the same transaction: both or neither. The email carries one link per
score (0..10 for NPS, 1..5 CSAT, 1..7 CES) to the public page, `/s/<token>?score=N`, with the
token of tenure.voc.tokens, so one click answers.

Who is asked (`send_program`, relationship programs): the active contacts with an email address
of the program's audience (roles; segments, tiers and statuses of their accounts), minus
- those asked by this program within `trigger.every_days` (recently_asked),
- those asked by any program within `surveys.throttle_days` (throttled),
- those unsubscribed from the "survey" category or from everything (suppressed).
Each skip is counted in the report. Transactional programs invite when a playbook asks: its
`send_survey` action calls `invite` in the playbook's own transaction, and contacts enrolled by
`enrol_survey` are invited by the next `send_program`.

Every invitation has a dedupe key naming its occurrence (program, contact and period, or the
playbook's trigger occurrence): running a send twice invites nobody twice. Reminders (`remind`)
go once, `reminder_days` after an unanswered invitation that has not expired."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tenure.config import Config, SurveyProgram
from tenure.errors import ConfigError, InputError
from tenure.notify import outbox
from tenure.notify.signing import project_secret
from tenure.state.models import SurveyEnrolment, SurveyInvitation, utcnow
from tenure.voc.programs import fill, get_program, labels, scale, text_for
from tenure.voc.tokens import invitation_token, new_invitation_id

CATEGORY = "survey"  # the unsubscribe category of survey emails
Fence = Callable[[Session], None]


@dataclass
class SendReport:
    """What one send run did for one program (counts of contacts)."""

    program: str
    audience: int = 0
    invited: int = 0
    already_invited: int = 0
    recently_asked: int = 0
    throttled: int = 0
    suppressed: int = 0
    no_email: int = 0
    capped: int = 0
    enrolments: int = 0
    dry_run: bool = False
    sample: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def public_base(config: Config) -> str:
    """Where the public page is reached (web.public_url), for the links in emails."""
    base = config.web.public_url
    if not base:
        raise ConfigError("tenure.yaml web.public_url is not set: survey links must point at where people reach "
                          "`tenure serve` (e.g. web: {public_url: https://tenure.example.com})")
    return base.rstrip("/")


def survey_url(config: Config, token: str, score: int | None = None) -> str:
    return f"{public_base(config)}/s/{token}" + ("" if score is None else f"?score={score}")


# -- the email ------------------------------------------------------------------------------------

def invitation_email(config: Config, program: SurveyProgram, *, token: str, to: str, to_name: str | None,
                     account_name: str | None, locale: str | None, expires_at: datetime,
                     reminder: bool = False) -> dict[str, Any]:
    """The outbox payload of an invitation (or its reminder): subject, text and HTML with one
    link per score."""
    _, text = text_for(program, locale)
    values = {"account": account_name or "your company", "project": config.project}
    question = fill(text.question, **values)
    subject = " ".join(fill(text.subject or text.question, **values).split())
    if reminder:
        subject = f"Reminder: {subject}"
    low, high = labels(program, text)
    scores = scale(program.kind)
    links = [(n, survey_url(config, token, n)) for n in scores]
    until = expires_at.strftime("%Y-%m-%d")
    intro = fill(text.intro, **values)
    lines = [f"Hello {to_name}," if to_name else "Hello,", ""]
    if intro:
        lines += [intro, ""]
    lines += [question, f"({scores[0]} = {low}, {scores[-1]} = {high}; one click answers)", ""]
    lines += [f"  {n}: {url}" for n, url in links]
    from tenure.notify.email import unsubscribe_links

    unsubscribe = next((u for u in unsubscribe_links(config, to, CATEGORY) if u.startswith("http")), None)
    lines += ["", f"This link works until {until} and answers once.",
              f"No more surveys: {unsubscribe}" if unsubscribe else "To stop survey emails, reply to this email."]
    esc = html.escape
    cells = "".join(
        f'<td style="padding:2px"><a href="{esc(url)}" aria-label="{n}: '
        f'{esc(low if n == scores[0] else high if n == scores[-1] else str(n))}" '
        f'style="display:inline-block;min-width:28px;padding:8px 6px;border:1px solid #888;border-radius:4px;'
        f'text-align:center;text-decoration:none;color:#111">{n}</a></td>' for n, url in links)
    body = (f'<p>{esc(lines[0])}</p>' + (f"<p>{esc(intro)}</p>" if intro else "")
            + f"<p><strong>{esc(question)}</strong></p>"
            + f'<table role="presentation"><tr>{cells}</tr></table>'
            + f'<p style="font-size:90%">{esc(str(scores[0]))} = {esc(low)}, {esc(str(scores[-1]))} = {esc(high)}. '
            + f"This link works until {esc(until)} and answers once.</p>"
            + (f'<p style="font-size:90%"><a href="{esc(unsubscribe)}">No more surveys</a></p>' if unsubscribe else ""))
    return {"to": to, "to_name": to_name or "", "subject": subject, "text": "\n".join(lines), "html": body}


# -- writing invitations --------------------------------------------------------------------------

def _insert_new(session: Session, rows: list[dict[str, Any]], chunk: int = 500) -> set[str]:
    """INSERT .. ON CONFLICT (dedupe_key) DO NOTHING; the dedupe keys actually inserted."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise InputError(f"surveys support SQLite and PostgreSQL state DBs, not {dialect}")
    made: set[str] = set()
    for start in range(0, len(rows), chunk):
        stmt = (insert(SurveyInvitation).values(rows[start:start + chunk])
                .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(SurveyInvitation.dedupe_key))
        made.update(session.scalars(stmt))
    return made


def invite(session: Session, config: Config, program: SurveyProgram, recipients: Sequence[dict[str, Any]], *,
           trigger: str, occurrence: Callable[[dict[str, Any]], str], now: datetime | None = None,
           report: SendReport | None = None, check_recent: bool = True, dry_run: bool = False) -> list[dict[str, Any]]:
    """Invite `recipients` (dicts with contact_id, account_id, email, name, locale, timezone,
    account_name) in the caller's transaction: invitation rows and outbox emails. `occurrence(r)`
    names what the invitation is for (its dedupe key). Contacts unsubscribed, throttled across
    programs, or (check_recent) asked by this program within its every_days are skipped and
    counted in `report`. Returns one item per invitation made: invitation_id, contact_id, email.
    A dry run counts (report.invited: who would be invited) and writes nothing."""
    now = now or utcnow()
    report = report or SendReport(program.name)
    key = project_secret(config)
    people = [r for r in recipients if r.get("email") and "@" in str(r["email"])]
    report.no_email += len(recipients) - len(people)
    found = outbox.suppressed(session, [r["email"] for r in people])
    kept = [r for r in people if not outbox.is_suppressed(found, r["email"], CATEGORY)]
    report.suppressed += len(people) - len(kept)
    people = kept
    last_any, last_mine = _recent(session, program, [r["contact_id"] for r in people if r.get("contact_id")], now,
                                  config.surveys.throttle_days)
    kept = []
    for r in people:
        cid = r.get("contact_id")
        if check_recent and cid in last_mine:
            report.recently_asked += 1
        elif config.surveys.throttle_days and cid in last_any:
            report.throttled += 1
        else:
            kept.append(r)
    if program.max_per_run is not None and len(kept) > program.max_per_run:
        report.capped += len(kept) - program.max_per_run
        kept = kept[:program.max_per_run]
    if dry_run:
        report.invited += len(kept)
        return []
    expires = (now + timedelta(days=program.expiry_days)).replace(microsecond=0)
    rows, messages = [], {}
    for r in kept:
        iid = new_invitation_id()
        dedupe = occurrence(r)[:255]
        locale, _ = text_for(program, r.get("locale"))
        rows.append(dict(invitation_id=iid, dedupe_key=dedupe, program=program.name, kind=program.kind,
                         channel="email", account_id=r["account_id"], contact_id=r.get("contact_id"),
                         email=str(r["email"]).strip().lower(), locale=locale, trigger=trigger[:120], status="sent",
                         sent_at=now, expires_at=expires, changed_at=now))
        payload = invitation_email(config, program, token=invitation_token(key, iid, expires),
                                   to=str(r["email"]).strip(),
                                   to_name=r.get("name"), account_name=r.get("account_name"), locale=r.get("locale"),
                                   expires_at=expires)
        messages[dedupe] = dict(channel="email", payload=payload, dedupe_key=f"survey:{dedupe}"[:255],
                                category=CATEGORY, recipient_tz=_tz(r.get("timezone")))
    made = _insert_new(session, rows)
    report.already_invited += len(rows) - len(made)
    outbox.enqueue_many(session, [messages[r["dedupe_key"]] for r in rows if r["dedupe_key"] in made])
    out = [{"invitation_id": r["invitation_id"], "contact_id": r["contact_id"], "email": r["email"],
            "account_id": r["account_id"]} for r in rows if r["dedupe_key"] in made]
    report.invited += len(out)
    return out


def _tz(name: Any) -> str | None:
    try:
        return outbox.check_timezone(name or None)
    except InputError:
        return None


def _recent(session: Session, program: SurveyProgram, contact_ids: list[str], now: datetime,
            throttle_days: int) -> tuple[set[str], set[str]]:
    """(contacts asked by any program within throttle_days, contacts asked by this program within
    its every_days): one grouped query over the recent invitations."""
    if not contact_ids:
        return set(), set()
    every = program.trigger.every_days if program.trigger.type == "relationship" else 0
    days = max(throttle_days, every)
    if days <= 0:
        return set(), set()
    since = now - timedelta(days=days)
    any_since, mine_since = now - timedelta(days=throttle_days), now - timedelta(days=every)
    wanted = set(contact_ids)
    last_any, last_mine = set(), set()
    q = select(SurveyInvitation.contact_id, SurveyInvitation.program, SurveyInvitation.sent_at).where(
        SurveyInvitation.sent_at > since, SurveyInvitation.contact_id.isnot(None))
    for cid, prog, at in session.execute(q):
        if cid not in wanted:
            continue
        if throttle_days and at > any_since:
            last_any.add(cid)
        if prog == program.name and every and at > mine_since:
            last_mine.add(cid)
    return last_any, last_mine


# -- who a relationship program asks ---------------------------------------------------------------

def audience(wh: Any, program: SurveyProgram, today: Any, contact_ids: Sequence[str] | None = None) -> list[dict]:
    """The program's audience from the warehouse (active contacts with an email address, of its
    roles, at accounts of its segments, tiers and statuses), or the given contacts only."""
    c = wh.table("contacts")
    c = c.filter(c.email.notnull() & (c.active_from.isnull() | (c.active_from <= today))
                 & (c.active_to.isnull() | (c.active_to >= today)))
    if contact_ids is not None:
        c = c.filter(c.contact_id.isin(list(contact_ids)))
    elif program.audience.roles:
        c = c.filter(c.role.isin(program.audience.roles))
    a = wh.table("accounts").select("account_id", "name", "segment", "tier")
    if contact_ids is None:
        if program.audience.segments:
            a = a.filter(a.segment.isin(program.audience.segments))
        if program.audience.tiers:
            a = a.filter(a.tier.isin(program.audience.tiers))
        if program.audience.statuses:  # the status of the last refresh (tenure refresh)
            st = wh.table("account_summary")
            st = st.filter(st.status.isin(program.audience.statuses)).select(st_account=st.account_id)
            a = a.inner_join(st, a.account_id == st.st_account).drop("st_account")
    cols = [x for x in ("contact_id", "account_id", "email", "name", "role", "timezone", "locale") if x in c.columns]
    j = c.select(*cols).inner_join(a.select("account_id", account_name=a.name), "account_id")
    return wh.to_pyarrow(j.order_by(["account_id", "contact_id"])).to_pylist()


def _period(program: SurveyProgram, now: datetime) -> int:
    return now.date().toordinal() // program.trigger.every_days


def send_program(config: Config, wh: Any, program: SurveyProgram | str, *, now: datetime | None = None,
                 dry_run: bool = False, fence: Fence | None = None) -> SendReport:
    """One send run of one program: a relationship program asks its due audience; any program
    invites the contacts playbooks enrolled (enrol_survey). In a dry run nothing is written and
    the report says what would be done."""
    from tenure.state.db import session_scope

    program = get_program(config, program) if isinstance(program, str) else program
    now = now or utcnow()
    report = SendReport(program.name, dry_run=dry_run)
    if program.status != "active" or "email" not in program.channels:
        return report
    public_base(config)
    with session_scope(config) as session:
        if fence:
            fence(session)
        enrolled = session.execute(select(SurveyEnrolment.id, SurveyEnrolment.contact_id, SurveyEnrolment.playbook)
                                   .where(SurveyEnrolment.program == program.name,
                                          SurveyEnrolment.status == "pending")).all()
        people: list[dict] = []
        if program.trigger.type == "relationship":
            people = audience(wh, program, now.date())
            report.audience = len(people)
        if enrolled:
            by_contact = {r["contact_id"]: r for r in audience(wh, program, now.date(),
                                                              [e.contact_id for e in enrolled if e.contact_id])}
            report.enrolments = len(enrolled)
        if people:
            period = _period(program, now)
            invite(session, config, program, people, trigger="relationship", now=now, report=report,
                   dry_run=dry_run, occurrence=lambda r: f"{program.name}:{r['contact_id']}:{period}")
        if dry_run:
            report.sample = people[:10]
            return report
        for e in enrolled:
            r = by_contact.get(e.contact_id)
            if r is not None:
                invite(session, config, program, [r], trigger=f"playbook:{e.playbook or 'enrolment'}", now=now,
                       report=report, check_recent=False, occurrence=lambda _r, e=e: f"{program.name}:enrolment:{e.id}")
            else:
                report.no_email += 1
        if enrolled:
            session.execute(update(SurveyEnrolment).where(SurveyEnrolment.id.in_([e.id for e in enrolled]))
                            .values(status="sent"))
    return report


def send_all(config: Config, wh: Any, *, program: str | None = None, now: datetime | None = None,
             dry_run: bool = False, fence: Fence | None = None) -> list[SendReport]:
    """`send_program` for one program or every active one."""
    chosen = [get_program(config, program)] if program else [p for p in config.surveys.programs
                                                              if p.status == "active"]
    return [send_program(config, wh, p, now=now, dry_run=dry_run, fence=fence) for p in chosen]


# -- reminders and expiry --------------------------------------------------------------------------

def remind(config: Config, *, now: datetime | None = None, fence: Fence | None = None) -> dict[str, int]:
    """One reminder per unanswered, unexpired email invitation `reminder_days` after it was sent
    (programs with reminders); marks expired invitations. Returns {reminded, expired}."""
    from tenure.state.db import session_scope

    now = now or utcnow()
    key = project_secret(config)
    reminded = expired = 0
    with session_scope(config) as session:
        if fence:
            fence(session)
        expired = session.execute(
            update(SurveyInvitation).where(SurveyInvitation.status == "sent", SurveyInvitation.expires_at <= now)
            .values(status="expired", changed_at=now).execution_options(synchronize_session=False)).rowcount or 0
        for program in config.surveys.programs:
            if program.reminder_days is None or program.status != "active":
                continue
            due = session.scalars(select(SurveyInvitation).where(
                SurveyInvitation.program == program.name, SurveyInvitation.channel == "email",
                SurveyInvitation.status == "sent", SurveyInvitation.reminded_at.is_(None),
                SurveyInvitation.email.isnot(None), SurveyInvitation.expires_at > now,
                SurveyInvitation.sent_at <= now - timedelta(days=program.reminder_days))).all()
            messages = []
            for inv in due:
                token = invitation_token(key, inv.invitation_id, inv.expires_at)
                payload = invitation_email(config, program, token=token,
                                           to=inv.email, to_name=None, account_name=None, locale=inv.locale,
                                           expires_at=inv.expires_at, reminder=True)
                messages.append(dict(channel="email", payload=payload,
                                     dedupe_key=f"survey-reminder:{inv.invitation_id}",
                                     category=CATEGORY))
                inv.reminded_at = now
            outbox.enqueue_many(session, messages)
            reminded += len(due)
    return {"reminded": reminded, "expired": int(expired)}
