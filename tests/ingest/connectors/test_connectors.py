"""Each vendor export maps to canonical rows (hand-worked values) and loads through the same
validation, identity and quarantine path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenure.ingest.connectors import salesforce, segment, stripe, zendesk
from tenure.ingest.identity import list_identities
from tenure.ingest.pipeline import ingest_file

FIX = Path(__file__).parents[2] / "fixtures" / "connectors"

MASTER = ("account_id,name,domain,segment\nA1,Acme Inc,acme.com,Enterprise\nA2,Beta One,shared.io,SMB\n"
          "A3,Beta Two,shared.io,SMB\nA4,Gamma Media,gamma.tv,SMB\n")


@pytest.fixture
def master(warehouse, config, write):
    ingest_file(warehouse, config, "accounts", write("acc.csv", MASTER))
    return warehouse


def test_stripe_mapping_by_hand():
    out = stripe.read(FIX / "stripe")
    lines = {r["line_id"]: r for r in out.entities["contract_lines"].to_pylist()}
    assert lines["si_1"]["arr"] == "3000.0"  # 25.00 USD x 10 seats x 12 months
    assert lines["si_2"]["arr"] == "1200.0" and lines["si_2"]["billing_period"] == "annual"
    assert lines["si_3"]["arr"] == "40000.0"  # JPY is zero-decimal: 5000 x 2 x 12 / 3 months
    assert lines["si_3"]["end_date"] == "2024-06-30"  # ended 2024-07-01: last day of service the day before
    assert lines["si_1"]["end_date"] is None
    inv = {r["invoice_id"]: r for r in out.entities["invoices"].to_pylist()}
    assert inv["in_1"]["amount"] == "3700.0" and inv["in_1"]["paid_at"] == "2024-01-15"
    assert inv["in_2"]["amount"] == "30000" and inv["in_2"]["paid_at"] is None


def test_stripe_end_to_end_maps_customers_and_quarantines_unmatched(master, config):
    results = ingest_file(master, config, "all", FIX / "stripe", fmt="stripe")
    by = {r.entity: r for r in results}
    ids = {r["external_id"]: r for r in list_identities(master, source="stripe")}
    assert ids["cus_A"]["account_id"] == "A1" and ids["cus_A"]["rule"] == "email_domain"
    assert ids["cus_J"]["status"] == "unmatched"  # free-mail domain does not identify a company; name rule off
    assert by["contract_lines"].inserted == 2 and by["contract_lines"].rejected == 2
    assert by["contract_lines"].rejected_by_reason["unresolved_account"] == 2
    lines = master.execute(master.table("contract_lines"))
    assert set(lines["account_id"]) == {"A1"}


def test_zendesk_identity_ambiguity_is_reported_not_merged(master, config):
    out = zendesk.read(FIX / "zendesk" / "tickets.json")
    t = {r["ticket_id"]: r for r in out.entities["tickets"].to_pylist()}
    assert t["zd-101"]["csat"] == "1" and t["zd-101"]["escalated"] == "true"
    assert t["zd-103"]["csat"] == "5" and t["zd-102"]["csat"] is None
    (res,) = ingest_file(master, config, "tickets", FIX / "zendesk" / "tickets.json", fmt="zendesk")
    ids = {r["external_id"]: r for r in list_identities(master, source="zendesk")}
    assert ids["9001"]["account_id"] == "A1" and ids["9001"]["rule"] == "domain"
    assert ids["9002"]["status"] == "ambiguous" and ids["9002"]["candidates"] == "A2,A3"
    assert ids["9003"]["status"] == "unmatched"
    assert res.inserted == 1
    assert res.rejected_by_reason == {"ambiguous_account": 1, "unresolved_account": 2}
    # a person decides; re-ingesting then loads the ticket
    from tenure.ingest.identity import set_identity

    set_identity(master, "zendesk", "9002", "A3")
    (again,) = ingest_file(master, config, "tickets", FIX / "zendesk" / "tickets.json", fmt="zendesk")
    assert again.inserted == 1 and again.unchanged == 1
    assert {r["rule"] for r in list_identities(master, source="zendesk", status="matched")} == {"domain", "manual"}


def test_salesforce_reports(warehouse, config):
    acc = salesforce.read(FIX / "salesforce" / "accounts.csv").entities["accounts"].to_pylist()
    assert acc[0]["account_id"] == "001A" and acc[0]["domain"] == "acme.com"
    opp = {r["opportunity_id"]: r for r in
           salesforce.read(FIX / "salesforce" / "opportunities.csv").entities["opportunities"].to_pylist()}
    assert opp["006A"]["kind"] == "renewal" and opp["006A"]["status"] == "open" and opp["006A"]["probability"] == "0.6"
    assert opp["006B"]["kind"] == "new" and opp["006B"]["status"] == "won"
    assert opp["006C"]["kind"] == "expansion" and opp["006C"]["status"] == "lost"
    for name, entity in (("accounts", "accounts"), ("contacts", "contacts"), ("opportunities", "opportunities")):
        (res,) = ingest_file(warehouse, config, entity, FIX / "salesforce" / f"{name}.csv", fmt="salesforce")
        assert res.rejected == 0, res.to_dict()
    roles = set(warehouse.execute(warehouse.table("contacts"))["role"])
    assert roles == {"exec_sponsor", "champion"}


def test_segment_events(master, config):
    out = segment.read(FIX / "segment" / "events.jsonl")
    assert out.entities["usage_events"].num_rows == 3
    (res,) = ingest_file(master, config, "usage_events", FIX / "segment" / "events.jsonl", fmt="segment")
    assert (res.inserted, res.rejected) == (2, 1)
    assert res.rejected_by_reason == {"unresolved_account": 1}
    ev = master.execute(master.table("usage_events").order_by("ts"))
    assert list(ev["account_id"]) == ["A1", "A1"] and list(ev["quantity"]) == [3.0, 1.0]
