"""Prepared questions: an Ibis expression with scalar parameters (`ibis.param`), compiled once to
the engine's SQL with the engine's own placeholders (DuckDB `$name`, psycopg `%(name)s`), then
run many times with the values bound by the driver.

Compiling an Ibis expression costs milliseconds to hundreds of milliseconds of Python (a page's
questions were 4-10x slower when compiled on every call); binding costs nothing. The compiler
is Ibis' own: each parameter is compiled bound to a stand-in value of its type, and the stand-in
literals in the compiled syntax tree (sqlglot) become named placeholders. Engines without bind
parameters (Spark) get the values bound by Ibis on every run.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlglot.expressions as sge

from tenure.warehouse.connection import Warehouse
from tenure.warehouse.expr import dt, ir

LIMIT, OFFSET = "tp_limit", "tp_offset"
_NUMBER_BASE = 7_770_000_000
_STANDS_IN_FOR = "\x1ftenure-param:"


@dataclass(frozen=True)
class Prepared:
    """One expression's SQL with named placeholders, and the names and types of its columns."""

    sql: str | None  # None: the engine binds through Ibis (Spark)
    names: tuple[str, ...]
    types: tuple[dt.DataType, ...]


_cache: dict[tuple, Prepared] = {}
_lock = threading.Lock()


def prepare(wh: Warehouse, key: tuple, expr: ir.Table, params: Mapping[str, ir.Scalar], paged: bool = False
            ) -> Prepared:
    """The prepared form of `expr` (kept per warehouse URL and `key` for the process). With `paged`,
    the SQL ends in LIMIT $tp_limit OFFSET $tp_offset."""
    ck = (wh.url, key, paged)
    got = _cache.get(ck)
    if got is None:
        got = _compile(wh, expr, params, paged)
        with _lock:
            _cache[ck] = got
    return got


def _compile(wh: Warehouse, expr: ir.Table, params: Mapping[str, ir.Scalar], paged: bool) -> Prepared:
    schema = expr.schema()
    names, types = tuple(schema.names), tuple(schema.types)
    if wh.backend not in ("duckdb", "postgres"):
        return Prepared(None, names, types)
    stand_ins: dict[Any, str] = {}
    bound = {}
    for k, (name, p) in enumerate(params.items()):
        t = p.type()
        if t.is_string():
            v: Any = f"{_STANDS_IN_FOR}{name}"
        elif t.is_integer():
            v = _NUMBER_BASE + k
        elif t.is_floating():
            v = float(_NUMBER_BASE + k)
        else:
            raise TypeError(f"parameter {name!r}: only string, integer and floating parameters can be prepared")
        stand_ins[(t.is_string(), str(v))] = name
        bound[p] = v
    compiler = wh.con.compiler
    tree = compiler.to_sqlglot(expr, params=bound)
    found: set[str] = set()

    def placeholder(node: sge.Expression) -> sge.Expression:
        if isinstance(node, sge.Literal):
            name = stand_ins.get((node.is_string, node.this))
            if name is not None:
                found.add(name)
                return sge.Placeholder(this=name)
        return node

    tree = tree.transform(placeholder)  # a copy: Ibis shares one node for a literal used in several places
    if found != set(params):
        raise ValueError(f"parameters {sorted(set(params) - found)} not found in the compiled SQL")
    if paged:
        tree = tree.limit(sge.Placeholder(this=LIMIT), copy=False).offset(sge.Placeholder(this=OFFSET), copy=False)
    sql = tree.sql(dialect=compiler.dialect)
    if wh.backend == "postgres":  # psycopg reads % as the start of a placeholder
        sql = sql.replace("%", "%%")
        for name in (*params, LIMIT, OFFSET):
            sql = sql.replace(f"%%({name})s", f"%({name})s")
    return Prepared(sql, names, types)


def run_prepared(wh: Warehouse, prepared: Prepared, expr: ir.Table, params: Mapping[str, ir.Scalar],
                 values: Mapping[str, Any]) -> list[tuple]:
    """The rows (tuples in `prepared.names` order) of the prepared question with `values` bound
    (also LIMIT/OFFSET when it is paged)."""
    if prepared.sql is not None:
        return wh.raw_sql(prepared.sql, dict(values)) or []
    e = expr
    if LIMIT in values:
        e = e.limit(int(values[LIMIT]), offset=int(values.get(OFFSET, 0)))
    t = wh.to_pyarrow(e, params={p: values[n] for n, p in params.items()})
    return list(zip(*(t.column(i).to_pylist() for i in range(t.num_columns)))) if t.num_rows else []
