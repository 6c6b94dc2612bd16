"""Scorecard validation on a simulated company with a known latent health: the score separates
churners, bands order churn, and the fitted weights do at least as well out of time."""

from __future__ import annotations

import pytest

from tenure.health.validate import auc, validate
from tests.sites import build_ingested_company


def test_auc_by_hand():
    assert auc([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.3]) == 1.0
    assert auc([1, 0, 1, 0], [0.1, 0.9, 0.2, 0.8]) == 0.0
    assert auc([1, 0], [0.5, 0.5]) == 0.5
    assert auc([0, 0], [0.1, 0.2]) is None


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The simulated company's facts (validation scores them itself: no demo compute needed)."""
    from tenure.config import load_config
    from tenure.warehouse import Warehouse

    folder = tmp_path_factory.mktemp("health") / "demo"
    build_ingested_company(folder, accounts=800, months=30, seed=21)
    config = load_config(folder / "tenure.yaml")
    wh = Warehouse(config.warehouse_url)
    yield config, wh
    wh.close()


@pytest.mark.slow
def test_validation_report_on_simulated_history(demo):
    config, wh = demo
    report = validate(wh, config, horizon=180, dates=6)
    assert report["churned"] > 20
    assert report["score_auc"] > 0.7
    churn = {b["band"]: b["churn_rate"] for b in report["bands"]}
    assert churn["red"] > churn["yellow"] > churn["green"]
    assert all(abs(b["renewal_probability"] + b["churn_rate"] - 1) < 1e-6 for b in report["bands"])
    fitted = report["fitted"]
    assert set(fitted["trained_on"]).isdisjoint(fitted["judged_on"])
    assert max(fitted["trained_on"]) < min(fitted["judged_on"])
    assert fitted["fitted_auc_out_of_time"] >= fitted["default_auc_out_of_time"] - 0.01
    assert sum(w["proposed"] for w in fitted["weights"]) == pytest.approx(100, abs=0.5)
