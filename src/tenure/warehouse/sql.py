"""Quoting for the few SQL statements the warehouse writes itself (bulk writes, migrations).
Names come from table definitions, values from code; both are quoted, never pasted raw."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from tenure.errors import WarehouseError


def ident(name: str) -> str:
    """A quoted identifier: "name" (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A SQL literal valid on DuckDB, PostgreSQL and Spark."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise WarehouseError(f"cannot write the number {value} as a SQL literal")
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.replace(tzinfo=None).isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise WarehouseError(f"cannot write a {type(value).__name__} as a SQL literal")
