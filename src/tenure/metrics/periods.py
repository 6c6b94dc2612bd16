"""Periods: a month (2026-09), a quarter (2026-Q3), a year (2026) or an inclusive month range
(2025-10..2026-09). Opening ARR is measured on the day before the period's first day, closing
ARR on its last day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tenure.errors import InputError


def to_date(value) -> date:
    """A plain date from a date, datetime or pandas Timestamp (what engines hand back)."""
    if isinstance(value, datetime):
        return value.date()
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().date()
    return value


def _month(y: int, m: int) -> date:
    return date(y, m, 1)


def add_months(d: date, k: int) -> date:
    d = to_date(d)
    idx = d.year * 12 + d.month - 1 + k
    return date(idx // 12, idx % 12 + 1, 1)


def month_end(d: date) -> date:
    return add_months(date(d.year, d.month, 1), 1) - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    label: str
    first_day: date
    last_day: date

    @property
    def opening_day(self) -> date:
        return self.first_day - timedelta(days=1)

    @property
    def closing_day(self) -> date:
        return self.last_day

    @property
    def months(self) -> int:
        return (self.last_day.year - self.first_day.year) * 12 + self.last_day.month - self.first_day.month + 1

    def month_starts(self) -> list[date]:
        return [add_months(self.first_day, k) for k in range(self.months)]


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(text: str) -> Period:
    """Parse a period label; raises InputError with the accepted forms."""
    s = text.strip()
    if ".." in s:
        a, b = (parse_period(x) for x in s.split("..", 1))
        if b.last_day < a.first_day:
            raise InputError(f"period {text!r}: the range ends before it starts")
        return Period(f"{a.label}..{b.label}", a.first_day, b.last_day)
    if m := _MONTH.match(s):
        y, mo = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            raise InputError(f"period {text!r}: month {mo} does not exist")
        first = _month(y, mo)
        return Period(s, first, month_end(first))
    if m := _QUARTER.match(s):
        y, q = int(m.group(1)), int(m.group(2))
        first = _month(y, 3 * q - 2)
        return Period(f"{y}-Q{q}", first, month_end(add_months(first, 2)))
    if m := _YEAR.match(s):
        y = int(m.group(1))
        return Period(s, date(y, 1, 1), date(y, 12, 31))
    raise InputError(f"period {text!r}: use a month (2026-09), quarter (2026-Q3), year (2026) "
                     "or a month range (2025-10..2026-09)")


def monthly(first: date, last: date) -> list[Period]:
    """Every calendar month from the month of `first` to the month of `last`."""
    first, last = to_date(first), to_date(last)
    out, d = [], date(first.year, first.month, 1)
    while d <= last:
        out.append(Period(d.strftime("%Y-%m"), d, month_end(d)))
        d = add_months(d, 1)
    return out


def trailing_12(period: Period) -> Period:
    """The 12 months ending with the period's last month."""
    last = date(period.last_day.year, period.last_day.month, 1)
    first = add_months(last, -11)
    return Period(f"{first:%Y-%m}..{last:%Y-%m}", first, month_end(last))


def previous_period(p: Period) -> Period:
    """The period of the same length just before `p` (a month's month before, a quarter's quarter
    before, 2025-11..2026-10's 2024-11..2025-10), labelled the way `parse_period` reads it."""
    n = p.months
    first = add_months(date(p.first_day.year, p.first_day.month, 1), -n)
    last_month = add_months(first, n - 1)
    if n == 1:
        label = f"{first:%Y-%m}"
    elif n == 3 and (first.month - 1) % 3 == 0:
        label = f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    elif n == 12 and first.month == 1:
        label = f"{first.year}"
    else:
        label = f"{first:%Y-%m}..{last_month:%Y-%m}"
    return Period(label, first, month_end(last_month))
