"""The team capacity page on the demo site: its figures are `tenure capacity --json`'s, and what a
principal sees follows the access policy (a manager its team, a CSM itself, the CCO everything)."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from tenure.web.capacity import capacity_view
from tenure.web.render import number, pct


def _capacity(site) -> dict:
    from tenure.cli import app

    res = CliRunner().invoke(app, ["capacity", "--json", "--config", str(site.dir / "tenure.yaml")])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _rows(html: str, kind: str) -> dict[str, dict[str, str]]:
    out = {}
    for key, body in re.findall(rf'<tr data-{kind}="([^"]+)"[^>]*>(.*?)</tr>', html, re.S):
        out[key] = {f: v.strip() for f, v in re.findall(r'data-field="([^"]+)"[^>]*>([^<]*)<', body)}
    return out


def test_the_page_is_the_cli_s_report(login, demo_site):
    report = _capacity(demo_site)
    page = login("cco").get("/capacity")
    assert page.status_code == 200
    assert '<a href="/capacity" aria-current="page">Capacity</a>' in page.text
    csms = _rows(page.text, "csm")
    assert list(csms) == [c["csm"] for c in report["csms"]] and csms
    for c in report["csms"]:
        row = csms[c["csm"]]
        assert row["accounts"] == number(c["accounts"])
        assert row["account_utilisation"] == pct(c["account_utilisation"])
        assert row["arr_utilisation"] == pct(c["arr_utilisation"])
        assert row["utilisation"] == pct(c["utilisation"])
    teams = _rows(page.text, "team")
    assert list(teams) == [t["team"] for t in report["teams"]]
    for t in report["teams"]:
        assert teams[t["team"]]["accounts"] == number(t["accounts"])
        assert teams[t["team"]]["utilisation"] == pct(t["utilisation"])
        assert teams[t["team"]]["over_capacity"] == number(t["over_capacity"])
    u = report["unassigned"]
    assert re.search(r'data-field="unassigned-accounts">([^<]+)<', page.text).group(1) == number(u["accounts"])


def test_a_manager_sees_its_team_and_a_csm_itself(login, demo_site):
    report = _capacity(demo_site)
    east = demo_site.config.operating_model.teams["east"]
    page = login("manager").get("/capacity").text
    assert list(_rows(page, "csm")) == [c["csm"] for c in report["csms"] if c["csm"] in east.members]
    assert list(_rows(page, "team")) == ["east"]  # the west team is not in the manager's book
    mine = login("csm01").get("/capacity").text
    assert list(_rows(mine, "csm")) == ["csm01"] and _rows(mine, "team") == {}


def test_a_limited_book_sees_unassigned_totals_but_no_account():
    report = {"as_of": "2026-10-31", "currency": "USD", "capacity": {},
              "csms": [{"csm": "ana", "team": "t1"}, {"csm": "bo", "team": "t2"}],
              "teams": [{"team": "t1"}, {"team": "t2"}],
              "unassigned": {"accounts": 2, "arr": 300.0, "largest": [{"account_id": "X1"}, {"account_id": "X2"}]}}
    members = {"t1": ["ana"], "t2": ["bo", "cy"]}
    everything = capacity_view(report, None, members)
    assert everything["unassigned"]["largest"] == report["unassigned"]["largest"] and not everything["limited"]
    limited = capacity_view(report, ["ana", "bo"], members)
    assert [c["csm"] for c in limited["csms"]] == ["ana", "bo"]
    assert [t["team"] for t in limited["teams"]] == ["t1"]  # cy of t2 is outside the book
    assert limited["unassigned"] == {"accounts": 2, "arr": 300.0, "largest": []}
