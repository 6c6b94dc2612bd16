"""Browser sessions on SQLite and PostgreSQL: hashed at rest, expiring, ended by logout or disable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tenure.state import sessions, users
from tenure.state.db import session_scope
from tenure.state.models import AuditLog, WebSession, utcnow


def test_session_lifecycle(state_url):
    with session_scope(state_url) as s:
        user = users.create_user(s, "ana", "battery staple", "csm")
        row, secret = sessions.start(s, user, ip="127.0.0.1", user_agent="pytest")
        assert row.secret_hash != secret and secret not in row.secret_hash and len(row.csrf_token) >= 32
    with session_scope(state_url) as s:
        who, live = sessions.resolve(s, secret)
        assert who.username == "ana" and live.last_seen_at is not None
        assert sessions.resolve(s, secret + "x") is None and sessions.resolve(s, None) is None
        sessions.end(s, secret)
        sessions.end(s, secret)  # idempotent
    with session_scope(state_url) as s:
        assert sessions.resolve(s, secret) is None
        actions = [a.action for a in s.scalars(select(AuditLog).where(AuditLog.entity_id == "ana"))]
        assert actions == ["create", "login", "logout"]


def test_expired_sessions_and_disabled_users_are_refused(state_url):
    with session_scope(state_url) as s:
        user = users.create_user(s, "bo", "battery staple", "viewer")
        _, old = sessions.start(s, user)
        _, live = sessions.start(s, user)
        s.scalar(select(WebSession).order_by(WebSession.id)).expires_at = utcnow() - timedelta(seconds=1)
    with session_scope(state_url) as s:
        assert sessions.resolve(s, old) is None
        assert sessions.resolve(s, live) is not None
        users.disable(s, "bo")
    with session_scope(state_url) as s:
        assert sessions.resolve(s, live) is None
        assert all(r.ended_at is not None for r in s.scalars(select(WebSession)))
