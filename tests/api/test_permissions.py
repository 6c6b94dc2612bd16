"""The permission matrix: every REST endpoint x every kind of caller -> allowed or denied.

Callers: the demo users (one per role; the manager leads csm01 and csm02, csm03 is outside its
team), admin's token narrowed to the read scope, a revoked token, and no token at all. Account
endpoints are asked about an account of csm01 (inside the manager's team) and one of csm03.

The access policy (tenure.access, docs/web.md) is checked here too: each company-wide figure
(access.FIGURES) is visible to every reader and the same for all of them, a breakdown by owner
stays inside the book, and each company-wide record set (access.RECORDS) needs a book of
everything. Guards fail when a route, a figure or a record set is missing from the matrix."""

from __future__ import annotations

import uuid

import pytest

USERS = ("admin", "cco", "manager", "csm01", "csm02", "csm03", "viewer")
PRINCIPALS = (*USERS, "readonly", "revoked", "anonymous")

EVERYONE = frozenset({*USERS, "readonly"})
SEES_A01 = frozenset({"admin", "cco", "manager", "csm01", "viewer", "readonly"})
SEES_A03 = frozenset({"admin", "cco", "csm03", "viewer", "readonly"})
WRITERS = frozenset({"admin", "cco", "manager", "csm01", "csm02", "csm03"})
WRITES_A01 = frozenset({"admin", "cco", "manager", "csm01"})
WRITES_A03 = frozenset({"admin", "cco", "csm03"})
SEES_ALL = frozenset({"admin", "cco", "viewer", "readonly"})  # company-wide answers
WRITES_ALL = frozenset({"admin", "cco"})
ADMINS = frozenset({"admin"})

BAD_ACTIVITIES = b"activity_id,account_id,kind,at,with_exec\nMATRIX-1,NO-SUCH-ACCOUNT,call,2026-01-05T10:00:00,false\n"

# (method, path, body, who may, status when allowed)
ENDPOINTS = (
    ("GET", "/me", None, EVERYONE, 200),
    ("GET", "/accounts", None, EVERYONE, 200),
    ("GET", "/accounts/{a01}", None, SEES_A01, 200),
    ("GET", "/accounts/{a03}", None, SEES_A03, 200),
    ("GET", "/accounts/{a01}/timeline", None, SEES_A01, 200),
    ("GET", "/accounts/{a03}/timeline", None, SEES_A03, 200),
    ("GET", "/accounts/{a01}/usage", None, SEES_A01, 200),
    ("GET", "/accounts/{a03}/usage", None, SEES_A03, 200),
    ("GET", "/accounts/{a01}/health", None, SEES_A01, 200),
    ("GET", "/accounts/{a03}/health", None, SEES_A03, 200),
    ("GET", "/accounts/{a01}/notes", None, SEES_A01, 200),
    ("GET", "/accounts/{a03}/notes", None, SEES_A03, 200),
    ("POST", "/accounts/{a01}/notes", "note", WRITES_A01, 201),
    ("POST", "/accounts/{a03}/notes", "note", WRITES_A03, 201),
    ("GET", "/metrics", None, EVERYONE, 200),
    ("GET", "/metrics/nrr?by=segment", None, EVERYONE, 200),
    ("GET", "/metrics/bridge", None, EVERYONE, 200),
    ("GET", "/metrics/cohorts", None, EVERYONE, 200),
    ("GET", "/metrics/arr?by=owner", None, EVERYONE, 200),
    ("GET", "/metrics/churned_arr/explain", None, EVERYONE, 200),
    ("GET", "/metrics/churned_arr/explain?where=owner:csm03", None, SEES_A03, 200),
    # the voice of the customer (tenure.api.routers.voc): scores are registry metrics, rankings and
    # loop closure aggregates (quotes and per-CSM rows kept to the book), an account's responses an
    # account read, the survey programs an administrator's page
    ("GET", "/voc/scores", None, EVERYONE, 200),
    ("GET", "/voc/trend?metric=nps", None, EVERYONE, 200),
    ("GET", "/voc/themes", None, EVERYONE, 200),
    ("GET", "/voc/feature-requests", None, EVERYONE, 200),
    ("GET", "/voc/churn-reasons", None, EVERYONE, 200),
    ("GET", "/voc/loop", None, EVERYONE, 200),
    ("GET", "/voc/accounts/{a01}/responses", None, SEES_A01, 200),
    ("GET", "/voc/accounts/{a03}/responses", None, SEES_A03, 200),
    ("GET", "/voc/programs", None, ADMINS, 200),
    ("GET", "/health/scores", None, EVERYONE, 200),
    ("GET", "/health/scores/{a01}", None, SEES_A01, 200),
    ("GET", "/health/scores/{a03}", None, SEES_A03, 200),
    ("GET", "/health/validation", None, EVERYONE, 200),
    ("GET", "/health/signals", None, EVERYONE, 200),
    ("GET", "/risk/predictions", None, EVERYONE, 200),
    ("POST", "/risk/backtest", "backtest", WRITERS, 200),
    ("POST", "/ingest/activities", "upload", WRITES_ALL, 201),
    ("GET", "/ingest/runs", None, SEES_ALL, 200),
    ("GET", "/ingest/runs/{run}", None, SEES_ALL, 200),
    ("GET", "/users", None, ADMINS, 200),
    ("POST", "/users", "user", ADMINS, 201),
    ("POST", "/users/{victim}/disable", None, ADMINS, 200),
    ("GET", "/tokens", None, ADMINS, 200),
    ("POST", "/tokens", "token", ADMINS, 201),
    ("DELETE", "/tokens/{token}", None, ADMINS, 204),
    ("GET", "/audit", None, ADMINS, 200),
    ("POST", "/refresh", "refresh", WRITES_ALL, 202),
    ("GET", "/refresh", None, SEES_ALL, 200),
    ("GET", "/refresh/{refresh}", None, SEES_ALL, 200),
)


# tasks (CTAs): a CSM works its own book's tasks, a manager its team's (tenure.access.Access.task).
# {t01} is a task of csm01's (inside the manager's team), {t03} one of csm03's. Writes change a
# site, so these rows run on a site of their own in tests/api/test_tasks_api.py (not the shared one).
TASK_ENDPOINTS = (
    ("GET", "/tasks", None, EVERYONE, 200),
    ("GET", "/tasks?mine=true&overdue=true", None, EVERYONE, 200),
    ("GET", "/tasks/summary", None, EVERYONE, 200),
    ("GET", "/tasks/{t01}", None, SEES_A01, 200),
    ("GET", "/tasks/{t03}", None, SEES_A03, 200),
    ("PATCH", "/tasks/{t01}", "task_start", WRITES_A01, 200),
    ("PATCH", "/tasks/{t03}", "task_start", WRITES_A03, 200),
    ("POST", "/tasks/bulk", "task_bulk_t01", WRITES_A01, 200),
    ("POST", "/tasks/bulk", "task_bulk_t03", WRITES_A03, 200),
)

# renewals: the list is scoped to the book; a forecast call on a renewal is set by the account's CSM
# or its manager (tenure.access through open_account). {r01} is an account of csm01's with a renewal
# (inside the manager's team), {r03} one of csm03's. Writes change a site, so these rows run on a
# site of their own in tests/api/test_renewals_api.py (not the shared one).
RENEWAL_ENDPOINTS = (
    ("GET", "/renewals", None, EVERYONE, 200),
    ("GET", "/renewals?owner=csm03&band=red&page_size=5", None, EVERYONE, 200),
    ("GET", "/renewals/{r01}/call", None, SEES_A01, 200),
    ("GET", "/renewals/{r03}/call", None, SEES_A03, 200),
    ("PUT", "/renewals/{r01}/call", "call", WRITES_A01, 200),
    ("PUT", "/renewals/{r03}/call", "call", WRITES_A03, 200),
    ("DELETE", "/renewals/{r01}/call", None, WRITES_A01, 204),
    ("DELETE", "/renewals/{r03}/call", None, WRITES_A03, 204),
)

# the outbox: administrators list it and replay dead letters; an email held for review is released
# by its CSM (payload owner), that CSM's manager or an administrator (tenure.access.Access.email).
# {held01} is an email held for csm01 (inside the manager's team), {held03} one for csm03, {dead} a
# dead letter. Writes change a site, so these rows run on a site of their own in
# tests/api/test_outbox_api.py (not the shared one), with a fresh held email per caller.
REVIEWS_A01 = frozenset({"admin", "manager", "csm01"})
REVIEWS_A03 = frozenset({"admin", "csm03"})
OUTBOX_ENDPOINTS = (
    ("GET", "/outbox", None, ADMINS, 200),
    ("GET", "/outbox?status=dead&page_size=5", None, ADMINS, 200),
    ("GET", "/outbox/review", None, EVERYONE, 200),
    ("POST", "/outbox/{held01}/release", "release", REVIEWS_A01, 200),
    ("POST", "/outbox/{held03}/release", "release", REVIEWS_A03, 200),
    ("POST", "/outbox/{dead}/replay", None, ADMINS, 200),
)

# success plans: an account's plans are read with the account and worked by its CSM or its
# manager (tenure.access through open_account). {p01} is an account of csm01's with a plan {plan01}
# whose task {task01} is ready, {p03} one of csm03's. Writes change a site, so these rows run on a
# site of their own in tests/api/test_success_plans_api.py (not the shared one).
PLAN_ENDPOINTS = (
    ("GET", "/accounts/{p01}/success-plans", None, SEES_A01, 200),
    ("GET", "/accounts/{p03}/success-plans", None, SEES_A03, 200),
    ("POST", "/accounts/{p01}/success-plans", "plan_start", WRITES_A01, 201),
    ("POST", "/accounts/{p03}/success-plans", "plan_start", WRITES_A03, 201),
    ("POST", "/success-plans/{plan01}/tasks/{task01}", "plan_skip", WRITES_A01, 200),
    ("POST", "/success-plans/{plan03}/tasks/{task03}", "plan_skip", WRITES_A03, 200),
    ("POST", "/success-plans/{plan01}/tasks", "plan_add_task", WRITES_A01, 201),
    ("POST", "/success-plans/{plan03}/tasks", "plan_add_task", WRITES_A03, 201),
    ("POST", "/success-plans/{plan01}/objectives/{objective01}", "plan_objective", WRITES_A01, 200),
    ("POST", "/success-plans/{plan03}/objectives/{objective03}", "plan_objective", WRITES_A03, 200),
)

# advocacy: candidates, requests, case studies, referrals and board members of the caller's book; a
# contact's or record's account is opened through the policy (open_account). {c01} is a contact of an
# account of csm01's (inside the manager's team), {c03} one of csm03's; {q..}, {cs..}, {rf..}, {m..}
# are a reference request, a case study, a referral and a board membership on those accounts.
# Writes change a site, so these rows run on a site of their own in tests/api/test_advocacy_api.py.
ADVOCACY_ENDPOINTS = (
    ("GET", "/advocacy/candidates", None, EVERYONE, 200),
    ("GET", "/advocacy/contacts/{c01}/availability", None, SEES_A01, 200),
    ("GET", "/advocacy/contacts/{c03}/availability", None, SEES_A03, 200),
    ("GET", "/advocacy/reference-requests", None, EVERYONE, 200),
    ("POST", "/advocacy/reference-requests", "ask_c01", WRITES_A01, 201),
    ("POST", "/advocacy/reference-requests", "ask_c03", WRITES_A03, 201),
    ("PATCH", "/advocacy/reference-requests/{q01}", "accept", WRITES_A01, 200),
    ("PATCH", "/advocacy/reference-requests/{q03}", "accept", WRITES_A03, 200),
    ("GET", "/advocacy/case-studies", None, EVERYONE, 200),
    ("POST", "/advocacy/case-studies", "case_a01", WRITES_A01, 201),
    ("POST", "/advocacy/case-studies", "case_a03", WRITES_A03, 201),
    ("POST", "/advocacy/case-studies/{cs01}/stage", "stage", WRITES_A01, 200),
    ("POST", "/advocacy/case-studies/{cs03}/stage", "stage", WRITES_A03, 200),
    ("GET", "/advocacy/referrals", None, EVERYONE, 200),
    ("POST", "/advocacy/referrals", "referral_a01", WRITES_A01, 201),
    ("POST", "/advocacy/referrals", "referral_a03", WRITES_A03, 201),
    ("PATCH", "/advocacy/referrals/{rf01}", "qualify", WRITES_A01, 200),
    ("PATCH", "/advocacy/referrals/{rf03}", "qualify", WRITES_A03, 200),
    ("GET", "/advocacy/board-members", None, EVERYONE, 200),
    ("POST", "/advocacy/board-members", "member_c01", WRITES_A01, 201),
    ("POST", "/advocacy/board-members", "member_c03", WRITES_A03, 201),
    ("POST", "/advocacy/board-members/{m01}/end", "end_term", WRITES_A01, 200),
    ("POST", "/advocacy/board-members/{m03}/end", "end_term", WRITES_A03, 200),
)

# each company-wide figure and record set (tenure.access) -> where it is shown: an API endpoint
# of ENDPOINTS, or a page (checked in tests/web/test_pages.py)
FIGURE_PLACES = {
    "metrics": ("GET", "/metrics/nrr?by=segment"),
    "bridge": ("GET", "/metrics/bridge"),
    "cohorts": ("GET", "/metrics/cohorts"),
    "health_validation": ("GET", "/health/validation"),
    "risk_backtest": ("POST", "/risk/backtest"),
    "trend": ("PAGE", "/"),
    "band_table": ("PAGE", "/renewals"),
}
RECORD_PLACES = {
    "ingest_log": ("GET", "/ingest/runs"),
    "ingest_upload": ("POST", "/ingest/activities"),
    "refresh": ("POST", "/refresh"),
    "audit": ("GET", "/audit"),
    "data_quality": ("PAGE", "/data"),
}


def expected(principal: str, allowed: frozenset[str], ok: int) -> int:
    if principal in ("anonymous", "revoked"):
        return 401
    return ok if principal in allowed else 403


def _throwaway(demo_site) -> dict[str, str]:
    """A fresh user (to disable) and token (to revoke), so every case has its own victim."""
    from tenure.state import tokens, users
    from tenure.state.db import session_scope

    name = f"victim_{uuid.uuid4().hex[:10]}"
    with session_scope(demo_site.config) as session:
        users.create_user(session, name, users.generate_password(), "viewer")
        token, _ = tokens.create_token(session, name, "victim")
        session.flush()
        return {"victim": name, "token": str(token.id)}


@pytest.fixture(scope="module")
def places(books, demo_site) -> dict[str, str]:
    from tenure.jobs.runs import list_runs as refresh_runs
    from tenure.state.runs import list_runs

    runs = list_runs(demo_site.config, limit=1)
    assert runs, "the demo leaves ingest runs"
    refreshes, _ = refresh_runs(demo_site.config, limit=1)
    assert refreshes, "the demo leaves a refresh run"
    return {"a01": books["csm01"][0], "a03": books["csm03"][0], "run": runs[0]["run_id"],
            "refresh": refreshes[0]["id"]}


def _request(api, method: str, path: str, body: str | None, headers: dict):
    kw: dict = {"headers": headers}
    if body == "note":
        kw["json"] = {"body": "permission matrix note"}
    elif body == "backtest":
        kw["json"] = {"cutoff": "2025-06-01", "horizon": 180}
    elif body == "upload":
        kw["files"] = {"file": ("activities.csv", BAD_ACTIVITIES, "text/csv")}
    elif body == "user":
        kw["json"] = {"username": f"matrix_{uuid.uuid4().hex[:10]}", "role": "viewer"}
    elif body == "token":
        kw["json"] = {"username": "viewer", "name": "matrix", "scopes": ["read"]}
    r = api.request(method, "/api/v1" + path, **kw)
    if body == "refresh" and r.status_code == 202:  # one refresh at a time: let it end before the next case
        assert api.app.state.refresh_worker.wait(300)
    return r


CASES = [pytest.param(method, path, body, principal, expected(principal, allowed, ok),
                      id=f"{method} {path} as {principal}")
         for method, path, body, allowed, ok in ENDPOINTS for principal in PRINCIPALS]


def test_every_router_endpoint_is_in_the_matrix(demo_site):
    """A new endpoint must be added to ENDPOINTS (with who may call it)."""
    from fastapi.routing import APIRoute

    def shape(path: str) -> str:
        import re

        return re.sub(r"\{[^}]+\}", "{}", path.split("?")[0])

    routes = {(m, shape(r.path.removeprefix("/api/v1"))) for r in demo_site.app.routes
              if isinstance(r, APIRoute) and r.path.startswith("/api/v1") for m in r.methods}
    covered = {(m, shape(p)) for m, p, *_ in (*ENDPOINTS, *TASK_ENDPOINTS, *RENEWAL_ENDPOINTS,
                                             *OUTBOX_ENDPOINTS, *PLAN_ENDPOINTS, *ADVOCACY_ENDPOINTS)}
    assert routes - covered == set()


def test_every_company_wide_figure_and_record_set_is_in_the_matrix():
    """A new figure or record set in tenure.access must get a place here, and its endpoint must
    follow the policy: figures for every principal holding the permission, records only for
    those whose book is everything."""
    from tenure.access import FIGURES, RECORDS

    assert set(FIGURE_PLACES) == set(FIGURES)
    assert set(RECORD_PLACES) == set(RECORDS)
    matrix = {(m, p): allowed for m, p, _, allowed, _ in ENDPOINTS}
    rules = ((FIGURE_PLACES, lambda allowed: allowed in (EVERYONE, WRITERS)),  # no book-of-business limit
             (RECORD_PLACES, lambda allowed: allowed <= SEES_ALL))
    for places, follows in rules:
        assert all(follows(matrix[place]) for place in places.values() if place[0] != "PAGE"), places


@pytest.mark.parametrize("method,path,body,principal,status", CASES)
def test_permission_matrix(request, api, headers_for, places, demo_site, method, path, body, principal, status):
    site = demo_site
    if method != "GET":  # writes go to this module's own copy of the demo (same ids, users, tokens)
        site = request.getfixturevalue("module_site")
        api = site.api
    values = dict(places)
    if "{victim}" in path or "{token}" in path:
        values.update(_throwaway(site))
    r = _request(api, method, path.format(**values), body, headers_for(principal))
    assert r.status_code == status, r.text
    if status >= 400:
        problem = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert problem["status"] == status and problem["detail"]
        if status == 401:
            assert r.headers.get("www-authenticate") == "Bearer"


def test_denied_writes_change_nothing(api, headers_for, places, demo_site):
    """csm01 writing on csm03's account and a viewer writing anywhere leave no note behind."""
    before = api.get(f"/api/v1/accounts/{places['a03']}/notes", headers=headers_for("admin")).json()
    for who in ("csm01", "csm02", "manager", "viewer", "readonly"):
        r = api.post(f"/api/v1/accounts/{places['a03']}/notes", json={"body": f"sneaky {who}"},
                     headers=headers_for(who))
        assert r.status_code == 403
    after = api.get(f"/api/v1/accounts/{places['a03']}/notes", headers=headers_for("admin")).json()
    assert [n["id"] for n in after] == [n["id"] for n in before]


@pytest.mark.parametrize("name", [n for n, (m, _) in FIGURE_PLACES.items() if m != "PAGE"])
def test_a_company_wide_figure_is_the_same_for_every_reader(api, headers_for, name):
    """The policy's one rule for figures: a CSM, a manager and the CCO get the same company-wide
    answer (before, /health/validation was company-wide for a CSM and /metrics/cohorts refused)."""
    method, path = FIGURE_PLACES[name]
    body = "backtest" if method == "POST" else None
    answers = {}
    for who in ("cco", "manager", "csm01"):
        r = _request(api, method, path, body, headers_for(who))
        assert r.status_code == 200, (who, r.text)
        answers[who] = r.json()
    assert answers["csm01"] == answers["cco"] and answers["manager"] == answers["cco"]


def _owners_of(rows: list[dict]) -> set[str]:
    return {(r.get("group") or r).get("owner") for r in rows}


@pytest.mark.parametrize("path", ["/metrics/arr?by=owner", "/metrics/bridge?by=owner",
                                  "/metrics/arr?by=parent_account_id"])
def test_a_breakdown_by_owner_stays_inside_the_book(api, headers_for, path):
    everyone = api.get("/api/v1" + path, headers=headers_for("cco")).json()
    if "by=owner" in path:
        assert {"csm01", "csm02", "csm03"} <= _owners_of(everyone["rows"])
    csm = api.get("/api/v1" + path, headers=headers_for("csm01")).json()
    manager = api.get("/api/v1" + path, headers=headers_for("manager")).json()
    assert "owner" in csm["by"] and _owners_of(csm["rows"]) == {"csm01"}
    assert _owners_of(manager["rows"]) <= {"csm01", "csm02"} and "csm01" in _owners_of(manager["rows"])


def test_a_breakdown_without_book_dimensions_is_company_wide(api, headers_for):
    csm = api.get("/api/v1/metrics/bridge?by=segment", headers=headers_for("csm01")).json()
    cco = api.get("/api/v1/metrics/bridge?by=segment", headers=headers_for("cco")).json()
    assert csm == cco and csm["by"] == ["segment"]


def test_out_of_book_refusals_come_from_the_policy(api, headers_for, places):
    """Every scope refusal is the policy's problem type, naming the book it is not in."""
    for path in (f"/accounts/{places['a03']}", f"/health/scores/{places['a03']}",
                 "/metrics/churned_arr/explain?where=owner:csm03", "/ingest/runs"):
        r = api.get("/api/v1" + path, headers=headers_for("csm01"))
        assert r.status_code == 403, path
        problem = r.json()
        assert problem["type"].endswith("/out-of-scope") and "csm01's book of business" in problem["detail"], path


def test_explain_lists_exactly_the_books_accounts(api, headers_for):
    """The accounts behind a number are an account read: csm01 gets exactly the accounts the CCO
    sees with owner csm01 (none missing, none of another book)."""
    def accounts(who: str, **params) -> set[str]:
        r = api.get("/api/v1/metrics/churned_arr/explain", params={"limit": 5000, **params},
                    headers=headers_for(who))
        assert r.status_code == 200
        return {a["account_id"] for a in r.json()["accounts"]}

    mine = accounts("csm01")
    assert mine and mine == accounts("cco", where="owner:csm01")


def test_routes_and_pages_decide_scope_only_through_the_policy():
    """No router or page compares owners, filters rows by book or raises a scope 403 itself."""
    import re
    from pathlib import Path

    import tenure

    root = Path(tenure.__file__).parent
    banned = re.compile(r"who\.owners|owner_filter|ensure_sees|\.sees\(|require_all_accounts|Problem\(403")
    found = [f"{p.relative_to(root)}:{i}: {line.strip()}"
             for pkg in ("api", "web") for p in sorted((root / pkg).rglob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1) if banned.search(line)]
    assert found == []


def test_api_and_web_are_siblings_over_the_http_core():
    """tenure.api and tenure.web never import each other; tenure.http imports neither."""
    import ast
    from pathlib import Path

    import tenure

    root = Path(tenure.__file__).parent

    def imports(pkg: str) -> set[str]:
        out = set()
        for p in (root / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(p.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    out.add(node.module)
                elif isinstance(node, ast.Import):
                    out.update(a.name for a in node.names)
        return out

    def hits(names: set[str], pkg: str) -> set[str]:
        return {n for n in names if n == f"tenure.{pkg}" or n.startswith(f"tenure.{pkg}.")}

    assert hits(imports("api"), "web") == set()
    assert hits(imports("web"), "api") == set()
    http = imports("http")
    assert hits(http, "api") == set() and hits(http, "web") == set()
