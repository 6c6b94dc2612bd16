"""What a warehouse migration step is made of, and the one-line helpers that declare one:

    create_table("forecasts")                      a table defined in tenure.schema
    add_column("contacts", "known_from")           a column defined in tenure.schema
    add_column("tickets", "channel", fill="email") a NOT NULL column: existing rows get `fill`

The table definitions in tenure.schema stay the one description of every column; a step only
says when a table or column reached the warehouse. Steps are idempotent (an existing table or
column is left alone), so a warehouse that was set up before versions existed is adopted."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tenure.errors import WarehouseError
from tenure.schema import TABLES, Column, Table
from tenure.warehouse.sql import ident, literal
from tenure.warehouse.types import engine_type, ibis_schema


class Engine(Protocol):
    """The part of tenure.warehouse.Warehouse that migrations use."""

    backend: str
    con: Any

    def raw_sql(self, sql: str, params: Any = None) -> Any: ...

    def list_tables(self) -> list[str]: ...


Added = frozenset[tuple[str, str | None]]  # (table, column); column None = the table, "*" = all its columns


@dataclass(frozen=True)
class Step:
    """One schema version: `apply(wh, later)` brings the warehouse from the previous version to
    this one; `later` holds what later steps add, which this step must leave to them. `adds`
    says what the step brings, checked against tenure.schema by `problems`."""

    description: str
    apply: Callable[[Engine, Added], None]
    adds: Added = field(default_factory=frozenset)


def _definition(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise WarehouseError(f"a warehouse migration names table {name!r}, which tenure.schema does not define; "
                             "fix tenure/warehouse/migrations/steps.py") from None


def _column(table: str, column: str) -> Column:
    try:
        return _definition(table).column(column)
    except KeyError:
        raise WarehouseError(f"a warehouse migration adds column {table}.{column}, which tenure.schema does not "
                             "define; fix tenure/warehouse/migrations/steps.py") from None


def columns_of(wh: Engine, name: str) -> list[str]:
    return list(wh.con.get_schema(name).names)


def _create(wh: Engine, table: Table, columns: list[str]) -> None:
    if wh.backend == "pyspark":  # no transactional DDL on Spark: create only, through Ibis
        wh.con.create_table(table.name, schema=ibis_schema(table, columns))
        return
    cols = ", ".join(
        f"{ident(c.name)} {engine_type(c, wh.backend)}{'' if c.nullable else ' NOT NULL'}"
        for c in table.columns if c.name in columns)
    wh.raw_sql(f"CREATE TABLE {ident(table.name)} ({cols})")


def baseline(tables: Mapping[str, str]) -> Step:
    """Create the listed tables (name -> space-separated columns, types from the definitions)
    where missing: the first version, and every warehouse made before versions existed."""

    def apply(wh: Engine, later: Added) -> None:
        existing = set(wh.list_tables())
        for name, cols in tables.items():
            if name not in existing:
                _create(wh, _definition(name), cols.split())

    adds = frozenset((name, c) for name, cols in tables.items() for c in cols.split())
    return Step(f"create {len(tables)} tables", apply, adds | {(name, None) for name in tables})


def create_table(name: str) -> Step:
    """A table added to tenure.schema after the first version, with its columns (except those
    that later steps add)."""

    def apply(wh: Engine, later: Added) -> None:
        if name not in wh.list_tables():
            table = _definition(name)
            _create(wh, table, [c for c in table.column_names if (name, c) not in later])

    return Step(f"create table {name}", apply, frozenset({(name, None), (name, "*")}))


def add_column(table: str, column: str, fill: object = None) -> Step:
    """A column added to a table definition: existing rows get `fill` (the column's default
    when not given). A NOT NULL column needs one of them."""

    def apply(wh: Engine, later: Added) -> None:
        col = _column(table, column)
        value = fill if fill is not None else col.default
        if not col.nullable and value is None:
            raise WarehouseError(f"add_column({table!r}, {column!r}): the column is NOT NULL; give fill=... "
                                 "for the rows already there")
        if column in columns_of(wh, table):
            return
        t, c = ident(table), ident(column)
        if wh.backend == "pyspark":  # Spark SQL quotes names with backticks
            wh.raw_sql(f"ALTER TABLE `{table}` ADD COLUMNS (`{column}` {engine_type(col, wh.backend)})")
            return
        if value is None:
            wh.raw_sql(f"ALTER TABLE {t} ADD COLUMN {c} {engine_type(col, wh.backend)}")
        else:  # the default fills the rows already there (DuckDB refuses NOT NULL after an UPDATE)
            wh.raw_sql(f"ALTER TABLE {t} ADD COLUMN {c} {engine_type(col, wh.backend)} DEFAULT {literal(value)}")
            wh.raw_sql(f"ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT")
        if not col.nullable:
            wh.raw_sql(f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL")

    return Step(f"add column {table}.{column}", apply, frozenset({(table, column)}))


def later_adds(steps: tuple[Step, ...], version: int) -> Added:
    """What the steps after `version` (1-based) add."""
    return frozenset().union(*(s.adds for s in steps[version:]))


def problems(steps: tuple[Step, ...]) -> Iterator[str]:
    """What is wrong between the steps and tenure.schema: a step naming an undefined table or
    column, or a defined table or column that no step adds (a forgotten migration)."""
    added = later_adds(steps, 0)
    for table, column in sorted(added, key=lambda a: (a[0], a[1] or "")):
        if table not in TABLES:
            yield f"a step names table {table!r}, which tenure.schema does not define"
        elif column not in (None, "*") and column not in TABLES[table].column_names:
            yield f"a step adds column {table}.{column}, which tenure.schema does not define"
    for table in TABLES.values():
        if (table.name, None) not in added:
            yield f"table {table.name} has no step: append create_table({table.name!r})"
            continue
        if (table.name, "*") in added:
            continue
        for c in table.column_names:
            if (table.name, c) not in added:
                yield f"column {table.name}.{c} has no step: append add_column({table.name!r}, {c!r})"
