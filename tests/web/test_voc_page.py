"""The VoC page (/voc), its API (/api/v1/voc/...) and `tenure metrics compute` give the same NPS
for the same period (and segment); the page shows n, the interval, window and weighting next to
each number; parts not computed yet say so; the programs page is for administrators; the account
page lists each response with its loop status."""

from __future__ import annotations

import html
import json
import re

import pytest
from typer.testing import CliRunner

from tenure.cli import app as cli_app
from tenure.portfolio import voc


def _cli_nps(site, period: str, vs: str, segment: str | None = None) -> dict:
    args = ["metrics", "compute", "nps", "--period", period, "--vs", vs, "--json",
            "--config", str(site.dir / "tenure.yaml")]
    if segment:
        args += ["--by", "segment"]
    res = CliRunner().invoke(cli_app, args)
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    return next(r for r in rows if not segment or r["group"].get("segment") == segment)


def _text(page: str) -> str:
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _tile(page: str, metric: str) -> str:
    m = re.search(rf'<li class="tile" data-metric="{metric}">(.*?)</li>', page, re.S)
    assert m, f"no {metric} tile"
    return _text(m.group(1))


def test_page_api_and_cli_give_the_same_nps(demo_site, login, api):
    wh = demo_site.app.state.ctx.warehouse()
    period = voc.default_period(voc.latest_month(wh))
    before = voc.previous_period(period)
    cli = _cli_nps(demo_site, period.label, before.label)
    got = api.get("/api/v1/voc/scores", params={"period": period.label},
                  headers={"authorization": f"Bearer {demo_site.tokens['cco']}"})
    assert got.status_code == 200, got.text
    nps = next(r for r in got.json()["rows"] if r["metric"] == "nps")
    for k in ("value", "n", "ci_low", "ci_high", "window", "weighting", "previous", "change", "p_value"):
        assert nps[k] == cli[k], k
    page = login("cco").get("/voc", params={"period": period.label})
    assert page.status_code == 200
    tile = _tile(page.text, "nps")
    assert f"{nps['value']:,.1f}" in tile  # as the CLI's table prints it
    assert f"95% interval {nps['ci_low']:,.1f} to {nps['ci_high']:,.1f}" in tile
    assert f"n = {nps['n']:,}" in tile
    assert f"window {nps['window']}" in tile and f"weighting {nps['weighting']}" in tile
    assert f"vs {before.label}" in tile and f"p = {nps['p_value']:.3f}" in tile


def test_one_segment_everywhere(demo_site, login, api):
    wh = demo_site.app.state.ctx.warehouse()
    period = voc.default_period(voc.latest_month(wh))
    segment = voc.segments(wh)[0]
    cli = _cli_nps(demo_site, period.label, voc.previous_period(period).label, segment)
    got = api.get("/api/v1/voc/scores", params={"period": period.label, "segment": segment},
                  headers={"authorization": f"Bearer {demo_site.tokens['csm01']}"}).json()
    nps = next(r for r in got["rows"] if r["metric"] == "nps")
    assert (nps["value"], nps["n"], nps["group"]) == (cli["value"], cli["n"], {"segment": segment})
    page = login("csm01").get("/voc", params={"period": period.label, "segment": segment})
    assert page.status_code == 200 and f"{nps['value']:,.1f}" in _tile(page.text, "nps")
    assert f'<option value="{segment}" selected>' in page.text


def test_the_page_shows_trends_and_says_what_is_missing(login, demo_site):
    page = login("manager").get("/voc")
    assert page.status_code == 200
    text = _text(page.text)
    assert 'class="voc-chart"' in page.text and "<circle" in page.text  # NPS per month, server-drawn
    assert "No CES answers in these 12 months" in text  # not "NA", not a made-up number
    # the demo ranks the themes once (as the worker's job does after a refresh): the largest by ARR shows
    stored = voc.stored_rankings(demo_site.config)
    assert stored and stored["rankings"]["themes"] and stored["rankings"]["themes"][0]["label"] in text
    assert "No themes ranked yet" not in text and voc.RANKING_JOB in text
    assert "Closing the loop" in text and "By Team" in text
    assert "NA" not in re.findall(r"\bNA\b", text)


@pytest.mark.parametrize("query", ["segment=Nowhere", "period=2026-13", "period=0000"])
def test_bad_choices_are_refused_plainly(login, query):
    page = login("cco").get("/voc?" + query)
    assert page.status_code == 422
    assert "segment" in page.text or "period" in page.text


def test_programs_page_is_for_administrators(login):
    assert login("admin").get("/voc/programs").status_code == 200
    for who in ("cco", "manager", "csm01", "viewer"):
        assert login(who).get("/voc/programs").status_code == 403, who


def test_the_account_page_lists_responses_with_their_loop(demo_site, login, api):
    ctx = demo_site.app.state.ctx
    wh = ctx.warehouse()
    r = wh.table("survey_responses")
    account = wh.execute(r.filter(r.score <= 6).select("account_id").limit(1))["account_id"][0]
    page = login("admin").get(f"/accounts/{account}")
    assert page.status_code == 200
    assert 'id="survey-responses"' in page.text
    with ctx.db() as session:
        rows = voc.account_responses(session, wh, account)
    for x in rows:
        assert f'data-response="{x["response_id"]}" data-loop="{x["loop"]}"' in page.text
    got = api.get(f"/api/v1/voc/accounts/{account}/responses",
                  headers={"authorization": f"Bearer {demo_site.tokens['admin']}"})
    assert got.status_code == 200
    assert [(x["response_id"], x["loop"]) for x in got.json()] == [(x["response_id"], x["loop"]) for x in rows]


def test_stored_rankings_on_the_page_and_the_api(writable_site, writable_login):
    """Once the voc-rankings job has stored them, the page lists feature requests and churn reasons
    by ARR (money with its currency) with quotes linked to accounts of the reader's book only, and
    the API returns the same rows."""
    from tenure.portfolio.accounts import owner_of
    from tenure.state.db import session_scope

    config = writable_site.config
    wh = writable_site.app.state.ctx.warehouse()
    with session_scope(config) as session:
        voc.refresh_rankings(config, wh, session, kinds=("feature_requests", "churn_reasons"), corpus_limit=400)
    api = writable_site.api.get("/api/v1/voc/feature-requests", headers=writable_site.auth("csm01")).json()
    assert api["rows"] and api["computed_at"] and api["missing"] is None
    cco = writable_site.api.get("/api/v1/voc/feature-requests", headers=writable_site.auth("cco")).json()
    assert [(r["label"], r["arr"]) for r in cco["rows"]] == [(r["label"], r["arr"]) for r in api["rows"]]  # company-wide
    arrs = [r["arr"] for r in cco["rows"]]
    assert arrs == sorted(arrs, reverse=True) and arrs[0] > 0
    everyone = {q["account_id"] for r in cco["rows"] for q in r["quotes"]}
    page = writable_login("csm01").get("/voc")
    assert page.status_code == 200
    section = re.search(r'<section aria-labelledby="feature_requests-title".*?</section>', page.text, re.S).group(0)
    labels = re.findall(r'<th scope="row">(.*?)</th>', section)
    assert labels == [html.escape(r["label"]) for r in api["rows"]]
    from tenure.formats import money

    assert f'<td class="num">{money(api["rows"][0]["arr"], config.reporting_currency)}</td>' in section
    linked = set(re.findall(r'href="/accounts/([^"]+)"', section))
    assert linked == {q["account_id"] for r in api["rows"] for q in r["quotes"]}
    assert linked == {a for a in everyone if owner_of(wh, a) == "csm01"}  # the book's quotes, all of them
    assert "No themes ranked yet" in _text(page.text)  # the themes were not ranked in this run
    churn = re.search(r'<section aria-labelledby="churn_reasons-title".*?</section>', page.text, re.S).group(0)
    assert "Churned ARR" in churn


def test_the_demo_shows_closed_loops(demo_site, login, api):
    """The demo's survey wave is followed up and about 60% of its detractors' tasks are closed:
    the page shows those closed loops, the same count as GET /voc/loop for the period."""
    wh = demo_site.app.state.ctx.warehouse()
    last = voc.latest_month(wh)
    period = f"{last.year - 1}-{last.month:02d}..{last:%Y-%m}"
    got = api.get("/api/v1/voc/loop", params={"period": period}, headers=demo_site.auth("cco")
                  if hasattr(demo_site, "auth") else {"Authorization": f"Bearer {demo_site.tokens['cco']}"})
    assert got.status_code == 200, got.text
    overall = got.json()["overall"]
    assert overall["closed"] > 0 and overall["closure_rate"] > 0
    page = login("cco").get("/voc", params={"period": period})
    closed = re.search(r'<strong id="loop-closed">([\d,]+)</strong>', page.text).group(1)
    assert int(closed.replace(",", "")) == overall["closed"]
