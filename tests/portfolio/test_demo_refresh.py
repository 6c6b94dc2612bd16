"""Refresh on the demo company (DuckDB, 240 accounts, built once per run: `demo_site` to read,
`writable_site` to write): every account summarized, risk stored, idempotent; `tenure risk
predict` stores its predictions."""

from __future__ import annotations

import json

import pytest

from tenure.portfolio import cockpit as Q
from tenure.portfolio.steps import refresh
from tenure.portfolio.summary import band_renewal_table
from tenure.warehouse.asof import latest_event_day


@pytest.fixture
def site_wh(demo_site):
    """The shared demo warehouse, read only (the server's connection on the published snapshot)."""
    return demo_site.app.state.ctx.warehouse()


@pytest.fixture
def writable_wh(writable_site):
    """This test's own copy of the demo, for writing: its server's write session (the project
    write lock; what was written is published to that server's readers when the test ends)."""
    with writable_site.app.state.ctx.writing() as wh:
        yield wh


def _snapshot(wh):
    summary = wh.execute(wh.table("account_summary").order_by("account_id"))
    risk = wh.execute(wh.table("risk_scores").order_by("account_id", "as_of"))
    return summary, risk


def test_demo_ends_with_a_full_summary(demo_site, site_wh):
    wh = site_wh
    done = demo_site.summary["compute"]["portfolio"]["refresh"]
    day = latest_event_day(wh)
    assert done["as_of"] == day and done["accounts"] == wh.count("accounts") == 240
    assert done["risk_accounts"] == done["health_accounts"] > 0
    summary, risk = _snapshot(wh)
    customers = summary[summary.status == "customer"]
    assert len(customers) == done["health_accounts"]
    assert customers.risk.notna().all() and customers.band.notna().all()  # every customer scored and at risk
    assert (customers.arr.astype(float) > 0).all()
    assert (summary[summary.status != "customer"].arr.astype(float) == 0).all()
    assert set(summary.status) <= {"customer", "churned", "prospect"}
    assert (risk[risk.as_of.astype(str).str[:10] == str(day)].shape[0]) == done["risk_accounts"]
    # new customers are in their own band while they onboard (tenure.health.onboarding), never red
    assert [b["band"] for b in band_renewal_table(wh)] in (["green", "yellow", "red"],
                                                          ["green", "yellow", "red", "onboarding"])
    days = {r["as_of"] for r in Q.band_distribution(wh)}
    assert len(days) == 13  # the as-of day and every 30 days back for a year
    # the 30-days-ago comparison is there for customers scored then
    assert customers.band_30.notna().mean() > 0.8


def test_demo_scores_as_of_the_last_day_of_data(demo_site, site_wh):
    """The one "as of": the end of the simulated period (2026-10-31), not the newest contract
    start (2026-10-01), for the stored health, risk and summary alike."""
    from datetime import date

    from tenure.metrics.periods import to_date

    wh = site_wh
    day = demo_site.summary["compute"]["portfolio"]["refresh"]["as_of"]
    assert day > to_date(wh.execute(wh.table("contract_lines").start_date.max()))
    assert date(2026, 10, 25) <= day <= date(2026, 10, 31)
    for table in ("health_scores", "risk_scores", "account_summary"):
        assert to_date(wh.execute(wh.table(table).as_of.max())) == day


def test_refresh_twice_changes_nothing(writable_site, writable_wh):
    wh = writable_wh
    before = _snapshot(wh)
    result = refresh(wh, writable_site.config)
    assert result["run"]["steps_run"] == 0 and len(result["skipped"]) == 7  # no input changed: every step skipped
    after = _snapshot(wh)
    assert before[0].equals(after[0]) and before[1].equals(after[1])


def test_risk_predict_stores_predictions(writable_site, writable_wh):
    from typer.testing import CliRunner

    from tenure.cli import app

    wh = writable_wh
    day = latest_event_day(wh)
    before = wh.execute(wh.table("risk_scores").order_by("account_id", "as_of"))
    wh.raw_sql(f"DELETE FROM risk_scores WHERE as_of = DATE '{day}'")
    res = CliRunner().invoke(app, ["risk", "predict", "--json", "--config", str(writable_site.dir / "tenure.yaml")])
    assert res.exit_code == 0, res.output
    printed = json.loads(res.output)
    after = wh.execute(wh.table("risk_scores").order_by("account_id", "as_of"))
    assert len(after) == len(before) and len(printed["accounts"]) == int((after.as_of.astype(str).str[:10]
                                                                           == str(day)).sum())
    assert after.probability.round(9).equals(before.probability.round(9))
