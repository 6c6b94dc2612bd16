"""Retention and CLV models reproduce published results and recover known parameters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tenure.cli import app
from tenure.predict.base import ModelInputError
from tenure.predict.bgnbd import BetaGeoFitter, simulate
from tenure.predict.gammagamma import GammaGammaFitter
from tenure.predict.rfm import rfm_summary
from tenure.predict.sbg import SBGFitter
from tenure.predict.survival import kaplan_meier

# a copy of the steering repo's shared/reference table, so any checkout can run it
REFERENCE = Path(__file__).parents[1] / "fixtures" / "reference" / "sbg_fader_hardie_2007.csv"


def _sig3(x: float) -> str:
    return f"{x:.3g}"


@pytest.mark.parametrize("cohort,alpha,beta", [("regular_alive", 0.704, 1.182), ("highend_alive", 0.668, 3.806)])
def test_sbg_reproduces_fader_hardie_2007(cohort, alpha, beta):
    data = pd.read_csv(REFERENCE)
    fit = SBGFitter().fit(data[cohort][:8].tolist())  # years 0-7, as published
    assert _sig3(fit.params_["alpha"]) == _sig3(alpha)
    assert _sig3(fit.params_["beta"]) == _sig3(beta)
    assert all(0 < se < 1 for se in fit.standard_errors_.values())
    projected = fit.survival(range(8, 13)) * 1000
    actual = data[cohort][8:].to_numpy()
    assert np.all(np.abs(projected - actual) / actual < 0.05)  # the paper's projection accuracy


def test_sbg_retention_and_lifetime_value():
    fit = SBGFitter().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    a, b = fit.params_["alpha"], fit.params_["beta"]
    assert fit.retention([1])[0] == pytest.approx(b / (a + b))
    assert np.all(np.diff(fit.retention(range(1, 10))) > 0)  # retention rises with tenure (sorting)
    d = 0.10
    brute = sum(fit.survival([t - 1])[0] / (1 + d) ** (t - 1) for t in range(1, 2000))
    assert fit.discounted_expected_lifetime(d) == pytest.approx(brute, rel=1e-4)
    assert fit.clv(100, d) == pytest.approx(100 * brute, rel=1e-4)
    with pytest.raises(ModelInputError):
        SBGFitter().fit([100, 120, 90])


def test_bgnbd_recovers_parameters_and_probability_alive():
    true = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.5}
    x, t_x, T = simulate(20000, **true, T=52)
    fit = BetaGeoFitter().fit(x, t_x, T)
    for k, v in true.items():
        assert fit.params_[k] == pytest.approx(v, rel=0.2), (k, fit.params_)
    alive = fit.probability_alive(x, t_x, T)
    assert np.all(alive[x == 0] == 1.0)
    assert alive[(x > 3) & (t_x < 5)].mean() < alive[(x > 3) & (t_x > 45)].mean()
    # the model's expected purchases match the simulated mean
    assert fit.expected_purchases(52) == pytest.approx(x.mean(), rel=0.1)


def test_gammagamma_recovers_parameters():
    rng = np.random.default_rng(1)
    p, q, g = 6.0, 4.0, 15.0
    n = 20000
    nu = rng.gamma(q, 1 / g, n)
    x = rng.integers(1, 8, n)
    m = np.array([rng.gamma(p, 1 / v, k).mean() for v, k in zip(nu[:n], x)])
    fit = GammaGammaFitter().fit(x, m)
    for k, v in {"p": p, "q": q, "gamma": g}.items():
        assert fit.params_[k] == pytest.approx(v, rel=0.2)
    e = fit.expected_average_value(x, m)
    assert np.corrcoef(e, p / nu)[0, 1] > 0.8


def test_rfm_summary_and_cli(tmp_path):
    log = pd.DataFrame({"cust": ["a", "a", "a", "b", "c", "c"],
                        "day": ["2026-01-01", "2026-01-15", "2026-01-15", "2026-01-08", "2026-01-01", "2026-03-01"],
                        "value": [10, 20, 5, 7, 3, 9]})
    rfm = rfm_summary(log, "cust", "day", "value", "2026-01-29", "week")
    assert rfm.loc["a"].tolist() == [1, 2.0, 4.0, 25.0]
    assert rfm.loc["c", "frequency"] == 0 and rfm.loc["c", "T"] == 4.0
    with pytest.raises(ModelInputError, match="no column 'when'"):
        rfm_summary(log, "cust", "when", "value", "2026-01-29")
    path = tmp_path / "survivors.csv"
    pd.read_csv(REFERENCE).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["clv", "fit", "sbg", str(path), "--periods", "7", "--json"])
    assert res.exit_code == 0, res.output
    out = {r["cohort"]: r for r in json.loads(res.output)}
    assert _sig3(out["regular_alive"]["params"]["alpha"]) == "0.704"
    assert set(out["highend_alive"]) >= {"params", "standard_errors", "log_likelihood", "n"}


def test_kaplan_meier_by_group():
    table = kaplan_meier([1, 2, 3, 4, 5, 1, 2, 8], [1, 1, 0, 1, 0, 0, 0, 1], ["a"] * 5 + ["b"] * 3)
    a = table[table.group == "a"]
    assert a.survival.iloc[-1] < 1 and (a.ci_lower <= a.survival).all() and (a.survival <= a.ci_upper).all()
    assert set(table.columns) == {"group", "t", "survival", "ci_lower", "ci_upper", "at_risk"}
