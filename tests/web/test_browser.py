"""The web app in a real browser: Playwright for Python driving Debian's Chromium (headless) against
Uvicorn serving the demo site on a loopback port. Screenshots go to test-artifacts/browser/.

Flow: log in as the CCO, read the executive page (charts drawn), filter the portfolio, open an
account 360; log in as a CSM, add a note (it appears), try another CSM's account (403 page), log
out. Also: no request leaves the server (no CDN), no console or CSP errors, keyboard skip link,
and the pages at phone width without sideways scrolling."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
HTMX = Path(__file__).resolve().parents[2] / "src" / "tenure" / "web" / "static" / "vendor" / "htmx.min.js"
TIMEOUT_MS = 60_000  # the first executive page computes the metrics (then they are memoized)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serve(app):
    """Uvicorn in a background thread serving `app` (lifespan off: the app's context belongs to
    the fixture that built it)."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def live_url(demo_site):
    """The shared (read-only) demo app, served."""
    with _serve(demo_site.app) as url:
        yield url


@pytest.fixture(scope="module")
def writable_live(module_site):
    """This module's own copy of the demo, served, for flows that write (notes): (url, site, books)."""
    from tenure.portfolio.accounts import AccountFilter, list_accounts

    wh = module_site.app.state.ctx.warehouse()
    books = {owner: [r["account_id"] for r in list_accounts(wh, AccountFilter(owners=[owner]), page_size=500).rows]
             for owner in ("csm01", "csm02", "csm03")}
    with _serve(module_site.app) as url:
        yield url, module_site, books


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; scripts/test installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (scripts/test installs it)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


class Watch:
    """Every request the page makes, and console errors (a CSP violation is one)."""

    def __init__(self, page, base: str):
        self.base, self.requests, self.errors = base, [], []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def check(self) -> None:
        outside = [u for u in self.requests if not (u.startswith(self.base + "/") or u.startswith("data:"))]
        assert not outside, f"requests left the server: {outside}"
        assert not self.errors, f"console errors: {self.errors}"


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _login(page, base: str, username: str, password: str, start: str = "/") -> None:
    page.goto(base + start)
    assert "/login" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(base) + r"/(?!login).*"))


def _logout(page, base: str) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(base + "/login")


def _charts_drawn(page, *ids: str) -> None:
    for chart_id in ids:
        page.wait_for_selector(f"#{chart_id} svg.main-svg", timeout=TIMEOUT_MS)


def test_cco_and_csm_daily_flow(browser, writable_live):
    base, demo_site, books = writable_live  # the flow adds a note: its own copy of the demo
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = Watch(page, base)

    # the CCO logs in and reads the executive page
    _login(page, base, "cco", demo_site.passwords["cco"])
    assert page.url == base + "/"
    page.get_by_role("heading", name="Executive").wait_for()
    _charts_drawn(page, "chart-bridge", "chart-bands", "chart-arr", "chart-retention")
    assert page.locator(".tile").count() == 5
    assert page.get_by_role("heading", name="Top risks by ARR at risk").is_visible()
    _shot(page, "01-executive")

    # filters the portfolio to red accounts, by churn risk
    page.get_by_role("link", name="Portfolio").click()
    page.wait_for_url(base + "/accounts")
    total_before = page.locator(".results-count").inner_text()
    page.get_by_label("Health band").select_option("red")
    if HTMX.exists():  # htmx swaps the results in place and pushes the filtered URL
        assert page.evaluate("() => typeof window.htmx === 'object'")
    else:  # the plain GET form
        page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*band=red.*"))
    page.wait_for_function("() => { const b = [...document.querySelectorAll('#results .band')];"
                           " return b.length > 0 && b.every(e => e.textContent.trim() === 'red'); }")
    assert page.locator(".results-count").inner_text() != total_before
    page.locator("#results thead").get_by_role("link", name=re.compile("Churn risk")).click()
    page.wait_for_url(re.compile(r".*sort=risk.*"))
    assert "band=red" in page.url
    _shot(page, "02-portfolio-red-by-risk")

    # opens an account 360
    first = page.locator("#results tbody th a").first
    name = first.inner_text()
    first.click()
    page.get_by_role("heading", level=1).filter(has_text=name).wait_for()
    for heading in ("Why this risk", "Contacts", "Health history", "Notes", "Timeline"):
        assert page.get_by_role("heading", name=heading, exact=True).is_visible()
    if page.locator("#chart-usage").count():
        _charts_drawn(page, "chart-usage")
    _charts_drawn(page, "chart-health")
    assert page.locator(".timeline li").count() > 0
    _shot(page, "03-account-360")
    _logout(page, base)

    # a CSM logs in, adds a note to its own account
    own, other = books["csm01"][0], books["csm02"][0]
    _login(page, base, "csm01", demo_site.passwords["csm01"], start=f"/accounts/{own}")
    assert page.url == f"{base}/accounts/{own}"
    note = f"Browser test note {time.time():.0f}: QBR booked with the sponsor"
    page.get_by_label("Add a note").fill(note)
    page.get_by_role("button", name="Save note").click()
    page.locator("#notes .note").filter(has_text=note).wait_for()
    _shot(page, "04-note-added")
    page.reload()
    assert page.locator("#notes .note").filter(has_text=note).count() == 1  # stored, shown once

    # tries another CSM's account: a 403 page
    response = page.goto(f"{base}/accounts/{other}")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    assert "book of business" in page.locator(".detail").inner_text()
    _shot(page, "05-forbidden")
    watch.errors = [e for e in watch.errors if "403" not in e]  # the browser logs the 403 itself

    # logs out: pages ask for a login again
    page.goto(base + "/cockpit")
    _shot(page, "06-cockpit")
    _logout(page, base)
    page.goto(base + "/cockpit")
    assert "/login?next=%2Fcockpit" in page.url
    watch.check()
    context.close()


def test_keyboard_skip_link_and_focus(browser, live_url, demo_site):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    _login(page, live_url, "viewer", demo_site.passwords["viewer"], start="/renewals")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"
    # every form control has a label
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)""")
    assert unlabelled == []
    context.close()


@pytest.mark.parametrize("path", ["/", "/accounts", "/account", "/cockpit", "/renewals", "/data"])
def test_pages_fit_a_phone(browser, live_url, demo_site, books, path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = Watch(page, live_url)
    target = f"/accounts/{books['csm01'][0]}" if path == "/account" else path
    _login(page, live_url, "cco", demo_site.passwords["cco"], start=target)
    page.wait_for_load_state("networkidle")
    if path == "/":
        _charts_drawn(page, "chart-bridge")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{target} scrolls sideways by {overflow}px at phone width"
    assert page.get_by_role("navigation", name="Main").is_visible()
    _shot(page, f"phone-{path.strip('/') or 'executive'}")
    watch.check()
    context.close()


def test_everything_works_without_javascript(browser, writable_live):
    """Progressive enhancement: with JavaScript off (so no htmx, no charts) a CSM still logs in,
    filters its portfolio, adds a note and logs out; charts fall back to their data tables."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    base, demo_site, books = writable_live  # adds a note: its own copy of the demo
    _login(page, base, "csm02", demo_site.passwords["csm02"], start="/accounts")
    page.get_by_label("Segment").select_option("Enterprise")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*segment=Enterprise.*"))
    heads = [h.strip() for h in page.locator("#results thead th").all_inner_texts()]
    column = next(i for i, h in enumerate(heads, start=1) if h.startswith("Segment"))  # found by its header
    cells = page.locator(f"#results tbody td:nth-child({column})").all_inner_texts()
    assert cells and set(cells) <= {"Enterprise"}
    own = books["csm02"][1]
    page.goto(f"{base}/accounts/{own}")
    note = f"No-JS note {time.time():.0f}"
    page.get_by_label("Add a note").fill(note)
    page.get_by_role("button", name="Save note").click()
    page.wait_for_url(f"{base}/accounts/{own}#notes")
    assert page.locator("#notes .note").filter(has_text=note).count() == 1
    page.goto(base + "/")
    page.get_by_text("Bridge table").click()
    assert page.locator("details table").first.is_visible()
    _shot(page, "07-no-javascript")
    _logout(page, base)
    context.close()


def test_htmx_filter_after_logout_elsewhere_lands_on_login(browser, live_url, demo_site):
    if not HTMX.exists():
        pytest.skip("htmx is not installed (scripts/_env.sh fetches it)")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    _login(page, live_url, "viewer", demo_site.passwords["viewer"], start="/accounts")
    context.clear_cookies()  # the session is gone (expired, or logged out in another tab)
    page.get_by_label("Health band").select_option("green")
    page.wait_for_url(re.compile(r".*/login\?next=.*band%3Dgreen.*"))
    assert page.get_by_role("heading", name="Log in to tenure").is_visible()
    assert page.locator("#results").count() == 0  # the login page replaced the page, not a fragment
    context.close()


def _visible_in_viewport(page, locator) -> bool:
    """The element is displayed and its whole box lies within the viewport's width and within
    every scrolling ancestor's visible area (a table cut off by its wrapper counts as hidden)."""
    return page.evaluate("""(el) => {
        if (!el || el.offsetParent === null) return false;
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.left < 0 || r.right > window.innerWidth + 0.5) return false;
        for (let p = el.parentElement; p; p = p.parentElement) {
            const s = getComputedStyle(p);
            if (/(auto|scroll|hidden)/.test(s.overflowX)) {
                const b = p.getBoundingClientRect();
                if (r.left < b.left - 0.5 || r.right > b.right + 0.5) return false;
            }
        }
        return true;
    }""", locator.element_handle())


def test_cockpit_counts_every_row_and_shows_every_column_at_1400px(browser, live_url, demo_site):
    """The cockpit's headings count every row in the data (not a capped list) and, 1,400 px wide,
    every column of the renewal lists is on screen (the renewal probability was cut off)."""
    from tenure.portfolio.cockpit import changes_since
    from tenure.portfolio.renewals import renewal_totals

    wh = demo_site.app.state.ctx.warehouse()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = Watch(page, live_url)
    _login(page, live_url, "cco", demo_site.passwords["cco"], start="/cockpit")
    expected = {"r90-title": renewal_totals(wh, None, 90)["accounts"],
                "r180-title": renewal_totals(wh, None, 180, after_days=91)["accounts"],
                "changes-title": changes_since(wh, None, days=7, limit=1).total}
    assert expected["r90-title"] + expected["r180-title"] > 0
    for heading, n in expected.items():
        text = page.locator(f"#{heading}").inner_text()
        assert re.search(rf"\({n:,}\)$|\({n}\)$", text), (text, n)
    shown = page.locator("section[aria-labelledby=r180-title] tbody tr").count()
    assert shown == min(expected["r180-title"], 100)
    for section in ("r90-title", "r180-title"):
        headers = page.locator(f"section[aria-labelledby={section}] thead th")
        if not headers.count():
            continue
        for i in range(headers.count()):
            assert _visible_in_viewport(page, headers.nth(i)), (section, headers.nth(i).inner_text())
        assert "Renewal probability" in headers.all_inner_texts()
    _shot(page, "08-cockpit-1400")
    watch.check()
    context.close()


@pytest.mark.parametrize(("path", "table", "keep", "drop"), [
    ("/", "section[aria-labelledby=risks-title] table", ("Churn risk", "ARR at risk"), ("Segment", "CSM")),
    ("/accounts", "#results table", ("Churn risk", "Renewal"), ("Segment", "CSM", "Trend (30 d)")),
])
def test_phone_keeps_the_columns_that_matter(browser, live_url, demo_site, path, table, keep, drop):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    _login(page, live_url, "cco", demo_site.passwords["cco"], start=path)
    page.wait_for_load_state("networkidle")
    headers = page.locator(f"{table} thead th")
    by_label = {re.sub(r"\s*[↓↑]$", "", headers.nth(i).text_content().strip()): headers.nth(i)
                for i in range(headers.count())}
    for label in keep:
        assert _visible_in_viewport(page, by_label[label]), f"{path}: {label} is not on screen at 390 px"
    for label in drop:
        assert not by_label[label].is_visible(), f"{path}: {label} still takes room at 390 px"
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{path} scrolls sideways by {overflow}px"
    _shot(page, f"phone-columns-{path.strip('/') or 'executive'}")
    context.close()
