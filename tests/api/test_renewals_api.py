"""/api/v1/renewals on a demo company of its own (forecast calls write to it): the permission
matrix rows for renewals (tests/api/test_permissions.py RENEWAL_ENDPOINTS), the list's filters,
months and totals, and forecast calls set, refused, audited and cleared."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.test_permissions import PRINCIPALS, RENEWAL_ENDPOINTS, expected
from tests.renewals_site import headers, renewals_site


@pytest.fixture(scope="module")
def site(demo_built):
    s = renewals_site(demo_built)
    for owner in ("csm01", "csm03"):
        assert s.renewing[owner], f"the renewals site gives {owner} no renewal in the next year"
    s.api = TestClient(s.app, raise_server_exceptions=False)  # no lifespan: the site's context stays open
    return s


def _audit(site, entity_id: str) -> list[tuple]:
    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog

    with session_scope(site.config) as s:
        return s.execute(select(AuditLog.actor, AuditLog.action, AuditLog.after).where(
            AuditLog.entity == "renewal_call", AuditLog.entity_id.startswith(entity_id + "/"))
            .order_by(AuditLog.id)).all()


def test_renewal_rows_of_the_permission_matrix(site):
    """Every renewals route for every kind of caller; each write is undone (DELETE as admin)."""
    r01, r03 = site.renewing["csm01"][0], site.renewing["csm03"][0]
    failures = []
    for method, path, body, allowed, ok in RENEWAL_ENDPOINTS:
        url = "/api/v1" + path.format(r01=r01, r03=r03)
        for principal in PRINCIPALS:
            json = {"category": "best_case", "next_step": f"matrix {principal}"} if body == "call" else None
            r = site.api.request(method, url, json=json, headers=headers(site, principal))
            want = expected(principal, allowed, ok)
            if r.status_code != want:
                failures.append(f"{method} {path} as {principal}: {r.status_code}, expected {want}: {r.text[:200]}")
            elif want >= 400:
                assert r.headers["content-type"].startswith("application/problem+json")
            if method == "PUT" and r.status_code == 200:
                assert site.api.delete(url, headers=headers(site, "admin")).status_code == 204
    assert failures == []


def test_the_list_is_the_book_with_months_and_totals(site):
    cco = site.api.get("/api/v1/renewals", params={"within_days": 365, "page_size": 500},
                       headers=headers(site, "cco")).json()
    csm = site.api.get("/api/v1/renewals", params={"within_days": 365, "page_size": 500},
                       headers=headers(site, "csm01")).json()
    assert {r["owner"] for r in csm["items"]} == {"csm01"}
    assert [r["account_id"] for r in csm["items"]] == site.renewing["csm01"]
    assert [r["account_id"] for r in cco["items"] if r["owner"] == "csm01"] == site.renewing["csm01"]
    assert cco["currency"] == site.config.reporting_currency
    # the months' subtotals add up to the grand total, and both cover every matching renewal
    assert sum(m["accounts"] for m in cco["months"]) == cco["totals"]["accounts"] == cco["total"] == len(cco["items"])
    assert sum(m["renewal_arr"] for m in cco["months"]) == pytest.approx(cco["totals"]["renewal_arr"])
    assert cco["totals"]["renewal_arr"] == pytest.approx(sum(r["renewal_arr"] for r in cco["items"]))
    for r in cco["items"]:
        assert r["renewal_probability"] == pytest.approx(1 - r["risk"]) if r["risk"] is not None else True
        assert r["renewal_month"] == r["renewal_date"][:7]
    # a page of 5 keeps the totals of the whole set
    page2 = site.api.get("/api/v1/renewals", params={"within_days": 365, "page_size": 5, "page": 2},
                         headers=headers(site, "cco")).json()
    assert [r["account_id"] for r in page2["items"]] == [r["account_id"] for r in cco["items"][5:10]]
    assert page2["totals"] == cco["totals"] and page2["total"] == cco["total"]
    month = cco["items"][0]["renewal_month"]
    one = site.api.get("/api/v1/renewals", params={"within_days": 365, "month": month, "page_size": 500},
                       headers=headers(site, "cco")).json()
    assert {r["renewal_month"] for r in one["items"]} == {month}
    assert one["total"] == next(m["accounts"] for m in cco["months"] if m["month"] == month)


@pytest.mark.parametrize("params,field", [({"month": "2026-13"}, "month"), ({"band": "purple"}, "band"),
                                          ({"within_days": 0}, "within_days")])
def test_bad_filters_are_422_naming_the_field(site, params, field):
    r = site.api.get("/api/v1/renewals", params=params, headers=headers(site, "cco"))
    assert r.status_code == 422 and field in r.text


def test_a_call_is_set_cleared_and_audited(site):
    a = site.renewing["csm01"][-1]
    url = f"/api/v1/renewals/{a}/call"
    try:
        got = site.api.get(url, headers=headers(site, "csm01")).json()
        assert got["category"] is None
        key = got["renewal_key"]
        r = site.api.put(url, json={"category": "commit", "next_step": "Send quote", "amount_override": 1000,
                                    "renewal_key": key}, headers=headers(site, "csm01"))
        assert r.status_code == 200, r.text
        assert r.json()["category"] == "commit" and r.json()["set_by"] == "csm01"
        assert r.json()["amount_override"] == 1000 and r.json()["currency"] == site.config.reporting_currency
        # the manager of csm01 changes it; the same change again is a no-op
        for _ in range(2):
            assert site.api.put(url, json={"category": "at_risk", "next_step": "Exec sponsor left"},
                                headers=headers(site, "manager")).status_code == 200
        # a stale renewal key is a conflict, a bad category a 422
        stale = site.api.put(url, json={"category": "commit", "renewal_key": "1999-01-01"},
                             headers=headers(site, "csm01"))
        assert stale.status_code == 409 and key in stale.json()["detail"]
        assert site.api.put(url, json={"category": "maybe"}, headers=headers(site, "csm01")).status_code == 422
        listed = site.api.get("/api/v1/renewals", params={"within_days": 365, "page_size": 500},
                              headers=headers(site, "csm01")).json()["items"]
        row = next(r for r in listed if r["account_id"] == a)
        assert (row["forecast_category"], row["next_step"], row["call_set_by"]) == ("at_risk", "Exec sponsor left",
                                                                                   "manager")
        assert site.api.delete(url, headers=headers(site, "csm01")).status_code == 204
        assert site.api.get(url, headers=headers(site, "csm01")).json()["category"] is None
        log = _audit(site, a)
        assert [(actor, action) for actor, action, _ in log][-3:] == [("csm01", "create"), ("manager", "update"),
                                                                        ("csm01", "delete")]
        assert log[-2][2]["category"] == "at_risk"
    finally:
        site.api.delete(url, headers=headers(site, "admin"))


def test_no_renewal_no_call(site):
    """A churned account has no renewal to call: 409 naming it, never a 500."""
    from tenure.portfolio.accounts import AccountFilter, list_accounts

    wh = site.app.state.ctx.warehouse()
    churned = list_accounts(wh, AccountFilter(status="churned"), page_size=1).rows
    if not churned:
        pytest.skip("the renewals site has no churned account")
    r = site.api.put(f"/api/v1/renewals/{churned[0]['account_id']}/call", json={"category": "commit"},
                     headers=headers(site, "admin"))
    assert r.status_code == 409 and churned[0]["account_id"] in r.json()["detail"]
