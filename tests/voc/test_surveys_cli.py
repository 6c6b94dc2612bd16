"""`tenure voc send | remind | sync | programs | link` on the tiny surveyed company."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tenure.cli import app

runner = CliRunner()


def _run(config, *args):
    res = runner.invoke(app, ["voc", *args, "--config", str(config.base_dir / "tenure.yaml")], terminal_width=200)
    assert res.exit_code == 0, res.output
    return res.output


def test_send_sync_and_programs(project):
    out = _run(project, "send", "--dry-run")
    assert "rel-nps: would invite 3 of an audience of 3" in out and "nothing was written" in out
    [rel, _] = json.loads(_run(project, "send", "--json"))
    assert (rel["program"], rel["invited"]) == ("rel-nps", 3)
    assert "skipped 3 recently asked" in _run(project, "send", "--program", "rel-nps")
    assert "reminded 0 invitation(s)" in _run(project, "remind")
    assert "synced 3 invitation(s) and 0 response(s)" in _run(project, "sync")
    rows = {r["name"]: r for r in json.loads(_run(project, "programs", "--json"))}
    assert (rows["rel-nps"]["invited"], rows["rel-nps"]["answered"], rows["rel-nps"]["score"]) == (3, 0, None)
    table = _run(project, "programs")
    assert "rel-nps" in table and "no synced answer yet" in table


def test_link_needs_the_link_channel(project):
    assert _run(project, "link", "support-csat", "--account", "acct-1").startswith("http://surveys.test/s/L")
    res = runner.invoke(app, ["voc", "link", "rel-nps", "--account", "acct-1", "--config",
                              str(project.base_dir / "tenure.yaml")])
    assert res.exit_code != 0 and "channels has no 'link'" in str(res.exception)  # one line from `tenure`
