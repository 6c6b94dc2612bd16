"""`tenure voc custom list|show`: the surveys of tenure.yaml and imported ones, with counts done
in the engine, after a real import through `tenure ingest --format surveymonkey`."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from tenure.cli import app

runner = CliRunner()
MONKEY = Path(__file__).parents[1] / "fixtures" / "connectors" / "surveymonkey" / "onboarding-pulse.csv"
EXIT = {"title": "Why are you leaving?", "purpose": "exit", "questions": [
    {"id": "reason", "type": "single", "text": "Main reason?", "options": ["Price", "Product"]},
    {"id": "gap", "type": "rating", "text": "How far off?", "show_if": [{"question": "reason", "equals": "Price"}]},
]}


def test_list_and_show_after_an_import(tmp_project):
    cfg = yaml.safe_load((tmp_project / "tenure.yaml").read_text()) or {}
    cfg["custom_surveys"] = {"exit": EXIT}
    (tmp_project / "tenure.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_project / "acc.csv").write_text("account_id,name,domain\nA1,Acme,acme.com\nA2,Beta,beta-one.com\n"
                                         "A3,Gamma,gamma.tv\n")
    assert runner.invoke(app, ["ingest", "accounts", "acc.csv"]).exit_code == 0
    res = runner.invoke(app, ["ingest", "all", str(MONKEY), "--format", "surveymonkey", "--json"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["voc", "custom", "list", "--json"])
    assert res.exit_code == 0, res.output
    got = {r["survey_id"]: r for r in json.loads(res.output)}
    assert got["exit"]["respondents"] == 0 and got["exit"]["questions"] == 2
    monkey = got["surveymonkey-onboarding-pulse"]
    assert (monkey["title"], monkey["respondents"], monkey["answers"]) == ("(imported)", 3, 20)
    res = runner.invoke(app, ["voc", "custom", "show", "surveymonkey-onboarding-pulse", "--json"])
    rows = json.loads(res.output)["answers"]
    rating = next(r for r in rows if r["question_id"] == "q2")
    assert rating["answers"] == 3 and rating["mean"] == (4 + 2 + 5) / 3
    features = {r["choice"]: r["mean"] for r in rows if r["question_id"] == "q4"}  # mean rank of each option
    assert features == {"Price": 2.0, "Support": 2.0, "Features": 2.0}
    out = runner.invoke(app, ["voc", "custom", "show", "exit"], terminal_width=200).output
    assert "only if reason = Price" in out and "no answers yet" in out
    res = runner.invoke(app, ["voc", "custom", "show", "nope"])
    assert res.exit_code != 0 and "no custom survey 'nope'" in str(res.exception)


def test_link_verifies_and_sync_with_nothing_waiting(tmp_project):
    from tenure.config import load_config
    from tenure.voc import custom
    from tenure.workers import worker_registry

    cfg = yaml.safe_load((tmp_project / "tenure.yaml").read_text()) or {}
    cfg["custom_surveys"] = {"exit": EXIT}
    (tmp_project / "tenure.yaml").write_text(yaml.safe_dump(cfg))
    res = runner.invoke(app, ["voc", "custom", "link", "exit", "A1", "--contact", "c9"])
    assert res.exit_code == 0, res.output
    token = res.output.strip().rsplit("/s/c/", 1)[1]
    status, claim = custom.read_link(load_config(tmp_project / "tenure.yaml"), token)
    assert status == "ok" and (claim.survey_id, claim.account_id, claim.contact_id) == ("exit", "A1", "c9")
    res = runner.invoke(app, ["voc", "custom", "sync"])
    assert res.exit_code == 0 and "no finished answers waiting" in res.output
    assert "custom-survey-sync" in {j.name for j in worker_registry().jobs(load_config(tmp_project / "tenure.yaml"))}
