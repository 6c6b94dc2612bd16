"""/api/v1/advocacy on a demo copy of its own (it writes to it): the permission matrix rows
(tests/api/test_permissions.py ADVOCACY_ENDPOINTS), candidates scoped to the caller's book with
their reasons, and the fatigue ledger's refusal as a 409 naming the contact, the cap and when it is
next available; every change audited."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from tests.api.test_permissions import ADVOCACY_ENDPOINTS, PRINCIPALS, expected


def _headers(site, principal: str) -> dict[str, str]:
    if principal == "anonymous":
        return {}
    secret = site.special_tokens.get(principal) or site.tokens[principal]
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def site(module_site):
    """The module's demo copy with a contact of csm01's and of csm03's, and on each of their accounts
    a reference request, a case study, a referral and a board membership. The matrix asks many times,
    so the ledger's cap is raised here (the cap itself is tested below and in tests/voc)."""
    from tenure.config import AdvocacySettings
    from tenure.portfolio.accounts import AccountFilter, list_accounts
    from tenure.state.db import session_scope
    from tenure.voc import advocacy as adv

    ns = module_site
    ctx = ns.app.state.ctx
    ctx.config.advocacy = AdvocacySettings(request_cap=100, cooldown_days=0)
    wh = ctx.warehouse()
    c = wh.table("contacts")
    ns.values = {}
    for csm, tag in (("csm01", "01"), ("csm03", "03")):
        accounts = [r["account_id"] for r in list_accounts(wh, AccountFilter(owners=[csm]), page_size=20).rows]
        df = wh.execute(c.filter(c.account_id.isin(accounts)).select("contact_id", "account_id")
                        .order_by("contact_id").limit(1))
        assert len(df), f"the demo gives {csm}'s accounts no contacts"
        contact, account = df["contact_id"][0], df["account_id"][0]
        with session_scope(ns.config) as s:
            q, _ = adv.request_reference(s, contact_id=contact, account_id=account, team="sales", requested_by="tests",
                                         prospect="Matrix Corp", settings=ctx.config.advocacy)
            cs, _ = adv.create_case_study(s, account_id=account, title="Matrix story", actor="tests",
                                          settings=ctx.config.advocacy)
            rf, _ = adv.add_referral(s, account_id=account, company="Matrix referral", actor="tests")
            m, _ = adv.add_member(s, board="Matrix board", contact_id=contact, account_id=account,
                                  term_start=date(2026, 1, 1), actor="tests", settings=ctx.config.advocacy)
            s.flush()
            ns.values.update({f"c{tag}": contact, f"a{tag}": account, f"q{tag}": q.id, f"cs{tag}": cs.id,
                              f"rf{tag}": rf.id, f"m{tag}": m.id})
    return ns


def _body(site, body: str | None):
    v, u = site.values, uuid.uuid4().hex[:8]
    return {None: None,
            "ask_c01": {"contact_id": v["c01"], "team": "sales", "prospect": f"Prospect {u}"},
            "ask_c03": {"contact_id": v["c03"], "team": "sales", "prospect": f"Prospect {u}"},
            "accept": {"status": "accepted"},
            "case_a01": {"account_id": v["a01"], "title": f"Story {u}"},
            "case_a03": {"account_id": v["a03"], "title": f"Story {u}"},
            "stage": {"stage": "approved"},
            "referral_a01": {"account_id": v["a01"], "company": f"Company {u}"},
            "referral_a03": {"account_id": v["a03"], "company": f"Company {u}"},
            "qualify": {"status": "qualified"},
            "member_c01": {"board": f"Board {u}", "contact_id": v["c01"], "term_start": "2026-01-01"},
            "member_c03": {"board": f"Board {u}", "contact_id": v["c03"], "term_start": "2026-01-01"},
            "end_term": {"term_end": "2026-12-31"}}[body]


def test_advocacy_rows_of_the_permission_matrix(site):
    failures = []
    for method, path, body, allowed, ok in ADVOCACY_ENDPOINTS:
        for principal in PRINCIPALS:
            r = site.api.request(method, "/api/v1" + path.format(**site.values), json=_body(site, body),
                                 headers=_headers(site, principal))
            want = expected(principal, allowed, ok)
            if r.status_code != want:
                failures.append(f"{method} {path} as {principal}: {r.status_code}, expected {want}: {r.text[:200]}")
            elif want >= 400:
                assert r.headers["content-type"].startswith("application/problem+json")
    assert failures == []


def test_lists_stay_inside_the_book_and_candidates_carry_reasons(site):
    def get(path: str, who: str) -> dict:
        r = site.api.get("/api/v1/advocacy" + path, headers=_headers(site, who))
        assert r.status_code == 200, r.text
        return r.json()

    mine = get("/reference-requests?page_size=500", "csm01")["items"]
    everyone = get("/reference-requests?page_size=500", "cco")["items"]
    assert mine and {r["account_id"] for r in mine} < {r["account_id"] for r in everyone}
    assert site.values["a03"] not in {r["account_id"] for r in mine}
    assert site.values["a03"] not in {r["account_id"] for r in get("/case-studies", "csm01")["items"]}
    cands = get("/candidates?page_size=500", "cco")
    assert cands["as_of"] and cands["total"] == len(cands["items"]) > 0
    assert [c["rank"] for c in cands["items"]] == list(range(1, len(cands["items"]) + 1))
    assert all(c["nps_score"] >= 9 and c["band"] == "green" and c["reasons"] for c in cands["items"])
    csm = get("/candidates?page_size=500", "csm01")
    assert {c["owner"] for c in csm["items"]} <= {"csm01"}
    assert [c["contact_id"] for c in csm["items"]] == [c["contact_id"] for c in cands["items"]
                                                      if c["owner"] == "csm01"]


def test_a_request_over_the_cap_is_a_409_naming_contact_cap_and_next_day(site):
    from tenure.config import AdvocacySettings
    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog

    ctx = site.app.state.ctx
    before = ctx.config.advocacy
    ctx.config.advocacy = AdvocacySettings(request_cap=1, cap_days=90)
    try:
        contact = site.values["c01"]  # already asked (the fixture's request): at a cap of 1
        r = site.api.post("/api/v1/advocacy/reference-requests", headers=_headers(site, "csm01"),
                          json={"contact_id": contact, "team": "sales-na", "prospect": "Over the cap"})
        assert r.status_code == 409, r.text
        detail = r.json()["detail"]
        assert f"contact {contact} has been asked" in detail and "the cap is 1 per 90 days" in detail
        assert "next available" in detail
        avail = site.api.get(f"/api/v1/advocacy/contacts/{contact}/availability", headers=_headers(site, "csm01"))
        assert avail.json()["available"] is False and avail.json()["next_available_at"]
    finally:
        ctx.config.advocacy = before
    with session_scope(site.config) as s:
        entities = set(s.scalars(select(AuditLog.entity).where(AuditLog.actor.in_(["csm01", "manager", "cco"]))))
    assert {"reference_request", "case_study", "referral", "advisory_member"} <= entities


def test_the_cli_lists_the_same_candidates_and_refuses_over_the_cap(site):
    """`tenure voc advocates` answers what the API answers; `tenure voc ask-reference` over the cap
    raises the ledger's error (the CLI's main turns it into one line and exit code 1)."""
    import json

    from typer.testing import CliRunner

    from tenure.cli import app
    from tenure.errors import ConflictError

    yaml = str(site.dir / "tenure.yaml")
    out = CliRunner().invoke(app, ["voc", "advocates", "--owner", "csm01", "--json", "--limit", "500",
                                   "--config", yaml])
    assert out.exit_code == 0, out.output
    cli = json.loads(out.output)
    api = site.api.get("/api/v1/advocacy/candidates?page_size=500", headers=_headers(site, "csm01")).json()
    assert cli["total"] == api["total"] and [r["contact_id"] for r in cli["rows"]] == \
        [r["contact_id"] for r in api["items"]]
    # the CLI reads tenure.yaml: the default cap (2 per 90 days); c03 was asked many times by the matrix
    res = CliRunner().invoke(app, ["voc", "ask-reference", site.values["c03"], "--team", "sales",
                                   "--prospect", "CLI Corp", "--config", yaml])
    assert isinstance(res.exception, ConflictError), res.output
    assert f"contact {site.values['c03']} has been asked" in str(res.exception)
