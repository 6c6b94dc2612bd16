"""The login throttle: how long a login must wait after repeated failures.

There is no table of its own: the audit log already records every failed login
(`login_failed`, with the user name and the client address) and every success (`login`), and it
lives in the state DB, so every server process sharing that DB sees the same counts.

- A user name with `web.login_max_failures` failures since its last successful login (within
  `web.login_window_minutes`) is locked.
- A client address with `web.login_ip_max_failures` failures within the window is locked (a
  password spray over many names).
- The lockout starts at `web.login_lockout_seconds` after the latest failure and doubles with
  each further failure (locked attempts count too), capped at the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tenure.config import Config
from tenure.state.models import AuditLog, utcnow


def _wait(count: int, last: datetime | None, limit: int, base: float, cap: float, now: datetime) -> float | None:
    if last is None or count < limit:
        return None
    length = min(base * 2 ** min(count - limit, 30), cap)
    left = length - (now - last).total_seconds()
    return left if left > 0 else None


def lockout(session: Session, config: Config, username: str | None, ip: str | None, *,
            now: datetime | None = None) -> float | None:
    """Seconds until a login for `username` from `ip` may be tried again; None when it may now."""
    web = config.web
    now = now or utcnow()
    window = timedelta(minutes=web.login_window_minutes)
    since = now - window
    cap = max(window.total_seconds(), web.login_lockout_seconds)
    waits = []
    if username:
        last_ok = session.scalar(select(func.max(AuditLog.at)).where(
            AuditLog.action == "login", AuditLog.entity_id == username, AuditLog.at >= since))
        start = max(since, last_ok) if last_ok else since
        count, last = session.execute(select(func.count(), func.max(AuditLog.at)).where(
            AuditLog.action == "login_failed", AuditLog.entity_id == username, AuditLog.at > start)).one()
        waits.append(_wait(count, last, web.login_max_failures, web.login_lockout_seconds, cap, now))
    if ip:
        count, last = session.execute(select(func.count(), func.max(AuditLog.at)).where(
            AuditLog.action == "login_failed", AuditLog.ip == ip, AuditLog.at >= since)).one()
        waits.append(_wait(count, last, web.login_ip_max_failures, web.login_lockout_seconds, cap, now))
    found = [w for w in waits if w is not None]
    return max(found) if found else None
