"""Playbook files: every error names the file, the line and the field; the shipped library is
valid; a version changes with the content and not with the status. No engine needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure.errors import ConfigError
from tenure.playbooks.spec import load_file, parse, validate_folder

LIBRARY = Path(__file__).parents[2] / "src" / "tenure" / "playbooks" / "library"

BAD = """\
name: at-risk
status: active
triggers:
  - type: band_change
    to: [red]
  - type: churn_risk
    threshold: 1.5
  - type: churn_rsk
audience:
  - {field: segmnt, in: [Enterprise]}
steps:
  - action: create_task
    title: "Save {{ account.name }}"
    owner: boss
  - wait: {days: 3}
  - action: send_email
    subject: "Hi {{ acount.name }}"
    body: x
  - branch:
      if: [{field: band, eq: red}]
      then:
        - action: webhook
          url: ftp://nope
"""


def test_each_problem_names_file_line_and_field():
    pb, problems = parse(BAD, "at_risk.yaml")
    assert pb is None
    got = {(p.file, p.line, p.field) for p in problems}
    assert got == {
        ("at_risk.yaml", 10, "audience[0]"),
        ("at_risk.yaml", 7, "triggers[1].threshold"),
        ("at_risk.yaml", 8, "triggers[2].type"),
        ("at_risk.yaml", 14, "steps[0].owner"),
        ("at_risk.yaml", 17, "steps[2].subject"),
        ("at_risk.yaml", 23, "steps[3].branch.then[0].url"),
    }
    text = {p.field: str(p) for p in problems}
    assert text["audience[0]"].startswith("at_risk.yaml:10: audience[0]: unknown account field 'segmnt'")
    assert "churn_rsk" in text["triggers[2].type"] and "band_change" in text["triggers[2].type"]
    assert "acount" in text["steps[2].subject"]


def test_unknown_fields_point_at_their_own_line():
    _, problems = parse("name: x\ntriggers: [{type: manual}]\nsteps:\n  - action: create_task\n    title: t\n"
                        "    colour: red\n", "x.yaml")
    assert [(p.line, p.field, p.message) for p in problems] == [(6, "steps[0].colour", "unknown field")]


def test_yaml_syntax_errors_name_the_line():
    _, problems = parse("name: x\nsteps: [\n", "broken.yaml")
    assert problems[0].file == "broken.yaml" and problems[0].line == 3 and "not valid YAML" in problems[0].message


def test_a_step_is_exactly_one_thing():
    _, problems = parse("name: x\ntriggers: [{type: manual}]\nsteps:\n  - {action: create_task, title: t, "
                        "wait: {days: 1}}\n", "x.yaml")
    assert [(p.line, p.field) for p in problems] == [(4, "steps[0]")]
    assert "exactly one of" in problems[0].message


def test_the_shipped_library_is_valid_and_complete():
    books, problems = validate_folder(LIBRARY)
    assert problems == []
    assert {b.name for b in books} == {"onboarding", "renewal", "at-risk-save", "expansion", "detractor-follow-up",
                                       "low-csat-follow-up", "sponsor-change", "missed-cadence"}
    assert all(b.status == "draft" for b in books)  # the demo (or `tenure playbooks library --enable`) turns them on


def test_a_version_follows_the_content_not_the_status():
    base = "name: x\nstatus: active\ntriggers: [{type: manual}]\nsteps: [{action: create_task, title: t}]\n"
    a, _ = parse(base, "x.yaml")
    b, _ = parse(base.replace("active", "paused"), "x.yaml")
    c, _ = parse(base.replace("title: t", "title: u"), "x.yaml")
    assert a.content_hash == b.content_hash != c.content_hash


def test_names_are_unique_across_files(tmp_path):
    text = "name: same\ntriggers: [{type: manual}]\nsteps: [{action: create_task, title: t}]\n"
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text)
    books, problems = validate_folder(tmp_path)
    assert [b.file for b in books] == ["a.yaml"]
    assert [(p.file, p.field) for p in problems] == [("b.yaml", "name")]


def test_load_file_raises_one_error_listing_every_problem(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(ConfigError) as err:
        load_file(path)
    assert str(err.value).count("bad.yaml:") == 6


def test_cli_validate_prints_each_problem_and_fails(tmp_path, monkeypatch):
    from tenure.cli import app

    (tmp_path / "tenure.yaml").write_text("playbooks: {folder: pb}\n")
    (tmp_path / "pb").mkdir()
    (tmp_path / "pb" / "at_risk.yaml").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TENURE_CONFIG", raising=False)
    result = CliRunner().invoke(app, ["playbooks", "validate"])
    assert result.exit_code == 2
    assert "at_risk.yaml:7: triggers[1].threshold" in result.output
    ok = CliRunner().invoke(app, ["playbooks", "validate", "--json"])
    assert '"line": 10' in ok.output


def test_task_types_reasons_and_priorities_are_checked_against_tenure_yaml():
    from tenure.config import TaskSettings

    text = ("name: x\ntriggers: [{type: manual}]\nsteps:\n  - action: create_task\n    title: t\n    type: risk\n"
            "    reason: bored\n    priority: whenever\n  - action: create_task\n    title: u\n    type: nope\n"
            "  - {action: create_task, title: v, type: risk, reason: \"{{ 'signal' }}\"}\n")
    _, problems = parse(text, "x.yaml", TaskSettings())
    assert [(p.line, p.field) for p in problems] == [(7, "steps[0].reason"), (8, "steps[0].priority"),
                                                     (11, "steps[1].type")]
    assert "'bored' is not a reason of task type risk" in problems[0].message
    pb, problems = parse(text, "x.yaml")  # without the vocabulary only the file's own rules apply
    assert problems == [] and pb is not None
