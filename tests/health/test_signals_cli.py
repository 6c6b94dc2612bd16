"""`tenure health signals` reads what the refresh recorded, ranks it by ARR at stake, counts all of
it in the engine, and writes nothing."""

from __future__ import annotations

import json
from datetime import date, datetime

import pyarrow as pa
from typer.testing import CliRunner

from tenure.cli import app
from tenure.schema import TABLES
from tenure.warehouse import connect, ibis_schema

runner = CliRunner()


def _put(wh, name, /, **cols):
    schema = ibis_schema(TABLES[name]).to_pyarrow()
    n = len(next(iter(cols.values())))
    wh.insert(name, pa.table({f.name: pa.array(cols.get(f.name, [None] * n), f.type) for f in schema}))


def test_signals_are_read_ranked_by_arr_and_counted(tmp_project):
    from tenure.config import load_config

    config = load_config()
    wh = connect(config=config)
    wh.ensure_schema()
    day = date(2026, 6, 30)
    _put(wh, "account_summary", account_id=["S", "M", "L"], name=["Small", "Mid", "Large"],
         owner=["csm1", "csm1", "csm2"], status=["customer"] * 3, arr=[1000, 20000, 300000], as_of=[day] * 3)
    _put(wh, "health_signals", account_id=["S", "S", "M", "L", "L"],
         signal=["usage_decline", "detractor", "overdue_invoice", "sponsor_left", "old_one"],
         at=[datetime(2026, 6, 29), datetime(2026, 6, 20), datetime(2026, 6, 28), datetime(2026, 6, 1),
             datetime(2026, 3, 1)],
         severity=["high", "medium", "low", "high", "low"], detail=["d"] * 5)
    before = int(wh.execute(wh.table("health_signals").count()))
    wh.close()

    res = runner.invoke(app, ["health", "signals", "--json", "--limit", "2"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["as_of"] == "2026-06-30" and out["total"] == 4  # the March one is outside 30 days
    assert [r["account_id"] for r in out["signals"]] == ["L", "M"]  # biggest ARR at stake first
    assert out["arr_at_stake"] == 321000
    table = runner.invoke(app, ["health", "signals", "--limit", "2"], terminal_width=220).output
    assert "2 of 4" in table and "300,000" in table

    wh = connect(config=config)
    assert int(wh.execute(wh.table("health_signals").count())) == before  # nothing written
    wh.close()
