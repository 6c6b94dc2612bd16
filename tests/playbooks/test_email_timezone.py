"""Contacts' time zones reach the playbooks' emails: a champion in Tokyo and a sponsor in New York
written to by one run get the Tokyo and New York send windows (hand-made facts, real DuckDB
warehouse and SQLite state DB, emails delivered as .eml files)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from tests.playbooks.pb_company import AS_OF, build_company, load, make_config, write_playbook
from tenure.notify.deliver import deliver_due
from tenure.playbooks.engine import run_playbooks
from tenure.state.db import session_scope, upgrade
from tenure.state.models import OutboxMessage
from tenure.warehouse import Warehouse

PLAYBOOK = """
name: hello
status: active
triggers:
  - {type: band_change, to: [red]}
steps:
  - action: send_email
    to: role:champion
    subject: "About {{ account.name }}"
    body: "Hello {{ contact.name }}"
  - action: send_email
    to: role:exec_sponsor
    subject: "About {{ account.name }}"
    body: "Hello {{ contact.name }}"
"""


def _next_wednesday_15_utc(after: datetime) -> datetime:
    day = after.date() + timedelta(days=1)
    while day.weekday() != 2:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 15, 0)


def test_each_contact_gets_the_send_window_of_its_own_time_zone(tmp_path):
    wh = Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    wh.ensure_schema()
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    upgrade(config)
    build_company(wh, config)
    # the same contacts, now with where they live (any case: stored canonical)
    load(wh, config, "contacts", contact_id=["K1", "K2", "K3"], account_id=["B", "B", "A"], name=["Bea", "Bo", "Cy"],
         email=["bea@beta.example", "bo@beta.example", "cy@alpha.example"],
         role=["exec_sponsor", "champion", "champion"], active_from=["2024-06-01", "2024-06-01", "2025-01-01"],
         active_to=[None, None, "2026-06-20"], timezone=["America/New_York", "asia/tokyo", None],
         locale=["en-US", "ja-JP", None])
    write_playbook(config, "hello", PLAYBOOK)
    run_playbooks(wh, config, as_of=AS_OF, now=datetime(2026, 7, 1, 9, 0))
    with session_scope(config) as s:
        rows = {m.recipient: (m.id, m.recipient_tz, m.next_attempt_at) for m in s.scalars(select(OutboxMessage))}
    assert {r: v[1] for r, v in rows.items()} == {"bo@beta.example": "Asia/Tokyo",
                                                  "bea@beta.example": "America/New_York"}
    # Wednesday 15:00 UTC: 11:00 in New York (inside 08:00-18:00), midnight in Tokyo (outside)
    moment = _next_wednesday_15_utc(max(v[2] for v in rows.values()))
    report = deliver_due(config, now=moment)
    assert (report.sent, report.deferred) == (1, 1)
    with session_scope(config) as s:
        got = {m.recipient: (m.status, m.next_attempt_at) for m in s.scalars(select(OutboxMessage))}
    assert got["bea@beta.example"][0] == "sent"
    # Bo's email waits for 08:00 Thursday in Tokyo = 23:00 Wednesday UTC
    assert got["bo@beta.example"] == ("pending", moment.replace(hour=23))
    emls = sorted((tmp_path / "outbox").rglob("*.eml"))
    assert len(emls) == 1 and "bea@beta.example" in emls[0].read_text()
    assert deliver_due(config, now=moment.replace(hour=22, minute=59)).sent == 0
    assert deliver_due(config, now=moment.replace(hour=23)).sent == 1
    wh.close()
