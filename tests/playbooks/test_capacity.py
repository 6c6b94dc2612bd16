"""CSM capacity and rebalancing (DuckDB and PostgreSQL warehouses), worked by hand.

Capacity of one CSM: high touch 2 accounts / 1,000 ARR; mid 4 / 2,000; tech 10 / 5,000.
Enterprise is high touch, Mid-Market mid, SMB (no model) tech. As of 2026-06-30:

  ana  E1 600, E2 300, E3 250 (Enterprise)  accounts 3/2 = 150%, ARR 1,150/1,000 = 115%  -> 150%, over
  ben  E4 200 (Enterprise); X1 churned       accounts 1/2 = 50%,  ARR 200/1,000 = 20%    -> 50%
  cy   M1 400, M2 600, M3 100, S1 50         accounts 3/4 + 1/10 = 85%, ARR 1,100/2,000 + 50/5,000 = 56% -> 85%
  dee  (in team east, no accounts)           0%
  no owner: S2 70 (SMB)
Team east (ana, ben, cy, dee): 8 accounts, 2,500 ARR, utilisation (150 + 50 + 85 + 0) / 4 = 71.25%.

Rebalancing: ana must lose an Enterprise account; only ben serves Enterprise (dee owns nothing,
cy no Enterprise). ben can take one (50% + 50% = 100%). The least ARR that brings ana to 2
accounts and at most 1,000 ARR is E3 (250): ana 100% / 90%, ben 100% / 45%.
"""

from __future__ import annotations

import itertools
import json
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import select

from tenure.config import config_from_dict
from tenure.ingest.pipeline import ingest_table
from tenure.playbooks import capacity as cap
from tenure.playbooks import tasks
from tenure.state.db import session_scope
from tenure.state.models import AuditLog, Task

AS_OF = date(2026, 6, 30)
MODEL = {
    "engagement_models": [{"name": "enterprise", "match": {"segment": ["Enterprise"]}, "touch": "high"},
                          {"name": "mid-market", "match": {"segment": ["Mid-Market"]}, "touch": "mid"}],
    "capacity": {"high": {"max_accounts": 2, "max_arr": 1000}, "mid": {"max_accounts": 4, "max_arr": 2000},
                 "tech": {"max_accounts": 10, "max_arr": 5000}},
    "teams": {"east": {"manager": "mia", "members": ["ana", "ben", "cy", "dee"]}},
}
ACCOUNTS = [("E1", "ana", "Enterprise", "600"), ("E2", "ana", "Enterprise", "300"), ("E3", "ana", "Enterprise", "250"),
            ("E4", "ben", "Enterprise", "200"), ("X1", "ben", "Enterprise", "900"),
            ("M1", "cy", "Mid-Market", "400"), ("M2", "cy", "Mid-Market", "600"), ("M3", "cy", "Mid-Market", "100"),
            ("S1", "cy", "SMB", "50"), ("S2", None, "SMB", "70")]


def _load(wh, config, entity, **cols):
    res = ingest_table(wh, config, entity, pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}),
                       source="test", file_label=entity)
    assert res.rejected == 0, res.rejected_by_reason


def load_company(wh, config):
    ids = [a[0] for a in ACCOUNTS]
    _load(wh, config, "accounts", account_id=ids, name=ids, owner=[a[1] for a in ACCOUNTS],
          segment=[a[2] for a in ACCOUNTS])
    _load(wh, config, "contract_lines", line_id=[f"L{i}" for i in ids], account_id=ids, product=["core"] * len(ids),
          start_date=["2025-01-01"] * len(ids), end_date=["2025-12-31" if i == "X1" else None for i in ids],
          arr=[a[3] for a in ACCOUNTS], currency=["USD"] * len(ids), quantity=["1"] * len(ids))
    _load(wh, config, "activities", activity_id=["A1"], account_id=["E1"], kind=["call"],
          at=["2026-06-30T10:00:00Z"], with_exec=["false"])


@pytest.fixture
def company(warehouse, tmp_path):
    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}, "operating_model": MODEL},
                              base_dir=tmp_path, env={})
    load_company(warehouse, config)
    return warehouse, config


def test_capacity_by_hand(company):
    wh, config = company
    report = cap.capacity(wh, config, AS_OF).to_dict()
    by = {r["csm"]: r for r in report["csms"]}
    assert set(by) == {"ana", "ben", "cy", "dee"}
    assert (by["ana"]["accounts"], by["ana"]["arr"], by["ana"]["by_touch"]) == (3, 1150.0, {"high": 3, "mid": 0,
                                                                                          "tech": 0})
    assert (by["ana"]["account_utilisation"], by["ana"]["arr_utilisation"], by["ana"]["utilisation"]) == (1.5, 1.15, 1.5)
    assert by["ana"]["over_capacity"] and not by["cy"]["over_capacity"]
    assert (by["ben"]["accounts"], by["ben"]["utilisation"]) == (1, 0.5)  # X1 churned: not a customer
    assert (by["cy"]["account_utilisation"], by["cy"]["arr_utilisation"]) == (0.85, 0.56)
    assert by["cy"]["segments"] == ["Mid-Market", "SMB"]
    assert (by["dee"]["accounts"], by["dee"]["utilisation"]) == (0, 0.0)
    assert report["teams"] == [{"team": "east", "manager": "mia", "csms": 4, "accounts": 8, "arr": 2500.0,
                                "utilisation": 0.7125, "over_capacity": 1}]
    assert report["unassigned"]["accounts"] == 1 and report["unassigned"]["arr"] == 70.0
    assert [a["account_id"] for a in report["unassigned"]["largest"]] == ["S2"]
    assert report["currency"] == "USD"


def test_rebalance_moves_the_least_arr_and_applies_once(company):
    wh, config = company
    p = cap.plan(wh, config, AS_OF)
    assert p.feasible and p.moves == [{"account_id": "E3", "segment": "Enterprise", "arr": 250.0, "from": "ana",
                                       "to": "ben"}]
    assert p.before["ana"] == 1.5 and p.after["ana"] == 1.0 and p.after["ben"] == 1.0
    with session_scope(config) as s:  # an open task on the moved account follows it; others stay
        moved = tasks.create_task(s, account_id="E3", type="risk", title="call", owner="ana").id
        stays = tasks.create_task(s, account_id="E1", type="risk", title="call", owner="ana").id
    assert wh.execute(wh.table("accounts").filter(lambda t: t.account_id == "E3").owner)[0] == "ana"  # preview
    cap.apply(wh, config, p, actor="mia")
    owners = dict(wh.execute(wh.table("accounts").select("account_id", "owner")).itertuples(index=False))
    assert owners["E3"] == "ben" and owners["E1"] == "ana"
    with session_scope(config) as s:
        log = s.scalars(select(AuditLog).where(AuditLog.action == "rebalance")).all()
        assert [(a.actor, a.entity_id, a.before, a.after["owner"]) for a in log] == [
            ("mia", "E3", {"owner": "ana"}, "ben")]
        assert s.get(Task, moved).owner == "ben" and s.get(Task, stays).owner == "ana"
    again = cap.plan(wh, config, AS_OF)
    assert again.feasible and again.moves == []
    report = {r["csm"]: r for r in cap.capacity(wh, config, AS_OF).csms}
    assert not any(r["over_capacity"] for r in report.values())


def test_rebalance_says_why_when_no_plan_exists(company, tmp_path):
    wh, _ = company
    tight = dict(MODEL, capacity={"high": {"max_accounts": 1, "max_arr": 1000},
                                  "mid": {"max_accounts": 4, "max_arr": 2000},
                                  "tech": {"max_accounts": 10, "max_arr": 5000}})
    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}, "operating_model": tight},
                              base_dir=tmp_path, env={})
    p = cap.plan(wh, config, AS_OF)
    assert not p.feasible and p.moves == [] and "keeping each account's segment" in p.reason and "ana" in p.reason


def _brute_force(accounts: pd.DataFrame, serves: dict[str, set[str]]):
    """Every assignment of the movable accounts: the least (ARR moved, moves) within capacity."""
    csms = sorted(serves)
    load = accounts.groupby("owner")[["account_load", "arr_load"]].sum().reindex(csms, fill_value=0.0)
    over = {c for c in csms if load.loc[c].max() > 1 + 1e-9}
    movable = accounts.index[accounts["owner"].isin(over)]
    choices = [[c for c in csms if c == accounts.at[i, "owner"] or accounts.at[i, "segment"] in serves[c]]
               for i in movable]
    best = None
    for combo in itertools.product(*choices):
        owner = accounts["owner"].copy()
        owner.loc[movable] = list(combo)
        g = accounts.assign(owner=owner).groupby("owner")[["account_load", "arr_load"]].sum()
        if (g.to_numpy() > 1 + 1e-9).any():
            continue
        changed = owner != accounts["owner"]
        key = (round(float(accounts.loc[changed, "arr"].sum()), 2), int(changed.sum()))
        best = key if best is None or key < best else best
    return best


def test_the_plan_is_optimal_against_brute_force():
    """On random small books (7 accounts, 3 CSMs, 2 segments) the MILP's plan moves exactly the
    least ARR (then the fewest accounts) that any assignment keeping segments can, and finds a plan
    exactly when one exists."""
    rng = np.random.default_rng(11)
    checked = feasible = 0
    for _ in range(40):
        n = 7
        accounts = pd.DataFrame({
            "account_id": [f"A{i}" for i in range(n)],
            "owner": rng.choice(["c1", "c2", "c3"], n, p=[0.5, 0.25, 0.25]),
            "segment": rng.choice(["S", "T"], n),
            "arr": rng.integers(1, 50, n) * 10.0})
        accounts["account_load"] = rng.choice([0.25, 0.5], n)
        accounts["arr_load"] = accounts["arr"] / 600.0
        serves = {c: set(accounts.loc[accounts["owner"] == c, "segment"]) for c in ("c1", "c2", "c3")}
        expected = _brute_force(accounts, serves)
        owners, why = cap.solve(accounts, serves)
        checked += 1
        if expected is None:
            assert owners is None and why
            continue
        feasible += 1
        changed = owners != accounts["owner"]
        got = (round(float(accounts.loc[changed, "arr"].sum()), 2), int(changed.sum()))
        assert got == expected
        assert all(o == accounts.at[i, "owner"] or accounts.at[i, "segment"] in serves[o] for i, o in owners.items())
    assert checked == 40 and 5 < feasible < 40  # both kinds of case were exercised


def test_capacity_cli(tmp_project, monkeypatch):
    from typer.testing import CliRunner

    import yaml

    from tenure.cli import app
    from tenure.playbooks import cli as playbooks_cli
    from tenure.config import load_config
    from tenure.warehouse import connect

    path = tmp_project / "tenure.yaml"
    data = yaml.safe_load(path.read_text())
    data["operating_model"] = MODEL
    path.write_text(yaml.safe_dump(data))
    config = load_config(path)
    with connect(config=config) as wh:
        wh.ensure_schema()
        load_company(wh, config)
    runner = CliRunner()
    monkeypatch.setattr(playbooks_cli.console, "width", 200)
    res = runner.invoke(app, ["capacity", "--json"])
    assert res.exit_code == 0, res.output
    assert {r["csm"]: r["utilisation"] for r in json.loads(res.output)["csms"]}["ana"] == 1.5
    table = runner.invoke(app, ["capacity"]).output
    assert "150% over" in table and "1.1K USD" in table and "unassigned customers: 1 (70 USD ARR)" in table
    preview = runner.invoke(app, ["capacity", "rebalance"])
    assert preview.exit_code == 0 and "preview only" in preview.output and "E3" in preview.output
    applied = runner.invoke(app, ["capacity", "rebalance", "--apply", "--json", "--user", "mia"])
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.output)["applied"] is True and len(json.loads(applied.output)["moves"]) == 1
    again = runner.invoke(app, ["capacity", "rebalance", "--apply"])
    assert again.exit_code == 0 and "nothing to move" in again.output


def test_the_demo_gets_an_operating_model_once(tmp_path):
    from tenure.config import load_config, write_default_config
    from tenure.demo import add_operating_model

    write_default_config(tmp_path)
    (tmp_path / "accounts.csv").write_text("account_id,owner\nA,csm02\nB,csm01\nC,csm03\nD,\nE,csm03\n")
    assert add_operating_model(tmp_path / "tenure.yaml", tmp_path / "accounts.csv") is True
    first = (tmp_path / "tenure.yaml").read_text()
    assert add_operating_model(tmp_path / "tenure.yaml", tmp_path / "accounts.csv") is False
    assert (tmp_path / "tenure.yaml").read_text() == first  # a re-run changes nothing
    om = load_config(tmp_path / "tenure.yaml").operating_model
    assert {n: (t.manager, t.members) for n, t in om.teams.items()} == {
        "east": ("manager", ["csm01", "csm02"]), "west": ("cco", ["csm03"])}
    assert [m.touch for m in om.engagement_models] == ["high", "mid", "tech"]
    assert om.engagement_models[0].exec_sponsor_required
