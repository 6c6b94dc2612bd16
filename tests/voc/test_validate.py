"""`tenure voc validate` on the demo company (read only): the simulator makes NPS follow the
account's latent health, which also drives churn, so detractors churn more than promoters. The
direction is asserted with its bootstrap interval, computed from the data, on a cut-off whose
outcome window is observed; nothing after the cut-off is used to group an account."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from tenure.cli import app
from tenure.errors import InputError
from tenure.voc.validate import account_groups, data_day, outcomes, validate
from tenure.warehouse import connect


@pytest.fixture(scope="module")
def result(demo_site):
    with connect(config=demo_site.config, write=False) as wh:
        return validate(wh, demo_site.config, resamples=1000)


def test_detractors_churn_more_than_promoters_with_an_interval_that_says_so(result):
    h365 = next(h for h in result["horizons"] if h["horizon_days"] == 365)
    groups = {g["group"]: g for g in h365["groups"]}
    for name in ("promoter", "passive", "detractor"):
        g = groups[name]
        assert g["n"] >= 10, g  # enough accounts in every group to say anything
        assert g["churn_low"] <= g["churn_rate"] <= g["churn_high"]
        assert g["nrr_low"] <= g["nrr"] <= g["nrr_high"]
    det = next(d for d in h365["differences"] if d["measure"] == "churn_rate" and d["group"] == "detractor")
    assert det["difference"] > 0 and det["low"] > 0 and det["significant"]  # the whole interval is above 0
    assert groups["detractor"]["churn_rate"] > groups["promoter"]["churn_rate"]
    nrr = next(d for d in h365["differences"] if d["measure"] == "nrr" and d["group"] == "detractor")
    assert nrr["difference"] < 0  # detractors also keep less of their revenue


def test_the_outcome_window_is_observed_and_groups_use_only_the_past(demo_site, result):
    day = result["as_of"]
    with connect(config=demo_site.config, write=False) as wh:
        for h in result["horizons"]:
            assert h["window"][1] <= day and h["cutoff"] == day - timedelta(days=h["horizon_days"])
        cut = result["horizons"][0]["cutoff"]
        groups = account_groups(wh, cut)
        assert (groups["answered_on"] <= cut).all() and (groups["answered_on"] > cut - timedelta(days=365)).all()
        # the churned accounts are the bridge's: ARR on the cut-off, none at the window's end
        out = outcomes(wh, demo_site.config, cut, 180)
        assert (out["opening"] > 0).all()
        # every account with ARR on the cut-off is in exactly one group (unrated: no answer)
        assert sum(g["n"] for g in result["horizons"][0]["groups"]) == len(out) == out.account_id.nunique()
        assert (out.loc[out.churned, "churn"] == out.loc[out.churned, "opening"]).all()
        with pytest.raises(InputError, match="not observed yet"):
            validate(wh, demo_site.config, cutoffs={365: day - timedelta(days=100)}, horizons=[365])


def test_the_cli_prints_json_and_a_table(demo_site):
    runner = CliRunner()
    cfg = str(demo_site.dir / "tenure.yaml")
    res = runner.invoke(app, ["voc", "validate", "--json", "--resamples", "200", "--horizons", "180",
                              "--config", cfg])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert [h["horizon_days"] for h in data["horizons"]] == [180]
    res = runner.invoke(app, ["voc", "validate", "--resamples", "200", "--config", cfg], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "detractors - promoters" in res.output and "NRR" in res.output


def test_an_answer_after_the_cut_off_changes_no_group(demo_built, tmp_path):
    """No peeking: a detractor answer the day after the cut-off leaves the cut-off's groups as they
    were, and counts from the next day on."""
    import pyarrow as pa

    from tenure.config import load_config
    from tenure.ingest.pipeline import ingest_table
    from tests.sites import copy_site

    copy_site(demo_built / "site", tmp_path / "site")
    config = load_config(tmp_path / "site" / "tenure.yaml")
    with connect(config=config) as wh:
        cut = data_day(wh) - timedelta(days=365)
        before = account_groups(wh, cut)
        promoter = before[before.group == "promoter"].account_id.iloc[0]
        res = ingest_table(wh, config, "survey_responses", pa.table({
            "response_id": ["late-1"], "account_id": [promoter], "kind": ["nps"], "score": ["0"],
            "responded_at": [f"{(cut + timedelta(days=1)).isoformat()} 09:00:00"]}),
            source="test", file_label="late.csv")
        assert res.rejected == 0, res.rejected_by_reason
        after = account_groups(wh, cut)
        next_day = account_groups(wh, cut + timedelta(days=1))
    assert after.sort_values("account_id").reset_index(drop=True).equals(
        before.sort_values("account_id").reset_index(drop=True))
    assert next_day.set_index("account_id").loc[promoter, "group"] == "detractor"
