"""Pages a CCO would use (issue 10), over HTTP on the shared demo site (read only): money with its
currency in compact units, deltas against the prior period, total rows, a labelled ARR bridge,
CSMs by name, churn reasons, the account 360's paged timeline, weekly usage and header, the
portfolio's choices, totals and ARR at risk, the data page's freshness; and the same figure on
two pages agreeing."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest

from tenure.web.render import money, money_exact, pct_points, when


def _json_block(text: str, block_id: str) -> dict:
    raw = re.search(rf'<script type="application/json" id="{block_id}"[^>]*>(.*?)</script>', text, re.S).group(1)
    return json.loads(raw)


def _section(text: str, title_id: str) -> str:
    return re.search(rf'<section[^>]*aria-labelledby="{title_id}".*?</section>', text, re.S).group(0)


# -- the one money formatter ---------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "currency", "shown"), [
    (0, "USD", "$0"), (980, "USD", "$980"), (1_234, "USD", "$1.2k"), (12_345, "EUR", "€12.3k"),
    (340_000, "EUR", "€340k"), (999_960, "USD", "$1M"), (1_200_000, "USD", "$1.2M"), (123_400_000, "GBP", "£123M"),
    (2_500_000_000, "USD", "$2.5B"), (-1_500, "USD", "-$1.5k"), (5_000, "PLN", "PLN 5k"), (None, "USD", "–"),
])
def test_money_has_its_currency_in_compact_units(value, currency, shown):
    assert money(value, currency) == shown


def test_money_deltas_exact_amounts_points_and_times():
    assert money(1_500, "USD", sign=True) == "+$1.5k" and money(-1_500, "USD", sign=True) == "-$1.5k"
    assert money_exact(1_234_567.4, "EUR") == "€1,234,567"
    assert pct_points(0.0123) == "+1.2 pp" and pct_points(-0.05) == "-5.0 pp"
    assert when("2026-11-30T14:05:09+00:00") == "2026-11-30 14:05 UTC"
    assert when("not a time") == "not a time" and when(None) == "–"


# -- executive -------------------------------------------------------------------------------------------

def test_executive_tiles_show_money_with_currency_and_deltas_against_the_prior_period(login, demo_site):
    from tenure.metrics.compute import compute
    from tenure.metrics.periods import parse_period
    from tenure.metrics.periods import previous_period as prior_period
    from tenure.web.executive import latest_month, period_choices

    ctx = demo_site.app.state.ctx
    quarter = period_choices(latest_month(ctx, ctx.warehouse()))[1][1]
    page = html.unescape(login("cco").get(f"/?period={quarter}").text)
    tiles = re.search(r'<ul class="tiles">.*?</ul>', page, re.S).group(0)
    before = prior_period(parse_period(quarter))
    assert before.label == f"{int(quarter[:4]) - (quarter[-1] == '1')}-Q{(int(quarter[-1]) - 2) % 4 + 1}"
    arr_now = compute(ctx.warehouse(), demo_site.config, "arr", quarter)[0]["value"]
    arr_then = compute(ctx.warehouse(), demo_site.config, "arr", before)[0]["value"]
    assert money(arr_now, "USD") in tiles and money(float(arr_now) - float(arr_then), "USD", sign=True) in tiles
    grr_now = compute(ctx.warehouse(), demo_site.config, "grr", quarter)[0]["value"]
    grr_then = compute(ctx.warehouse(), demo_site.config, "grr", before)[0]["value"]
    assert pct_points(float(grr_now) - float(grr_then)) in tiles
    assert tiles.count(f"vs {before.label}") == 5


def test_executive_bridge_bars_are_labelled_and_have_a_total(login, demo_site):
    page = login("cco").get("/").text
    fig = _json_block(page, "chart-bridge-data")
    bars = fig["data"][0]
    assert bars["x"] == ["Opening", "New", "Reactivation", "Expansion", "Contraction", "Churn", "Closing"]
    assert len(bars["text"]) == 7 and all(t.startswith(("$", "+$", "-$")) for t in bars["text"])
    low, high = fig["layout"]["yaxis"]["range"]
    # the value axis spans the bridge's own movement, not zero to the closing ARR
    levels, level = [bars["y"][0]], bars["y"][0]
    for v in bars["y"][1:6]:
        level += v
        levels.append(level)
    spread = max(max(levels) - min(levels), *(abs(v) for v in bars["y"][1:6]))
    assert 0 <= low <= min(levels) and high >= max(levels) and high - low <= 2 * spread
    # monthly retention moves by tenths of a percent: whole-percent ticks repeated themselves (99%, 99%, 100%)
    assert _json_block(page, "chart-retention-data")["layout"]["yaxis"]["tickformat"] == ".1%"
    table = re.search(r"<summary>Bridge table</summary>.*?</table>", page, re.S).group(0)
    assert '<tr class="total"><th scope="row">Total</th>' in table


def test_executive_shows_churned_arr_by_reason_adding_up_to_the_bridge(login, demo_site):
    from tenure.metrics.compute import bridge_rows
    from tenure.metrics.periods import parse_period
    from tenure.portfolio.churn import churn_by_reason
    from tenure.web.executive import latest_month, period_choices

    ctx = demo_site.app.state.ctx
    wh = ctx.warehouse()
    t12 = period_choices(latest_month(ctx, wh))[0][1]
    reasons = churn_by_reason(wh, demo_site.config, parse_period(t12))
    churn = float(bridge_rows(wh, demo_site.config, parse_period(t12))[0]["churn"])
    assert reasons and sum(r["arr"] for r in reasons) == pytest.approx(churn)
    section = html.unescape(_section(login("cco").get("/").text, "churn-title"))
    for r in reasons:
        assert r["reason"].replace("_", " ") in section
    assert f"{money(churn, 'USD')}</td>" in section.split("Total (the bridge's churn)")[1]


def test_csms_are_shown_by_name(login, demo_site, books):
    from tenure.portfolio.accounts import owner_names

    names = owner_names(demo_site.app.state.ctx.warehouse())
    assert names and all(not re.fullmatch(r"csm\d+", n) for n in names.values())
    exec_page = login("cco").get("/").text
    risks = _section(exec_page, "risks-title")
    assert not re.search(r"<td[^>]*>csm\d+</td>", risks)
    assert any(n in risks for n in names.values())
    csm_page = login("csm01").get("/").text
    assert names["csm01"] in _section(csm_page, "groups-title")
    portfolio = login("cco").get("/accounts").text
    assert names["csm01"] in portfolio and not re.search(r"<td[^>]*>csm\d+</td>", portfolio)
    account = login("csm01").get(f"/accounts/{books['csm01'][0]}").text
    assert f">{names['csm01']}</span>" in account


# -- portfolio -------------------------------------------------------------------------------------------

def _options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select id="{name}" name="{name}">(.*?)</select>', page, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"', select)


def test_portfolio_filters_are_choices_from_the_data(login, demo_site):
    from tenure.portfolio.accounts import choices

    page = login("cco").get("/accounts").text
    data = choices(demo_site.app.state.ctx.warehouse())
    assert _options(page, "region") == ["", *data["region"]] and len(data["region"]) > 1
    assert _options(page, "tier") == ["", *data["tier"]]
    assert _options(page, "owner") == ["", *[o for o, _ in data["owner"]]]
    mine = login("csm01").get("/accounts").text
    assert 'id="owner"' not in mine  # one CSM's book: nothing to choose
    picked = login("cco").get(f"/accounts?region={data['region'][0]}").text
    assert re.search(rf'<option value="{re.escape(data["region"][0])}" selected>', picked)


def test_portfolio_search_ignores_case(login, books):
    c = login("cco")
    name = re.search(r'<th scope="row"><a href="/accounts/[^"]+">([^<]+)</a>', c.get("/accounts").text).group(1)
    word = html.unescape(name).split()[0]
    counts = {re.search(r'class="results-count">([\d,]+) account', c.get("/accounts", params={"q": q}).text).group(1)
              for q in (word.upper(), word.lower(), word)}
    assert len(counts) == 1 and counts != {"0"}


def test_portfolio_totals_cover_every_matching_account_and_agree_with_the_export(login):
    c = login("cco")
    page = c.get("/accounts?segment=SMB&size=25").text
    rows = list(csv.DictReader(io.StringIO(c.get("/accounts.csv?segment=SMB").text)))
    assert len(rows) > 25  # more than one page ...
    arr = sum(float(r["arr"]) for r in rows)
    at_risk = sum(float(r["arr_at_risk"]) for r in rows if r["arr_at_risk"])
    assert at_risk > 0 and all(r["owner_name"] for r in rows)
    for r in rows[:20]:
        if r["risk"]:
            assert float(r["arr_at_risk"]) == pytest.approx(float(r["arr"]) * float(r["risk"]), rel=1e-9)
    # ... and the totals are of all of them
    assert f'class="total-arr" title="{money_exact(arr, "USD")}"' in page
    assert f'class="total-arr-at-risk" title="{money_exact(at_risk, "USD")}"' in page
    assert re.search(r'<a href="[^"]*sort=arr_at_risk[^"]*">ARR at risk</a>', html.unescape(page))


def test_executive_and_portfolio_agree_on_the_top_risks_arr_at_risk(login):
    c = login("cco")
    risks = _section(c.get("/").text, "risks-title")
    first = re.search(r'href="/accounts/([^"]+)"', risks).group(1)
    row = re.search(rf'href="/accounts/{first}".*?</tr>', risks, re.S).group(0)
    cells = re.findall(r'<td class="num key">([^<]*)</td>', row)
    portfolio = c.get("/accounts?sort=arr_at_risk&order=desc&size=25").text.split('id="results"')[1]
    prow = re.search(r"<tbody>\s*<tr>.*?</tr>", portfolio, re.S).group(0)
    assert f'href="/accounts/{first}"' in prow
    assert re.findall(r'<td class="num key">([^<]*)</td>', prow)[0] == cells[0]  # churn risk
    assert re.findall(r'<td class="num opt">([^<]*)</td>', prow)[-1] == cells[1]  # ARR at risk


# -- account 360 -----------------------------------------------------------------------------------------

def _busiest(login, books) -> tuple:
    """The csm01 account with the longest timeline."""
    from tenure.portfolio.account360 import timeline_page

    c = login("csm01")
    wh = c.app.state.ctx.warehouse()
    best = max(books["csm01"][:15], key=lambda a: timeline_page(wh, a, page_size=1).total)
    return c, best, timeline_page(wh, best, page_size=1).total


def test_account_timeline_is_paged_with_and_without_htmx(login, books):
    c, account, total = _busiest(login, books)
    assert total > 25
    first = c.get(f"/accounts/{account}").text
    items = re.findall(r'<li class="tl tl-', first)
    assert len(items) == 25 and f"page 1 of {-(-total // 25)}" in first
    assert f'href="/accounts/{account}?page=2#timeline"' in first and 'rel="next"' in first
    second = c.get(f"/accounts/{account}?page=2").text
    assert 'rel="prev"' in second
    times = lambda t: re.findall(r'<li class="tl tl-\w+"><time datetime="([^"]+)"', t)  # noqa: E731
    assert times(first)[-1] >= times(second)[0]  # newest first, across pages
    fragment = c.get(f"/accounts/{account}?page=2", headers={"HX-Request": "true", "HX-Target": "timeline"})
    assert fragment.text.lstrip().startswith('<section id="timeline"') and "<html" not in fragment.text
    assert times(fragment.text) == times(second)
    assert 'hx-get="/accounts/' in first and 'hx-target="#timeline"' in first
    assert c.get(f"/accounts/{account}?kind=nonsense").status_code == 422
    past = c.get(f"/accounts/{account}?page=999")
    assert past.status_code == 200 and "There is no page 999" in past.text


def test_account_usage_is_one_weekly_series_and_the_header_has_touch_and_renewal(login, books, demo_site):
    from tenure.portfolio.account360 import get_account

    c = login("csm01")
    wh = demo_site.app.state.ctx.warehouse()
    shown = 0
    for account in books["csm01"][:6]:
        page = c.get(f"/accounts/{account}").text
        a = get_account(wh, account)
        head = re.search(r'<dl class="facts">.*?</dl>', page, re.S).group(0)
        renewal = re.search(r'<dd class="next-renewal">(.*?)</dd>', head, re.S).group(1)
        if a["renewal_date"]:
            assert a["renewal_date"].isoformat() in renewal
        else:
            assert a["renewal_term"] and a["renewal_term"] in renewal
        touch = re.search(r'<dd class="last-touch">(.*?)</dd>', head, re.S).group(1)
        assert (a["last_touch"]["at"].date().isoformat() in touch) if a["last_touch"] else "none on record" in touch
        if 'id="chart-usage-data"' in page:
            fig = _json_block(page, "chart-usage-data")
            assert len(fig["data"]) == 1 and fig["data"][0]["type"] == "bar" and "yaxis2" not in fig["layout"]
            assert len(fig["data"][0]["x"]) == 26
            shown += 1
    assert shown


# -- data page --------------------------------------------------------------------------------------------

def test_data_page_shows_freshness_per_source_formatted_and_no_decided_date(login, demo_site):
    from tenure.portfolio.freshness import freshness

    page = html.unescape(login("admin").get("/data").text)
    fresh = _section(page, "fresh-title")
    for f in freshness(demo_site.app.state.ctx.warehouse()):
        assert f"<th scope=\"row\">{f['source']}</th><td>{f['entity']}</td><td class=\"num\">{f['rows']:,}</td>" in fresh
    assert " UTC</td>" in fresh
    runs = _section(page, "runs-title")
    assert re.search(r"<td>\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC</td>", runs)
    assert not re.search(r'<td class="num">\d{4,}</td>', runs)  # thousands separated
    assert "Decided" not in _section(page, "id-title")


def test_the_api_and_the_portfolio_agree_on_arr_at_risk(login, api, auth):
    rows = list(csv.DictReader(io.StringIO(login("cco").get("/accounts.csv?sort=risk&order=desc").text)))
    by_id = {r["account_id"]: float(r["arr_at_risk"]) for r in rows if r["arr_at_risk"]}
    got = api.get("/api/v1/risk/predictions?page_size=50", headers=auth("cco")).json()["items"]
    assert got
    for item in got:
        assert item["arr_at_risk"] == pytest.approx(by_id[item["account_id"]], rel=1e-9)
