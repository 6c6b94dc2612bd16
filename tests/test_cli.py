"""The `tenure` command end to end: help, init, simulate, ingest exit codes and JSON, demo."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tenure.cli import app

runner = CliRunner()


def _listed_commands(output: str) -> set[str]:
    """The command names in Rich's help panel: the first word of each boxed row that is not the
    wrapped continuation of a description (those start indented)."""
    names = set()
    for line in output.splitlines():
        if line.startswith("│ ") and line[2:3].strip():
            word = line[2:].split()[0]
            if not word.startswith("-"):
                names.add(word)
    return names


def test_help_lists_every_command():
    import typer.main

    out = runner.invoke(app, ["--help"], terminal_width=200).output
    registered = set(typer.main.get_command(app).commands)
    assert {"init", "ingest", "accounts", "simulate", "demo", "db", "users", "tokens", "refresh"} <= registered
    assert _listed_commands(out) == registered, out


def test_ingest_exit_codes_and_json_and_rerun(tmp_project):
    (tmp_project / "acc.csv").write_text("account_id,name\nA1,Acme\nA2,\n")
    res = runner.invoke(app, ["ingest", "accounts", "acc.csv", "--json"])
    assert res.exit_code == 1, res.output
    summary = json.loads(res.output)
    assert summary["inserted"] == 1 and summary["rejected_by_reason"] == {"required": 1}
    assert runner.invoke(app, ["ingest", "accounts", "acc.csv", "--strict"]).exit_code == 2
    (tmp_project / "good.csv").write_text("account_id,name\nA1,Acme\n")
    res = runner.invoke(app, ["ingest", "accounts", "good.csv", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["unchanged"] == 1


@pytest.mark.slow
def test_demo_loads_a_company_end_to_end_and_rerun_changes_nothing(tmp_path):
    from tenure.demo import run_demo

    first = run_demo(tmp_path / "demo", accounts=60, months=12, seed=3, quiet=True)
    loads = {(r["entity"], r["source"]): r for r in first["loads"]}
    assert loads[("accounts", "demo")]["inserted"] == 60
    assert loads[("usage_events", "demo")]["inserted"] > 1000
    assert all(r["rejected"] == 0 for k, r in loads.items() if k[1] == "demo"), first["loads"]
    assert first["identities"]["matched"] > 0
    second = run_demo(tmp_path / "demo", accounts=60, months=12, seed=3, quiet=True)
    assert all(r["inserted"] == 0 and r["updated"] == 0 for r in second["loads"]), second["loads"]


@pytest.mark.slow
def test_every_next_command_the_demo_suggests_works(writable_site, monkeypatch):
    """The demo's "Next:" list is what a new user types first: each command must succeed (in a
    copy of the demo the suite builds once, since some of them write)."""
    import shlex

    from tenure.demo import next_commands

    monkeypatch.chdir(writable_site.dir)
    monkeypatch.delenv("TENURE_CONFIG", raising=False)
    commands = next_commands(writable_site.summary)
    assert any(c.startswith("tenure accounts identities") for c in commands)
    assert len(commands) >= 5, commands
    for command in commands:
        for part in command.split("#")[0].split("&&"):
            argv = shlex.split(part)
            assert argv[0] == "tenure", command
            res = runner.invoke(app, argv[1:])
            assert res.exit_code == 0, f"{part!r} failed: {res.output}"
