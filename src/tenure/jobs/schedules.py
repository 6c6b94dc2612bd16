"""When a worker job is due: a cron schedule (croniter, UTC), "after each refresh" (the data
version changed since the job last ran), or every so many seconds.

A cron job's next time is stored (`worker_job_state.next_run_at`): a worker that was down when
it fell due runs it once when it comes back, not once per missed occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter

from tenure.errors import ConfigError


@dataclass(frozen=True)
class Schedule:
    """cron: 5-field expression in UTC; after_refresh: run when the data version changes;
    every_seconds: run this often (0: at every look, e.g. delivering the outbox)."""

    cron: str | None = None
    after_refresh: bool = False
    every_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.cron is not None and not croniter.is_valid(self.cron):
            raise ConfigError(f"{self.cron!r} is not a cron expression (minute hour day month weekday, "
                              f"e.g. '0 6 * * 1-5')")
        if self.cron is None and not self.after_refresh and self.every_seconds is None:
            raise ConfigError("a worker job needs a schedule: a cron expression, after_refresh or every_seconds")
        if self.every_seconds is not None and self.every_seconds < 0:
            raise ConfigError(f"every_seconds must be 0 or more (got {self.every_seconds})")

    def describe(self) -> str:
        parts = []
        if self.cron:
            parts.append(f"cron '{self.cron}' (UTC)")
        if self.after_refresh:
            parts.append("after each refresh")
        if self.every_seconds is not None:
            parts.append("at every look" if self.every_seconds == 0 else f"every {self.every_seconds:g} s")
        return ", ".join(parts)


def next_cron(expr: str, after: datetime) -> datetime:
    """The first time strictly after `after` (naive UTC) that matches `expr`."""
    return croniter(expr, after).get_next(datetime)


def first_next_run(schedule: Schedule, now: datetime) -> datetime | None:
    """A cron job first seen at `now` is next due at its next occurrence (not at once)."""
    return None if schedule.cron is None else next_cron(schedule.cron, now)


def due_reason(schedule: Schedule, *, now: datetime, data_version: int, last_started_at: datetime | None,
               last_data_version: int | None, next_run_at: datetime | None) -> str | None:
    """Why the job should run now ("schedule", "refresh", "interval"), or None when it is not due."""
    if schedule.cron is not None and next_run_at is not None and next_run_at <= now:
        return "schedule"
    if schedule.after_refresh and data_version > 0 and last_data_version != data_version:
        return "refresh"
    if schedule.every_seconds is not None and (
            last_started_at is None or now - last_started_at >= timedelta(seconds=schedule.every_seconds)):
        return "interval"
    return None


def next_wake(schedule: Schedule, *, now: datetime, last_started_at: datetime | None,
              next_run_at: datetime | None) -> datetime | None:
    """The earliest time the job may next be due by the clock (None: only a refresh wakes it)."""
    times = []
    if schedule.cron is not None and next_run_at is not None:
        times.append(next_run_at)
    if schedule.every_seconds is not None:
        times.append(now if last_started_at is None else last_started_at + timedelta(seconds=schedule.every_seconds))
    return min(times) if times else None
