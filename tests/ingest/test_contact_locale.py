"""Contacts' time zone (IANA) and locale (BCP 47): canonical values load, anything else is
rejected naming file, row and column, and quarantined like every other bad value."""

from __future__ import annotations

import csv

import pytest

from tenure.ingest.pipeline import ingest_file
from tenure.ingest.validate import time_zones

HEADER = "contact_id,account_id,email,name,role,timezone,locale\n"


def test_zones_and_locales_load_in_canonical_form(loaded_accounts, config, write):
    rows = ("C1,A1,a@acme.com,A,champion,Europe/Berlin,de-DE\n"
            "C2,A1,b@acme.com,B,user,america/new_york,EN_us\n"
            "C3,A2,c@beta.io,C,user,Asia/Kolkata,zh-hant-tw\n"
            "C4,A2,d@beta.io,D,user,,\n"
            "C5,A3,e@gamma.org,E,user,UTC,es-419\n")
    res = ingest_file(loaded_accounts, config, "contacts", write("contacts.csv", HEADER + rows))
    assert (res.inserted, res.rejected) == (5, 0)
    got = loaded_accounts.execute(loaded_accounts.table("contacts").order_by("contact_id"))
    assert got["timezone"].tolist()[:3] == ["Europe/Berlin", "America/New_York", "Asia/Kolkata"]
    assert got["timezone"].isna().tolist() == [False, False, False, True, False]
    assert got["locale"].tolist()[:3] == ["de-DE", "en-US", "zh-Hant-TW"]
    assert got["locale"][4] == "es-419"
    hist = loaded_accounts.execute(loaded_accounts.table("contacts_versions").filter(
        lambda t: t.contact_id == "C2"))
    assert (hist["timezone"][0], hist["locale"][0]) == ("America/New_York", "en-US")


@pytest.mark.parametrize("tz,locale,column,reason", [
    ("Mars/Olympus_Mons", "en-US", "timezone", "bad_timezone"),
    ("EST+5", "en-US", "timezone", "bad_timezone"),
    ("localtime", "en-US", "timezone", "bad_timezone"),
    ("Europe/Paris", "english", "locale", "bad_locale"),
    ("Europe/Paris", "en-", "locale", "bad_locale"),
    ("Europe/Paris", "fr_FR.UTF-8", "locale", "bad_locale"),
])
def test_unknown_zone_or_malformed_locale_is_quarantined(loaded_accounts, config, write, tz, locale, column,
                                                         reason):
    text = HEADER + "C1,A1,a@acme.com,A,champion,Europe/Berlin,de-DE\n" + f"C9,A1,x@acme.com,X,user,{tz},{locale}\n"
    res = ingest_file(loaded_accounts, config, "contacts", write("contacts.csv", text))
    assert (res.inserted, res.rejected) == (1, 1)
    assert res.rejected_by_reason == {reason: 1}
    with open(res.quarantine_path, newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert (row["file"].endswith("contacts.csv"), row["row_number"], row["column"], row["reason"]) == \
        (True, "2", column, reason)
    assert row["value"] == (tz if column == "timezone" else locale)
    stored = loaded_accounts.execute(loaded_accounts.table("quarantine").filter(lambda t: t.run_id == res.run_id))
    assert stored["reason"].tolist() == [reason] and stored["raw"].str.contains("C9").all()


def test_every_accepted_zone_loads_in_python():
    """The zones ingestion accepts are the ones the send window can use (tenure.notify.window)."""
    from zoneinfo import ZoneInfo

    zones = time_zones()
    assert "Europe/Berlin" in zones and "localtime" not in zones and len(zones) > 400
    for z in zones:
        ZoneInfo(z)
