"""The VoC page in a real browser (Playwright on Debian's Chromium, headless) at laptop and phone
width: it renders its scores and server-drawn SVG trend, nothing scrolls sideways, no request leaves
the server, and there are no console or CSP errors. Also the account page's survey panel at phone width."""

from __future__ import annotations

import pytest

from tests.web.test_browser import TIMEOUT_MS, Watch, _login, _shot, browser, live_url  # noqa: F401

pytestmark = pytest.mark.browser

WIDTHS = {"laptop": (1366, 900), "phone": (390, 844)}
PHONE = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}  # as test_browser's phone pages


def _overflow(page) -> int:
    """How far the page is wider than the window (0 when nothing scrolls sideways)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("width", list(WIDTHS))
def test_voc_page_fits_laptop_and_phone(browser, live_url, demo_site, width):  # noqa: F811
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, **(PHONE if width == "phone" else {}))
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = Watch(page, live_url)
    try:
        _login(page, live_url, "cco", demo_site.passwords["cco"], start="/voc")
        page.get_by_role("heading", name="Voice of the customer", exact=True).wait_for()
        assert page.locator('#voc-scores [data-metric="nps"] .tile-value').inner_text().strip()
        assert page.locator("#trend-nps svg.voc-chart circle").count() > 0
        assert page.get_by_role("heading", name="Closing the loop").is_visible()
        assert _overflow(page) <= 1, f"the VoC page scrolls sideways at {w}px"
        _shot(page, f"voc-{width}")
        # pick a segment: the form reloads the page with it
        segment = page.locator("#voc-segment option").nth(1).get_attribute("value")
        page.get_by_label("Segment", exact=True).select_option(segment)
        if page.url.find("segment=") < 0:
            page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**segment={segment}**")
        assert _overflow(page) <= 1
        # an account's survey responses, with their loop status
        link = page.locator("#feature-requests a, #themes a").first
        if not link.count():
            page.goto(live_url + "/accounts")
            link = page.locator("#results tbody th a").first
        link.click()
        page.locator("#survey-responses").wait_for()
        assert _overflow(page) <= 1, f"the account page scrolls sideways at {w}px"
        watch.check()
    finally:
        context.close()


def test_voc_page_without_javascript(browser, live_url, demo_site):  # noqa: F811
    """The trend is drawn on the server and the selectors are a plain GET form: with JavaScript off
    the page shows the same chart and a segment is chosen with the Show button."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        _login(page, live_url, "csm01", demo_site.passwords["csm01"], start="/voc")
        assert page.locator("#trend-nps svg.voc-chart circle").count() > 0
        segment = page.locator("#voc-segment option").nth(1).get_attribute("value")
        page.get_by_label("Segment", exact=True).select_option(segment)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**segment={segment}**")
        assert page.locator('#voc-scores [data-metric="nps"]').count() == 1
    finally:
        context.close()
