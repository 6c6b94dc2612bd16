"""The pages over HTTP (FastAPI TestClient on the demo site: real DuckDB and SQLite): login and
logout, CSRF, book-of-business scoping, notes, error pages, the CSV export, no external URLs."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from tests.web.conftest import HTML, csrf_of, login_token

PAGES = ("/", "/accounts", "/cockpit", "/renewals", "/onboarding", "/advocacy", "/data")


def _audit(demo_site, action: str) -> list:
    from tenure.state.models import AuditLog

    with demo_site.app.state.ctx.db() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


# -- login and logout -------------------------------------------------------------------------------

def test_anonymous_pages_redirect_to_login_with_next(client):
    for path in (*PAGES, "/accounts?band=red&sort=risk"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=")
    r = client.get("/accounts?band=red&sort=risk", follow_redirects=False)
    assert r.headers["location"] == "/login?next=%2Faccounts%3Fband%3Dred%26sort%3Drisk"
    page = client.get("/login?next=%2Faccounts%3Fband%3Dred")
    assert page.status_code == 200 and 'value="/accounts?band=red"' in page.text


def test_login_sets_a_safe_session_cookie_and_follows_a_local_next(client, demo_site):
    token = login_token(client)
    r = client.post("/login", data={"username": "cco", "password": demo_site.passwords["cco"], "csrf_token": token,
                                    "next": "/renewals?within=90"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/renewals?within=90"
    cookie = r.headers["set-cookie"]
    assert "tenure_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    assert client.get("/renewals?within=90").status_code == 200


def test_session_cookie_is_secure_over_https(login):
    c = login("cco", base_url="https://testserver")
    assert c.get("/accounts").status_code == 200


def test_login_cookie_secure_flag_on_https(demo_site):
    from fastapi.testclient import TestClient

    c = TestClient(demo_site.app, base_url="https://testserver", headers=HTML)
    token = login_token(c)
    r = c.post("/login", data={"username": "cco", "password": demo_site.passwords["cco"], "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil"])
def test_login_never_redirects_off_site(client, demo_site, target):
    token = login_token(client)
    r = client.post("/login", data={"username": "viewer", "password": demo_site.passwords["viewer"],
                                    "csrf_token": token, "next": target}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_failed_logins_say_the_same_thing_and_are_audited(client, demo_site):
    before = len(_audit(demo_site, "login_failed"))
    bodies = []
    for username, password in (("cco", "not-the-password"), ("nobody-here", "whatever123")):
        token = login_token(client)
        r = client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                        follow_redirects=False)
        assert r.status_code == 401
        assert "Wrong username or password." in r.text
        assert "tenure_session=" not in r.headers.get("set-cookie", "")
        bodies.append(re.sub(r'value="[^"]*"', "", r.text))
    assert bodies[0] == bodies[1].replace("nobody-here", "cco")  # nothing tells the two apart
    failed = _audit(demo_site, "login_failed")[before:]
    assert [a.entity_id for a in failed] == ["cco", "nobody-here"]
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_without_the_form_token_is_refused(client, demo_site):
    r = client.post("/login", data={"username": "cco", "password": demo_site.passwords["cco"]}, follow_redirects=False)
    assert r.status_code == 403 and "tenure_session=" not in r.headers.get("set-cookie", "")
    login_token(client)  # the cookie is set, but the form's copy is missing or different
    r = client.post("/login", data={"username": "cco", "password": demo_site.passwords["cco"], "csrf_token": "forged"},
                    follow_redirects=False)
    assert r.status_code == 403


def test_logout_needs_csrf_and_ends_the_session(login):
    c = login("csm01")
    page = c.get("/cockpit")
    assert page.status_code == 200
    assert c.post("/logout", data={"csrf_token": "wrong"}, follow_redirects=False).status_code == 403
    assert c.get("/cockpit").status_code == 200
    stolen = c.cookies.get("tenure_session")
    r = c.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    c.cookies.set("tenure_session", stolen)  # the old cookie no longer works
    assert c.get("/cockpit", follow_redirects=False).status_code == 303


# -- pages and scoping ------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["cco", "admin", "viewer", "manager", "csm01"])
def test_every_page_renders_for_every_role(login, books, username):
    c = login(username)
    for path in PAGES:
        r = c.get(path)
        expected = 403 if path == "/data" and username in ("manager", "csm01") else 200
        assert r.status_code == expected, (username, path, r.text[-400:])
        assert r.headers["content-type"].startswith("text/html")
        assert "Traceback" not in r.text
    own = books["csm01"][0]
    assert c.get(f"/accounts/{own}").status_code == 200


def test_executive_page_shows_metrics_against_targets(login):
    c = login("cco")
    r = c.get("/")
    for label in ("ARR", "GRR", "NRR", "Logo churn", "Expansion", "ARR bridge", "Top risks by ARR at risk"):
        assert label in r.text
    assert "Enterprise" in r.text and "target ≥ 90.0%" in r.text  # the grr target from tenure.yaml, as a percentage
    assert 'type="application/json"' in r.text and "/static/vendor/plotly.min.js" in r.text
    quarter = re.search(r'<option value="(\d{4}-Q\d)"', r.text).group(1)
    assert c.get(f"/?period={quarter}").status_code == 200
    bad = c.get("/?period=not-a-period")
    assert bad.status_code == 422 and "period" in bad.text


def test_csm_sees_only_its_own_book(login, books):
    c = login("csm01")
    r = c.get("/accounts?size=200&status=all")
    ids = set(re.findall(r'href="/accounts/(ACC\d+)"', r.text))
    assert ids and ids <= set(books["csm01"]) | _all_csm01(c)
    assert not ids & set(books["csm02"])
    # another CSM's account: a 403 page that says why, not the account
    other = books["csm02"][0]
    r = c.get(f"/accounts/{other}")
    assert r.status_code == 403 and "book of business" in r.text and "<html" in r.text
    # filtering by another owner finds nothing rather than leaking
    r = c.get("/accounts?owner=csm02")
    assert "No accounts match" in r.text
    # the executive page shows the csm's own numbers, by CSM
    r = c.get("/")
    assert r.status_code == 200 and "By CSM" in r.text and "csm02" not in r.text


def _tiles(html: str) -> str:
    return re.search(r'<ul class="tiles">.*?</ul>', html, re.S).group(0)


def test_executive_headline_figures_are_company_wide_for_every_role(login):
    """The access policy: company-wide figures (tiles, bridge) are the same for a CSM, a manager
    and the CCO; the breakdown is the book's own (by CSM for a CSM or a manager)."""
    pages = {who: login(who).get("/").text for who in ("cco", "manager", "csm01")}
    assert _tiles(pages["csm01"]) == _tiles(pages["cco"]) == _tiles(pages["manager"])
    assert "By segment" in pages["cco"] and "By CSM" in pages["csm01"]
    by_csm = re.search(r'<h2 id="groups-title">.*?</section>', pages["manager"], re.S).group(0)
    shown = set(re.findall(r'<th scope="row"><span class="csm" title="(csm\d+)">', by_csm))
    assert shown and shown <= {"csm01", "csm02"}


def test_renewal_band_table_is_company_wide_and_the_list_is_the_book(login, books):
    def band_table(html: str) -> str:
        return re.search(r'<section aria-labelledby="bands-title">.*?</section>', html, re.S).group(0)

    cco, csm = login("cco").get("/renewals?within=365").text, login("csm01").get("/renewals?within=365").text
    assert band_table(csm) == band_table(cco) and "Renewal probability" in band_table(csm)
    listed = set(re.findall(r'href="/accounts/(ACC\d+)"', csm))
    assert listed <= set(books["csm01"]) | _all_csm01(login("csm01"))


def test_data_page_and_its_link_need_a_book_of_everything(login):
    for who, sees in (("admin", True), ("viewer", True), ("manager", False), ("csm01", False)):
        c = login(who)
        assert ('href="/data"' in c.get("/cockpit").text) is sees, who
        r = c.get("/data")
        assert r.status_code == (200 if sees else 403), who
        if not sees:
            assert "book of business" in r.text


def _all_csm01(c) -> set:
    r = c.get("/accounts.csv?status=all")
    return {row["account_id"] for row in csv.DictReader(io.StringIO(r.text)) if row["owner"] == "csm01"}


def test_manager_sees_its_team(login, books):
    c = login("manager")
    owners = set(re.findall(r'<span class="csm" title="(csm\d+)">', c.get("/accounts?size=200").text))
    assert owners and owners <= {"csm01", "csm02"}
    assert c.get(f"/accounts/{books['csm01'][0]}").status_code == 200
    assert c.get(f"/accounts/{books['csm03'][0]}").status_code == 403


def test_csv_export_is_scoped_and_filtered(login, books):
    c = login("csm02")
    r = c.get("/accounts.csv?sort=risk&order=desc")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["owner"] for row in rows} == {"csm02"}
    assert len(rows) == len(books["csm02"])
    assert "risk_drivers" not in rows[0]
    cco = login("cco")
    everyone = list(csv.DictReader(io.StringIO(cco.get("/accounts.csv?segment=SMB").text)))
    assert everyone and {row["segment"] for row in everyone} == {"SMB"}


def test_portfolio_filters_sort_and_page(login):
    c = login("cco")
    r = c.get("/accounts?band=red&sort=risk&order=desc&size=25")
    assert r.status_code == 200 and 'aria-sort="descending"' in r.text
    bands = re.findall(r'class="band band-(\w+)"', r.text.split('id="results"')[1])
    assert bands and set(bands) == {"red"}
    page2 = c.get("/accounts?size=25&page=2")
    assert "page 2 of" in page2.text
    assert c.get("/accounts?sort=nonsense").status_code == 422
    assert c.get("/accounts?band=purple").status_code == 422


def test_htmx_requests_get_only_the_results_fragment(login):
    c = login("cco")
    r = c.get("/accounts?segment=SMB", headers={"HX-Request": "true", "HX-Target": "results"})
    assert r.status_code == 200 and r.text.lstrip().startswith("<section id=\"results\"")
    assert "<html" not in r.text


def test_account_360_shows_everything_known(login, books):
    c = login("csm01")
    account = books["csm01"][0]
    r = c.get(f"/accounts/{account}")
    assert r.status_code == 200
    for section in ("Why this risk", "Contacts", "Usage, last 26 weeks", "Health history", "Notes", "Timeline"):
        assert section in r.text
    assert "executive sponsor" in r.text or "champion" in r.text
    tickets = c.get(f"/accounts/{account}?kind=ticket")
    kinds = set(re.findall(r'class="tl tl-(\w+)"', tickets.text))
    assert kinds <= {"ticket"}
    assert c.get("/accounts/NO-SUCH-ACCOUNT").status_code == 404


# -- notes --------------------------------------------------------------------------------------------

def test_csm_adds_a_note_to_its_own_account(writable_login, books, writable_site):
    c = writable_login("csm01")  # its own copy of the demo: a note is written
    account = books["csm01"][1]
    page = c.get(f"/accounts/{account}")
    text = "Called the champion: <b>renewal</b> looks safe"
    r = c.post(f"/accounts/{account}/notes", data={"body": text, "csrf_token": csrf_of(page.text)},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/accounts/{account}#notes"
    shown = c.get(f"/accounts/{account}").text
    assert "Called the champion: &lt;b&gt;renewal&lt;/b&gt; looks safe" in shown  # escaped, not markup
    created = [a for a in _audit(writable_site, "create") if a.entity == "note"]
    assert created[-1].actor == "csm01" and created[-1].after["account_id"] == account


def test_note_forms_are_protected(login, books):
    c = login("csm01")
    own, other = books["csm01"][2], books["csm02"][0]
    token = csrf_of(c.get(f"/accounts/{own}").text)
    assert c.post(f"/accounts/{own}/notes", data={"body": "no token"}).status_code == 403
    assert c.post(f"/accounts/{own}/notes", data={"body": "bad", "csrf_token": "x" * 40}).status_code == 403
    r = c.post(f"/accounts/{other}/notes", data={"body": "not mine", "csrf_token": token})
    assert r.status_code == 403 and "book of business" in r.text
    assert c.post(f"/accounts/{own}/notes", data={"body": "   ", "csrf_token": token}).status_code == 422
    v = login("viewer")
    vtoken = csrf_of(v.get(f"/accounts/{own}").text)
    assert "Add a note" not in v.get(f"/accounts/{own}").text
    assert v.post(f"/accounts/{own}/notes", data={"body": "read only", "csrf_token": vtoken}).status_code == 403


def test_htmx_note_returns_the_notes_fragment(writable_login, books):
    c = writable_login("csm01")  # its own copy of the demo: a note is written
    own = books["csm01"][0]
    token = csrf_of(c.get(f"/accounts/{own}").text)
    r = c.post(f"/accounts/{own}/notes", data={"body": "via htmx"},
               headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert r.status_code == 200 and r.text.lstrip().startswith('<section id="notes"') and "via htmx" in r.text


# -- errors, assets, no CDN ---------------------------------------------------------------------------

def test_error_pages_are_html_without_internals(login):
    c = login("csm03")
    r = c.get("/data")
    assert r.status_code == 403 and "<html" in r.text and "Not allowed" in r.text
    r = c.get("/no/such/page")
    assert r.status_code == 404 and "<html" in r.text and "Traceback" not in r.text


def test_assets_are_served_locally(client):
    js = client.get("/static/vendor/plotly.min.js")
    assert js.status_code == 200 and "plotly.js" in js.text[:200]
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/app.css").status_code == 200


def test_no_page_references_another_site(login, books):
    c = login("cco")
    for path in (*PAGES, f"/accounts/{books['csm01'][0]}", "/login"):
        html = c.get(path).text
        refs = re.findall(r'(?:src|href|action)="([^"]*)"', html)
        external = [u for u in refs if re.match(r"^(?:[a-z]+:)?//", u, re.I)]
        assert not external, (path, external)
    css = c.get("/static/app.css").text
    assert "url(" not in css and "@import" not in css


def test_csv_cells_that_look_like_formulas_are_defused():
    import pyarrow as pa

    from tenure.web.pages import _csv_safe

    t = _csv_safe(pa.table({"name": ["=HYPERLINK(1)", "+1", "-2", "@x", "ok", None], "arr": [1, 2, 3, 4, 5, 6]}))
    assert t.column("name").to_pylist() == ["'=HYPERLINK(1)", "'+1", "'-2", "'@x", "ok", None]


def test_a_form_posted_after_the_session_ended_returns_to_its_page(client, books):
    own = books["csm01"][0]
    r = client.post(f"/accounts/{own}/notes", data={"body": "x"}, follow_redirects=False,
                    headers={"referer": f"http://testserver/accounts/{own}"})
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=%2Faccounts%2F{own}"
    r = client.post(f"/accounts/{own}/notes", data={"body": "x"}, follow_redirects=False,
                    headers={"referer": "https://evil.example/phish"})
    assert r.headers["location"] == "/login?next=%2F"


def test_htmx_requests_after_the_session_ended_reload_at_login(client):
    for headers in ({"HX-Request": "true"}, {"HX-Request": "true", "accept": "*/*"}):
        r = client.get("/accounts?band=red", headers=headers, follow_redirects=False)
        assert r.status_code == 401
        assert r.headers["hx-redirect"] == "/login?next=%2Faccounts%3Fband%3Dred"
