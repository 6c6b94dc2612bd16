"""Warehouse schema versions: applied in order, once, on DuckDB and PostgreSQL; a new column
reaches a warehouse that already holds rows; tables come only from migrations."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tenure.errors import WarehouseError
from tenure.schema import TABLES, Column, Table
from tenure.warehouse import Warehouse
from tenure.warehouse.migrations import (
    STEPS, add_column, check_steps, create_table, current_version, head_version, migrate,
)
from tenure.warehouse.migrations import base as mbase


def test_fresh_warehouse_reaches_the_latest_version_once(warehouse_url):
    wh = Warehouse(warehouse_url)
    assert current_version(wh) == 0
    applied = migrate(wh)
    assert len(applied) == head_version() == len(STEPS)
    assert current_version(wh) == head_version()
    assert migrate(wh) == []
    assert set(TABLES) <= set(wh.list_tables())
    wh.close()


@pytest.fixture
def extra_column(monkeypatch):
    """tenure.schema with a new column fx.note (NOT NULL, as a later release might add)."""
    fx = TABLES["fx"]
    grown = replace(fx, columns=(*fx.columns, Column("note", "string", "a note", nullable=False)))
    monkeypatch.setitem(TABLES, "fx", grown)
    return grown


def test_a_new_column_reaches_an_existing_warehouse_keeping_its_rows(warehouse_url, extra_column):
    """A warehouse at version N (the shipped steps) with rows; version N+1 adds fx.note."""
    wh = Warehouse(warehouse_url)
    n = head_version()
    with pytest.raises(WarehouseError, match=r"add_column\('fx', 'note'\)"):
        migrate(wh)  # the schema defines a column no step adds: refused, with the line to add
    migrate(wh, steps=STEPS + (add_column("fx", "note", fill="-"),), target=n)
    wh.raw_sql("INSERT INTO fx (date, currency, rate_to_reporting, source, ingested_at) "
               "VALUES (DATE '2026-01-01', 'EUR', 1.1, 'test', TIMESTAMP '2026-01-02 00:00:00')")
    assert "note" not in wh.table("fx").schema().names
    steps = STEPS + (add_column("fx", "note", fill="-"),)
    assert migrate(wh, steps=steps) == [f"{n + 1}: add column fx.note"]
    assert current_version(wh) == n + 1
    schema = wh.table("fx").schema()
    assert not schema["note"].nullable
    rows = wh.execute(wh.table("fx"))
    assert rows["note"].tolist() == ["-"] and float(rows["rate_to_reporting"][0]) == 1.1
    assert migrate(wh, steps=steps) == []
    wh.close()


def test_a_fresh_warehouse_walks_the_same_steps(tmp_path, extra_column):
    """Created from scratch, version 1 leaves fx.note to the step that adds it."""
    wh = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    steps = STEPS + (add_column("fx", "note", fill="-"),)
    applied = migrate(wh, steps=steps)
    assert applied[-1].endswith("add column fx.note")
    assert wh.table("fx").schema().names[-1] == "note"
    wh.close()


def test_a_new_table_is_created_by_its_step(tmp_path, monkeypatch):
    extra = Table("notes_demo", "a table a later release adds", (Column("id", "string", "id", nullable=False),),
                  key=("id",), kind="system")
    monkeypatch.setitem(TABLES, "notes_demo", extra)
    wh = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    with pytest.raises(WarehouseError, match=r"create_table\('notes_demo'\)"):
        migrate(wh)
    migrate(wh, steps=STEPS + (create_table("notes_demo"),))
    assert wh.count("notes_demo") == 0
    wh.close()


def test_a_warehouse_from_before_versions_is_adopted(tmp_path):
    """Tables made by the old create-on-first-use code: version 1 finds them, keeps their rows."""
    wh = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    migrate(wh, target=1)
    wh.raw_sql("INSERT INTO usage_features VALUES ('login', 0, TIMESTAMP '2026-01-01 00:00:00')")
    wh.raw_sql("DROP TABLE warehouse_schema_version")
    assert migrate(wh)
    assert wh.count("usage_features") == 1
    wh.close()


def test_a_newer_warehouse_is_refused(tmp_path):
    wh = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    migrate(wh)
    wh.raw_sql(f"INSERT INTO warehouse_schema_version VALUES ({head_version() + 1}, 'future', "
               "TIMESTAMP '2030-01-01 00:00:00')")
    with pytest.raises(WarehouseError, match="newer than this tenure"):
        migrate(wh)
    wh.close()


def test_shipped_steps_match_the_schema():
    check_steps()
    assert list(mbase.problems(STEPS + (add_column("fx", "nope"),))) == [
        "a step adds column fx.nope, which tenure.schema does not define"]


def test_db_upgrade_upgrades_the_state_db_and_the_warehouse(tmp_project):
    from typer.testing import CliRunner

    from tenure.cli import app
    from tenure.config import load_config

    runner = CliRunner()
    first = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert f"warehouse at schema version {head_version()} ({head_version()} step(s) applied)" in first.output
    again = runner.invoke(app, ["db", "upgrade"])
    assert f"({head_version()} step(s) applied)" not in again.output and "(0 step(s) applied)" in again.output
    wh = Warehouse(load_config().warehouse_url)
    assert current_version(wh) == head_version()
    wh.close()
