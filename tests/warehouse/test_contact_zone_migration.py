"""Versions 17-20 add contacts.timezone and contacts.locale (and their history columns) to a
warehouse that already holds contacts: the rows stay, with the new values empty, and a
re-ingest fills them."""

from __future__ import annotations

from tenure.warehouse import Warehouse
from tenure.warehouse.migrations import STEPS, current_version, migrate
from tenure.warehouse.migrations.base import columns_of

BEFORE = [i for i, s in enumerate(STEPS, 1) if s.description == "add column contacts.timezone"][0] - 1


def test_contacts_gain_timezone_and_locale_keeping_their_rows(warehouse_url):
    wh = Warehouse(warehouse_url)
    migrate(wh, target=BEFORE)
    assert "timezone" not in columns_of(wh, "contacts")
    wh.raw_sql("INSERT INTO contacts (contact_id, account_id, email, source, ingested_at) "
               "VALUES ('C1', 'A1', 'a@acme.com', 'csv', TIMESTAMP '2026-01-01 00:00:00')")
    applied = migrate(wh)
    assert applied[:4] == [f"{BEFORE + 1}: add column contacts.timezone", f"{BEFORE + 2}: add column contacts.locale",
                           f"{BEFORE + 3}: add column contacts_versions.timezone",
                           f"{BEFORE + 4}: add column contacts_versions.locale"]
    assert {"timezone", "locale"} <= set(columns_of(wh, "contacts")) & set(columns_of(wh, "contacts_versions"))
    got = wh.execute(wh.table("contacts"))
    assert got["contact_id"].tolist() == ["C1"] and got["timezone"].isna().all() and got["locale"].isna().all()
    assert migrate(wh) == [] and current_version(wh) == len(STEPS)
    wh.close()
