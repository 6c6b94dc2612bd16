"""The send window: automated emails arrive only on configured days and hours, in the
recipient's own time zone (`notify.send_window`, `notify.default_timezone`)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hhmm(text: str) -> time | None:
    """A time of day; None for "24:00" (the end of the day)."""
    hours, minutes = (int(x) for x in text.split(":"))
    return None if hours == 24 else time(hours, minutes)


def zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def next_send_time(now: datetime, tz: ZoneInfo, window: Any | None) -> datetime | None:
    """None when an email may go at `now` (naive UTC) to someone in `tz`; otherwise the next
    moment it may (naive UTC): the start of the next allowed day's window, local time."""
    if window is None:
        return None
    local = now.replace(tzinfo=timezone.utc).astimezone(tz)
    start, end = _hhmm(window.start), _hhmm(window.end)
    allowed = {DAYS.index(d) for d in window.days}
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in allowed:
            continue
        opens = datetime.combine(day, start, tz)
        closes = datetime.combine(day + timedelta(days=1), time(0), tz) if end is None else datetime.combine(day, end, tz)
        if offset == 0 and opens <= local < closes:
            return None
        if opens > local:
            return opens.astimezone(timezone.utc).replace(tzinfo=None)
    return None  # unreachable with at least one allowed day
