"""Churn-risk model on a simulated company: honest time-based backtest, reproducible with a
seed, calibrated, with drivers; cross-validation on user-supplied labels."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from typer.testing import CliRunner

from tenure.cli import app
from tenure.errors import InputError
from tenure.predict.risk import backtest


@pytest.fixture(scope="module")
def company(simulated):
    return simulated  # tests/predict/conftest.py: simulated, ingested, no demo compute


@pytest.mark.slow
def test_backtest_trains_only_on_the_past_and_separates_churners(company):
    _, config, wh = company
    cutoff = date(2026, 3, 31)
    report = backtest(wh, config, cutoff, 180, seed=1)
    assert all(date.fromisoformat(d) + timedelta(days=180) <= cutoff for d in report["trained_on"])
    for model in ("logistic", "boosted"):
        r = report[model]
        assert r["churned"] > 10 and r["auc"] > 0.7 and r["top_decile_lift"] > 2
        assert 0 < r["brier"] < 0.25 and len(r["calibration"]) == 10
        assert r["calibration"][-1]["observed"] > r["calibration"][0]["observed"]
    assert report["known_at"] == "2026-03-31"  # the facts as known at the cutoff
    assert backtest(wh, config, cutoff, 180, seed=1) == report  # reproducible with a seed
    with pytest.raises(InputError, match="not known yet"):
        backtest(wh, config, date(2026, 9, 30), 180)


def test_backtest_reads_the_facts_as_known_at_the_cutoff(company):
    """The demo loads dated change files: cancellations recorded weeks after the last day of
    service (some back-dated before the cutoff), departures recorded late, tickets solved later."""
    from tenure.predict.risk import dataset

    _, config, wh = company
    cutoff = date(2026, 3, 31)
    known = dataset(wh, config, cutoff, known_at=cutoff).set_index("account_id")
    leaky = dataset(wh, config, cutoff).set_index("account_id")
    # lines are known from before they start: every customer of today's reading was known as one
    assert set(leaky.index) <= set(known.index)
    both = known.index.intersection(leaky.index)
    # a departure recorded after the cutoff: the champion was still there as known then
    assert (known.loc[both, "champion_active"].fillna(-1) != leaky.loc[both, "champion_active"].fillna(-1)).any()
    # a rating given after the cutoff was not known at it
    assert known.loc[both].ticket_csat_90.notna().sum() < leaky.loc[both].ticket_csat_90.notna().sum()


def test_train_then_predict_from_the_cli(company, monkeypatch):
    """(Evaluating a user's labels: tests/predict/test_risk_quality.py, on the same company.)"""
    folder, config, wh = company
    monkeypatch.chdir(folder)
    runner = CliRunner()
    assert runner.invoke(app, ["risk", "train", "--horizon", "180"]).exit_code == 0
    res = runner.invoke(app, ["risk", "predict", "--json"])
    assert res.exit_code == 0, res.output
    import json

    out = json.loads(res.output)
    risks = [a["risk"] for a in out["accounts"]]
    assert risks == sorted(risks, reverse=True) and 0 <= risks[-1] <= risks[0] <= 1
    assert any(a["drivers"] for a in out["accounts"][:10])


def test_fit_tolerates_features_nobody_has_yet():
    """A legal history where no NPS survey was ever sent and CSAT exists only for the newest
    rows (so a calibration fold trains on none): the fit works and ignores the empty columns."""
    import numpy as np

    from tenure.predict.risk import NUMERIC, fit

    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({c: rng.normal(size=n) for c in NUMERIC})
    df["account_id"] = [f"A{i:04d}" for i in range(n)]
    df["segment"] = rng.choice(["SMB", "Enterprise"], n)
    df["nps_latest"] = np.nan
    df.loc[: 2 * n // 3, "ticket_csat_90"] = np.nan
    df["label"] = (df.active_days_30 + rng.normal(size=n) * 0.5) < -0.5
    model = fit(df, 180)
    for which in ("logistic", "boosted"):
        p = model.predict(df, which)
        assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
        assert pd.Series(p).corr(df.label.astype(float)) > 0.5
    drivers = model.drivers(df.head(20))
    assert all(d["feature"] != "nps_latest" for row in drivers for d in row)


def test_drivers_name_a_reason_not_a_missing_indicator():
    """'days_to_renewal missing' was shown to CSMs as a driver; a missing value now reads as what it
    means, and every driver carries its raw value (it was always null)."""
    from tenure.predict.risk import _source

    assert _source("num__nps_latest", ["nps_latest"], ["segment"]) == "nps_latest"
    assert _source("num__missingindicator_days_to_renewal", ["days_to_renewal"], ["segment"]) == "days_to_renewal"
    assert _source("cat__segment_SMB", ["arr"], ["segment"]) == "segment"
