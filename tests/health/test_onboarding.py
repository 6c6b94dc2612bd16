"""New customers are not red: an account is onboarding until its first-value milestone is done or
health.onboarding.days after its first ARR; meanwhile it is scored on onboarding progress and
its band is "onboarding" (DuckDB and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from tenure.config import config_from_dict
from tenure.health.history import snapshot
from tenure.health.scorecard import score_accounts
from tenure.ingest.pipeline import ingest_table

AS_OF = date(2026, 6, 30)


def _load(wh, config, entity, **cols):
    res = ingest_table(wh, config, entity, pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}),
                       source="test", file_label=entity)
    assert res.rejected == 0, res.rejected_by_reason


def _config(tmp_path, **onboarding):
    health = {"onboarding": onboarding} if onboarding else {}
    return config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}, "health": health},
                            base_dir=tmp_path, env={})


@pytest.fixture
def company(warehouse, tmp_path):
    """N: $234k, a customer for 30 days, no usage yet, kickoff done, first value not reached.
    F: a customer for 30 days who reached first value (so it is scored like everyone else).
    O: a customer for 120 days without first value: onboarding is over, the normal card applies.
    None of them has any usage, so on the normal card all three would be red."""
    config = _config(tmp_path)
    _load(warehouse, config, "accounts", account_id=["N", "F", "O"], name=["N", "F", "O"], segment=["Enterprise"] * 3)
    _load(warehouse, config, "contract_lines", line_id=["LN", "LF", "LO"], account_id=["N", "F", "O"],
          product=["core"] * 3, start_date=["2026-05-31", "2026-05-31", "2026-03-02"], end_date=["2027-05-30"] * 3,
          arr=["234000", "50000", "50000"], currency=["USD"] * 3, quantity=["50"] * 3)
    _load(warehouse, config, "milestones", account_id=["N", "N", "F", "O"],
          milestone=["kickoff", "first_value", "first_value", "first_value"],
          due_at=["2026-06-07", "2026-07-30", "2026-06-20", "2026-05-01"],
          completed_at=["2026-06-05", None, "2026-06-18", None])
    return warehouse, config


def test_new_customers_are_onboarding_not_red(company):
    wh, config = company
    rows = {r["account_id"]: r for r in score_accounts(wh, config, AS_OF)}
    n = rows["N"]
    assert n["band"] == "onboarding" and n["onboarding"]
    assert [c["name"] for c in n["components"]] == ["onboarding milestones", "days toward first value"]
    # kickoff done on time (the one milestone due): 100 points x 60; 30 days in: 100 points x 40
    assert n["score"] == 100
    assert sum(c["contribution"] for c in n["components"]) == pytest.approx(n["score"], abs=0.1)
    assert rows["F"]["band"] == "red" and not rows["F"]["onboarding"]  # first value reached: normal card
    assert rows["O"]["band"] == "red" and not rows["O"]["onboarding"]  # 120 days: onboarding is over


def test_onboarding_days_are_configurable_and_history_keeps_the_band(company):
    wh, config = company
    short = _config(config.base_dir, days=20)
    rows = {r["account_id"]: r for r in score_accounts(wh, short, AS_OF)}
    assert rows["N"]["band"] == "red"  # 30 days > 20: scored like everyone else
    assert snapshot(wh, config, AS_OF) == 3
    hs = wh.execute(wh.table("health_scores")).set_index("account_id")
    assert hs.loc["N", "band"] == "onboarding" and hs.loc["O", "band"] == "red"
    comps = wh.execute(wh.table("health_components"))
    assert sorted(comps[comps.account_id == "N"].component) == ["days toward first value", "onboarding milestones"]
    assert len(comps[comps.account_id == "O"]) == 9  # the default card's nine components
