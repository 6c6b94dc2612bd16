"""The renewals page in a real browser (Playwright on Debian's Chromium) on the renewals site of its
own (tests/renewals_site.py, since it writes): a manager filters by CSM and month, pages, sets a
forecast category with a next step, and downloads the CSV of the filtered set. No request leaves
the server and there are no console or CSP errors."""

from __future__ import annotations

import csv
import io
import re
import threading
import time

import pytest

from tests.renewals_site import renewals_site
from tests.web.test_browser import TIMEOUT_MS, Watch, _free_port, _login, _shot, browser  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site_url(demo_built):
    import uvicorn

    site = renewals_site(demo_built)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, name="uvicorn-renewals", daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield site, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _range(page) -> tuple[int, int, int]:
    lo, hi, total = re.match(r"(\d+)–(\d+) of ([\d,]+)", page.locator("#renewals-range").inner_text()).groups()
    return int(lo), int(hi), int(total.replace(",", ""))


def test_filter_page_call_and_export(browser, site_url):  # noqa: F811
    from fastapi.testclient import TestClient

    site, base = site_url
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = Watch(page, base)
    called = None
    try:
        _login(page, base, "manager", site.passwords["manager"], start="/renewals?within=365&size=10")
        page.get_by_role("heading", name="Renewals", exact=True).wait_for()
        # filter by CSM: every row is csm01's, and the count is csm01's renewals in the year
        page.get_by_label("CSM").select_option("csm01")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r".*owner=csm01.*"))
        lo, hi, total = _range(page)
        assert (lo, total) == (1, len(site.renewing["csm01"])) and hi == min(10, total)
        rows = page.locator("tr[data-account]")
        assert [rows.nth(i).get_attribute("data-account") for i in range(rows.count())] == \
            site.renewing["csm01"][:10]
        _shot(page, "10-renewals-csm01")
        # then by month: only that month's group, with its subtotal
        month = page.locator("tbody.month").first.get_attribute("data-month")
        page.get_by_label("Renewal month").select_option(month)
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(rf".*month={month}.*"))
        assert {page.locator("tbody.month").nth(i).get_attribute("data-month")
                for i in range(page.locator("tbody.month").count())} == {month}
        assert page.locator("tr.subtotal").count() == 1
        # page through the team's renewals
        page.goto(base + "/renewals?within=365&size=10")
        _, _, team_total = _range(page)
        if team_total > 10:
            page.get_by_role("link", name="Next →").click()
            page.wait_for_url(re.compile(r".*page=2.*"))
            assert _range(page)[:2] == (11, min(20, team_total))
        # set a forecast category and a next step on one of csm01's renewals
        page.goto(base + "/renewals?within=365&size=10&owner=csm01")
        called = site.renewing["csm01"][0]
        row = page.locator(f"#call-{called}")
        row.get_by_label("Forecast category").select_option("at_risk")
        row.get_by_label("Next step").fill("Exec sponsor call booked")
        row.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        row = page.locator(f"#call-{called}")
        row.locator(".call-by").wait_for()
        assert row.get_by_label("Forecast category").input_value() == "at_risk"
        assert row.get_by_label("Next step").input_value() == "Exec sponsor call booked"
        assert "owner=csm01" in page.url
        _shot(page, "11-renewals-call-set")
        # the CSV is the filtered set (not the page) with the call
        with page.expect_download() as download:
            page.locator("#renewals-csv").click()
        text = open(download.value.path(), encoding="utf-8").read()
        exported = list(csv.DictReader(io.StringIO(text)))
        assert [r["account_id"] for r in exported] == site.renewing["csm01"]
        mine = next(r for r in exported if r["account_id"] == called)
        assert (mine["forecast_category"], mine["next_step"], mine["call_set_by"]) == (
            "at_risk", "Exec sponsor call booked", "manager")
        watch.check()
    finally:
        context.close()
        if called:
            TestClient(site.app, raise_server_exceptions=False).delete(
                f"/api/v1/renewals/{called}/call", headers={"Authorization": f"Bearer {site.tokens['admin']}"})
