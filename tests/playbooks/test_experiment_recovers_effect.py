"""The experiment of the shipped at-risk save playbook recovers the effect the simulator planted.

A company is simulated with `save_effect` (tenure.simulate.company): while an account the
simulator's proxy of the playbook's trigger enrolled is in the treatment arm (the engine's own
stable hash), its churn probability at each renewal decision is cut by that share. The company
then goes through the real path: ingest, health snapshots at each month end (the scorecard on the
facts), the shipped playbook enabled and run by the engine on each month end (its own trigger,
audience, cooldown and holdout, recorded in the state DB), and `experiment_results`, the analysis
`tenure playbooks results` prints.

The effect the experiment should find is computed from the simulator's truth
(`_truth/save_play.parquet`): for each treated enrolment the experiment can measure, the
probability of churning within 180 days with the churn probabilities applied minus without the
cut (1 - prod(1 - p) over the renewal decisions in the window), averaged (the effect on the
treated). It is diluted below the planted share because the engine's trigger (the scored band)
and the simulator's proxy (latent health) do not enrol exactly the same accounts on the same days.
The same company simulated with effect 0 must give an interval covering 0.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.sites import build_ingested_company, built_once, copy_site

pytestmark = pytest.mark.slow

ACCOUNTS, MONTHS, SEED = 1500, 24, 11
END = date(2026, 10, 31)
HORIZON = 180
PLANTED = 0.6  # the save play cuts a treated account's churn probability by 60%
NAME = "at-risk-save"
# the engine runs on the month ends from FIRST_RUN to LAST_RUN; health is scored one month before
FIRST_RUN, LAST_RUN = date(2025, 1, 31), date(2026, 4, 30)


def _month_ends(first: date, last: date) -> list[date]:
    out, d = [], first
    while d <= last:
        out.append(d)
        d = ((d + timedelta(days=1)) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return out


def _build(effect: float):
    def build(folder: Path) -> None:
        from tenure.config import load_config
        from tenure.health.history import snapshot
        from tenure.playbooks.engine import run_playbooks
        from tenure.playbooks.playbook_cli import LIBRARY
        from tenure.playbooks.spec import playbooks_folder
        from tenure.warehouse import connect

        build_ingested_company(folder, ACCOUNTS, MONTHS, SEED, save_effect=effect)
        config = load_config(folder / "tenure.yaml")
        # the shipped playbook, enabled, without its audience: a replay of past month ends would
        # apply it to today's account summary (status, ARR), which drops exactly the accounts that
        # churned since; the experiment only measures accounts paying on the start day anyway
        text = (LIBRARY / "at_risk_save.yaml").read_text(encoding="utf-8")
        head, rest = text.split("audience:\n", 1)
        rest = rest[rest.index("exit_when:"):]
        playbooks_folder(config).mkdir(parents=True, exist_ok=True)
        (playbooks_folder(config) / "at_risk_save.yaml").write_text(
            (head + rest).replace("status: draft", "status: active"), encoding="utf-8")
        wh = connect(config=config)
        try:
            for d in _month_ends(FIRST_RUN - timedelta(days=31), LAST_RUN):
                snapshot(wh, config, d)
            for d in _month_ends(FIRST_RUN, LAST_RUN):
                run_playbooks(wh, config, as_of=d, names=[NAME], now=datetime.combine(d, time(9)))
        finally:
            wh.close()
    return build


def _measure(folder: Path) -> tuple[dict, float, int]:
    """(experiment results, the true effect on the treated, treated enrolments measured)."""
    from tenure.config import load_config
    from tenure.playbooks.experiments import enrolments, experiment_results, outcomes_expr
    from tenure.warehouse import connect

    config = load_config(folder / "tenure.yaml")
    wh = connect(config=config)
    try:
        res = experiment_results(wh, config, NAME, horizon=HORIZON, as_of=END)
        rows = wh.to_pyarrow(outcomes_expr(wh, config, enrolments(config, NAME), END, HORIZON)).to_pandas()
    finally:
        wh.close()
    treated = rows[(rows.arm == "treatment") & rows.churned.notna()][["account_id", "started_on"]]
    truth = pd.read_parquet(folder / "company" / "_truth" / "save_play.parquet")
    j = treated.reset_index().merge(truth, on="account_id")
    month = pd.to_datetime(j.month)
    start = pd.to_datetime(j.started_on)
    # a decision in month j ends the line the day before: churned within the window when that day
    # is on or after the start and before the start + horizon
    j = j[(month > start) & (month <= start + pd.Timedelta(days=HORIZON))]
    keep0 = np.log1p(-j.churn_probability.astype(float)).groupby(j["index"]).sum()
    keep1 = np.log1p(-j.churn_probability_applied.astype(float)).groupby(j["index"]).sum()
    p0 = (1 - np.exp(keep0)).reindex(treated.index, fill_value=0.0)
    p1 = (1 - np.exp(keep1)).reindex(treated.index, fill_value=0.0)
    return res, float((p1 - p0).mean()), len(treated)


def _planted_site(tmp_path_factory) -> Path:
    return built_once(tmp_path_factory, f"save-effect-{ACCOUNTS}-{MONTHS}-{SEED}-60", _build(PLANTED))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return _measure(_planted_site(tmp_path_factory))


@pytest.fixture(scope="module")
def no_effect(tmp_path_factory):
    return _measure(built_once(tmp_path_factory, f"save-effect-{ACCOUNTS}-{MONTHS}-{SEED}-0", _build(0.0)))


def test_the_experiment_recovers_the_planted_save_effect(planted):
    res, true_effect, n_treated = planted
    churn = res["churn"]
    print(f"true effect {true_effect:+.4f}; measured {churn}")
    assert churn["status"] == "measured" and churn["treatment_n"] == n_treated
    assert true_effect < -0.05  # the planted effect is large enough to matter
    assert churn["ci_low"] <= true_effect <= churn["ci_high"]
    assert churn["ci_high"] < 0 and churn["p_value"] < 0.05  # and the experiment has the power to see it


def test_no_planted_effect_gives_an_interval_covering_zero(no_effect):
    res, true_effect, _ = no_effect
    churn = res["churn"]
    print(f"true effect {true_effect:+.4f}; measured {churn}")
    assert true_effect == 0.0
    assert churn["status"] == "measured"
    assert churn["ci_low"] <= 0.0 <= churn["ci_high"]


def test_goals_of_accounts_missing_from_the_summary_cost_one_query(tmp_path_factory, tmp_path):
    """A replay's enrolled accounts are not in account_summary (nothing refreshed it); checking the
    exit goal of every live enrolment was one warehouse query per such account."""
    from sqlalchemy import func, select

    from tenure.config import load_config
    from tenure.playbooks.engine import run_playbooks
    from tenure.state.db import session_scope
    from tenure.state.models import PlaybookEnrolment
    from tenure.warehouse import connect

    site = copy_site(_planted_site(tmp_path_factory), tmp_path / "site")
    config = load_config(site / "tenure.yaml")
    with session_scope(config) as s:
        live = s.scalar(select(func.count()).select_from(PlaybookEnrolment).where(
            PlaybookEnrolment.playbook == NAME, PlaybookEnrolment.status.in_(("active", "waiting"))))
    assert live >= 20
    wh = connect(config=config)
    queries = []
    real = wh.to_pyarrow

    def counted(expr, *a, **k):
        queries.append(1)
        return real(expr, *a, **k)

    wh.to_pyarrow = counted
    try:
        run_playbooks(wh, config, as_of=LAST_RUN, names=[NAME], now=datetime.combine(LAST_RUN, time(10)))
    finally:
        wh.close()
    assert len(queries) < 10, f"{len(queries)} queries for {live} live enrolments"


def test_recommendations_rest_on_the_experiment_split_by_segment_and_band(tmp_path_factory, planted):
    """The evidence per (segment, band) is the experiment's own analysis split: its cells add up to
    the experiment's sample sizes and churned counts; the planted play is suggested where its
    interval is below 0 (SMB accounts enrolled while red, most of them) and nowhere it is not."""
    from tenure.config import load_config
    from tenure.playbooks.recommend import play_evidence, recommend
    from tenure.warehouse import connect

    res, _, _ = planted
    site = _planted_site(tmp_path_factory)
    config = load_config(site / "tenure.yaml")
    wh = connect(config=config)
    try:
        ev = play_evidence(wh, config, horizon=HORIZON, as_of=END)
    finally:
        wh.close()
    assert [p["name"] for p in ev["playbooks"]] == [NAME]
    cells = ev["playbooks"][0]["cells"]
    churn = res["churn"]
    assert sum(c["treatment_n"] for c in cells) == churn["treatment_n"]
    assert sum(c["holdout_n"] for c in cells) == churn["holdout_n"]
    assert sum(c["treatment_rate"] * c["treatment_n"] for c in cells if c["treatment_n"]) == pytest.approx(
        churn["treatment_rate"] * churn["treatment_n"])
    smb = next(c for c in cells if (c["segment"], c["band"]) == ("SMB", "red"))
    assert smb["status"] == "measured" and smb["ci_high"] < 0
    accounts = [{"account_id": f"X{i}", "segment": c["segment"], "band": c["band"]} for i, c in enumerate(cells)]
    for c, r in zip(cells, recommend(ev, accounts)):
        proven = c["status"] == "measured" and c["ci_high"] < 0
        assert (r["playbook"] == NAME) == proven, (c, r)
