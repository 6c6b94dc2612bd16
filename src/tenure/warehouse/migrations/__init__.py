"""Warehouse schema versions, applied like the state DB's Alembic migrations.

The table `warehouse_schema_version` holds one row per applied step (version, description,
applied_at); the warehouse is at the highest version. `migrate(wh)` applies the pending steps
of tenure.warehouse.migrations.steps in order, each with its version row in one transaction
(DuckDB and PostgreSQL: a step is applied whole or not at all; PostgreSQL runs one migrator at
a time under an advisory lock). On Spark steps are applied without a transaction. Tables are
created only here; `tenure db upgrade` (or `Warehouse.ensure_schema()`) runs it."""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone

from tenure.errors import WarehouseError
from tenure.warehouse.migrations.base import Engine, Step, add_column, create_table, later_adds, problems
from tenure.warehouse.migrations.steps import STEPS
from tenure.warehouse.sql import literal

VERSION_TABLE = "warehouse_schema_version"
_PG_LOCK = 7_465_646_701  # advisory lock key of the warehouse migrator


def head_version(steps: tuple[Step, ...] = STEPS) -> int:
    return len(steps)


def current_version(wh: Engine) -> int:
    """The warehouse's schema version (0: no versions yet, maybe tables made before them)."""
    if VERSION_TABLE not in wh.list_tables():
        return 0
    return int(wh.raw_sql(f"SELECT COALESCE(MAX(version), 0) FROM {VERSION_TABLE}")[0][0])


def check_steps(steps: tuple[Step, ...] = STEPS) -> None:
    """The steps must add exactly the tables and columns tenure.schema defines."""
    found = list(problems(steps))
    if found:
        raise WarehouseError("the warehouse migrations (tenure/warehouse/migrations/steps.py) and tenure.schema "
                             "disagree: " + "; ".join(found))


def _version_table(wh: Engine) -> None:
    if VERSION_TABLE in wh.list_tables():
        return
    if wh.backend == "pyspark":
        import ibis

        wh.con.create_table(VERSION_TABLE, schema=ibis.schema(
            {"version": "!int64", "description": "!string", "applied_at": "!timestamp"}))
        return
    text = "VARCHAR" if wh.backend == "postgres" else "TEXT"
    wh.raw_sql(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version BIGINT NOT NULL PRIMARY KEY, "
               f"description {text} NOT NULL, applied_at TIMESTAMP NOT NULL)")


def _transaction(wh: Engine):
    return contextlib.nullcontext() if wh.backend == "pyspark" else wh.transaction()


def migrate(wh: Engine, target: int | None = None, steps: tuple[Step, ...] = STEPS) -> list[str]:
    """Apply the pending steps up to `target` (default: the latest); returns their descriptions
    (empty when the warehouse is current). Idempotent."""
    check_steps(steps)
    head = head_version(steps)
    target = head if target is None else target
    if not 0 <= target <= head:
        raise WarehouseError(f"warehouse schema version {target} does not exist (latest: {head})")
    applied: list[str] = []
    if getattr(wh, "read_only", False):
        current = current_version(wh)
        if current < target:
            raise WarehouseError(f"the warehouse is at schema version {current} (latest {head}) and opened "
                                 "read-only: run `tenure db upgrade`")
        return applied
    with _transaction(wh):
        if wh.backend == "postgres":
            wh.raw_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
        _version_table(wh)
    current = current_version(wh)
    if current > head:
        raise WarehouseError(f"the warehouse is at schema version {current}, newer than this tenure knows "
                             f"({head}): upgrade tenure")
    for version in range(current + 1, target + 1):
        step = steps[version - 1]
        with _transaction(wh):
            if wh.backend == "postgres":
                wh.raw_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
                if current_version(wh) >= version:  # another process applied it meanwhile
                    continue
            step.apply(wh, later_adds(steps, version))
            now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
            wh.raw_sql(f"INSERT INTO {VERSION_TABLE} (version, description, applied_at) "
                       f"VALUES ({version}, {literal(step.description)}, {literal(now)})")
        applied.append(f"{version}: {step.description}")
    return applied


__all__ = ["STEPS", "VERSION_TABLE", "Step", "add_column", "check_steps", "create_table", "current_version",
           "head_version", "migrate"]
