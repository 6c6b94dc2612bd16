"""Browser sessions: a random cookie secret (only its SHA-256 is stored) and a CSRF token bound
to the session. Sessions expire, end at logout, and stop working when the user is disabled."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tenure.state import audit
from tenure.state.models import User, WebSession, utcnow

SESSION_HOURS = 12
COOKIE_NAME = "tenure_session"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start(session: Session, user: User, *, ip: str | None = None, user_agent: str | None = None,
          hours: int = SESSION_HOURS) -> tuple[WebSession, str]:
    """(session row, cookie secret). The secret is shown once, to the browser."""
    secret = secrets.token_urlsafe(32)
    row = WebSession(user_id=user.id, secret_hash=_digest(secret), csrf_token=secrets.token_urlsafe(32),
                     expires_at=utcnow() + timedelta(hours=hours), ip=ip, user_agent=(user_agent or "")[:255])
    session.add(row)
    session.flush()
    audit.record(session, user.username, "login", "user", user.username, None, None, ip=ip)
    return row, secret


def resolve(session: Session, secret: str | None) -> tuple[User, WebSession] | None:
    """(user, session) for a live session of an active user; None otherwise."""
    if not secret:
        return None
    row = session.scalar(select(WebSession).where(WebSession.secret_hash == _digest(secret)))
    now = utcnow()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if row.last_seen_at is None or now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now  # at most once a minute, so page views do not each write the state DB
    return user, row


def end(session: Session, secret: str | None, *, ip: str | None = None) -> None:
    """Log out: the session stops working at once (idempotent)."""
    if not secret:
        return
    row = session.scalar(select(WebSession).where(WebSession.secret_hash == _digest(secret)))
    if row is None or row.ended_at is not None:
        return
    row.ended_at = utcnow()
    user = session.get(User, row.user_id)
    audit.record(session, user.username if user else "?", "logout", "user", user.username if user else None, ip=ip)


def end_all_for_user(session: Session, user_id: int) -> None:
    """End every session of a user (used when the user is disabled)."""
    session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                    .values(ended_at=utcnow()))
