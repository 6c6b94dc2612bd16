"""The playbooks and capacity pages in Chromium (headless, as tests/web/test_browser.py drives it)
at laptop (1,400 px) and phone (390 px) widths: no sideways scrolling, no console or CSP errors,
nothing loaded from another host, the main navigation links to both pages. Screenshots go to
test-artifacts/browser/."""

from __future__ import annotations

import pytest

from tests.web.test_browser import TIMEOUT_MS, Watch, _login, _shot, browser, live_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

WIDTHS = {"laptop": dict(viewport={"width": 1400, "height": 900}),
          "phone": dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                        has_touch=True)}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_playbooks_and_capacity_fit_laptop_and_phone(browser, live_url, demo_site, width):  # noqa: F811
    context = browser.new_context(**WIDTHS[width])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = Watch(page, live_url)
    _login(page, live_url, "cco", demo_site.passwords["cco"], start="/playbooks")
    for path, heading, key in (("/playbooks", "Playbooks", "Messages"), ("/playbooks/at-risk-save", "At-risk save", "Detail"),
                               ("/capacity", "Team capacity", "Used")):
        if page.url != live_url + path:
            page.goto(live_url + path)
        page.wait_for_load_state("networkidle")
        assert page.get_by_role("heading", level=1, name=heading).is_visible()
        nav = page.get_by_role("navigation", name="Main")
        assert nav.get_by_role("link", name="Playbooks").count() == 1
        assert nav.get_by_role("link", name="Capacity").count() == 1
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at {width} width"
        # the column that matters is on screen without scrolling the table (the others give way on a phone)
        box = page.get_by_role("columnheader", name=key, exact=True).first.bounding_box()
        assert box and box["x"] + box["width"] <= page.viewport_size["width"] + 1, f"{path}: {key} is off screen"
        _shot(page, f"{width}-{path.strip('/').replace('/', '-')}")
    watch.check()
    context.close()
