"""Emails held for the CSM's review: the playbook's email records the task owner of the account
(the CSM who reviews it) in its outbox payload, and the outbox lists the held emails of a set of
owners (a CSM's own, a manager's team's) in the database; DuckDB + SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.playbooks.pb_company import AS_OF, company, warehouse_company, write_playbook  # noqa: F401
from tenure.notify import outbox
from tenure.playbooks.engine import run_playbooks
from tenure.state.db import session_scope
from tenure.state.models import OutboxMessage

NOW = datetime(2026, 7, 1, 9, 0)

REVIEWED = """
name: reviewed
status: active
triggers:
  - {type: band_change, to: [red]}
steps:
  - action: send_email
    to: role:champion
    subject: "About {{ account.name }}"
    body: "Hello {{ contact.name }}"
    review: true
"""


def test_a_held_email_names_its_reviewer_and_is_listed_for_that_owner_only(company):
    wh, config = company
    write_playbook(config, "reviewed", REVIEWED)
    run_playbooks(wh, config, as_of=AS_OF, now=NOW)
    with session_scope(config) as s:
        msg = s.scalars(select(OutboxMessage)).one()  # B's champion (B is csm2's)
        assert (msg.status, msg.recipient, msg.payload["owner"], msg.payload["account_id"]) == (
            "held_for_review", "bo@beta.example", "csm2", "B")
        outbox.enqueue(s, channel="email", dedupe_key="plain", hold_for_review=True,
                       payload={"to": "x@acme.example", "subject": "No owner", "text": "Hi"})
        s.flush()
        rows, total = outbox.list_held(s, owners=["csm2"])
        assert ([m.id for m in rows], total) == ([msg.id], 1)
        assert outbox.list_held(s, owners=["csm1", "csm3"]) == ([], 0)
        assert outbox.list_held(s, owners=[]) == ([], 0)
        everything, total = outbox.list_held(s, owners=None)
        assert total == 2 and {m.payload["subject"] for m in everything} == {"About Beta GmbH", "No owner"}
        assert outbox.message_dict(msg)["owner"] == "csm2"
