"""Logical column types (tenure.schema.model.LogicalType) as Ibis and engine types."""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

from tenure.schema import Column, Table

IBIS_TYPES: dict[str, dt.DataType] = {
    "string": dt.String(),
    "int": dt.Int64(),
    "float": dt.Float64(),
    "money": dt.Decimal(18, 2),
    "rate": dt.Decimal(20, 10),
    "date": dt.Date(),
    "month": dt.Date(),
    "timestamp": dt.Timestamp(),
    "bool": dt.Boolean(),
    "currency": dt.String(),
    "timezone": dt.String(),
    "locale": dt.String(),
}


def ibis_schema(table: Table, columns: list[str] | None = None) -> ibis.Schema:
    """The Ibis schema of a table definition (or of some of its columns, in definition order),
    with NOT NULL where the column is required."""
    keep = table.columns if columns is None else [c for c in table.columns if c.name in columns]
    return ibis.schema({c.name: IBIS_TYPES[c.type].copy(nullable=c.nullable) for c in keep})


def engine_type(column: Column, backend: str) -> str:
    """The SQL type of a column on an engine (duckdb, postgres, pyspark), for DDL."""
    from ibis.backends.sql.compilers import DuckDBCompiler, PostgresCompiler, PySparkCompiler

    compiler = {"duckdb": DuckDBCompiler, "postgres": PostgresCompiler, "pyspark": PySparkCompiler}[backend]
    return compiler.type_mapper.from_ibis(IBIS_TYPES[column.type]).sql(compiler.dialect)
