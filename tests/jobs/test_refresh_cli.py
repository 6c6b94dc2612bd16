"""`tenure refresh` on the hand-worked company (DuckDB): every step runs the first time and
writes what the pages read (arr_movements and health_signals included); a second refresh runs
no step; loading one table reruns exactly the steps that read it and the steps after them."""

from __future__ import annotations

import json
from datetime import date

from typer.testing import CliRunner

from tenure.cli import app
from tenure.warehouse import Warehouse


def _project(tmp_path, wh, config) -> str:
    wh.close()  # the commands open the warehouse themselves
    path = tmp_path / "tenure.yaml"
    path.write_text(f"warehouse:\n  url: {wh.url}\nstate:\n  url: {config.state_url}\n"
                    f"ingest:\n  runs_dir: {config.runs_dir}\n")
    return str(path)


def _refresh(cfg: str, *args: str) -> dict:
    res = CliRunner().invoke(app, ["refresh", "--json", "--config", cfg, *args])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_refresh_runs_the_graph_then_skips_what_did_not_change(company, tmp_path):
    wh, config = company
    if wh.backend != "duckdb":
        return  # one engine is enough for the command; the steps' SQL is tested per stage
    cfg = _project(tmp_path, wh, config)
    first = _refresh(cfg)
    assert first["status"] == "succeeded" and first["steps_run"] == first["steps_total"] == 7
    assert first["as_of"] == "2026-06-20"  # B's NPS answer: the latest event; E's future contract start is not one
    with Warehouse(wh.url) as check:
        moves = check.execute(check.table("arr_movements"))
        assert len(moves) > 0 and set(moves.account_id) == {"A", "B", "C"}
        signals = check.execute(check.table("health_signals"))
        detractor = signals[(signals.account_id == "B") & (signals.signal == "detractor")]
        assert date(2026, 6, 20) in {d.date() if hasattr(d, "date") else d for d in detractor["at"]}
        assert check.count("account_summary") == 5

    again = _refresh(cfg)
    assert again["steps_run"] == 0 and again["steps_skipped"] == 7

    opportunities = tmp_path / "opportunities.csv"
    opportunities.write_text("opportunity_id,account_id,kind,amount,currency,stage,status,probability,close_date\n"
                             "O9,A,renewal,2400,USD,Discovery,open,0.3,2026-12-15\n")
    res = CliRunner().invoke(app, ["ingest", "opportunities", str(opportunities), "--config", cfg])
    assert res.exit_code == 0, res.output
    third = _refresh(cfg)
    ran = [s["name"] for s in third["steps"] if s["status"] == "succeeded"]
    assert ran == ["health_signals", "account_summary"]  # the two steps reading opportunities
    assert {s["reason"] for s in third["steps"] if s["status"] == "succeeded"} == {"changed: table:opportunities"}

    runs = CliRunner().invoke(app, ["refresh", "--runs", "--json", "--config", cfg])
    assert [r["steps_run"] for r in json.loads(runs.output)] == [2, 0, 7]
