"""Facts as they were known: versions of mutable facts, written with the upsert, read with
as_known — on DuckDB and PostgreSQL, through the real ingestion path."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from tenure.config import config_from_dict
from tenure.ingest.pipeline import ingest_file
from tenure.warehouse.versions import as_known, known_before

ACCOUNTS = ("account_id,name,segment,updated_at,employees\n"
            "A1,Acme,Enterprise,2025-01-10T09:00:00Z,500\n"
            "A2,Beta,SMB,2025-02-01T09:00:00Z,20\n")
CONTACTS = "contact_id,account_id,role,active_from,updated_at\n"


@pytest.fixture
def config(tmp_path: Path):
    return config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}}, base_dir=tmp_path, env={})


@pytest.fixture
def load(warehouse, config, tmp_path: Path):
    """load(entity, csv_text) ingests the text as a file and returns the run's result."""
    counter = iter(range(1000))

    def _load(entity: str, text: str):
        path = tmp_path / f"{entity}-{next(counter)}.csv"
        path.write_text(text)
        res = ingest_file(warehouse, config, entity, path)
        assert res.status == "loaded", res.to_dict()
        return res

    _load("accounts", ACCOUNTS)
    return _load


def _versions(wh, table: str):
    v = wh.table(f"{table}_versions")
    return wh.execute(v.order_by(["known_from"]))


def _roles(wh, known_at) -> dict[str, str]:
    df = wh.execute(as_known(wh, "contacts", known_at))
    return dict(zip(df.contact_id, df.role))


def test_rerun_adds_no_versions_and_a_changed_row_adds_exactly_one(warehouse, load):
    wh = warehouse
    first = CONTACTS + "C1,A1,champion,2025-01-01,2025-01-15T10:00:00Z\nC2,A1,user,2025-01-01,2025-01-15T10:00:00Z\n"
    load("contacts", first)
    load("contacts", first)  # the same file again
    assert len(_versions(wh, "contacts")) == 2
    edited = CONTACTS + "C1,A1,admin,2025-01-01,2025-06-20T08:00:00Z\nC2,A1,user,2025-01-01,2025-01-15T10:00:00Z\n"
    res = load("contacts", edited)
    assert (res.updated, res.unchanged) == (1, 1)
    load("contacts", edited)  # and again: nothing new
    v = _versions(wh, "contacts")
    assert len(v) == 3
    c1 = v[v.contact_id == "C1"].reset_index(drop=True)
    assert c1.role.tolist() == ["champion", "admin"]
    assert c1.known_from.tolist() == [datetime(2025, 1, 15, 10), datetime(2025, 6, 20, 8)]
    assert c1.known_to[0] == datetime(2025, 6, 20, 8) and c1.known_to.isna()[1]  # closed by its successor


def test_a_role_edited_after_the_cutoff_is_invisible_at_the_cutoff(warehouse, load):
    wh = warehouse
    load("contacts", CONTACTS + "C1,A1,champion,2025-01-01,2025-01-15T10:00:00Z\n")
    load("contacts", CONTACTS + "C1,A1,user,2025-01-01,2025-06-20T08:00:00Z\n")
    assert _roles(wh, date(2025, 1, 14)) == {}  # not known yet
    assert _roles(wh, date(2025, 6, 19)) == {"C1": "champion"}  # as known at the end of the day
    assert _roles(wh, date(2025, 6, 20)) == {"C1": "user"}
    assert _roles(wh, datetime(2025, 6, 20, 7, 59)) == {"C1": "champion"}  # an instant
    assert _roles(wh, None) == {"C1": "user"}  # the latest version: the fact table itself
    a, b = as_known(wh, "contacts", date(2025, 6, 19)).schema(), wh.table("contacts").schema()
    assert list(a.items()) == list(b.items())


def test_without_a_modification_time_a_version_is_known_from_the_ingest_run(warehouse, load):
    wh = warehouse
    before = datetime.utcnow()
    load("contacts", "contact_id,account_id,role\nC1,A1,champion\n")
    v = _versions(wh, "contacts")
    assert v.known_from[0] >= before.replace(microsecond=0)
    assert v.known_from[0] == wh.execute(wh.table("contacts")).ingested_at[0]
    assert _roles(wh, date(2025, 12, 31)) == {}  # loaded today: unknown in the past
    assert _roles(wh, datetime.utcnow()) == {"C1": "champion"}


def test_modification_times_never_make_versions_overlap(warehouse, load):
    """A modification time after the ingest run is not believed (the run is when we learned it);
    a change whose modification time is not after the version it replaces (a correction with the
    same time) is known from the run, so one version is known at every instant."""
    wh = warehouse
    load("contacts", CONTACTS + "C1,A1,champion,2025-01-01,2025-03-01T00:00:00Z\n")
    load("contacts", CONTACTS + "C1,A1,user,2025-01-01,2025-03-01T00:00:00Z\n")  # same time, other role
    load("contacts", CONTACTS + "C1,A1,admin,2025-01-01,2099-01-01T00:00:00Z\n")  # in the future
    v = _versions(wh, "contacts")
    runs = wh.execute(wh.table("contacts_versions").order_by("known_from")).ingested_at.tolist()
    assert v.role.tolist() == ["champion", "user", "admin"]
    assert v.known_from[0] == datetime(2025, 3, 1)
    assert v.known_from[1] == runs[1] and v.known_from[2] == runs[2]
    assert (v.known_to[:2].tolist()) == v.known_from[1:].tolist()
    assert _roles(wh, date(2025, 3, 1)) == {"C1": "champion"}


def test_rows_written_before_history_was_kept_are_known_from_when_they_were_written(warehouse, load):
    import pyarrow as pa

    wh = warehouse
    wh.append_arrow("contacts", pa.table({
        "contact_id": ["C9"], "account_id": ["A1"], "role": ["champion"],
        "source": ["old"], "ingested_at": pa.array([datetime(2025, 3, 1)], pa.timestamp("us"))}))
    assert _roles(wh, date(2025, 2, 28)) == {}
    assert _roles(wh, date(2025, 3, 1)) == {"C9": "champion"}
    load("contacts", CONTACTS + "C9,A1,user,,2025-05-01T00:00:00Z\n")  # a change: the old row becomes a version
    v = _versions(wh, "contacts")
    assert v.role.tolist() == ["champion", "user"] and v.known_from[0] == datetime(2025, 3, 1)
    assert _roles(wh, date(2025, 4, 30)) == {"C9": "champion"}
    assert _roles(wh, date(2025, 5, 1)) == {"C9": "user"}


def test_account_attributes_are_known_from_their_account_row(warehouse, load):
    wh = warehouse
    load("accounts", ACCOUNTS.replace("2025-01-10T09:00:00Z,500", "2025-07-01T09:00:00Z,900"))
    attrs = wh.execute(as_known(wh, "account_attributes", date(2025, 3, 1)))
    assert dict(zip(attrs.account_id, attrs.value)) == {"A1": "500", "A2": "20"}
    attrs = wh.execute(as_known(wh, "account_attributes", date(2025, 7, 1)))
    assert dict(zip(attrs.account_id, attrs.value)) == {"A1": "900", "A2": "20"}
    accounts = wh.execute(as_known(wh, "accounts", date(2025, 1, 31)))
    assert accounts.account_id.tolist() == ["A1"]  # Beta was first recorded on 1 Feb


def test_known_before_is_the_end_of_a_day_or_just_after_an_instant():
    assert known_before(date(2026, 3, 31)) == datetime(2026, 4, 1)
    assert known_before(datetime(2026, 3, 31, 12)) == datetime(2026, 3, 31, 12, 0, 0, 1)


def test_an_older_file_loaded_after_a_newer_one_changes_nothing(warehouse, load):
    wh = warehouse
    old = CONTACTS + "C1,A1,champion,2025-01-01,2025-01-15T10:00:00Z\n"
    load("contacts", old)
    load("contacts", CONTACTS + "C1,A1,user,2025-01-01,2025-06-20T08:00:00Z\n")
    res = load("contacts", old)  # the initial export again, after the change
    assert (res.updated, res.unchanged) == (0, 1)
    assert _roles(wh, None) == {"C1": "user"} and len(_versions(wh, "contacts")) == 2


def test_vendor_modification_times_become_known_from(warehouse, config, load, tmp_path):
    """Salesforce SystemModstamp and Zendesk updated_at are the modification times."""
    import json

    wh = warehouse
    sf = tmp_path / "sf_contacts.csv"
    sf.write_text("Id,AccountId,Email,FirstName,LastName,Role__c,SystemModstamp\n"
                  "003A,A1,ada@acme.com,Ada,L,Champion,2025-04-02T08:00:00.000Z\n")
    ingest_file(wh, config, "contacts", sf, fmt="salesforce")
    zd = tmp_path / "zd"
    zd.mkdir()
    (zd / "organizations.json").write_text(json.dumps({"organizations": [
        {"id": 7, "name": "Acme", "domain_names": ["acme.com"]}]}))
    (zd / "tickets.json").write_text(json.dumps({"tickets": [
        {"id": 1, "organization_id": 7, "created_at": "2025-04-01T09:00:00Z", "updated_at": "2025-04-03T09:00:00Z",
         "status": "solved", "priority": "normal", "subject": "s", "description": "d"}]}))
    load("accounts", "account_id,name,domain,updated_at\nA1,Acme,acme.com,2025-01-10T09:00:00Z\n")
    ingest_file(wh, config, "tickets", zd / "tickets.json", fmt="zendesk")
    assert _versions(wh, "contacts").known_from.tolist() == [datetime(2025, 4, 2, 8)]
    assert _versions(wh, "tickets").known_from.tolist() == [datetime(2025, 4, 3, 9)]


def test_known_at_option_values():
    from tenure.errors import InputError
    from tenure.schema.versions import resolve_known_at

    assert resolve_known_at(None, date(2026, 3, 31)) == date(2026, 3, 31)  # --as-of D: as known at its end
    assert resolve_known_at(None, None) is None  # no --as-of: the latest
    assert resolve_known_at("latest", date(2026, 3, 31)) is None
    assert resolve_known_at("2026-05-01", date(2026, 3, 31)) == date(2026, 5, 1)
    assert resolve_known_at("2026-05-01T10:00:00Z", None).hour == 10
    with pytest.raises(InputError, match="--known-at"):
        resolve_known_at("yesterday", None)


def test_an_upsert_records_versions_once(warehouse, load, monkeypatch):
    """The hook into the write path is one call (it was once made twice, doubling the cost)."""
    import tenure.warehouse.writes as writes

    calls = []
    real = writes.record_versions
    monkeypatch.setattr(writes, "record_versions", lambda *a: calls.append(a[1].name) or real(*a))
    load("contacts", CONTACTS + "C1,A1,champion,2025-01-01,2025-01-15T10:00:00Z\n")
    assert calls == ["contacts"]
