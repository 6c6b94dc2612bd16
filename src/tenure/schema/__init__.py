"""Every warehouse table, defined once. `TABLES` maps table name -> definition."""

from __future__ import annotations

from tenure.schema.facts import FACT_TABLES, INGESTIBLE
from tenure.schema.health import HEALTH_TABLES
from tenure.schema.portfolio import PORTFOLIO_TABLES
from tenure.schema.model import Column, LogicalType, RowCheck, Table
from tenure.schema.snapshots import SNAPSHOT_TABLES
from tenure.schema.versions import HISTORY_TABLES
from tenure.schema.system import SYSTEM_TABLES

ALL_TABLES: tuple[Table, ...] = (FACT_TABLES + SYSTEM_TABLES + SNAPSHOT_TABLES + HEALTH_TABLES + PORTFOLIO_TABLES
                                 + HISTORY_TABLES)
TABLES: dict[str, Table] = {t.name: t for t in ALL_TABLES}


def get_table(name: str) -> Table:
    from tenure.errors import NotFoundError

    try:
        return TABLES[name]
    except KeyError:
        raise NotFoundError(f"unknown table {name!r}; known: {', '.join(sorted(TABLES))}") from None


__all__ = ["ALL_TABLES", "TABLES", "INGESTIBLE", "Column", "LogicalType", "RowCheck", "Table", "get_table"]
