"""Ingest over HTTP goes through the CLI's validation and quarantine path: rejected rows come
back with file, row, column and reason, are quarantined, and the run is logged. Uploads write, so
these tests use their own copy of the demo site (`writable_site`)."""

from __future__ import annotations

import pytest

V1 = "/api/v1"


def _csv(acc: str, tag: str) -> bytes:
    return (
        "activity_id,account_id,kind,at,with_exec\n"
        f"{tag}-OK-1,{acc},call,2024-01-05T10:00:00,false\n"
        f"{tag}-BAD-2,{acc},party,2024-01-05T10:00:00,false\n"
        f"{tag}-BAD-3,{acc},call,not-a-date,false\n"
        f",{acc},call,2024-01-05T10:00:00,false\n"
        f"{tag}-BAD-5,NO-SUCH-ACCOUNT,call,2024-01-05T10:00:00,false\n"
    ).encode()


def _quarantined(demo_site, run_id: str) -> list[dict]:
    wh = demo_site.app.state.ctx.warehouse()
    qt = wh.table("quarantine")
    return wh.to_pyarrow(qt.filter(qt.run_id == run_id)).to_pylist()


def test_a_bad_csv_comes_back_with_its_rejected_rows_and_is_quarantined(writable_site, books):
    demo_site = writable_site  # its own copy: an upload writes (facts, quarantine, the run)
    api, auth = demo_site.api, demo_site.auth
    acc = books["csm01"][0]
    version = demo_site.app.state.ctx.data_version
    r = api.post(f"{V1}/ingest/activities", files={"file": ("../../etc/activities.csv", _csv(acc, "API"), "text/csv")},
                 headers=auth("admin"))
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "partial" and run["rows_read"] == 5 and run["loaded"] == 1 and run["rejected"] == 4
    rows = {row["row_number"]: row for row in run["rejected_rows"]}
    assert set(rows) == {2, 3, 4, 5}
    assert rows[2]["column"] == "kind" and rows[3]["column"] == "at" and rows[4]["column"] == "activity_id"
    assert rows[5]["column"] == "account_id"
    assert all(row["file"].endswith("activities.csv") and row["reason"] and row["message"] for row in rows.values())
    assert "/etc/" not in rows[2]["file"].replace("\\", "/").split("uploads")[-1]  # the name was cleaned
    assert {q["row_number"] for q in _quarantined(demo_site, run["run_id"])} == {2, 3, 4, 5}
    assert demo_site.app.state.ctx.data_version > version  # cached reads are stale now
    detail = api.get(f"{V1}/ingest/runs/{run['run_id']}", headers=auth("viewer")).json()
    assert detail["rejected"] == 4 and len(detail["rejected_rows"]) == 4
    listed = api.get(f"{V1}/ingest/runs", params={"entity": "activities"}, headers=auth("cco")).json()
    assert run["run_id"] in {x["run_id"] for x in listed["items"]}
    trail = api.get(f"{V1}/audit", params={"action": "ingest", "entity_id": run["run_id"]}, headers=auth("admin"))
    assert trail.json()["total"] == 1


def test_strict_loads_nothing_when_a_row_is_bad(writable_site, books):
    api, auth = writable_site.api, writable_site.auth  # its own copy: the rejected run is recorded
    r = api.post(f"{V1}/ingest/activities", params={"strict": "true"},
                 files={"file": ("strict.csv", _csv(books["csm01"][0], "STRICT"), "text/csv")}, headers=auth("cco"))
    assert r.status_code == 201
    assert r.json()["status"] == "rejected" and r.json()["loaded"] == 0


@pytest.mark.parametrize("name,content,status", [
    ("notes.exe", b"MZ", 422),
    ("activities.csv", b"\x00\x01\x02 not a csv \xff\xfe", None),
])
def test_unusable_uploads_are_problems_not_crashes(writable_site, name, content, status):
    api, auth = writable_site.api, writable_site.auth  # its own copy: a failed run is recorded too
    r = api.post(f"{V1}/ingest/activities", files={"file": (name, content, "application/octet-stream")},
                 headers=auth("admin"))
    assert r.status_code < 500, r.text
    if status:
        assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")


def test_unknown_entity_and_run(api, auth):
    r = api.post(f"{V1}/ingest/passwords", files={"file": ("x.csv", b"a\n1\n", "text/csv")}, headers=auth("admin"))
    assert r.status_code == 422
    assert api.get(f"{V1}/ingest/runs/NO-SUCH-RUN", headers=auth("admin")).status_code == 404
