"""API tokens: a random secret shown once; only its SHA-256 is stored. Scoped, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.errors import InputError, NotFoundError
from tenure.state import audit
from tenure.state.models import ApiToken, User, utcnow
from tenure.state.users import get

SCOPES = ("read", "write", "admin")
PREFIX = "tnr_"
TOUCH_EVERY = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, username: str, name: str, scopes: list[str] | None = None,
                 expires_days: int | None = None, actor: str = "system") -> tuple[ApiToken, str]:
    """(token row, plaintext secret). The secret cannot be recovered later."""
    scopes = scopes or ["read"]
    bad = [s for s in scopes if s not in SCOPES]
    if bad:
        raise InputError(f"unknown scope(s) {', '.join(bad)}; one of {', '.join(SCOPES)}")
    user = get(session, username)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(secret), scopes=",".join(scopes),
                     expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None)
    session.add(token)
    session.flush()
    audit.record(session, actor, "create", "api_token", str(token.id), None,
                 {"user": username, "name": name, "scopes": token.scopes})
    return token, secret


def verify_token(session: Session, secret: str) -> tuple[User, list[str]] | None:
    """(user, scopes) for a valid, unexpired, unrevoked token of an active user; else None."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    now = utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = now  # at most once a minute: a busy API client must not write on every call
    return user, token.scopes.split(",")


def revoke(session: Session, token_id: int, actor: str = "system") -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"no API token {token_id}")
    token.revoked_at = utcnow()
    audit.record(session, actor, "revoke", "api_token", str(token_id), {"revoked": False}, {"revoked": True})


def list_tokens(session: Session) -> list[dict]:
    rows = session.execute(select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
                           .order_by(ApiToken.id)).all()
    return [{"id": t.id, "user": u, "name": t.name, "scopes": t.scopes, "created_at": t.created_at,
             "expires_at": t.expires_at, "revoked_at": t.revoked_at, "last_used_at": t.last_used_at} for t, u in rows]
