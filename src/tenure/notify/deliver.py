"""Delivering the outbox: at least once, never lost, each message recognisably itself.

One pass (`deliver_due`) works in batches of `notify.batch_size`:

1. **Claim** (one transaction): due pending rows are read; a suppressed recipient's email
   becomes `suppressed`; an email outside the recipient's send window moves to the window's
   next opening (no attempt counted); every other row counts an attempt and gets the time of
   its next attempt should this one fail or the process die (exponential backoff). Each row is
   claimed with a compare-and-set on its attempt count, so two deliverers never both claim it.
2. **Send** each claimed row (SMTP, .eml file or webhook), then **mark it sent**: in its own
   short transaction by default, or `notify.mark_every` sent rows per transaction (fewer
   commits, faster; a crash then repeats up to that many). A crash between sending and marking
   leaves the row pending; it is sent again after its backoff with the same Message-ID /
   Idempotency-Key.
3. A failure records the error; after `notify.max_attempts` attempts the row is `dead` (a dead
   letter: `tenure outbox list --dead`, `tenure outbox replay ID`).

`fence(session)` is called inside every state-changing transaction; the worker passes its
lease check, so a deliverer that lost its lease cannot write after another took over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tenure.jobs import failpoints
from tenure.jobs.db import session as session_scope
from tenure.notify import email as email_mod
from tenure.notify import webhook
from tenure.notify.outbox import backoff, is_suppressed, suppressed
from tenure.notify.signing import webhook_secret
from tenure.notify.window import next_send_time, zone
from tenure.state.models import OutboxMessage, utcnow

Fence = Callable[[Session], None]


@dataclass
class DeliveryReport:
    """What one delivery pass did (counts of messages)."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0
    suppressed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed, "dead": self.dead, "deferred": self.deferred,
                "suppressed": self.suppressed, "errors": self.errors[:10]}


def _no_fence(session: Session) -> None:
    return None


def claim(config: Any, now: datetime, limit: int, report: DeliveryReport,
          fence: Fence, dedupe_prefix: str | None = None) -> tuple[list[OutboxMessage], int]:
    """Claim up to `limit` due rows (see the module docstring); returns the rows to send now and
    how many due rows were looked at (0: nothing is due)."""
    settings = config.notify
    out: list[OutboxMessage] = []
    with session_scope(config) as session:
        fence(session)
        due = select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        if dedupe_prefix is not None:
            due = due.where(OutboxMessage.dedupe_key.startswith(dedupe_prefix, autoescape=True))
        rows = session.scalars(due
                               .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)).all()
        found = suppressed(session, [r.recipient for r in rows if r.channel == "email"])
        for row in rows:
            values: dict[str, Any]
            if row.channel == "email" and is_suppressed(found, row.recipient, row.category):
                values = {"status": "suppressed", "last_error": "the recipient unsubscribed from "
                          + (f"category {row.category!r}" if row.category else "automated email")}
                report.suppressed += 1
            elif row.channel == "email" and (later := next_send_time(
                    now, zone(row.recipient_tz, settings.default_timezone), settings.send_window)) is not None:
                values = {"next_attempt_at": later}
                report.deferred += 1
            else:
                values = {"attempts": row.attempts + 1,
                          "next_attempt_at": now + backoff(row.attempts + 1, settings.retry_base_seconds,
                                                           settings.retry_max_seconds)}
            done = session.execute(update(OutboxMessage)
                                   .where(OutboxMessage.id == row.id, OutboxMessage.status == "pending",
                                          OutboxMessage.attempts == row.attempts)
                                   .values(updated_at=now, **values)
                                   .execution_options(synchronize_session=False)).rowcount
            if done and "attempts" in values:
                row.attempts = values["attempts"]
                out.append(row)
    return out, len(rows)


def _mark(config: Any, ids: list[int], fence: Fence, **values: Any) -> None:
    """Record the outcome of attempts at still-pending rows `ids` (one transaction)."""
    if not ids:
        return
    with session_scope(config) as session:
        fence(session)
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
                        .values(updated_at=utcnow(), **values).execution_options(synchronize_session=False))


def deliver_due(config: Any, *, now: datetime | None = None, max_messages: int | None = None,
                fence: Fence | None = None, progress: Callable[[int], None] | None = None,
                dedupe_prefix: str | None = None) -> DeliveryReport:
    """Deliver every due message (or at most `max_messages`); returns what happened.
    `now` (naive UTC) is the clock for due times and send windows; `progress(n)` is called
    after each message with the number handled so far. `dedupe_prefix`: only messages whose
    dedupe key starts with it (e.g. the demo delivers its survey wave and nothing else)."""
    fence = fence or _no_fence
    settings = config.notify
    report = DeliveryReport()
    mail = email_mod.transport(config)
    hook_key: bytes | None = None
    handled = 0
    sent: list[int] = []  # sent, not yet marked: at most notify.mark_every of them

    def mark_sent() -> None:
        _mark(config, sent, fence, status="sent", sent_at=utcnow(), last_error=None)
        if sent:
            failpoints.hit("after_mark")
        sent.clear()

    try:
        while max_messages is None or handled < max_messages:
            moment = now or utcnow()
            size = settings.batch_size if max_messages is None else min(settings.batch_size, max_messages - handled)
            batch, seen = claim(config, moment, size, report, fence, dedupe_prefix)
            if not seen:
                break
            for row in batch:
                failpoints.hit("before_send")
                try:
                    if row.channel == "email":
                        mail.send(email_mod.build_email(config, row), row)
                    else:
                        hook_key = hook_key or webhook_secret(config)
                        webhook.post(row, hook_key, settings.webhook_timeout_seconds)
                except Exception as err:  # noqa: BLE001 - any failure is recorded on the row and retried
                    text = f"{type(err).__name__}: {err}"[:2000]
                    dead = row.attempts >= settings.max_attempts
                    _mark(config, [row.id], fence, last_error=text, **({"status": "dead"} if dead else {}))
                    report.failed += 1
                    report.dead += dead
                    report.errors.append(f"outbox message {row.id} (attempt {row.attempts}): {text}")
                else:
                    failpoints.hit("after_send")
                    sent.append(row.id)
                    report.sent += 1
                    if len(sent) >= settings.mark_every:
                        mark_sent()
                handled += 1
                if progress is not None:
                    progress(handled)
            mark_sent()
    finally:
        try:
            mark_sent()  # also when a send raised something unexpected: what went out is recorded
        finally:
            mail.close()
    return report
