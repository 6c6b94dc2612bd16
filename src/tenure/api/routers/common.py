"""Helpers the routers share: pagination, periods and dimension lists. (Scope is decided by
tenure.access, handed to each route by `tenure.http.auth.allowed`.)"""

from __future__ import annotations

import re

import math
from datetime import date
from typing import Any

from tenure.http.context import AppContext
from tenure.http.problems import Problem

# periods a person could mean; outside this the calendar maths of the metrics layer makes no sense
FIRST_YEAR, LAST_YEAR = 1900, 2200
MAX_DIMENSIONS = 4


def paginated(items: list, total: int, page: int, page_size: int) -> dict[str, Any]:
    return {"items": items, "total": int(total), "page": int(page), "page_size": int(page_size),
            "pages": max(1, math.ceil(total / page_size)) if page_size else 1}


def page_slice(rows: list, page: int, page_size: int) -> dict[str, Any]:
    """Paginate a list already in memory (small, bounded lists only)."""
    start = (page - 1) * page_size
    return paginated(rows[start:start + page_size], len(rows), page, page_size)


def period_of(text: str):
    """A metrics Period from its label (422 on nonsense)."""
    from tenure.metrics.periods import parse_period

    try:
        p = parse_period(text)
    except ValueError as err:  # e.g. year 0000: not a calendar date
        raise Problem(422, f"period {text!r}: {err}", kind="invalid-input") from None
    if p.first_day.year < FIRST_YEAR or p.last_day.year > LAST_YEAR:
        raise Problem(422, f"period {text!r}: years {FIRST_YEAR}-{LAST_YEAR} only", kind="invalid-input")
    return p


_DIMENSION = re.compile(r"[\w .\-]{1,100}")


def dimensions_of(by: str | None) -> list[str]:
    """`segment,region` -> ['segment', 'region'] (unknown names are refused by the metrics layer)."""
    dims = [d.strip() for d in (by or "").split(",") if d.strip()]
    if len(dims) > MAX_DIMENSIONS:
        raise Problem(422, f"group by at most {MAX_DIMENSIONS} dimensions", kind="invalid-input")
    if len(set(dims)) != len(dims):
        raise Problem(422, "a dimension is listed twice in 'by'", kind="invalid-input")
    for d in dims:
        if not _DIMENSION.fullmatch(d):
            raise Problem(422, f"'by': {d[:40]!r} is not a dimension name (letters, digits, spaces, '_', '-', '.')",
                          kind="invalid-input")
    return dims


def default_period(ctx: AppContext) -> str:
    """The trailing 12 months ending with the month of the latest data (what the demo reports)."""
    from tenure.http.cache import cached
    from tenure.metrics.periods import add_months
    from tenure.warehouse.asof import latest_event_day

    last = cached(ctx, ("latest_day",), lambda: latest_event_day(ctx.warehouse()))
    if last is None:
        raise Problem(404, "the warehouse holds no events yet (usage, tickets, activities, invoices, surveys); "
                           "ingest data first", kind="no-data")
    month = date(last.year, last.month, 1)
    return f"{add_months(month, -11):%Y-%m}..{month:%Y-%m}"


def plain(value: Any) -> Any:
    """JSON-friendly scalars: Decimal -> float, NaN -> None, pandas timestamps -> datetime."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return plain(value.item())
        except (TypeError, ValueError):
            return value
    return value


def plain_rows(rows: list[dict]) -> list[dict]:
    return [{k: plain(v) for k, v in r.items()} for r in rows]


def deep_plain(value: Any) -> Any:
    """plain() through nested dicts and lists (reports from the compute stages)."""
    if isinstance(value, dict):
        return {str(k): deep_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [deep_plain(v) for v in value]
    v = plain(value)
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return None
    return v
