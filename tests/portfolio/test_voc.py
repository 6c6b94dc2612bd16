"""The VoC read model (tenure.portfolio.voc): its scores are the metrics layer's rows (no second
definition), the monthly trend compares each month with the one before, stored rankings keep
quotes to the reader's book, and a part not computed yet is reported as missing, never as a number."""

from __future__ import annotations

from datetime import date

import pytest

from tenure.metrics.compute import compare, compute
from tenure.metrics.periods import Period, parse_period
from tenure.portfolio import voc


@pytest.mark.parametrize("label,before", [("2026-09", "2026-08"), ("2026-01", "2025-12"), ("2026-Q1", "2025-Q4"),
                                          ("2026", "2025"), ("2025-11..2026-10", "2024-11..2025-10"),
                                          ("2026-03..2026-04", "2026-01..2026-02")])
def test_previous_period_is_the_same_length_just_before(label, before):
    p = voc.previous_period(parse_period(label))
    assert p.label == before
    assert p.last_day == date.fromordinal(parse_period(label).first_day.toordinal() - 1)


def _periods(wh):
    last = voc.latest_month(wh)
    return last, voc.default_period(last)


def test_scores_are_the_rows_of_metrics_compare(demo_site):
    wh, config = demo_site.app.state.ctx.warehouse(), demo_site.config
    _, period = _periods(wh)
    before = voc.previous_period(period)
    rows = {r["metric"]: r for r in voc.scores(wh, config, period)}
    assert list(rows) == list(voc.SCORE_METRICS)
    for metric, row in rows.items():
        expected = compare(wh, config, metric, period, before)[0]
        assert {k: row[k] for k in expected} == expected, metric
        assert row["previous_period"] == before.label
    nps = rows["nps"]
    assert nps["n"] > 0 and nps["ci_low"] < nps["value"] < nps["ci_high"]
    assert nps["window"] == period.label and nps["weighting"] == config.metrics.surveys.weighting
    # a survey nobody answered is n = 0 with no value (the page says "no answers"), never an error
    assert rows["ces"]["n"] == 0 and rows["ces"]["value"] is None


def test_a_segments_score_is_its_row_of_the_breakdown(demo_site):
    wh, config = demo_site.app.state.ctx.warehouse(), demo_site.config
    _, period = _periods(wh)
    segments = voc.segments(wh)
    assert segments
    by_segment = {r["group"]["segment"]: r for r in compute(wh, config, "nps", period, ["segment"])}
    for s in segments:
        row = voc.score(wh, config, "nps", period, s)
        assert row["group"] == {"segment": s}
        if s in by_segment:
            assert row["value"] == by_segment[s]["value"] and row["n"] == by_segment[s]["n"]
        else:
            assert row["n"] == 0 and row["value"] is None


def test_trend_is_twelve_months_each_against_the_month_before(demo_site):
    wh, config = demo_site.app.state.ctx.warehouse(), demo_site.config
    last, _ = _periods(wh)
    rows = voc.trend(wh, config, "nps", last)
    assert len(rows) == voc.TREND_MONTHS and rows[-1]["period"] == f"{last:%Y-%m}"
    assert [r["previous_period"] for r in rows[1:]] == [r["period"] for r in rows[:-1]]
    answered = [r for r in rows if r["n"]]
    assert answered, "the demo's NPS waves fall in the last 12 months"
    for r in answered:
        expected = compute(wh, config, "nps", r["period"])[0]
        assert (r["value"], r["n"], r["ci_low"], r["ci_high"]) == (expected["value"], expected["n"],
                                                                  expected["ci_low"], expected["ci_high"])
    for before, r in zip(rows, rows[1:]):
        if before["n"] and r["n"]:
            assert r["change"] == r["value"] - before["value"] and r["p_value"] is not None
        else:
            assert r["change"] is None
    # a survey kind nobody runs: twelve empty months, no value made up
    assert all(r["n"] == 0 and r["value"] is None for r in voc.trend(wh, config, "ces", last))


def test_rankings_missing_until_the_job_stores_them(writable_site):
    wh, config = writable_site.app.state.ctx.warehouse(), writable_site.config
    for kind in ("themes", "feature_requests", "churn_reasons"):  # the demo stores them
        got = voc.ranked(wh, config, kind)
        assert not isinstance(got, voc.Missing) and got["rows"], kind
    voc.rankings_path(config).unlink()
    for kind in ("themes", "feature_requests", "churn_reasons"):
        got = voc.ranked(wh, config, kind)
        assert isinstance(got, voc.Missing) and voc.RANKING_JOB in got.how


def test_account_responses_carry_their_loop_status(demo_site):
    ctx = demo_site.app.state.ctx
    wh = ctx.warehouse()
    r = wh.table("survey_responses")
    account = wh.execute(r.filter(r.score <= 6).select("account_id").limit(1))["account_id"][0]
    with ctx.db() as session:
        rows = voc.account_responses(session, wh, account)
    assert rows and all(x["kind"] for x in rows)
    at = [x["responded_at"] for x in rows]
    assert at == sorted(at, reverse=True)
    for x in rows:
        if x["kind"] == "nps" and x["score"] <= 6:
            assert x["loop"] in ("open", "closed", "overdue", "none")
        elif x["kind"] == "nps":
            assert x["loop"] == "not needed"


def test_period_helpers_take_any_length():
    p = Period("x", date(2026, 1, 1), date(2026, 6, 30))
    assert voc.previous_period(p).label == "2025-07..2025-12"


def test_the_rankings_job_runs_after_each_refresh(demo_site):
    from tenure.workers import worker_registry

    registry = worker_registry()
    assert voc.RANKING_JOB in registry.names()
    job = next(j for j in registry.jobs(demo_site.config) if j.name == voc.RANKING_JOB)
    assert job.schedule.after_refresh and job.enabled
