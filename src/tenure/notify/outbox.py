"""The outbox: emails and webhooks written in the caller's state-DB transaction, delivered later
by the worker (`tenure.notify.deliver`).

A task and the email announcing it commit together or not at all: `enqueue` only adds a row to
the caller's session. Each message has a `dedupe_key` naming the occurrence it is for (for
example ``playbook:at-risk:acct-42:2026-06-30:email``); enqueueing the same key again returns
None and adds nothing, so re-running whatever enqueues is harmless. Its `idempotency_key`
(derived from the dedupe key) is the email's Message-ID and the webhook's Idempotency-Key
header: a resend after a crash is recognisably the same message.

Payloads:

    email    {"to": "ana@acme.com", "to_name": "Ana", "subject": "...", "text": "...",
              "html": "..." (optional), "from_name": "the CSM's name" (optional),
              "reply_to": "the CSM's address" (optional), "owner": the task owner (a csm key or
              user name, tenure.playbooks.tasks.owner_key) who reviews it when it is held (optional)}
    webhook  {"url": "https://...", "body": {...}} or, for Slack incoming webhooks,
             {"url": "https://hooks.slack.com/...", "format": "slack", "text": "..."}

Statuses: pending (waiting for its next attempt), held_for_review (an email a CSM must release
first), sent, dead (failed `notify.max_attempts` times; `replay` sends it again) and suppressed
(the recipient unsubscribed from its category or from everything).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tenure.errors import InputError, NotFoundError, TenureError
from tenure.state import audit
from tenure.state.models import OutboxMessage, Suppression, utcnow

CHANNELS = ("email", "webhook")
ALL_CATEGORIES = "*"


class OutboxError(TenureError):
    """An outbox message cannot be changed as asked (e.g. releasing one that is not held)."""

    exit_code = 2


def idempotency_key(dedupe_key: str) -> str:
    """The stable key of the message enqueued under `dedupe_key` (32 hex characters)."""
    return hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]


def _check_payload(channel: str, payload: dict[str, Any], dedupe_key: str) -> str | None:
    """The recipient address (emails), or InputError naming the field that is wrong."""
    where = f"outbox message {dedupe_key!r}"
    if channel not in CHANNELS:
        raise InputError(f"{where}: channel must be one of {', '.join(CHANNELS)} (got {channel!r})")
    if not isinstance(payload, dict):
        raise InputError(f"{where}: payload must be a mapping (got {type(payload).__name__})")
    if channel == "email":
        to = payload.get("to")
        if not isinstance(to, str) or "@" not in to or any(c in to for c in "\r\n<>,; "):
            raise InputError(f"{where}: payload.to must be one email address (got {to!r})")
        for field in ("subject", "text"):
            if not isinstance(payload.get(field), str) or not payload[field].strip():
                raise InputError(f"{where}: payload.{field} is required (a non-empty string)")
        if any(c in payload["subject"] for c in "\r\n"):
            raise InputError(f"{where}: payload.subject must be one line")
        return to.strip().lower()
    url = payload.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InputError(f"{where}: payload.url must be an http(s) URL (got {url!r})")
    fmt = payload.get("format", "json")
    if fmt not in ("json", "slack"):
        raise InputError(f"{where}: payload.format must be json or slack (got {fmt!r})")
    if fmt == "slack" and not isinstance(payload.get("text"), str):
        raise InputError(f"{where}: payload.text is required for a Slack webhook")
    return None


def check_timezone(name: str | None, where: str = "recipient_tz") -> str | None:
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"{where}: {name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return name


def enqueue(session: Session, *, channel: str, payload: dict[str, Any], dedupe_key: str,
            category: str | None = None, not_before: datetime | None = None, hold_for_review: bool = False,
            recipient_tz: str | None = None) -> OutboxMessage | None:
    """Add a message to the outbox in the caller's transaction (nothing is sent now).

    Returns the new row (flushed: it has its id), or None when a message with `dedupe_key`
    already exists (enqueued earlier, whatever its status). `not_before` (naive UTC) delays the
    first attempt; `hold_for_review` keeps an email until `release`; `recipient_tz` (IANA name)
    decides the send window of an email (default `notify.default_timezone`)."""
    return _insert_once(session, OutboxMessage, ["dedupe_key"], _message_row(
        channel=channel, payload=payload, dedupe_key=dedupe_key, category=category, not_before=not_before,
        hold_for_review=hold_for_review, recipient_tz=recipient_tz, now=utcnow()))


def _message_row(*, channel: str, payload: dict[str, Any], dedupe_key: str, category: str | None = None,
                 not_before: datetime | None = None, hold_for_review: bool = False,
                 recipient_tz: str | None = None, now: datetime) -> dict[str, Any]:
    """One outbox row, checked (InputError naming the field that is wrong)."""
    if not dedupe_key or len(dedupe_key) > 255:
        raise InputError(f"outbox: dedupe_key must be 1-255 characters (got {len(dedupe_key or '')})")
    recipient = _check_payload(channel, payload, dedupe_key)
    check_timezone(recipient_tz, f"outbox message {dedupe_key!r}: recipient_tz")
    if hold_for_review and channel != "email":
        raise InputError(f"outbox message {dedupe_key!r}: only emails can be held for review")
    return dict(channel=channel, payload=dict(payload), dedupe_key=dedupe_key,
                idempotency_key=idempotency_key(dedupe_key), category=category, recipient=recipient,
                recipient_tz=recipient_tz, status="held_for_review" if hold_for_review else "pending", attempts=0,
                next_attempt_at=not_before or now, created_at=now, updated_at=now)


def enqueue_many(session: Session, messages: Sequence[dict[str, Any]], *, chunk: int = 500) -> list[int | None]:
    """`enqueue` for many messages at once (a playbook run), in the caller's transaction: each item
    has enqueue's keyword arguments. Returns, in the order of `messages`, the new row's id, or None
    where the dedupe key exists already or repeats an earlier item (the first one is enqueued).
    Every message is checked before anything is written; one INSERT .. ON CONFLICT DO NOTHING
    per `chunk` messages, no savepoint."""
    now = utcnow()
    rows = [_message_row(**m, now=now) for m in messages]
    first: dict[str, int] = {}
    for i, r in enumerate(rows):
        first.setdefault(r["dedupe_key"], i)
    unique = [rows[i] for i in sorted(first.values())]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise OutboxError(f"the outbox supports SQLite and PostgreSQL state DBs, not {dialect}")
    ids: dict[str, int] = {}
    for start in range(0, len(unique), chunk):
        stmt = (insert(OutboxMessage).values(unique[start:start + chunk])
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(OutboxMessage.id, OutboxMessage.dedupe_key))
        ids.update({key: i for i, key in session.execute(stmt)})
    return [ids.get(r["dedupe_key"]) if first[r["dedupe_key"]] == n else None for n, r in enumerate(rows)]


def _insert_once(session: Session, model: type, keys: list[str], values: dict[str, Any]) -> Any | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING the row (one statement): the new row, or None
    when a row with the same unique `keys` exists (also one another transaction is inserting
    right now). No savepoint: pysqlite's savepoints would commit the caller's transaction early."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise OutboxError(f"the outbox supports SQLite and PostgreSQL state DBs, not {dialect}")
    stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=keys).returning(model)
    return session.scalars(stmt).first()


# -- reading and changing messages (the CLI, the API and the Data page) ----------------------------

@dataclass(frozen=True)
class OutboxCounts:
    pending: int = 0
    held_for_review: int = 0
    sent: int = 0
    dead: int = 0
    suppressed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def counts(session: Session) -> OutboxCounts:
    """How many messages are in each status (counted in the database)."""
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return OutboxCounts(**{status: int(n) for status, n in rows if status in OutboxCounts.__dataclass_fields__})


def message_dict(m: OutboxMessage) -> dict[str, Any]:
    iso = (lambda v: None if v is None else v.isoformat(timespec="seconds") + "Z")
    return {"id": m.id, "channel": m.channel, "status": m.status, "dedupe_key": m.dedupe_key,
            "idempotency_key": m.idempotency_key, "category": m.category, "recipient": m.recipient,
            "recipient_tz": m.recipient_tz, "attempts": m.attempts, "next_attempt_at": iso(m.next_attempt_at),
            "last_error": m.last_error, "created_at": iso(m.created_at), "sent_at": iso(m.sent_at),
            "subject": m.payload.get("subject") if m.channel == "email" else None,
            "owner": m.payload.get("owner") if m.channel == "email" else None,
            "url": m.payload.get("url") if m.channel == "webhook" else None}


def panel(config: Any, dead_limit: int = 20) -> dict[str, Any]:
    """What the Data page shows: counts by status and the newest dead letters."""
    from tenure.jobs.db import session as session_scope

    with session_scope(config) as session:
        dead, dead_total = list_messages(session, status="dead", limit=dead_limit)
        return {"counts": counts(session).as_dict(), "dead": [message_dict(m) for m in dead],
                "dead_total": dead_total}


def list_messages(session: Session, *, status: str | None = None, limit: int = 50,
                  offset: int = 0) -> tuple[list[OutboxMessage], int]:
    """Messages (newest first), optionally of one status, and how many match."""
    q = select(OutboxMessage)
    n = select(func.count()).select_from(OutboxMessage)
    if status is not None:
        q, n = q.where(OutboxMessage.status == status), n.where(OutboxMessage.status == status)
    rows = session.scalars(q.order_by(OutboxMessage.id.desc()).offset(offset).limit(limit)).all()
    return list(rows), int(session.scalar(n) or 0)


def list_held(session: Session, *, owners: Sequence[str] | None = None, limit: int = 50,
              offset: int = 0) -> tuple[list[OutboxMessage], int]:
    """Emails held for review (oldest first) whose payload `owner` is one of `owners` (None:
    every held email, with or without an owner), and how many match; filtered in the database."""
    where = [OutboxMessage.status == "held_for_review", OutboxMessage.channel == "email"]
    if owners is not None:
        if not owners:
            return [], 0
        where.append(OutboxMessage.payload["owner"].as_string().in_(sorted(set(owners))))
    rows = session.scalars(select(OutboxMessage).where(*where).order_by(OutboxMessage.id).offset(offset).limit(limit))
    return list(rows), int(session.scalar(select(func.count()).select_from(OutboxMessage).where(*where)) or 0)


def get(session: Session, message_id: int) -> OutboxMessage:
    msg = session.get(OutboxMessage, message_id)
    if msg is None:
        raise NotFoundError(f"outbox message {message_id} does not exist (`tenure outbox list` shows them)")
    return msg


def replay(session: Session, message_id: int, *, actor: str = "system") -> OutboxMessage:
    """A dead message goes back to pending with its attempts reset; it keeps its idempotency
    key, so the receiver sees the same message."""
    msg = get(session, message_id)
    if msg.status != "dead":
        raise OutboxError(f"outbox message {message_id} is {msg.status}, not dead: only dead letters are replayed")
    before = {"status": msg.status, "attempts": msg.attempts, "last_error": msg.last_error}
    now = utcnow()
    msg.status, msg.attempts, msg.next_attempt_at, msg.updated_at = "pending", 0, now, now
    audit.record(session, actor, "outbox.replay", "outbox_message", str(msg.id), before,
                 {"status": "pending", "attempts": 0})
    return msg


def release(session: Session, message_id: int, *, actor: str, subject: str | None = None,
            text: str | None = None, html: str | None = None) -> OutboxMessage:
    """A CSM releases an email held for review, optionally after editing its subject or body."""
    msg = get(session, message_id)
    if msg.status != "held_for_review":
        raise OutboxError(f"outbox message {message_id} is {msg.status}, not held_for_review")
    payload = dict(msg.payload)
    edits = {k: v for k, v in (("subject", subject), ("text", text), ("html", html)) if v is not None}
    payload.update(edits)
    _check_payload(msg.channel, payload, msg.dedupe_key)
    now = utcnow()
    msg.payload, msg.status, msg.released_by, msg.released_at = payload, "pending", actor, now
    msg.next_attempt_at, msg.updated_at = now, now
    audit.record(session, actor, "outbox.release", "outbox_message", str(msg.id), {"status": "held_for_review"},
                 {"status": "pending", "edited": sorted(edits)})
    return msg


# -- suppression: who gets no automated email ----------------------------------------------------

def suppress(session: Session, address: str, category: str | None = None, *, reason: str = "unsubscribed",
             actor: str = "system") -> bool:
    """Stop automated email to `address` in `category` (None: every category). True when new."""
    address = address.strip().lower()
    if "@" not in address:
        raise InputError(f"suppress: {address!r} is not an email address")
    cat = category or ALL_CATEGORIES
    if _insert_once(session, Suppression, ["address", "category"],
                    dict(address=address, category=cat, reason=reason[:100], created_at=utcnow())) is None:
        return False
    audit.record(session, actor, "outbox.suppress", "suppression", address, None, {"category": cat, "reason": reason})
    return True


def unsuppress(session: Session, address: str, category: str | None = None, *, actor: str = "system") -> bool:
    address = address.strip().lower()
    row = session.scalar(select(Suppression).where(Suppression.address == address,
                                                   Suppression.category == (category or ALL_CATEGORIES)))
    if row is None:
        return False
    session.delete(row)
    audit.record(session, actor, "outbox.unsuppress", "suppression", address, {"category": row.category}, None)
    return True


def suppressed(session: Session, addresses: list[str]) -> dict[str, set[str]]:
    """{address: categories it is suppressed in ('*' = all)} for the given addresses (one query)."""
    wanted = sorted({a.lower() for a in addresses if a})
    out: dict[str, set[str]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(select(Suppression.address, Suppression.category)
                               .where(Suppression.address.in_(wanted[start:start + 500]))).all()
        for address, cat in rows:
            out.setdefault(address, set()).add(cat)
    return out


def is_suppressed(found: dict[str, set[str]], address: str | None, category: str | None) -> bool:
    cats = found.get((address or "").lower())
    return bool(cats) and (ALL_CATEGORIES in cats or (category is not None and category in cats))


def backoff(attempts: int, base_seconds: float, max_seconds: float) -> timedelta:
    """Wait after the `attempts`-th failed attempt: base * 2^(attempts-1), at most max_seconds."""
    return timedelta(seconds=min(max_seconds, base_seconds * (2 ** max(0, attempts - 1))))
