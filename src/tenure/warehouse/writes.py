"""The one write path into warehouse tables. Every stage writes through these functions:

    append(wh, "health_signals", rows)                              add rows
    replace_partition(wh, "risk_scores", rows, {"as_of": day})      delete a slice, then append
    upsert(wh, TABLES["contacts"], "__load")                        insert or update by natural key
    append_new(wh, TABLES["usage_events"], "__load", within=...)    append rows whose key is not there yet

Each call is one transaction (joined to the caller's when one is open, so several writes can
commit together): readers see the old rows or the new ones, never a half-written slice, also
if the process dies in the middle. Data arrives as an Arrow table, or as a SELECT in the
warehouse's own SQL for writes computed from other warehouse tables (usage rollups); `load`
names a temporary table of the current warehouse session (see tenure.warehouse.staging).
Column and table names come from tenure.schema and are quoted; values are written as literals
by tenure.warehouse.sql, never pasted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from tenure.errors import WarehouseError
from tenure.schema import TABLES, Table
from tenure.warehouse.sql import ident, literal
from tenure.warehouse.versions import record_versions

if TYPE_CHECKING:  # pragma: no cover
    from tenure.warehouse.connection import Warehouse

LINEAGE = ("source", "ingested_at")


class Counts(NamedTuple):
    """What an upsert did, in rows."""

    inserted: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class AtLeast:
    """A slice bound: the column is >= value (e.g. every month from a date on)."""

    value: object


@dataclass(frozen=True)
class Keys:
    """A slice given by rows: table rows whose `columns` equal a row of the warehouse temp
    table `temp` (e.g. the (account_id, day) pairs a usage batch touched)."""

    temp: str
    columns: tuple[str, ...]


Where = Mapping[str, object] | Keys | None


def _table(table: Table | str) -> Table:
    if isinstance(table, Table):
        return table
    try:
        return TABLES[table]
    except KeyError:
        raise WarehouseError(f"no warehouse table {table!r} is defined in tenure.schema") from None


def _condition(table: Table, where: Where, alias: str | None = None) -> str:
    """The SQL condition of a slice ("TRUE" for the whole table)."""
    if where is None:
        return "TRUE"
    col = (lambda c: f"{alias}.{ident(c)}") if alias else ident
    if isinstance(where, Keys):
        for c in where.columns:
            table.column(c)
        outer = ident(alias or table.name)
        match = " AND ".join(f"p.{ident(c)} = {outer}.{ident(c)}" for c in where.columns)
        return f"EXISTS (SELECT 1 FROM {ident(where.temp)} p WHERE {match})"
    parts = []
    for name, value in where.items():
        table.column(name)  # KeyError names the table and column: a programming error
        if isinstance(value, AtLeast):
            parts.append(f"{col(name)} >= {literal(value.value)}")
        elif value is None:
            parts.append(f"{col(name)} IS NULL")
        else:
            parts.append(f"{col(name)} = {literal(value)}")
    return " AND ".join(parts) or "TRUE"


def _check_inside(table: Table, data: pa.Table, where: Where) -> None:
    """Rows written by replace_partition must lie inside the slice they replace (else a rerun
    would leave them behind as duplicates)."""
    if not isinstance(where, Mapping):
        return
    for name, value in where.items():
        if name not in data.column_names:
            raise WarehouseError(f"replace_partition({table.name}): the rows have no column {name!r} of the slice")
        column = data[name]
        if isinstance(value, AtLeast):
            outside = pc.sum(pc.less(column, pa.scalar(value.value, column.type))).as_py()
        elif value is None:
            outside = data.num_rows - column.null_count
        else:
            outside = pc.sum(pc.invert(pc.equal(column, pa.scalar(value, column.type)))).as_py()
        if outside:
            bound = f">= {value.value}" if isinstance(value, AtLeast) else f"= {value}"
            raise WarehouseError(f"replace_partition({table.name}): {outside} row(s) have {name} outside "
                                 f"the slice {name} {bound} they replace")


def append(wh: Warehouse, table: Table | str, data: pa.Table | str,
           columns: Sequence[str] | None = None) -> int:
    """Append rows (an Arrow table, columns matched by name; or a SELECT over warehouse tables
    yielding `columns`, default the table's columns in definition order). Returns the rows
    appended (for a SELECT, the engine's count)."""
    t = _table(table)
    if isinstance(data, pa.Table):
        unknown = [c for c in data.column_names if c not in t.column_names]
        if unknown:
            raise WarehouseError(f"{t.name} has no column(s) {', '.join(unknown)}")
        with wh.transaction():
            return wh.append_arrow(t.name, data)
    cols = ", ".join(ident(c) for c in (columns or t.column_names))
    with wh.transaction():
        return _insert(wh, f"INSERT INTO {ident(t.name)} ({cols}) {data}")


def _insert(wh: Warehouse, sql: str) -> int:
    """Run an INSERT ... SELECT and return the rows it inserted."""
    if wh.backend == "postgres":
        return int(wh.raw_sql(f"WITH ins AS ({sql} RETURNING 1) SELECT COUNT(*) FROM ins")[0][0])
    rows = wh.raw_sql(sql)  # DuckDB answers with the count
    return int(rows[0][0]) if rows else 0


def replace_partition(wh: Warehouse, table: Table | str, data: pa.Table | str | None, where: Where = None,
                      columns: Sequence[str] | None = None) -> int:
    """Delete the slice `where` of `table` (None: every row; {"as_of": day}; {"month":
    AtLeast(since)}; Keys(temp, columns)), then append `data` (None: nothing), in one
    transaction. Idempotent: the same call twice leaves the same rows. Returns rows appended."""
    t = _table(table)
    if isinstance(data, pa.Table):
        _check_inside(t, data, where)
    with wh.transaction():
        wh.raw_sql(f"DELETE FROM {ident(t.name)} WHERE {_condition(t, where)}")
        if data is None:
            return 0
        return append(wh, t, data, columns)


def upsert(wh: Warehouse, table: Table | str, load: str) -> Counts:
    """Upsert the warehouse temp table `load` (every column of `table`) into `table` by its key.
    Rows whose data columns are unchanged are left alone (source and ingested_at too), so a
    re-run changes nothing. Tables that keep history (tenure.warehouse.versions) get a version
    for every new or changed row. Returns (inserted, updated, unchanged)."""
    t = _table(table)
    name, src = ident(t.name), ident(load)
    match = " AND ".join(f"t.{ident(k)} = l.{ident(k)}" for k in t.key)
    compared = [c for c in t.column_names if c not in t.key and c not in LINEAGE]
    changed = " OR ".join(f"t.{ident(c)} IS DISTINCT FROM l.{ident(c)}" for c in compared) or "FALSE"
    with wh.transaction():
        record_versions(wh, t, load)  # mutable facts keep their versions, recorded before the rows change
        total = wh.raw_sql(f"SELECT COUNT(*) FROM {src}")[0][0]
        inserted = wh.raw_sql(
            f"SELECT COUNT(*) FROM {src} l WHERE NOT EXISTS (SELECT 1 FROM {name} t WHERE {match})")[0][0]
        updated = wh.raw_sql(f"SELECT COUNT(*) FROM {src} l JOIN {name} t ON {match} WHERE {changed}")[0][0]
        if updated:
            sets = ", ".join(f"{ident(c)} = l.{ident(c)}" for c in t.column_names if c not in t.key)
            match_upd = " AND ".join(f"{name}.{ident(k)} = l.{ident(k)}" for k in t.key)
            changed_upd = " OR ".join(
                f"{name}.{ident(c)} IS DISTINCT FROM l.{ident(c)}" for c in compared) or "FALSE"
            wh.raw_sql(f"UPDATE {name} SET {sets} FROM {src} l WHERE {match_upd} AND ({changed_upd})")
        if inserted:
            cols = ", ".join(ident(c) for c in t.column_names)
            wh.raw_sql(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {src} l "
                       f"WHERE NOT EXISTS (SELECT 1 FROM {name} t WHERE {match})")
    return Counts(int(inserted), int(updated), int(total - inserted - updated))


def upsert_arrow(wh: Warehouse, table: Table | str, data: pa.Table) -> Counts:
    """Upsert an Arrow table (every column of `table`) by the table's key."""
    t = _table(table)
    load = f"__upsert_{t.name}"
    with wh.transaction():
        wh.load_temp(load, data)
        counts = upsert(wh, t, load)
        wh.raw_sql(f"DROP TABLE {ident(load)}")
    return counts


def append_new(wh: Warehouse, table: Table | str, load: str, within: tuple[str, object, object] | None = None) -> int:
    """Append the rows of `load` whose key is not in `table` yet (append and de-duplicate: a
    repeat is skipped, never added twice). `load` is a warehouse temp table, or a SELECT in
    parentheses that the engine reads as it inserts (no copy, e.g. over read_parquet).
    `within` = (column, low, high) bounds the search for existing keys (e.g. the batch's time
    range), so a big table is not scanned whole. Rows of `load` must be unique by key. Returns
    the rows appended."""
    t = _table(table)
    name = ident(t.name)
    src = load if load.lstrip().startswith("(") else ident(load)
    match = " AND ".join(f"e.{ident(k)} = l.{ident(k)}" for k in t.key)
    bound = ""
    if within is not None:
        col, low, high = within
        t.column(col)
        bound = f"e.{ident(col)} BETWEEN {literal(low)} AND {literal(high)} AND "
    cols = ", ".join(ident(c) for c in t.column_names)
    fresh = f"SELECT {cols} FROM {src} l WHERE NOT EXISTS (SELECT 1 FROM {name} e WHERE {bound}{match})"
    return append(wh, t, fresh)
