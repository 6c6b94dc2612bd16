"""The outbox: written in the caller's transaction, deduplicated, delivered at least once to a real
SMTP server, an .eml folder or a real HTTP receiver, with retries, dead letters and replay."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tenure.errors import InputError
from tenure.jobs.db import session
from tenure.notify import outbox
from tenure.notify.deliver import deliver_due
from tenure.notify.signing import read_unsubscribe_token
from tenure.state.models import AuditLog, OutboxMessage
from tests.notify.conftest import make_config

EMAIL = {"to": "Ana@Acme.example", "to_name": "Ana Buyer", "subject": "Your renewal", "text": "Hello Ana",
         "from_name": "Jane Csm", "reply_to": "jane@vendor.example"}


def _count(cfg, **where) -> int:
    with session(cfg) as s:
        q = select(func.count()).select_from(OutboxMessage)
        for k, v in where.items():
            q = q.where(getattr(OutboxMessage, k) == v)
        return int(s.scalar(q))


def test_enqueue_commits_with_the_callers_transaction_or_not_at_all(tmp_path: Path, state_url: str):
    cfg = make_config(tmp_path, state_url, send_window=None)
    with pytest.raises(RuntimeError):
        with session(cfg) as s:
            assert outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="task:1:email") is not None
            raise RuntimeError("the task could not be created")
    assert _count(cfg) == 0
    with session(cfg) as s:
        first = outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="task:1:email", category="renewal")
        again = outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="task:1:email")
    assert first is not None and again is None
    with session(cfg) as s:
        assert outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="task:1:email") is None
    assert _count(cfg) == 1
    assert first.idempotency_key == outbox.idempotency_key("task:1:email")
    assert first.recipient == "ana@acme.example"


@pytest.mark.parametrize("payload, field", [
    ({**EMAIL, "to": "not an address"}, "payload.to"),
    ({**EMAIL, "subject": ""}, "payload.subject"),
    ({**EMAIL, "subject": "two\nlines"}, "payload.subject"),
    ({"url": "ftp://x", "body": {}}, "payload.url"),
])
def test_enqueue_names_the_field_that_is_wrong(tmp_path: Path, payload, field):
    cfg = make_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}")
    channel = "webhook" if "url" in payload else "email"
    with session(cfg) as s, pytest.raises(InputError, match=field.replace(".", r"\.")):
        outbox.enqueue(s, channel=channel, payload=payload, dedupe_key="k")


def test_emails_reach_a_real_smtp_server_once_with_a_stable_message_id(tmp_path: Path, state_url: str, smtp_server):
    host, port, inbox = smtp_server
    cfg = make_config(tmp_path, state_url, send_window=None, from_address="cs@vendor.example",
                      smtp={"host": host, "port": port, "security": "none"},
                      unsubscribe_url="https://tenure.vendor.example/unsubscribe")
    cfg.secret_key = "k" * 32
    with session(cfg) as s:
        ids = [outbox.enqueue(s, channel="email", payload={**EMAIL, "subject": f"n{i}"}, dedupe_key=f"e{i}",
                              category="renewal").idempotency_key for i in range(3)]
    report = deliver_due(cfg)
    assert (report.sent, report.failed) == (3, 0)
    assert deliver_due(cfg).sent == 0  # nothing twice
    assert inbox.message_ids() == [f"<{k}@vendor.example>" for k in ids]
    first = inbox.messages[0]
    assert parseaddr(first["From"]) == ("Jane Csm via tenure", "cs@vendor.example")
    assert parseaddr(first["Reply-To"]) == ("Jane Csm", "jane@vendor.example")
    assert first["Subject"] == "n0" and first.get_payload().strip() == "Hello Ana"
    assert inbox.envelopes[0][1] == ["Ana@Acme.example"]
    link = first["List-Unsubscribe"].strip("<>")
    token = link.split("token=")[1]
    from urllib.parse import unquote
    assert read_unsubscribe_token(cfg.secret_key.encode(), unquote(token)) == ("ana@acme.example", "renewal")
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert _count(cfg, status="sent") == 3


def test_send_as_from_puts_the_csm_in_from(tmp_path: Path, smtp_server):
    host, port, inbox = smtp_server
    cfg = make_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}", send_window=None, send_as="from",
                      smtp={"host": host, "port": port, "security": "none"})
    with session(cfg) as s:
        outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="e")
    deliver_due(cfg)
    assert parseaddr(inbox.messages[0]["From"]) == ("Jane Csm", "jane@vendor.example")
    assert inbox.messages[0]["List-Unsubscribe"] is None  # none configured


def test_without_smtp_emails_are_eml_files_and_a_resend_replaces_the_same_file(tmp_path: Path):
    cfg = make_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}", send_window=None, eml_dir="mail")
    with session(cfg) as s:
        key = outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="e").idempotency_key
    assert deliver_due(cfg).sent == 1
    files = sorted((tmp_path / "mail").iterdir())
    assert [f.name for f in files] == [f"00000001-{key}.eml"]
    from email import message_from_bytes
    assert message_from_bytes(files[0].read_bytes())["Message-ID"] == f"<{key}@localhost>"
    with session(cfg) as s:  # as after a crash between writing the file and marking the row sent
        s.get(OutboxMessage, 1).status = "pending"
    assert deliver_due(cfg, now=datetime.now() + timedelta(days=1)).sent == 1  # due again after its backoff
    assert [f.name for f in (tmp_path / "mail").iterdir()] == [f"00000001-{key}.eml"]


def test_webhooks_are_signed_carry_the_idempotency_key_and_retry_with_backoff(tmp_path: Path, state_url: str,
                                                                              webhook_receiver, monkeypatch):
    url, inbox = webhook_receiver
    monkeypatch.setenv("TENURE_WEBHOOK_SECRET", inbox.key.decode())
    cfg = make_config(tmp_path, state_url, retry_base_seconds=60, retry_max_seconds=3600, max_attempts=5)
    with session(cfg) as s:
        key = outbox.enqueue(s, channel="webhook", payload={"url": url, "body": {"task": 7}},
                             dedupe_key="hook:7", category="risk").idempotency_key
        outbox.enqueue(s, channel="webhook", payload={"url": url, "format": "slack", "text": "Acme is red"},
                       dedupe_key="slack:7")
    inbox.fail_next = 2
    t0 = datetime(2030, 6, 3, 12, 0)  # any time after the rows were enqueued
    first = deliver_due(cfg, now=t0)
    assert (first.sent, first.failed) == (0, 2)
    with session(cfg) as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(r.status, r.attempts, r.next_attempt_at) for r in rows] == [("pending", 1, t0 + timedelta(seconds=60))] * 2
        assert "HTTP 503" in rows[0].last_error
    assert deliver_due(cfg, now=t0 + timedelta(seconds=59)).sent == 0  # not due yet
    second = deliver_due(cfg, now=t0 + timedelta(seconds=60))
    assert second.sent == 2
    assert [r["headers"]["Idempotency-Key"] for r in inbox.requests] == [key, outbox.idempotency_key("slack:7")] * 2
    assert all(r["signed"] for r in inbox.requests)
    assert inbox.requests[-2]["body"] == {"id": key, "category": "risk", "data": {"task": 7}}
    assert inbox.requests[-1]["body"] == {"text": "Acme is red"}


def test_dead_letters_after_max_attempts_are_listed_and_replayed_as_the_same_message(tmp_path: Path, state_url: str,
                                                                                    webhook_receiver, monkeypatch):
    url, inbox = webhook_receiver
    monkeypatch.setenv("TENURE_WEBHOOK_SECRET", inbox.key.decode())
    cfg = make_config(tmp_path, state_url, retry_base_seconds=10, retry_max_seconds=15, max_attempts=3)
    with session(cfg) as s:
        key = outbox.enqueue(s, channel="webhook", payload={"url": url, "body": {}}, dedupe_key="h").idempotency_key
    inbox.fail_next = 3
    t = datetime(2030, 6, 3, 12, 0)
    waits = []
    for _ in range(3):
        deliver_due(cfg, now=t)
        with session(cfg) as s:
            row = s.get(OutboxMessage, 1)
            waits.append((row.status, row.attempts, (row.next_attempt_at - t).total_seconds()))
        t = row.next_attempt_at
    assert waits == [("pending", 1, 10.0), ("pending", 2, 15.0), ("dead", 3, 15.0)]  # doubled, capped
    assert deliver_due(cfg, now=t + timedelta(days=1)).sent == 0  # dead letters stay dead
    with session(cfg) as s:
        dead, total = outbox.list_messages(s, status="dead")
        assert [m.id for m in dead] == [1] and total == 1
        outbox.replay(s, 1, actor="ops")
    with session(cfg) as s:
        with pytest.raises(outbox.OutboxError, match="not dead"):
            outbox.replay(s, 1)
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "outbox.replay")) == 1
    assert deliver_due(cfg).sent == 1
    assert [r["headers"]["Idempotency-Key"] for r in inbox.requests] == [key] * 4
    assert [r["answered"] for r in inbox.requests] == [503, 503, 503, 200]


def test_emails_wait_for_the_send_window_in_the_recipients_time_zone(tmp_path: Path):
    cfg = make_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}", eml_dir="mail",
                      send_window={"start": "08:00", "end": "18:00", "days": ["mon", "tue", "wed", "thu", "fri"]})
    with session(cfg) as s:
        outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="tokyo", recipient_tz="Asia/Tokyo")
        outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="ny", recipient_tz="America/New_York")
        outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="utc")  # notify.default_timezone: UTC
    # Friday 2030-06-07 12:30 UTC = 21:30 in Tokyo (closed), 08:30 in New York (open), 12:30 UTC (open)
    report = deliver_due(cfg, now=datetime(2030, 6, 7, 12, 30))
    assert (report.sent, report.deferred) == (2, 1)
    with session(cfg) as s:
        tokyo = s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "tokyo"))
        # next opening: Monday 2030-06-10 08:00 in Tokyo (UTC+9) = Sunday 23:00 UTC; no attempt counted
        assert (tokyo.status, tokyo.attempts, tokyo.next_attempt_at) == ("pending", 0, datetime(2030, 6, 9, 23, 0))
    assert deliver_due(cfg, now=datetime(2030, 6, 9, 22, 59)).sent == 0
    assert deliver_due(cfg, now=datetime(2030, 6, 9, 23, 0)).sent == 1


def test_suppression_applies_to_every_automated_email_by_category_or_entirely(tmp_path: Path, state_url: str):
    cfg = make_config(tmp_path, state_url, send_window=None, eml_dir="mail")
    with session(cfg) as s:
        assert outbox.suppress(s, "ANA@acme.example", "survey") is True
        assert outbox.suppress(s, "ana@acme.example", "survey") is False
        outbox.suppress(s, "bob@acme.example")
        outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="a-survey", category="survey")
        outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="a-renewal", category="renewal")
        outbox.enqueue(s, channel="email", payload={**EMAIL, "to": "bob@acme.example"}, dedupe_key="b", category="x")
    report = deliver_due(cfg)
    assert (report.sent, report.suppressed) == (1, 2)
    with session(cfg) as s:
        got = dict(s.execute(select(OutboxMessage.dedupe_key, OutboxMessage.status)).all())
    assert got == {"a-survey": "suppressed", "a-renewal": "sent", "b": "suppressed"}


def test_held_emails_wait_for_the_csm_who_may_edit_them(tmp_path: Path, state_url: str, smtp_server):
    host, port, inbox = smtp_server
    cfg = make_config(tmp_path, state_url, send_window=None, smtp={"host": host, "port": port, "security": "none"})
    with session(cfg) as s:
        outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="held", hold_for_review=True)
    assert deliver_due(cfg).sent == 0 and inbox.messages == []
    with session(cfg) as s:
        outbox.release(s, 1, actor="jane", subject="Your renewal, personally", text="Hi Ana, a note from me.")
    assert deliver_due(cfg).sent == 1
    assert inbox.messages[0]["Subject"] == "Your renewal, personally"
    assert inbox.messages[0].get_payload().strip() == "Hi Ana, a note from me."
    with session(cfg) as s:
        with pytest.raises(outbox.OutboxError, match="not held_for_review"):
            outbox.release(s, 1, actor="jane")
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "outbox.release"))
        assert (entry.actor, entry.after["edited"]) == ("jane", ["subject", "text"])
