"""The warehouse creates every table from its one definition, on DuckDB and PostgreSQL."""

import pytest

from tenure.errors import WarehouseError
from tenure.schema import ALL_TABLES
from tenure.warehouse import Warehouse


def test_every_defined_table_is_created_with_its_columns(warehouse):
    """Columns keep the order they reached the warehouse in (a migration appends), so the same
    set, not the same order, as the definition; writes name their columns."""
    for table in ALL_TABLES:
        cols = warehouse.table(table.name).schema()
        assert sorted(cols.names) == sorted(table.column_names), table.name
        for c in table.columns:
            assert cols[c.name].nullable == c.nullable, (table.name, c.name)


def test_ensure_schema_is_idempotent(warehouse):
    assert warehouse.ensure_schema() == []


def test_transaction_rolls_back_on_error(warehouse):
    with pytest.raises(RuntimeError):
        with warehouse.transaction():
            warehouse.raw_sql(
                "INSERT INTO fx (date, currency, rate_to_reporting, source, ingested_at) "
                "VALUES (DATE '2026-01-01', 'EUR', 1.1, 'test', CURRENT_TIMESTAMP)"
            )
            raise RuntimeError("boom")
    assert warehouse.count("fx") == 0
    with warehouse.transaction():
        warehouse.raw_sql(
            "INSERT INTO fx (date, currency, rate_to_reporting, source, ingested_at) "
            "VALUES (DATE '2026-01-01', 'EUR', 1.1, 'test', CURRENT_TIMESTAMP)"
        )
    assert warehouse.count("fx") == 1


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(WarehouseError, match="unsupported engine"):
        Warehouse("mysql://localhost/x")


def test_table_never_creates_a_missing_table(tmp_path):
    wh = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    with pytest.raises(WarehouseError, match="tenure db upgrade"):
        wh.table("accounts")
    assert wh.list_tables() == []
    with pytest.raises(WarehouseError, match="no warehouse table 'nope'"):
        wh.table("nope")
    wh.close()


@pytest.mark.postgres
def test_a_stored_date_python_cannot_hold_reads_as_missing_on_postgresql(pg_url):
    """Rows that predate the ingest boundary may hold dates outside Python's years 1-9999
    (PostgreSQL keeps BC and five-digit years). psycopg refuses to read them, which took a whole
    page down; they read as missing instead, on every read path."""
    wh = Warehouse(pg_url)
    wh.ensure_schema()
    try:
        wh.raw_sql("INSERT INTO tickets (ticket_id, account_id, opened_at, priority, status, source, ingested_at) "
                   "VALUES ('BC', 'A', TIMESTAMPTZ '0001-01-01 00:00:00+00 BC', 'high', 'open', 't', now()), "
                   "('FAR', 'A', TIMESTAMPTZ '10000-01-01 00:00:00+00', 'high', 'open', 't', now()), "
                   "('OK', 'A', TIMESTAMPTZ '2026-01-01 00:00:00+00', 'high', 'open', 't', now())")
        wh.raw_sql("INSERT INTO churn_reasons (account_id, \"at\", category, source, ingested_at) "
                   "VALUES ('A', DATE '0001-01-01 BC', 'x', 't', now()), ('B', DATE '10000-01-01', 'x', 't', now())")
        rows = dict(wh.raw_sql("SELECT ticket_id, opened_at FROM tickets"))
        assert rows["BC"] is None and rows["FAR"] is None and rows["OK"].year == 2026
        assert [r[0] for r in wh.raw_sql("SELECT \"at\" FROM churn_reasons")] == [None, None]
        t = wh.table("tickets")
        df = wh.execute(t.select("ticket_id", "opened_at").order_by("ticket_id"))
        assert df["opened_at"].isna().tolist() == [True, True, False]
        assert wh.execute(wh.table("churn_reasons")["at"]).isna().all()
    finally:
        wh.close()
