"""Facts as they were known: the versions of mutable facts, and the tables as known at a time.

The fact tables hold the latest version of each row (what pages read). Each mutable fact
(tenure.schema.versions.VERSIONED) also has a history table `<table>_versions`, written by
`record_versions` in the same transaction as the upsert, only for rows that are new or changed,
so re-loading a file adds nothing. Each version is known from

    the source's modification time (`updated_at`), when the row has one and it is not after
    the ingest run; else the ingest run's time (the row's `ingested_at`);

and a version that arrives with a modification time not after the version it replaces is known
from the ingest run instead (the run is when tenure learned it), so versions never overlap.

`as_known(wh, table, known_at)` is the table as it was known at the end of `known_at` (a day),
or at an instant (a datetime): the versions with known_from <= t < known_to, plus rows written
before any history was kept (no version at all), which count as known from their modification
time or ingested_at. Its columns are the fact table's, so any expression over the fact table
works over it. See docs/facts-as-known.md for the model and its cost.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from tenure.errors import WarehouseError
from tenure.schema import TABLES, Table
from tenure.schema.versions import MODIFIED_WITH, VERSIONED, versions_name
from tenure.warehouse.expr import ibis, ir

if TYPE_CHECKING:  # pragma: no cover
    from tenure.warehouse.connection import Warehouse

LINEAGE = ("source", "ingested_at")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_versioned(table: str) -> bool:
    return table in VERSIONED


def known_before(known_at: date | datetime) -> datetime:
    """The first instant after `known_at` (UTC, naive): the end of a day, or an instant + 1 µs.
    A version is known at `known_at` when known_from < this <= known_to."""
    if isinstance(known_at, datetime):
        if known_at.tzinfo is not None:
            known_at = known_at.astimezone(timezone.utc).replace(tzinfo=None)
        return known_at + timedelta(microseconds=1)
    if isinstance(known_at, date):
        return datetime.combine(known_at + timedelta(days=1), time())
    raise WarehouseError(f"known_at must be a date or a datetime, not {known_at!r}")


def _modified_sql(table: Table, row: str) -> str | None:
    """SQL of the source's modification time of the row aliased `row`, or None when it has none."""
    col = VERSIONED[table.name]
    if col:
        return f"{row}.{_q(col)}"
    if table.name in MODIFIED_WITH:
        other, join = MODIFIED_WITH[table.name]
        mod = VERSIONED[other]
        return f"(SELECT o.{_q(mod)} FROM {_q(other)} o WHERE o.{_q(join)} = {row}.{_q(join)})"
    return None


def _candidate_sql(table: Table, row: str) -> str:
    """When the row aliased `row` became known, before comparing with earlier versions."""
    ing = f"{row}.{_q('ingested_at')}"
    mod = _modified_sql(table, row)
    if mod is None:
        return ing
    return f"CASE WHEN {mod} IS NULL OR {mod} > {ing} THEN {ing} ELSE {mod} END"


def ensure_history(wh: Warehouse, table: str) -> None:
    """The history table exists (migrations create it), else an error saying what to do."""
    name = versions_name(table)
    if not wh.has_table(name):
        raise WarehouseError(f"warehouse table {name!r} (the versions of {table}) does not exist yet: "
                             f"run `tenure db upgrade` to upgrade the warehouse tables")


def record_versions(wh: Warehouse, table: Table, load: str) -> int:
    """Record a version for every row of the warehouse temp table `load` (all columns of
    `table`, as given to the upsert) that is new or differs from the current version in a data
    column; close the versions it replaces. Call inside the upsert's transaction, before the
    fact table is updated. Rows already in the fact table without any version (written before
    history was kept) first get one, known from their own modification time or ingested_at.
    A row whose modification time is before the current row's is stale (an old file loaded
    after a newer one): `load` gets the current row's values for it, so nothing turns back.
    Returns the versions added (0 for a table that keeps no history)."""
    if table.name not in VERSIONED:
        return 0
    ensure_history(wh, table.name)
    t, v, load = _q(table.name), _q(versions_name(table.name)), _q(load)
    cols = table.column_names
    col_list = ", ".join(_q(c) for c in cols)

    def match(a: str, b: str) -> str:
        return " AND ".join(f"{a}.{_q(k)} = {b}.{_q(k)}" for k in table.key)

    mod = VERSIONED[table.name]
    if mod:
        # a row older than the current one (by the source's modification time) does not turn the
        # fact back: it takes the current row's values, so the upsert counts it unchanged
        m = _q(mod)
        sets = ", ".join(f"{_q(c)} = t.{_q(c)}" for c in cols if c not in table.key)
        newer = " AND ".join(f"{load}.{_q(k)} = t.{_q(k)}" for k in table.key)
        wh.raw_sql(f"UPDATE {load} SET {sets} FROM {t} t WHERE {newer} AND t.{m} > {load}.{m}")

    # rows written before history was kept: their current version, known from when they were written
    wh.raw_sql(
        f"INSERT INTO {v} ({col_list}, known_from, known_to) "
        f"SELECT {', '.join('t.' + _q(c) for c in cols)}, {_candidate_sql(table, 't')}, NULL FROM {t} t "
        f"WHERE EXISTS (SELECT 1 FROM {load} l WHERE {match('l', 't')}) "
        f"AND NOT EXISTS (SELECT 1 FROM {v} v WHERE {match('v', 't')})")
    data = [c for c in cols if c not in table.key and c not in LINEAGE]
    differs = " OR ".join(f"l.{_q(c)} IS DISTINCT FROM v.{_q(c)}" for c in data) or "FALSE"
    cand = _candidate_sql(table, "l")
    known_from = (f"CASE WHEN v.known_from IS NULL OR {cand} > v.known_from THEN {cand} "
                  f"WHEN l.{_q('ingested_at')} > v.known_from THEN l.{_q('ingested_at')} ELSE v.known_from END")
    changed = f"__versions_{uuid.uuid4().hex[:8]}"
    first_key = _q(table.key[0])
    wh.raw_sql(
        f"CREATE TEMP TABLE {changed} AS SELECT {', '.join('l.' + _q(c) for c in cols)}, "
        f"{known_from} AS known_from FROM {load} l "
        f"LEFT JOIN {v} v ON {match('v', 'l')} AND v.known_to IS NULL "
        f"WHERE v.{first_key} IS NULL OR {differs}")
    try:
        added = int(wh.raw_sql(f"SELECT COUNT(*) FROM {changed}")[0][0])
        if added:
            close = " AND ".join(f"{v}.{_q(k)} = c.{_q(k)}" for k in table.key)
            wh.raw_sql(f"UPDATE {v} SET known_to = c.known_from FROM {changed} c "
                       f"WHERE {close} AND {v}.known_to IS NULL")
            wh.raw_sql(f"INSERT INTO {v} ({col_list}, known_from, known_to) "
                       f"SELECT {col_list}, known_from, NULL FROM {changed}")
    finally:
        wh.raw_sql(f"DROP TABLE {changed}")
    return added


def as_known(wh: Warehouse, table: str, known_at: date | datetime | None) -> ir.Table:
    """Table `table` shaped like the fact table, as known at the end of day `known_at` (or at
    the instant, for a datetime). `known_at=None` and tables without history give the fact
    table itself (the latest version of every row)."""
    current = wh.table(table)
    if known_at is None or table not in VERSIONED or not wh.has_table(versions_name(table)):
        return current
    cols = list(current.columns)  # the fact table's own column order (migrations append columns)
    keys = list(TABLES[table].key)
    before = ibis.literal(known_before(known_at), type="timestamp")
    v = wh.table(versions_name(table))
    known = v.filter((v.known_from < before) & (v.known_to.isnull() | (v.known_to >= before))).select(*cols)
    # rows with no version at all (written before history was kept): known from when they were written
    unversioned = current.anti_join(v.select(*keys).distinct(), keys)
    mod_col = VERSIONED[table]
    if mod_col:
        mod = unversioned[mod_col]
    elif table in MODIFIED_WITH:
        other, join = MODIFIED_WITH[table]
        o = wh.table(other)
        unversioned = unversioned.left_join(o.select(o[join], __modified=o[VERSIONED[other]]), join)
        unversioned = unversioned.drop(*[c for c in unversioned.columns if c.endswith("_right")])
        mod = unversioned["__modified"]
    else:
        mod = None
    ing = unversioned.ingested_at
    since = ing if mod is None else ibis.ifelse(mod.isnull() | (mod > ing), ing, mod)
    old = unversioned.filter(since < before).select(*cols)
    # both parts typed exactly like the fact table (engines may report nullability differently)
    schema = current.schema()
    return known.cast(schema).union(old.cast(schema), distinct=False)

