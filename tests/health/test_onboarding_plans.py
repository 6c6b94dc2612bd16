"""Onboarding plans on a hand-made company: milestones due from the contract start, done from the
milestones facts or from data (an activity, a feature used, active users, usage events, active
days), and the status on track / behind / stuck each account gets (real warehouse engine)."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from tenure.config import OnboardingPlans, config_from_dict
from tenure.errors import ConfigError
from tenure.health.onboarding_plans import onboarding_status, plan_milestones
from tenure.ingest.pipeline import ingest_table

AS_OF = date(2026, 6, 30)

PLANS = {
    "plans": [
        {"name": "enterprise", "segments": ["Enterprise"], "milestones": [
            {"name": "kickoff", "due_days": 7, "done_when": {"activity": "meeting"}},
            {"name": "first_report", "due_days": 14, "done_when": {"feature": "report"}},
            {"name": "five_users", "due_days": 21, "done_when": {"active_users": 5}},
            {"name": "training", "due_days": 45, "required": False, "done_when": {"activity": "training"}},
            {"name": "first_value", "due_days": 60}]},
        {"name": "standard", "milestones": [
            {"name": "kickoff", "due_days": 10},
            {"name": "ten_events", "due_days": 20, "done_when": {"events": 10}},
            {"name": "three_days", "due_days": 25, "done_when": {"active_days": 3}}]},
    ],
    "behind_after_days": 0,
    "stuck_after_days": 20,
}


def _load(wh, config, entity, **cols):
    res = ingest_table(wh, config, entity, pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}),
                       source="test", file_label=entity)
    assert res.rejected == 0, res.rejected_by_reason


def _events(account, day, users, feature="login", n=1):
    return [(account, f"u{u}", f"2026-06-{day:02d}T{10 + k:02d}:00:00Z", feature) for u in range(users) for k in range(n)]


@pytest.fixture
def company(warehouse, tmp_path):
    """Every account starts on 2026-06-01 (its first ARR) except E (2026-01-01: 180 days, onboarding
    is over). As of 2026-06-30 (29 days in):

    A (Enterprise): meeting 06-03 (kickoff due 06-08: on time), report run 06-10 (due 06-15: on
        time), 5 users on 06-25 (five_users due 06-22: done 3 days late); training (optional, due
        07-16) and first_value (due 07-31) open. 3 of 4 required done, 3 due: on track.
    B (Enterprise): its only meeting was 05-20, before the start, so nothing is done: kickoff 22
        days overdue (> 20): stuck; first_report 15, five_users 8 days overdue.
    C (SMB, the default plan): kickoff fact done 06-05; 4 events on each of 06-02, 06-03, 06-23:
        the 10th event and the 3rd active day both on 06-23 (ten_events 2 days late, three_days on
        time). All done: on track, progress 1.
    D (SMB): one event on 06-02, kickoff not done: overdue 19 days (> 0, not > 20): behind.
    E (Enterprise, 180 days a customer): not onboarding, so not listed."""
    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}, "onboarding_plans": PLANS},
                              base_dir=tmp_path, env={})
    ids = ["A", "B", "C", "D", "E"]
    _load(warehouse, config, "accounts", account_id=ids, name=ids,
          segment=["Enterprise", "Enterprise", "SMB", "SMB", "Enterprise"])
    _load(warehouse, config, "contract_lines", line_id=[f"L{a}" for a in ids], account_id=ids, product=["core"] * 5,
          start_date=["2026-06-01"] * 4 + ["2026-01-01"], end_date=["2027-05-31"] * 5, arr=["10000"] * 5,
          currency=["USD"] * 5, quantity=["10"] * 5)
    _load(warehouse, config, "activities", activity_id=["X1", "X2", "X3"], account_id=["A", "B", "E"],
          kind=["meeting"] * 3, at=["2026-06-03T09:00:00Z", "2026-05-20T09:00:00Z", "2026-01-05T09:00:00Z"],
          with_exec=["false"] * 3)
    _load(warehouse, config, "milestones", account_id=["C"], milestone=["kickoff"], due_at=["2026-06-11"],
          completed_at=["2026-06-05"])
    rows = (_events("A", 10, 1, "report") + _events("A", 25, 5) + _events("C", 2, 1, n=4) + _events("C", 3, 1, n=4)
            + _events("C", 23, 1, n=4) + _events("D", 2, 1))
    _load(warehouse, config, "usage_events", account_id=[r[0] for r in rows], user_id=[r[1] for r in rows],
          ts=[r[2] for r in rows], feature=[r[3] for r in rows])
    return warehouse, config


def test_status_on_hand_made_facts(company):
    wh, config = company
    import pandas as pd

    rows = wh.to_pyarrow(onboarding_status(wh, config, AS_OF)).to_pylist()
    got = pd.DataFrame.from_records(rows).set_index("account_id").sort_index()
    assert list(got.index) == ["A", "B", "C", "D"]
    assert got.status.to_dict() == {"A": "on_track", "B": "stuck", "C": "on_track", "D": "behind"}
    assert got.plan.to_dict() == {"A": "enterprise", "B": "enterprise", "C": "standard", "D": "standard"}
    assert got.slippage_days.to_dict() == {"A": 0, "B": 22, "C": 0, "D": 19}
    assert got.loc["A", ["milestones", "done", "required", "required_done", "required_due", "overdue"]].tolist() \
        == [5, 3, 4, 3, 3, 0]
    assert got.loc["A", "progress"] == pytest.approx(0.75) and got.loc["A", "expected_progress"] == pytest.approx(0.75)
    assert got.loc["A", "next_milestone"] == "training" and got.loc["A", "next_due_on"] == date(2026, 7, 16)
    assert got.loc["B", "overdue"] == 3 and got.loc["B", "progress"] == 0
    assert got.loc["C", "progress"] == 1 and pd.isna(got.loc["C", "next_milestone"])
    assert got.loc["D", "required_done"] == 0 and got.loc["D", "overdue"] == 3
    assert set(got.days_since_start) == {29}


def test_milestones_done_from_data(company):
    wh, config = company
    accounts = wh.table("accounts").select("account_id", "segment", start=ibis_date("2026-06-01"))
    from types import SimpleNamespace

    m = wh.to_pyarrow(plan_milestones(wh, config.onboarding_plans, accounts, AS_OF)).to_pylist()
    by = {(r["account_id"], r["milestone"]): SimpleNamespace(**r) for r in m}
    a = {k[1]: (r.state, r.completed_on, r.late_days) for k, r in by.items() if k[0] == "A"}
    assert a == {"kickoff": ("done", date(2026, 6, 3), 0), "first_report": ("done", date(2026, 6, 10), 0),
                 "five_users": ("done", date(2026, 6, 25), 3), "training": ("due", None, 0),
                 "first_value": ("due", None, 0)}
    c = {k[1]: (r.state, r.completed_on, r.late_days) for k, r in by.items() if k[0] == "C"}
    assert c == {"kickoff": ("done", date(2026, 6, 5), 0), "ten_events": ("done", date(2026, 6, 23), 2),
                 "three_days": ("done", date(2026, 6, 23), 0)}
    assert by[("B", "kickoff")].state == "overdue" and by[("B", "kickoff")].days_overdue == 22
    assert by[("E", "kickoff")].state == "overdue"  # given as a start here, E is judged like the others


def ibis_date(text):
    from tenure.warehouse.expr import ibis

    return ibis.literal(date.fromisoformat(text))


def test_no_plan_no_status(company):
    wh, config = company
    plain = config_from_dict({"ingest": {"runs_dir": str(config.base_dir / "runs")}}, base_dir=config.base_dir, env={})
    assert onboarding_status(wh, plain, AS_OF) is None
    only_ent = OnboardingPlans.model_validate({"plans": PLANS["plans"][:1]})
    accounts = wh.table("accounts").select("account_id", "segment", start=ibis_date("2026-06-01"))
    m = wh.to_pyarrow(plan_milestones(wh, only_ent, accounts, AS_OF)).to_pylist()
    assert sorted({r["account_id"] for r in m}) == ["A", "B", "E"]  # SMB has no plan: left out


@pytest.mark.parametrize("plans, words", [
    ({"plans": [{"name": "p", "milestones": [{"name": "k", "due_days": 1, "done_when": {"events": 3, "feature": "x"}}]}]},
     "exactly one condition"),
    ({"plans": [{"name": "p", "milestones": [{"name": "k", "due_days": 1, "done_when": {"activity": "lunch"}}]}]},
     "unknown activity kind 'lunch'"),
    ({"plans": [{"name": "p", "segments": ["SMB"], "milestones": [{"name": "k", "due_days": 1}]},
                {"name": "q", "segments": ["SMB"], "milestones": [{"name": "k", "due_days": 1}]}]},
     "segment 'SMB' is in plans 'p' and 'q'"),
    ({"plans": [{"name": "p", "milestones": [{"name": "k", "due_days": 1}, {"name": "k", "due_days": 2}]}]},
     "milestone 'k' is listed twice"),
    ({"behind_after_days": 30, "stuck_after_days": 10}, "stuck_after_days must be more than behind_after_days"),
    ({"plans": [{"name": "p", "milestones": [{"name": "k", "due_day": 1}]}]}, "due_day"),
])
def test_plans_are_validated_with_the_field_named(tmp_path, plans, words):
    with pytest.raises(ConfigError) as err:
        config_from_dict({"onboarding_plans": plans}, base_dir=tmp_path, env={})
    assert words in str(err.value) and "onboarding_plans" in str(err.value)


def test_behind_and_stuck_are_early_warning_signals(company):
    from tenure.health.signals import record_signals, signals

    wh, config = company
    got = {(r["account_id"], r["signal"]): r for r in wh.to_pyarrow(signals(wh, config, AS_OF)).to_pylist()
           if r["signal"].startswith("onboarding_")}
    assert set(got) == {("B", "onboarding_stuck"), ("D", "onboarding_behind")}
    assert got[("B", "onboarding_stuck")]["severity"] == "high"
    assert got[("D", "onboarding_behind")]["severity"] == "medium"
    assert got[("B", "onboarding_stuck")]["detail"] == ("onboarding stuck: 0 of 4 required milestones done (3 due), "
                                                         "22 days late (plan enterprise)")
    record_signals(wh, config, AS_OF)
    hs = wh.table("health_signals")
    assert int(wh.execute(hs.filter(hs.signal.startswith("onboarding_")).count())) == 2


def test_the_demo_ships_plans_once(tmp_path):
    from tenure.config import load_config, write_default_config
    from tenure.demo import add_onboarding_plans

    write_default_config(tmp_path)
    assert add_onboarding_plans(tmp_path / "tenure.yaml") is True
    text = (tmp_path / "tenure.yaml").read_text()
    assert add_onboarding_plans(tmp_path / "tenure.yaml") is False
    assert (tmp_path / "tenure.yaml").read_text() == text  # idempotent
    plans = load_config(tmp_path / "tenure.yaml").onboarding_plans
    assert [p.name for p in plans.plans] == ["enterprise", "standard"]
    assert plans.plan_for("SMB").name == "standard" and plans.stuck_after_days == 21


def test_the_cli_lists_status_most_slipped_first(company, warehouse_url, tmp_path):
    import json

    import yaml
    from typer.testing import CliRunner

    from tenure.cli import app

    wh, config = company
    wh.close()  # the command opens the warehouse itself
    cfg = tmp_path / "tenure.yaml"
    cfg.write_text(yaml.safe_dump({"warehouse": {"url": warehouse_url}, "onboarding_plans": PLANS}))
    res = CliRunner().invoke(app, ["health", "onboarding", "--as-of", "2026-06-30", "--json", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [(r["account_id"], r["status"]) for r in out["accounts"]] == [
        ("B", "stuck"), ("D", "behind"), ("A", "on_track"), ("C", "on_track")]
    assert out["counts"] == {"on_track": 2, "behind": 1, "stuck": 1}
    res = CliRunner().invoke(app, ["health", "onboarding", "--as-of", "2026-06-30", "--status", "late",
                                   "--config", str(cfg)])
    assert res.exit_code != 0 and "--status 'late': use one of on_track, behind, stuck" in str(res.exception)


def test_the_onboarding_features_are_the_health_features(company):
    """The onboarding trigger and page read onboarding_features (no usage, tickets, surveys...):
    the same rows and values as those columns of account_features, on the hand-made company."""
    from tenure.health.features import account_features, onboarding_features

    wh, config = company
    cols = ["account_id", "segment", "arr", "days_since_first_arr", "in_onboarding"]
    full = wh.to_pyarrow(account_features(wh, config, AS_OF).select(*cols).order_by("account_id")).to_pylist()
    light = wh.to_pyarrow(onboarding_features(wh, config, AS_OF).order_by("account_id")).to_pylist()
    assert light == full and [r["account_id"] for r in light if r["in_onboarding"]] == ["A", "B", "C", "D"]
