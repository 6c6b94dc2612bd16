"""The renewals page over HTTP: filters by CSM, segment, month and band; months with subtotals;
server-side paging; the CSV of the filtered set (formula-safe); the forecast-call form (CSRF,
the one access policy, audited); and the band table, which is the same computation as
`tenure health validate` on the demo site.

Reads use the shared demo site; writes (forecast calls) use the renewals site of their own
(tests/renewals_site.py) and are undone."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.renewals_site import renewals_site
from tests.web.conftest import HTML, csrf_of, login_token


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="call-([^"]+)" data-account=', html)


def _range(html: str) -> tuple[int, int, int]:
    m = re.search(r'id="renewals-range">(\d+)–(\d+) of ([\d,]+)<', html)
    return int(m.group(1)), int(m.group(2)), int(m.group(3).replace(",", ""))


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_filters_paging_and_the_csv_are_one_filtered_set(login, demo_site):
    from tenure.portfolio.renewals import RenewalFilter, renewal_months

    c = login("cco")
    everything = _csv(c.get("/renewals.csv?within=365").text)
    assert everything, "the demo site has renewals in the next year"
    first = c.get("/renewals?within=365&size=25").text
    lo, hi, total = _range(first)
    assert (lo, hi, total) == (1, min(25, len(everything)), len(everything))
    assert _rows(first) == [r["account_id"] for r in everything[:25]]  # the page's order, the CSV's order
    if total > 25:
        second = c.get("/renewals?within=365&size=25&page=2").text
        assert _range(second)[:2] == (26, min(50, total))
        assert _rows(second) == [r["account_id"] for r in everything[25:50]]
        assert 'rel="prev"' in second
    # month headings with their subtotals: the subtotal counts the whole month, not the page
    wh = demo_site.app.state.ctx.warehouse()
    months = renewal_months(wh, RenewalFilter(within_days=365))
    for m in months:
        in_csv = [r for r in everything if r["renewal_month"] == m["month"]]
        assert m["accounts"] == len(in_csv)
    m0 = months[0]
    assert re.search(rf'data-month="{m0["month"]}"', first)
    assert f': {m0["accounts"]:,} renewal' in first
    # one CSM, one segment, one month, one band: each is the CSV's subset, on the page and in the CSV
    row = everything[0]
    for key, value in (("owner", row["owner"]), ("segment", row["segment"]), ("month", row["renewal_month"]),
                       ("band", row["band"])):
        want = [r["account_id"] for r in everything if r[key if key != "month" else "renewal_month"] == value]
        page = c.get(f"/renewals?within=365&size=200&{key}={value}").text
        assert _rows(page) == want[:200], key
        assert [r["account_id"] for r in _csv(c.get(f"/renewals.csv?within=365&{key}={value}").text)] == want, key
    # the CSM filter shows names where the data has one, and only the caller's book
    csm_page = login("csm01").get("/renewals?within=365").text
    assert '<select id="owner"' not in csm_page  # a CSM with one book has nothing to choose
    assert {r["owner"] for r in _csv(login("csm01").get("/renewals.csv?within=365").text)} <= {"csm01"}


def test_a_bad_filter_is_a_422_page_naming_it(login):
    c = login("cco")
    for q, field in (("month=2026-13", "month"), ("band=purple", "band")):
        r = c.get(f"/renewals?{q}")
        assert r.status_code == 422 and field in r.text, q


def test_the_band_table_is_tenure_health_validate(login, demo_site):
    """One source: the page's band table (rates and observations) is what `tenure health validate`
    prints for the same data (before: 97.8/85.8/68.0% on 5,023 observations on the page against
    97.4/86.1/65.7% on 7,365 from the command)."""
    from typer.testing import CliRunner

    from tenure.cli import app

    out = CliRunner().invoke(app, ["health", "validate", "--json", "--config", str(demo_site.dir / "tenure.yaml")])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output[out.output.index("{"):])
    html = login("viewer").get("/renewals").text
    table = re.search(r'<table id="band-table">.*?</table>', html, re.S).group(0)
    shown = re.findall(r'band-(\w+)">\w+</span></th><td class="num">([\d,]+)</td><td class="num">([\d.]+)%</td>'
                       r'<td class="num">([\d.]+)%</td>', table)
    assert shown, table
    cli = [(b["band"], f'{b["accounts"]:,}', f'{b["churn_rate"] * 100:.1f}', f'{b["renewal_probability"] * 100:.1f}')
           for b in report["bands"]]
    assert shown == cli


# -- the forecast-call form, on a site of its own ---------------------------------------------------

@pytest.fixture(scope="module")
def site(demo_built):
    return renewals_site(demo_built)


def _login(site, username: str) -> TestClient:
    c = TestClient(site.app, raise_server_exceptions=False, headers=HTML)
    r = c.post("/login", data={"username": username, "password": site.passwords[username],
                               "csrf_token": login_token(c), "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def test_the_call_form_sets_the_category_and_next_step(site):
    from sqlalchemy import select

    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog

    from sqlalchemy import func

    a = site.renewing["csm01"][0]
    with session_scope(site.config) as s:  # the site is shared with the API tests: count from here on
        since = s.execute(select(func.coalesce(func.max(AuditLog.id), 0))).scalar_one()
    csm = _login(site, "csm01")
    page = csm.get("/renewals?within=365&size=200").text
    key = re.search(rf'action="/renewals/{a}/call".*?name="renewal_key" value="([^"]+)"', page, re.S).group(1)
    form = {"csrf_token": csrf_of(page), "renewal_key": key, "category": "commit",
            "next_step": "=HYPERLINK(\"evil\") quote sent", "back": "/renewals?within=365&size=200"}
    try:
        r = csm.post(f"/renewals/{a}/call", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/renewals?within=365&size=200#call-{a}"
        after = csm.get("/renewals?within=365&size=200").text
        row = re.search(rf'<tr id="call-{a}".*?</tr>', after, re.S).group(0)
        assert '<option value="commit" selected>' in row and "set by csm01" in row
        exported = {r["account_id"]: r for r in _csv(csm.get("/renewals.csv?within=365").text)}
        assert exported[a]["forecast_category"] == "commit"
        assert exported[a]["next_step"].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
        # refused: no CSRF token, another CSM's account, a viewer, a back link off the site
        assert csm.post(f"/renewals/{a}/call", data={**form, "csrf_token": "x"}).status_code == 403
        other = _login(site, "csm03")
        assert other.post(f"/renewals/{a}/call", data={**form, "csrf_token": csrf_of(other.get("/renewals").text)},
                          follow_redirects=False).status_code == 403
        viewer = _login(site, "viewer")
        assert viewer.post(f"/renewals/{a}/call", data={**form, "csrf_token": csrf_of(viewer.get("/renewals").text)},
                           follow_redirects=False).status_code == 403
        off = csm.post(f"/renewals/{a}/call", data={**form, "back": "https://evil.example/renewals"},
                       follow_redirects=False)
        assert off.headers["location"] == f"/renewals#call-{a}"
        with session_scope(site.config) as s:
            actors = s.execute(select(AuditLog.actor).where(AuditLog.entity == "renewal_call",
                                                            AuditLog.entity_id == f"{a}/{key}",
                                                            AuditLog.id > since)).scalars().all()
        assert actors == ["csm01"]  # one change; the refusals and the repeat changed nothing
    finally:
        site.api_cleanup = TestClient(site.app, raise_server_exceptions=False).delete(
            f"/api/v1/renewals/{a}/call", headers={"Authorization": f"Bearer {site.tokens['admin']}"})
