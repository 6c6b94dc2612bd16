"""enqueue_many: the bulk outbox insert a playbook run uses keeps enqueue's semantics — the
caller's transaction, one message per dedupe key (existing or repeated keys give None), every
message checked before anything is written (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tenure.errors import InputError
from tenure.jobs.db import session
from tenure.notify import outbox
from tenure.state.models import OutboxMessage
from tests.notify.conftest import make_config

EMAIL = {"to": "ana@acme.example", "subject": "Your renewal", "text": "Hello Ana"}


def _email(key: str, **kw) -> dict:
    return dict(channel="email", payload=EMAIL, dedupe_key=key, **kw)


def _count(cfg) -> int:
    with session(cfg) as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage)))


def test_enqueue_many_dedupes_like_enqueue_in_the_callers_transaction(tmp_path: Path, state_url: str):
    cfg = make_config(tmp_path, state_url, send_window=None)
    with pytest.raises(RuntimeError):
        with session(cfg) as s:
            assert all(outbox.enqueue_many(s, [_email("a"), _email("b")]))
            raise RuntimeError("the run failed")
    assert _count(cfg) == 0
    with session(cfg) as s:
        first = outbox.enqueue(s, channel="email", payload=EMAIL, dedupe_key="a")
    with session(cfg) as s:
        ids = outbox.enqueue_many(s, [_email("a"), _email("b", category="renewal"), _email("c", hold_for_review=True),
                                      _email("b"), {"channel": "webhook", "dedupe_key": "w",
                                                    "payload": {"url": "https://x.example/h", "body": {"n": 1}}}],
                                  chunk=2)
    assert ids[0] is None and ids[3] is None  # existed already; repeats the second item
    assert None not in (ids[1], ids[2], ids[4]) and len({ids[1], ids[2], ids[4], first.id}) == 4
    with session(cfg) as s:
        rows = {m.dedupe_key: m for m in s.scalars(select(OutboxMessage))}
    assert set(rows) == {"a", "b", "c", "w"}
    assert rows["b"].id == ids[1] and rows["b"].category == "renewal" and rows["b"].status == "pending"
    assert rows["c"].status == "held_for_review" and rows["w"].channel == "webhook"
    assert rows["b"].idempotency_key == outbox.idempotency_key("b") and rows["b"].recipient == "ana@acme.example"


def test_enqueue_many_writes_nothing_when_one_message_is_wrong(tmp_path: Path):
    cfg = make_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}")
    with session(cfg) as s:
        with pytest.raises(InputError, match=r"'bad'.*payload\.to"):
            outbox.enqueue_many(s, [_email("good"), _email("bad") | {"payload": {**EMAIL, "to": "nobody"}}])
    assert _count(cfg) == 0  # the caller's transaction went on and committed: "good" was never written
