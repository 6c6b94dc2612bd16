"""Survey scores as metrics (nps, csat, ces): the published arithmetic, the intervals against an
independent computation, the weighting modes and the window, on DuckDB and PostgreSQL."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from tenure.config import SurveyMetricSettings
from tenure.ingest.pipeline import ingest_table
from tenure.metrics.compute import compare, compute, survey_metric_rows
from tenure.metrics.periods import parse_period
from tenure.metrics.registry import get_metric
from tenure.metrics.surveys import bootstrap_interval, nps_interval, wilson_interval

from .conftest import load, make_config

Z = 1.959963984540054


def responses(wh, config, rows):
    """rows: (response_id, account_id, contact_id|None, kind, score, responded_at)."""
    t = pa.table({"response_id": [r[0] for r in rows], "account_id": [r[1] for r in rows],
                  "contact_id": pa.array([r[2] for r in rows], pa.string()), "kind": [r[3] for r in rows],
                  "score": [r[4] for r in rows], "responded_at": [r[5] for r in rows]})
    res = ingest_table(wh, config, "survey_responses", t, source="test", file_label="surveys")
    assert res.rejected == 0, res.rejected_by_reason


def nps_rows(scores, account="A", day="2025-06-10 10:00:00", prefix="R"):
    return [(f"{prefix}{i}", account, f"{prefix}c{i}", "nps", s, day) for i, s in enumerate(scores)]


def one(wh, config, metric, period="2025-06", by=(), **settings):
    s = SurveyMetricSettings(**settings)
    return survey_metric_rows(wh, config, get_metric(metric), parse_period(period), list(by), s)


def test_nps_published_arithmetic_and_interval(warehouse, mconfig):
    """10 answers: 5 promoters, 3 passives, 2 detractors -> NPS = 50% - 20% = 30 (Bain's definition).
    The interval's variance is checked against the variance of the per-answer values +1/0/-1."""
    load(warehouse, mconfig, [("A", "SMB")])
    scores = [9, 10, 9, 10, 9, 7, 8, 7, 0, 6]
    responses(warehouse, mconfig, nps_rows(scores))
    [r] = compute(warehouse, mconfig, "nps", "2025-06")
    assert r["value"] == Decimal("30") and r["n"] == 10 and r["responses"] == 10
    assert (r["promoters"], r["detractors"], r["numerator"], r["denominator"]) == (5, 2, 3, 10)
    x = np.array([1 if s >= 9 else -1 if s <= 6 else 0 for s in scores], dtype=float)
    se = 100 * math.sqrt(x.var() / x.size)  # independent: the population variance of the +1/0/-1 values
    assert float(r["se"]) == pytest.approx(se, abs=1e-6)
    assert float(r["se"]) == pytest.approx(100 * math.sqrt(0.061), abs=1e-6)  # (.25 + .16 + 2 x .1) / 10
    assert float(r["ci_low"]) == pytest.approx(30 - Z * se, abs=1e-5)
    assert float(r["ci_high"]) == pytest.approx(30 + Z * se, abs=1e-5)
    assert r["window"] == "2025-06" and r["weighting"] == "response"
    # answers outside the period do not count
    assert compute(warehouse, mconfig, "nps", "2025-07")[0]["n"] == 0


def test_csat_share_with_wilson_interval(warehouse, mconfig):
    """8 of 10 answers at 4-5: CSAT 80%, Wilson 95% interval [0.4902, 0.9433] (the published table value)."""
    load(warehouse, mconfig, [("A", "SMB")])
    rows = [(f"C{i}", "A", f"c{i}", "csat", s, "2025-06-03 09:00:00") for i, s in
            enumerate([5, 5, 4, 4, 4, 5, 4, 4, 2, 3])]
    responses(warehouse, mconfig, rows)
    [r] = compute(warehouse, mconfig, "csat", "2025-06")
    assert r["value"] == Decimal("0.8") and r["n"] == 10 and r["satisfied"] == 8
    assert float(r["ci_low"]) == pytest.approx(0.4902, abs=1e-4)
    assert float(r["ci_high"]) == pytest.approx(0.9433, abs=1e-4)
    # the threshold is a setting: 5 only
    assert one(warehouse, mconfig, "csat", csat_satisfied_min=5)[0]["value"] == Decimal("0.3")


def test_ces_mean_with_t_interval_and_single_answer(warehouse, mconfig):
    load(warehouse, mconfig, [("A", "SMB"), ("B", "SMB")])
    scores = [7, 6, 5, 6, 2]
    responses(warehouse, mconfig, [(f"E{i}", "A", f"e{i}", "ces", s, "2025-06-03 09:00:00")
                                   for i, s in enumerate(scores)]
              + [("E9", "B", "b1", "ces", 4, "2025-07-01 08:00:00")])
    [r] = compute(warehouse, mconfig, "ces", "2025-06")
    assert r["value"] == Decimal("5.2") and r["n"] == 5
    sd = float(np.std(scores, ddof=1))
    half = 2.7764451051977987 * sd / math.sqrt(5)  # t(0.975, 4)
    assert float(r["ci_low"]) == pytest.approx(5.2 - half, abs=1e-5)
    assert float(r["ci_high"]) == pytest.approx(5.2 + half, abs=1e-5)
    # one answer: the value and n, never "NA"; no interval from one answer
    [r] = compute(warehouse, mconfig, "ces", "2025-07")
    assert (r["value"], r["n"], r["ci_low"]) == (Decimal("4"), 1, None)


def _weighting_case(wh, config):
    """A (ARR 3,000): contact c1 answers 2 in May, 2 on June 5 then 10 on June 20; c2 answers 9.
    B (ARR 1,000): c3 answers 0."""
    load(wh, config, [("A", "Enterprise"), ("B", "SMB")],
         [("LA", "A", "2025-01-01", None, 3000, "USD"), ("LB", "B", "2025-01-01", None, 1000, "USD")])
    responses(wh, config, [
        ("R0", "A", "c1", "nps", 2, "2025-05-20 10:00:00"),
        ("R1", "A", "c1", "nps", 2, "2025-06-05 10:00:00"),
        ("R2", "A", "c1", "nps", 10, "2025-06-20 10:00:00"),
        ("R3", "A", "c2", "nps", 9, "2025-06-07 10:00:00"),
        ("R4", "B", "c3", "nps", 0, "2025-06-08 10:00:00"),
    ])


def test_weighting_modes(warehouse, mconfig):
    _weighting_case(warehouse, mconfig)
    r = one(warehouse, mconfig, "nps", weighting="response")[0]
    assert (r["value"], r["n"]) == (Decimal("0"), 4)  # 2, 10, 9, 0: 2 promoters, 2 detractors
    r = one(warehouse, mconfig, "nps", weighting="contact")[0]
    assert (r["value"], r["n"]) == (Decimal("33.333333"), 3)  # c1's latest (10), 9, 0
    r = one(warehouse, mconfig, "nps", weighting="account")[0]
    assert (r["value"], r["n"], r["responses"]) == (Decimal("0"), 2, 3)  # A +100, B -100
    r = one(warehouse, mconfig, "nps", weighting="arr")[0]
    assert (r["value"], r["n"], r["denominator"]) == (Decimal("50"), 2, Decimal("4000"))  # (3000 - 1000) / 4000
    assert r["weighting"] == "arr" and r["ci_method"].startswith("bootstrap")
    assert r["ci_low"] <= r["value"] <= r["ci_high"]
    # a 60-day window ending on June 30 takes in c1's May answer only where it is that contact's latest
    r = one(warehouse, mconfig, "nps", weighting="response", window_days=60)[0]
    assert (r["n"], r["window"]) == (5, "60 days to 2025-06-30")
    assert one(warehouse, mconfig, "nps", weighting="contact", window_days=60)[0]["n"] == 3


def test_groups_and_unsupported_dimension(warehouse, mconfig):
    _weighting_case(warehouse, mconfig)
    rows = {r["group"]["segment"]: r for r in compute(warehouse, mconfig, "nps", "2025-06", ["segment"])}
    assert rows["Enterprise"]["value"] == Decimal("33.333333") and rows["Enterprise"]["n"] == 3
    assert rows["SMB"]["value"] == Decimal("-100") and rows["SMB"]["n"] == 1
    rows = {r["group"]["segment"]: r for r in one(warehouse, mconfig, "nps", by=["segment"], weighting="arr")}
    assert rows["Enterprise"]["value"] == Decimal("100") and rows["SMB"]["value"] == Decimal("-100")
    from tenure.errors import InputError

    with pytest.raises(InputError, match="account attributes"):
        compute(warehouse, mconfig, "nps", "2025-06", ["product"])


def test_change_between_periods_z_test(warehouse, mconfig):
    """May: 4 promoters, 4 detractors of 10 (NPS 0); June: 5 and 2 of 10 (NPS 30). z = 30 / sqrt(se0^2 + se1^2)."""
    load(warehouse, mconfig, [("A", "SMB")])
    may = [10, 9, 9, 10, 7, 8, 0, 3, 5, 6]
    june = [9, 10, 9, 10, 9, 7, 8, 7, 0, 6]
    responses(warehouse, mconfig, nps_rows(may, day="2025-05-10 10:00:00", prefix="M")
              + nps_rows(june, prefix="J"))
    [r] = compare(warehouse, mconfig, "nps", "2025-06", "2025-05")
    se0 = 100 * math.sqrt((0.4 * 0.6 + 0.4 * 0.6 + 2 * 0.4 * 0.4) / 10)
    se1 = 100 * math.sqrt((0.5 * 0.5 + 0.2 * 0.8 + 2 * 0.5 * 0.2) / 10)
    z = 30 / math.sqrt(se0 ** 2 + se1 ** 2)
    assert r["change"] == Decimal("30") and r["previous"] == Decimal("0") and r["previous_n"] == 10
    assert float(r["z"]) == pytest.approx(z, abs=1e-5)
    assert float(r["p_value"]) == pytest.approx(math.erfc(z / math.sqrt(2)), abs=1e-5)
    assert r["significant"] is False  # 10 answers a month cannot tell 0 from 30


def test_no_answers_is_n_zero(warehouse, mconfig):
    load(warehouse, mconfig, [("A", "SMB")])
    [r] = compute(warehouse, mconfig, "nps", "2025-06")
    assert (r["n"], r["value"], r["window"]) == (0, None, "2025-06")


def test_interval_formulas_edge_cases():
    assert nps_interval(10, 0, 10)[:2] == (100.0, 0.0)
    v, se, lo, hi = nps_interval(1, 1, 3)
    assert v == 0 and -100 <= lo < 0 < hi <= 100
    p, _, lo, hi = wilson_interval(0, 5)
    assert p == 0 and lo == 0 and 0 < hi < 1  # Wilson never collapses at 0 or n


def test_bootstrap_is_seeded_and_matches_unweighted_formula():
    """Accounts of one answer each with equal weights: the bootstrap's standard error approaches
    the formula's (sampling accounts = sampling answers), and the same seed gives the same interval."""
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 11, 400)
    good, bad = (scores >= 9).astype(float), (scores <= 6).astype(float)
    ones = np.ones(400)
    a = bootstrap_interval("nps", ones, ones, good, bad, scores, resamples=4000, seed=3)
    assert a == bootstrap_interval("nps", ones, ones, good, bad, scores, resamples=4000, seed=3)
    v, se, _, _ = nps_interval(int(good.sum()), int(bad.sum()), 400)
    assert a[0] == pytest.approx(v)
    assert a[1] == pytest.approx(se, rel=0.1)


def test_cli_shows_window_weighting_and_interval(tmp_path):
    """`tenure metrics compute nps` prints n, the interval, the window and the weighting next to the value."""
    from typer.testing import CliRunner

    from tenure.cli import app
    from tenure.config import write_default_config
    from tenure.warehouse import open_project

    write_default_config(tmp_path)
    config, wh = open_project(tmp_path / "tenure.yaml", write=True)
    try:
        wh.ensure_schema()
        load(wh, config, [("A", "SMB")])
        responses(wh, config, nps_rows([9, 10, 9, 10, 9, 7, 8, 7, 0, 6]))
    finally:
        wh.close()
    res = CliRunner().invoke(app, ["metrics", "compute", "nps", "--period", "2025-06",
                                   "--config", str(tmp_path / "tenure.yaml")], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "│  30.0 │ 10 │ -18.4 to 78.4 │" in res.output  # value, n, interval side by side
    assert "window 2025-06" in res.output and "weighting response" in res.output
    res = CliRunner().invoke(app, ["metrics", "compute", "nps", "--period", "2025-06", "--weighting", "contact",
                                   "--vs", "2025-05", "--config", str(tmp_path / "tenure.yaml")],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    # the header "vs 2025-05" may wrap in a narrow terminal (Rich sizes its console when it is made)
    assert "weighting contact" in res.output and re.search(r"vs\s.*2025-05", res.output, re.S)


def test_make_config_default_settings(tmp_path):
    c = make_config(tmp_path)
    assert c.metrics.surveys.weighting == "response" and c.metrics.surveys.window_days is None


def invitations(wh, config, rows):
    """rows: (invitation_id, account_id, contact_id|None, kind, survey_id, sent_at)."""
    t = pa.table({"invitation_id": [r[0] for r in rows], "account_id": [r[1] for r in rows],
                  "contact_id": pa.array([r[2] for r in rows], pa.string()), "kind": [r[3] for r in rows],
                  "survey_id": [r[4] for r in rows], "sent_at": [r[5] for r in rows]})
    res = ingest_table(wh, config, "survey_invitations", t, source="test", file_label="invitations")
    assert res.rejected == 0, res.rejected_by_reason


def test_response_rate(warehouse, mconfig):
    """June: 4 invitations. c1 answers (twice: one answered invitation), c2 answers the wrong survey,
    c3's answer came before the invitation, B's contact-less invitation is answered without a contact.
    May's invitation answered in June counts for May."""
    load(warehouse, mconfig, [("A", "Enterprise"), ("B", "SMB")])
    invitations(warehouse, mconfig, [
        ("I1", "A", "c1", "nps", "s6", "2025-06-01 09:00:00"),
        ("I2", "A", "c2", "nps", "s6", "2025-06-01 09:00:00"),
        ("I3", "A", "c3", "nps", "s6", "2025-06-10 09:00:00"),
        ("I4", "B", None, "nps", "s6", "2025-06-01 09:00:00"),
        ("I0", "A", "c1", "nps", "s5", "2025-05-01 09:00:00"),
    ])
    t = pa.table({"response_id": ["R1", "R1b", "R2", "R3", "R4", "R0"], "account_id": ["A", "A", "A", "A", "B", "A"],
                  "contact_id": pa.array(["c1", "c1", "c2", "c3", None, "c1"], pa.string()),
                  "kind": ["nps"] * 6, "score": [9, 10, 3, 5, 8, 7], "survey_id": ["s6", "s6", "s7", "s6", "s6", "s5"],
                  "responded_at": ["2025-06-02 10:00:00", "2025-06-03 10:00:00", "2025-06-02 10:00:00",
                                   "2025-06-09 10:00:00", "2025-06-05 10:00:00", "2025-06-02 10:00:00"]})
    assert ingest_table(warehouse, mconfig, "survey_responses", t, source="test", file_label="s").rejected == 0
    [r] = compute(warehouse, mconfig, "survey_response_rate", "2025-06")
    assert (r["value"], r["numerator"], r["denominator"], r["n"]) == (Decimal("0.5"), 2, 4, 4)
    assert r["weighting"] == "invitation" and r["ci_method"] == "Wilson score"
    assert compute(warehouse, mconfig, "survey_response_rate", "2025-05")[0]["value"] == Decimal("1")
    rows = {x["group"]["segment"]: x for x in compute(warehouse, mconfig, "survey_response_rate", "2025-06",
                                                       ["segment"])}
    assert rows["Enterprise"]["value"] == Decimal("0.333333") and rows["SMB"]["value"] == Decimal("1")
    assert compute(warehouse, mconfig, "survey_response_rate", "2025-07")[0]["n"] == 0


def test_api_and_demo_show_n_interval_window_and_weighting(demo_site):
    """On the demo company over the API: NPS by segment with n, interval, window and weighting, the
    compute layer's numbers; the response rate is a share below 1 (answers come from invitations)."""
    from fastapi.testclient import TestClient

    from tenure.metrics.compute import compute

    headers = {"Authorization": f"Bearer {demo_site.tokens['cco']}"}
    with TestClient(demo_site.app, raise_server_exceptions=False) as api:
        body = api.get("/api/v1/metrics/nps", params={"period": "2026-Q2", "by": "segment"}, headers=headers).json()
        rate = api.get("/api/v1/metrics/survey_response_rate", params={"period": "2026-Q2"}, headers=headers).json()
    want = {w["group"]["segment"]: w for w in
            compute(demo_site.app.state.ctx.warehouse(), demo_site.config, "nps", "2026-Q2", ["segment"])}
    assert body["rows"] and len(body["rows"]) == len(want)
    for row in body["rows"]:
        w = want[row["group"]["segment"]]
        assert row["n"] == w["n"] > 0 and row["value"] == float(w["value"])
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
        assert (row["window"], row["weighting"]) == ("2026-Q2", "response")
    [r] = rate["rows"]
    assert 0 < r["value"] < 1 and r["n"] > 0 and r["weighting"] == "invitation"
