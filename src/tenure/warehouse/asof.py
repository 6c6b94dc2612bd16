"""The one "as of": the day every computed snapshot (health, risk, signals, the account summary,
the ARR snapshots) is taken on when the user does not say `--as-of`.

Rule: the latest day on which something happened in the event-like facts, never after
yesterday (UTC) at run time. Which columns say "something happened" is data, not code: the
columns marked `event_time=True` in `tenure.schema` (usage through its daily rollup
`usage_daily.day`, `tickets.opened_at`, `activities.at`, `invoices.issued_at`,
`survey_responses.responded_at`). Forward-dated fields (end, close, due dates) and contract-line
start dates are not events and never move it; rows dated after yesterday (a clock skew, a
typo like 2096) are ignored instead of dragging every snapshot into the future.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from tenure.errors import InputError
from tenure.schema import ALL_TABLES
from tenure.warehouse.connection import Warehouse


def event_columns() -> list[tuple[str, str, str]]:
    """(table, column, logical type) of every column marked as an event time, in the facts and
    their rollups (not in copies such as the facts' version history)."""
    return [(t.name, c.name, c.type) for t in ALL_TABLES if t.kind in ("fact", "system")
            for c in t.columns if getattr(c, "event_time", False)]


def utc_yesterday(now: datetime | None = None) -> date:
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc)
    return now.date() - timedelta(days=1)


def latest_event_day(wh: Warehouse, now: datetime | None = None) -> date | None:
    """The latest day with events in the event-time columns, at most yesterday (UTC) at `now`;
    None when there are no events yet. One query: a max per column, combined in the engine."""
    import ibis
    import ibis.expr.datatypes as dt

    cap = utc_yesterday(now)
    existing = set(wh.list_tables())
    parts = []
    for table, column, kind in event_columns():
        if table not in existing:
            continue
        t = wh.con.table(table)
        day = t[column].date() if kind == "timestamp" else t[column]
        if kind == "timestamp":  # compare the raw column so an index on it can be used
            keep = t[column] < ibis.timestamp(datetime.combine(cap + timedelta(days=1), datetime.min.time()))
        else:
            keep = t[column] <= ibis.date(cap)
        parts.append(t.filter(keep).aggregate(day=day.max().cast(dt.Date(nullable=True))))
    if not parts:
        return None
    combined = parts[0]
    for p in parts[1:]:
        combined = combined.union(p)
    value = wh.execute(combined.day.max())
    if value is None or value != value:  # None or NaT
        return None
    if hasattr(value, "date") and callable(value.date):
        value = value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def resolve_as_of(wh: Warehouse, as_of: date | str | None = None, now: datetime | None = None) -> date | None:
    """`as_of` when given (a date or YYYY-MM-DD), else the latest event day."""
    if as_of is None:
        return latest_event_day(wh, now)
    if isinstance(as_of, datetime):
        return as_of.date()
    if isinstance(as_of, date):
        return as_of
    return date.fromisoformat(str(as_of)[:10])


def require_as_of(wh: Warehouse, value: date | str | None = None) -> date:
    """A command's as-of day: `--as-of` when given (YYYY-MM-DD), else the latest event day; a
    clear error when the value is not a date or there are no events yet."""
    if value is not None and not isinstance(value, date):
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise InputError(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from None
    day = resolve_as_of(wh, value)
    if day is None:
        raise InputError("no events in the warehouse yet (usage, tickets, activities, invoices, surveys); "
                         "load data with `tenure ingest` or give --as-of")
    return day

