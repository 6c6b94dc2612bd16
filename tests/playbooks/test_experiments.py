"""Experiments recover a planted effect. 1,200 red accounts fire an at-risk playbook with a 50%
holdout (the engine's stable hash, recorded at assignment); the facts are then generated with a
known effect: churn within 180 days 40% when held out and 25% when treated (effect -15 points),
renewal the complement, and health 60 days on +10 points when treated. The experiment must put
each true effect inside its 95% interval (DuckDB and PostgreSQL warehouses)."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pytest

from tests.playbooks.pb_company import make_config, put, write_playbook
from tenure.ingest.pipeline import ingest_table
from tenure.playbooks.engine import holdout_arm, run_playbooks
from tenure.playbooks.experiments import NOT_ENOUGH, experiment_results
from tenure.playbooks.spec import load_playbooks

N = 1200
START = date(2026, 1, 31)
CHURN_HOLDOUT, CHURN_TREATED, HEALTH_GAIN = 0.40, 0.25, 10.0
PLAYBOOK = """
name: save
status: active
triggers: [{type: band_change, to: [red]}]
experiment: {holdout: 0.5}
max_per_run: 2000
steps: [{action: set_field, tag: saving}]
"""


def _ingest(wh, config, entity, **cols):
    res = ingest_table(wh, config, entity, pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}),
                       source="test", file_label=entity)
    assert res.rejected == 0


@pytest.fixture
def experiment(warehouse, tmp_path):
    from tenure.state.db import upgrade

    wh = warehouse
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    upgrade(config)
    write_playbook(config, "save", PLAYBOOK)
    pb = load_playbooks(config)[0]
    ids = [f"P{i:04d}" for i in range(N)]
    treated = np.array([holdout_arm(pb, a) == "treatment" for a in ids])
    rng = np.random.default_rng(20261201)
    churns = rng.random(N) < np.where(treated, CHURN_TREATED, CHURN_HOLDOUT)
    gain = np.where(treated, HEALTH_GAIN, 0.0) + rng.normal(0, 5, N)
    _ingest(wh, config, "accounts", account_id=ids, name=ids, segment=["SMB"] * N, owner=["csm1"] * N)
    # each account's line ends 2026-03-31 (its renewal date); a retained account renews from 04-01
    kept = [a for a, c in zip(ids, churns) if not c]
    _ingest(wh, config, "contract_lines", line_id=[f"L{a}" for a in ids] + [f"R{a}" for a in kept],
            account_id=ids + kept, product=["core"] * (N + len(kept)),
            start_date=["2025-04-01"] * N + ["2026-04-01"] * len(kept),
            end_date=["2026-03-31"] * N + ["2027-03-31"] * len(kept), arr=["1200"] * (N + len(kept)),
            currency=["USD"] * (N + len(kept)), billing_period=["annual"] * (N + len(kept)),
            auto_renew=["false"] * (N + len(kept)))
    put(wh, "health_scores", account_id=ids + ids, as_of=[START] * N + [date(2026, 3, 31)] * N,
        segment=["SMB"] * (2 * N), score=[30.0] * N + list(30.0 + gain), band=["red"] * (2 * N))
    report = run_playbooks(wh, config, as_of=START, now=datetime(2026, 1, 31, 9))
    assert report["playbooks"][0]["started"] + report["playbooks"][0]["holdout"] == N
    return wh, config, treated, churns


def test_the_experiment_recovers_the_planted_effect(experiment):
    wh, config, treated, churns = experiment
    res = experiment_results(wh, config, "save", horizon=180, as_of=date(2026, 12, 31))
    assert res["arms"] == {"treatment": {"enrolments": int(treated.sum())},
                           "holdout": {"enrolments": int((~treated).sum())}}
    churn = res["churn"]
    assert churn["status"] == "measured"
    assert churn["treatment_n"] == treated.sum() and churn["holdout_n"] == (~treated).sum()
    # the measured rates are the planted draws' rates, counted in the warehouse
    assert churn["treatment_rate"] == pytest.approx(churns[treated].mean())
    assert churn["holdout_rate"] == pytest.approx(churns[~treated].mean())
    true = CHURN_TREATED - CHURN_HOLDOUT
    assert churn["ci_low"] <= true <= churn["ci_high"] and churn["p_value"] < 0.01
    assert 0 < churn["mde"] < abs(true)
    renewal = res["renewal"]
    assert renewal["ci_low"] <= -true <= renewal["ci_high"]
    assert renewal["effect"] == pytest.approx(-churn["effect"])
    health = res["health_60d"]
    assert health["ci_low"] <= HEALTH_GAIN <= health["ci_high"] and health["p_value"] < 0.01
    assert "churn within 180 days: " in res["message"]


def test_not_enough_data_yet_until_the_horizon_has_passed(experiment):
    wh, config, _, _ = experiment
    res = experiment_results(wh, config, "save", horizon=180, as_of=date(2026, 5, 31))
    assert res["churn"]["status"] == NOT_ENOUGH and res["churn"]["treatment_n"] == 0
    assert "churn within 180 days: not enough data yet" in res["message"]
    assert res["health_60d"]["status"] == "measured"  # 03-31 is within 60 days of the start
    small = experiment_results(wh, config, "save", horizon=180, as_of=date(2026, 12, 31), min_per_arm=N)
    assert small["status"] == NOT_ENOUGH and small["churn"]["message"].startswith(NOT_ENOUGH)
