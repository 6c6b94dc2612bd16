"""Accounts over the API: pagination, filters, sorting, book-of-business scoping, detail, 360
timeline, usage, health history, and notes (audited with before/after)."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import select

V1 = "/api/v1"


def test_pages_add_up_to_the_total(api, auth):
    first = api.get(f"{V1}/accounts", params={"page_size": 7}, headers=auth("cco")).json()
    assert set(first) == {"items", "total", "page", "page_size", "pages"}
    assert first["page"] == 1 and first["page_size"] == 7 and len(first["items"]) == 7
    assert first["pages"] == math.ceil(first["total"] / 7)
    seen = []
    for page in range(1, first["pages"] + 1):
        body = api.get(f"{V1}/accounts", params={"page_size": 7, "page": page}, headers=auth("cco")).json()
        assert body["total"] == first["total"]
        seen += [r["account_id"] for r in body["items"]]
    assert len(seen) == len(set(seen)) == first["total"]
    beyond = api.get(f"{V1}/accounts", params={"page_size": 7, "page": first["pages"] + 1}, headers=auth("cco")).json()
    assert beyond["items"] == [] and beyond["total"] == first["total"]


def test_default_sort_is_arr_descending_and_order_flips_it(api, auth):
    desc = api.get(f"{V1}/accounts", params={"page_size": 500}, headers=auth("cco")).json()["items"]
    arrs = [r["arr"] for r in desc]
    assert arrs == sorted(arrs, reverse=True)
    asc = api.get(f"{V1}/accounts", params={"page_size": 500, "sort": "name", "order": "asc"},
                  headers=auth("cco")).json()["items"]
    names = [r["name"] for r in asc]
    assert names == sorted(names)


@pytest.mark.parametrize("user,owners", [("csm01", {"csm01"}), ("csm03", {"csm03"}), ("manager", {"csm01", "csm02"})])
def test_a_list_holds_only_the_callers_book(api, auth, books, user, owners):
    body = api.get(f"{V1}/accounts", params={"page_size": 500}, headers=auth(user)).json()
    assert {r["owner"] for r in body["items"]} == owners
    assert body["total"] == sum(len(books[o]) for o in owners)
    everyone = api.get(f"{V1}/accounts", params={"page_size": 1}, headers=auth("viewer")).json()
    assert everyone["total"] > body["total"]


def test_a_csm_cannot_widen_its_book_with_the_owner_filter(api, auth):
    body = api.get(f"{V1}/accounts", params={"owner": "csm03"}, headers=auth("csm01")).json()
    assert body["total"] == 0 and body["items"] == []


def test_filters_narrow_the_list(api, auth):
    h = auth("cco")
    everyone = api.get(f"{V1}/accounts", params={"page_size": 500}, headers=h).json()
    red = api.get(f"{V1}/accounts", params={"band": "red", "page_size": 500}, headers=h).json()
    assert red["total"] == sum(1 for r in everyone["items"] if r["band"] == "red") > 0
    assert {r["band"] for r in red["items"]} == {"red"}
    risky = api.get(f"{V1}/accounts", params={"min_risk": 0.3, "page_size": 500}, headers=h).json()
    assert all(r["risk"] >= 0.3 for r in risky["items"])  # and not vacuously: as many as the full list has
    assert risky["total"] == sum(1 for r in everyone["items"] if r["risk"] is not None and r["risk"] >= 0.3) > 0
    soon = api.get(f"{V1}/accounts", params={"renewal_within_days": 90, "page_size": 500}, headers=h).json()
    assert all(0 <= r["days_to_renewal"] <= 90 for r in soon["items"])
    assert soon["total"] == sum(1 for r in everyone["items"]
                                if r["days_to_renewal"] is not None and 0 <= r["days_to_renewal"] <= 90) > 0
    one = everyone["items"][0]
    found = api.get(f"{V1}/accounts", params={"q": one["name"].upper()}, headers=h).json()
    assert one["account_id"] in {r["account_id"] for r in found["items"]}
    seg = api.get(f"{V1}/accounts", params={"segment": one["segment"], "page_size": 500}, headers=h).json()
    assert {r["segment"] for r in seg["items"]} == {one["segment"]}
    churned = api.get(f"{V1}/accounts", params={"status": "churned", "page_size": 500}, headers=h).json()
    every = api.get(f"{V1}/accounts", params={"status": "all", "page_size": 1}, headers=h).json()
    assert every["total"] >= everyone["total"] + churned["total"]


def test_bad_query_values_are_problems(api, auth):
    for params in ({"sort": "password_hash"}, {"band": "purple"}, {"page": 0}, {"page_size": 501},
                   {"min_risk": 2}, {"order": "sideways"}):
        r = api.get(f"{V1}/accounts", params=params, headers=auth("cco"))
        assert r.status_code == 422, params
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"]


def test_detail_timeline_usage_and_health(api, auth, books):
    acc = books["csm01"][0]
    h = auth("csm01")
    d = api.get(f"{V1}/accounts/{acc}", headers=h).json()
    assert d["account_id"] == acc and d["owner"] == "csm01" and d["arr"] > 0
    assert isinstance(d["contacts"], list) and isinstance(d["attributes"], dict)
    tl = api.get(f"{V1}/accounts/{acc}/timeline", headers=h).json()
    assert tl and all(item["title"] for item in tl)
    kinds = {item["kind"] for item in tl}
    only = next(iter(kinds))
    assert {i["kind"] for i in api.get(f"{V1}/accounts/{acc}/timeline", params={"kind": only}, headers=h).json()} \
        == {only}
    usage = api.get(f"{V1}/accounts/{acc}/usage", params={"days": 30}, headers=h).json()
    assert len(usage) == 30 and all(u["events"] >= 0 for u in usage)
    hist = api.get(f"{V1}/accounts/{acc}/health", headers=h).json()
    assert hist and [p["as_of"] for p in hist] == sorted(p["as_of"] for p in hist)
    assert hist[-1]["score"] == d["score"]


def test_unknown_account_is_404_even_for_a_csm(api, auth):
    for user in ("admin", "csm01"):
        r = api.get(f"{V1}/accounts/NO-SUCH-ACCOUNT", headers=auth(user))
        assert r.status_code == 404 and r.json()["status"] == 404


def test_a_note_is_stored_with_its_author_and_audited(writable_site, books):
    from tenure.state.models import AuditLog

    demo_site = writable_site  # its own copy: a note is written
    api, auth = demo_site.api, demo_site.auth
    acc = books["csm02"][0]
    r = api.post(f"{V1}/accounts/{acc}/notes", json={"body": "  Renewal call booked for Tuesday.  "},
                 headers=auth("csm02"))
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["body"] == "Renewal call booked for Tuesday." and note["author"] == "csm02"
    assert note["account_id"] == acc and note["created_at"].endswith(("Z", "+00:00"))
    listed = api.get(f"{V1}/accounts/{acc}/notes", headers=auth("manager")).json()
    assert listed[0]["id"] == note["id"]
    with demo_site.app.state.ctx.db() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "note",
                                                 AuditLog.entity_id == str(note["id"]))).one()
        assert entry.actor == "csm02" and entry.action == "create"
        assert entry.before is None
        assert entry.after == {"account_id": acc, "body": "Renewal call booked for Tuesday.", "author": "csm02"}
        assert entry.ip
    trail = api.get(f"{V1}/audit", params={"entity": "note", "entity_id": str(note["id"])}, headers=auth("admin")).json()
    assert trail["total"] == 1 and trail["items"][0]["after"]["body"] == "Renewal call booked for Tuesday."


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "   "}, {"body": "x" * 5001}, {}, {"text": "hi"}])
def test_empty_or_huge_notes_are_refused(api, auth, books, body):
    r = api.post(f"{V1}/accounts/{books['csm01'][0]}/notes", json=body, headers=auth("csm01"))
    assert r.status_code == 422 and r.json()["status"] == 422


def test_scoped_lists_elsewhere_hold_only_the_book(api, auth):
    for path in ("/health/scores", "/risk/predictions"):
        body = api.get(f"{V1}{path}", params={"page_size": 500}, headers=auth("csm03")).json()
        assert body["items"] and {r["owner"] for r in body["items"]} == {"csm03"}, path
    signals = api.get(f"{V1}/health/signals", params={"days": 365, "page_size": 500}, headers=auth("csm03")).json()
    assert {r["owner"] for r in signals["items"]} <= {"csm03"}
