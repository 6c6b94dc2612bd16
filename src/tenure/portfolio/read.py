"""How the portfolio's read models ask the warehouse.

A question is an Ibis expression with Ibis scalar parameters (`ibis.param`) where its values go,
built once per shape (which filters are set, the sort, how many owners). On DuckDB and PostgreSQL
it is compiled once to the engine's SQL with the engine's own placeholders
(`tenure.warehouse.prepared`) and each call binds its values, limit and offset in the driver;
elsewhere (Spark) Ibis binds the values on each call. Exports go through Ibis and Arrow.

Results come back as plain Python rows: money as float, dates as date, NULL as None, and the
`risk_drivers` JSON parsed into a list.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tenure.warehouse import Warehouse
from tenure.warehouse.expr import dt, ibis, ir
from tenure.warehouse.prepared import LIMIT, OFFSET, prepare, run_prepared


@dataclass
class Page:
    """One page of a question's rows, and how many rows the whole answer has (counted in the engine)."""

    rows: list[dict] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = 50

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size)) if self.page_size else 1


class Params:
    """The named scalar parameters of one question, made as its expression is built."""

    def __init__(self) -> None:
        self.by_name: dict[str, ir.Scalar] = {}

    def __call__(self, name: str, type: str = "string") -> ir.Scalar:
        p = self.by_name.get(name)
        if p is None:
            p = self.by_name[name] = ibis.param(type)
        return p


Build = Callable[[Params], ir.Table]


def table(wh: Warehouse, name: str) -> ir.Table:
    """The table `name`, kept on the connection (no catalog lookup per question)."""
    cache = wh.__dict__.setdefault("_portfolio_tables", {})
    t = cache.get(name)
    if t is None:
        t = cache[name] = wh.table(name)
    return t


def _built(wh: Warehouse, key: Hashable, build: Build) -> tuple[ir.Table, Params]:
    cache = wh.__dict__.setdefault("_portfolio_questions", {})
    got = cache.get(key)
    if got is None:
        P = Params()
        got = cache[key] = (build(P), P)
    return got


def ask(wh: Warehouse, key: Hashable, build: Build, values: Mapping[str, Any] | None = None, *,
        limit: int | None = None, offset: int = 0) -> list[dict]:
    """The rows of question `key` (built by `build` on first use) with `values` bound."""
    expr, P = _built(wh, key, build)
    bound = _values(key, P, values)
    if limit is not None:
        bound.update({LIMIT: int(limit), OFFSET: int(offset)})
    q = prepare(wh, key, expr, P.by_name, paged=limit is not None)
    rows = run_prepared(wh, q, expr, P.by_name, bound)
    conv = [_converter(n, t) for n, t in zip(q.names, q.types)]
    out = []
    for r in rows:
        out.append({n: (f(v) if f is not None and v is not None else v) for n, f, v in zip(q.names, conv, r)})
    if "risk_drivers" in q.names:
        for d in out:
            d["risk_drivers"] = d["risk_drivers"] or []
    return out


def _values(key: Hashable, P: Params, values: Mapping[str, Any] | None) -> dict[str, Any]:
    values = values or {}
    missing = set(P.by_name) - set(values)
    if missing:
        raise KeyError(f"question {key!r} needs values for {sorted(missing)}")
    return {n: values[n] for n in P.by_name}


def drivers_list(v: Any) -> list:
    """A stored `risk_drivers` JSON as a list; text that is not a JSON list (a row written by hand
    or by an older tenure) reads as no drivers rather than failing the page."""
    if not v:
        return []
    try:
        got = json.loads(v)
    except (TypeError, ValueError):
        return []
    return [d for d in got if isinstance(d, dict)] if isinstance(got, list) else []


def _calendar(v: Any) -> Any:
    """A date or timestamp the driver could not turn into Python's calendar (DuckDB hands back
    text such as '0001-01-01 (BC)' or '10000-01-01' for years outside 1-9999): unknown (None), so
    one impossible stored date cannot take down a page that sorts or compares it."""
    return None if isinstance(v, str) else v


def _converter(name: str, dtype: dt.DataType):
    if name.endswith("risk_drivers"):
        return drivers_list
    if dtype.is_decimal():
        return float
    if dtype.is_date() or (dtype.is_timestamp() and name in _DATE_COLUMNS):
        return lambda v: v.date() if isinstance(v, datetime) else _calendar(v)
    if dtype.is_timestamp() or dtype.is_date():
        return _calendar
    return None


def ask_arrow(wh: Warehouse, key: Hashable, build: Build, values: Mapping[str, Any] | None = None, *,
              limit: int | None = None, offset: int = 0) -> pa.Table:
    """The question's rows as Arrow (money as float64, dates as date): for exports."""
    expr, P = _built(wh, key, build)
    if limit is not None:
        expr = expr.limit(int(limit), offset=int(offset))
    bound = _values(key, P, values)
    return plain_arrow(wh.to_pyarrow(expr, params={p: bound[n] for n, p in P.by_name.items()}))


# date columns some engines hand back as timestamps
_DATE_COLUMNS = {"customer_since", "renewal_date", "as_of", "day", "active_from", "active_to", "before"}


def plain_arrow(t: pa.Table) -> pa.Table:
    """Money (decimals) as float64 and date columns as dates."""
    cols = []
    for i, f in enumerate(t.schema):
        col = t.column(i)
        if pa.types.is_decimal(f.type):
            col = pc.round(pc.cast(col, pa.float64()), f.type.scale)
        elif pa.types.is_timestamp(f.type) and f.name in _DATE_COLUMNS:
            col = pc.cast(col, pa.date32())
        cols.append(col)
    return pa.table(cols, names=t.column_names)


# -- book-of-business scoping: inside the query --------------------------------------------------------

def owners_list(owners: Sequence[str] | None) -> list[str] | None:
    return None if owners is None else sorted({str(o) for o in owners if o is not None})


def scope_shape(owners: list[str] | None) -> int | None:
    """What the compiled question depends on: no scope, or how many owners."""
    return None if owners is None else len(owners)


def scope_values(owners: list[str] | None) -> dict[str, str]:
    return {} if not owners else {f"own{i}": o for i, o in enumerate(owners)}


def scoped(t: ir.Table, n_owners: int | None, P: Params) -> ir.Table:
    """Only the rows of the bound owners (None = all; 0 owners = none)."""
    if n_owners is None:
        return t
    if n_owners == 0:
        return t.filter(ibis.literal(False))
    return t.filter(t.owner.isin([P(f"own{i}") for i in range(n_owners)]))


def arr_at_risk(t: ir.Table) -> ir.NumericValue:
    """ARR at risk of each row of `t` (columns arr and risk): tenure.predict.risk.arr_at_risk."""
    from tenure.predict.risk import arr_at_risk as definition

    return definition(t.arr, t.risk)


def with_total(t: ir.Table) -> ir.Table:
    """`t` with "total_rows": how many rows `t` has, counted in the engine before any limit."""
    return t.mutate(total_rows=t.account_id.count().over(ibis.window()))


def total_of(rows: list[dict], column: str = "total_rows") -> int:
    """The engine's window count carried on each row (0 when there are no rows); removes the column."""
    n = int(rows[0][column]) if rows else 0
    for r in rows:
        r.pop(column, None)
    return n
