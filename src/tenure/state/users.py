"""Users, roles and passwords (argon2). Every change is audited."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.errors import InputError, NotFoundError
from tenure.state import audit
from tenure.state.models import ROLES, User, utcnow

_hasher = PasswordHasher()

# What each role may do; book-of-business scope: csm -> accounts it owns (users.csm_key =
# accounts.owner), manager -> its team's (users whose manager is them, and its own),
# executive and admin -> all, viewer -> read all, change nothing.
PERMISSIONS = {
    "admin": {"read", "write", "admin"},
    "executive": {"read", "write"},
    "manager": {"read", "write"},
    "csm": {"read", "write"},
    "viewer": {"read"},
}
SCOPE = {"admin": "all", "executive": "all", "manager": "team", "csm": "own", "viewer": "all"}


def _public(user: User) -> dict:
    return {"id": user.id, "username": user.username, "email": user.email, "full_name": user.full_name,
            "role": user.role, "manager_id": user.manager_id, "csm_key": user.csm_key, "active": user.active}


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InputError("a password needs at least 8 characters")
    return _hasher.hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def get(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def create_user(session: Session, username: str, password: str, role: str, *, email: str | None = None,
                full_name: str | None = None, manager: str | None = None, csm_key: str | None = None,
                actor: str = "system") -> User:
    if role not in ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise InputError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role, email=email,
                full_name=full_name, csm_key=csm_key or (username if role == "csm" else None),
                manager_id=get(session, manager).id if manager else None)
    session.add(user)
    session.flush()
    audit.record(session, actor, "create", "user", username, None, _public(user))
    return user


def list_users(session: Session) -> list[dict]:
    return [_public(u) for u in session.scalars(select(User).order_by(User.username))]


def disable(session: Session, username: str, actor: str = "system") -> None:
    user = get(session, username)
    before = _public(user)
    user.active = False
    from tenure.state.sessions import end_all_for_user

    end_all_for_user(session, user.id)
    audit.record(session, actor, "disable", "user", username, before, _public(user))


def verify_password(session: Session, username: str, password: str) -> User | None:
    """The user when the password is right and the user active; None otherwise."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    user.last_login_at = utcnow()
    return user
