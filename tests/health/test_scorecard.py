"""Scorecards: normalizations, bands, missing data, config errors, features (DuckDB and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pandas as pd
import pytest

from tenure.config import config_from_dict
from tenure.errors import ConfigError
from tenure.health.features import account_features
from tenure.health.scorecard import Bands, band_of, load_scorecard, score_accounts
from tenure.ingest.pipeline import ingest_table

AS_OF = date(2026, 6, 30)


def _load(wh, config, entity, **cols):
    res = ingest_table(wh, config, entity, pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}),
                       source="test", file_label=entity)
    assert res.rejected == 0, res.rejected_by_reason


@pytest.fixture
def company(warehouse, tmp_path):
    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}}, base_dir=tmp_path, env={})
    _load(warehouse, config, "accounts", account_id=["A", "B"], name=["A", "B"], segment=["SMB", "SMB"])
    _load(warehouse, config, "contract_lines", line_id=["LA", "LB"], account_id=["A", "B"], product=["core"] * 2,
          start_date=["2026-01-01"] * 2, end_date=["2026-12-31", None], arr=["1200", "2400"], currency=["USD"] * 2,
          quantity=["10", "4"])
    days = [f"2026-06-{d:02d}T10:00:00Z" for d in range(1, 31)]
    _load(warehouse, config, "usage_events", account_id=["A"] * 30 + ["B"], user_id=[f"u{d % 3}" for d in range(30)] + ["x"],
          ts=days + ["2026-03-01T00:00:00Z"], feature=["login", "report", "export"] * 10 + ["login"])
    _load(warehouse, config, "survey_responses", response_id=["R1", "R2"], account_id=["A", "A"], kind=["nps", "nps"],
          score=["3", "9"], responded_at=["2026-01-01T00:00:00Z", "2026-05-01T00:00:00Z"])
    _load(warehouse, config, "invoices", invoice_id=["I1"], account_id=["B"], amount=["100"], currency=["USD"],
          issued_at=["2026-05-01"], due_at=["2026-05-31"], paid_at=[None])
    _load(warehouse, config, "contacts", contact_id=["C1", "C2"], account_id=["B", "B"], role=["champion"] * 2,
          active_from=["2026-01-01", "2026-01-01"], active_to=["2026-06-01", None])
    return warehouse, config


def test_features_by_hand(company):
    wh, config = company
    f = wh.execute(account_features(wh, config, AS_OF)).set_index("account_id")
    a, b = f.loc["A"], f.loc["B"]
    assert (a.active_days_30, a.events_30, a.features_used_30, a.peak_users_30) == (30, 30, 3, 1)
    assert a.seat_utilization == pytest.approx(0.1) and a.nps_latest == 9  # the latest answer counts
    assert a.days_to_renewal == 184
    assert pd.isna(b.days_to_renewal)
    assert (b.active_days_30, b.overdue_invoices, b.champion_left_90) == (0, 1, 1)
    assert b.champion_active == 1


def test_scores_components_and_missing_data(company):
    wh, config = company
    rows = {r["account_id"]: r for r in score_accounts(wh, config, AS_OF)}
    for r in rows.values():
        assert sum(c["contribution"] for c in r["components"]) == pytest.approx(r["score"], abs=0.1)
    b_nps = next(c for c in rows["B"]["components"] if c["feature"] == "nps_latest")
    assert b_nps["missing"] and b_nps["contribution"] == 0  # reweighted away, and shown
    assert rows["A"]["score"] > rows["B"]["score"]
    neutral = config.model_copy(update={"health": {"scorecard": {**_default(), "missing": "neutral"}}})
    rows_n = {r["account_id"]: r for r in score_accounts(wh, neutral, AS_OF)}
    assert next(c for c in rows_n["B"]["components"] if c["feature"] == "nps_latest")["contribution"] > 0


def _default():
    from tenure.health.scorecard import DEFAULT_SCORECARD

    return dict(DEFAULT_SCORECARD)


def test_gainsight_band_edges_lower_bound_exclusive():
    bands = Bands()
    assert [band_of(s, bands) for s in (0, 50, 50.1, 51, 75, 75.5, 76, 100)] == \
        ["red", "red", "yellow", "yellow", "yellow", "green", "green", "green"]


def test_scorecard_config_errors_name_the_key(tmp_path):
    bad = config_from_dict({"health": {"scorecard": {"components": [
        {"name": "x", "feature": "logins", "weight": 1, "thresholds": [[1, 10]]}]}}}, base_dir=tmp_path, env={})
    with pytest.raises(ConfigError, match=r"(?s)health.scorecard.*components\.0.*unknown feature 'logins'"):
        load_scorecard(bad)
    bad = config_from_dict({"health": {"scorecards": {}}}, base_dir=tmp_path, env={})
    with pytest.raises(ConfigError, match="health: unknown key"):
        load_scorecard(bad)


def test_percentile_within_segment(company):
    wh, config = company
    card = {"components": [{"name": "usage", "feature": "events_30", "weight": 1, "normalization": "percentile"}]}
    cfg = config.model_copy(update={"health": {"scorecard": card}})
    rows = {r["account_id"]: r["score"] for r in score_accounts(wh, cfg, AS_OF)}
    assert rows == {"A": 100.0, "B": 0.0}


def test_history_snapshots_are_incremental_and_match_scores(company):
    from datetime import timedelta

    from tenure.health.history import backfill, trend

    wh, config = company
    first = backfill(wh, config, AS_OF - timedelta(days=2), AS_OF)
    again = backfill(wh, config, AS_OF - timedelta(days=3), AS_OF)
    assert (first["computed"], again["computed"], again["skipped"]) == (3, 1, 3)
    assert wh.count("health_scores") == 8
    live = {r["account_id"]: r["score"] for r in score_accounts(wh, config, AS_OF)}
    assert trend(wh, "A")[-1]["score"] == pytest.approx(live["A"])
    comps = wh.execute(wh.table("health_components").filter(lambda t: t.as_of == AS_OF))
    sums = comps.groupby("account_id").contribution.sum()
    assert sums["A"] == pytest.approx(live["A"], abs=0.1)


def test_signals_are_dated_and_idempotent(company):
    from tenure.health.signals import record_signals

    wh, config = company
    first = record_signals(wh, config, AS_OF)
    rows = wh.execute(wh.table("health_signals").order_by(["account_id", "signal"]))
    got = {(r.account_id, r.signal, str(r.at)[:10]) for r in rows.itertuples()}
    assert got == {("B", "overdue_invoice", "2026-06-01"), ("B", "sponsor_left", "2026-06-01")}
    again = record_signals(wh, config, AS_OF)
    assert first["new"] == 2 and (again["new"], again["unchanged"]) == (0, 2)
