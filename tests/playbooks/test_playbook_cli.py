"""The `tenure playbooks` commands and the worker job, run in-process on the embedded stores."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.playbooks.pb_company import AS_OF, build_company, make_config
from tenure.cli import app


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder (DuckDB + SQLite) with the company loaded and the shipped library enabled."""
    from tenure.playbooks.playbook_cli import install_library
    from tenure.state.db import upgrade
    from tenure.warehouse import connect

    (tmp_path / "tenure.yaml").write_text("playbooks: {folder: playbooks}\n")
    monkeypatch.chdir(tmp_path)
    for var in ("TENURE_CONFIG", "TENURE_WAREHOUSE_URL", "TENURE_STATE_URL"):
        monkeypatch.delenv(var, raising=False)
    from tenure.config import load_config

    config = load_config(tmp_path / "tenure.yaml")
    upgrade(config)
    wh = connect(config=config)
    try:
        wh.ensure_schema()
        build_company(wh, make_config(tmp_path, config.state_url))
    finally:
        wh.close()
    assert len(install_library(config, enable=True)) == 8
    return tmp_path


def _cli(*args):
    result = CliRunner().invoke(app, list(args))
    return result


def test_run_dry_run_then_run_then_nothing_new(project):
    day = AS_OF.isoformat()
    dry = _cli("playbooks", "run", "--dry-run", "--as-of", day, "--json")
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.output)["totals"]
    assert planned["tasks"] > 0
    assert json.loads(_cli("playbooks", "list", "--json").output)[0]["enrolments"] == 0
    real = json.loads(_cli("playbooks", "run", "--as-of", day, "--json").output)["totals"]
    assert real["tasks"] == planned["tasks"] and real["started"] == planned["started"]
    again = json.loads(_cli("playbooks", "run", "--as-of", day, "--json").output)["totals"]
    assert again["tasks"] == 0 and again["started"] == 0
    listed = {r["name"]: r for r in json.loads(_cli("playbooks", "list", "--json").output)}
    assert listed["renewal"]["version"] == 1 and listed["renewal"]["status"] == "active"
    res = json.loads(_cli("playbooks", "results", "renewal", "--json").output)
    assert res["tasks"] == {"open": 1}  # B's 2026-07-15 renewal, T-30


def test_preview_shows_accounts_trigger_values_and_actions(project):
    out = _cli("playbooks", "preview", "at-risk-save", "--as-of", AS_OF.isoformat(), "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert {(o["account_id"], o["trigger_id"]) for o in report["occurrences"]} == {
        ("B", "band_change"), ("B", "churn_risk"), ("F", "band_change")}
    text = _cli("playbooks", "preview", "at-risk-save", "--as-of", AS_OF.isoformat())
    assert "Beta GmbH" in text.output and "health band red since 2026-06-30" in text.output


def test_an_unknown_playbook_is_one_clear_error(project):
    out = _cli("playbooks", "results", "nope")
    assert out.exit_code != 0
    assert "no playbook named 'nope'" in str(out.exception) + out.output


def test_the_worker_runs_the_playbooks_after_each_refresh():
    from tenure.playbooks.worker_jobs import EVALUATE_JOB
    from tenure.workers import worker_registry

    job = next(j for j in worker_registry().jobs(__import__("tenure.config").config.config_from_dict({}, env={}))
               if j.name == EVALUATE_JOB)
    assert job.schedule.after_refresh


def test_preview_of_a_past_day_takes_the_audience_of_that_day(project):
    """C churned on 2026-04-30 (its last day with ARR): today's summary says churned, but on
    2026-04-30 it was a customer with ARR 3,000, so red that day it is in at-risk-save's audience
    (status customer, ARR >= 1,000). A condition with no history that day is one clear error."""
    from tests.playbooks.pb_company import EARLIER, put
    from tenure.config import load_config
    from tenure.warehouse import connect

    wh = connect(config=load_config(project / "tenure.yaml"))
    try:
        put(wh, "health_scores", account_id=["C"], as_of=[EARLIER], segment=["SMB"], score=[20.0], band=["red"])
    finally:
        wh.close()
    out = _cli("playbooks", "preview", "at-risk-save", "--as-of", EARLIER.isoformat(), "--json")
    assert out.exit_code == 0, out.output
    occurrences = json.loads(out.output)["occurrences"]
    assert {o["account_id"] for o in occurrences} == {"C", "F"}
    assert {o["account_id"]: float(o["arr"]) for o in occurrences}["C"] == 3000.0  # its ARR then, not today's 0
    # templates see the account as it was that day too
    (project / "playbooks" / "said.yaml").write_text(
        "name: said\nstatus: draft\ntriggers: [{type: band_change, to: [red]}]\n"
        "steps: [{action: create_task, title: '{{ account.status }} {{ account.arr }}'}]\n")
    said = _cli("playbooks", "preview", "said", "--as-of", EARLIER.isoformat(), "--json")
    assert said.exit_code == 0, said.output
    rows = {a["account_id"]: a for a in json.loads(said.output)["playbooks"][0]["accounts"]}
    assert rows["C"]["actions"][0]["title"].startswith("customer 3000")
    (project / "playbooks" / "risky.yaml").write_text(
        "name: risky\nstatus: draft\ntriggers: [{type: band_change, to: [red]}]\n"
        "audience: [{field: risk, gte: 0.2}]\nsteps: [{action: create_task, title: x}]\n")
    bad = _cli("playbooks", "preview", "risky", "--as-of", EARLIER.isoformat())
    assert bad.exit_code != 0
    assert "audience field 'risk' cannot be tested on 2026-04-30" in str(bad.exception) + bad.output
