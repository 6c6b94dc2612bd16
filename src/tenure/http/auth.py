"""Who is asking, and what they may do.

Two ways in: a browser session cookie (set by the login page; unsafe methods must carry the
session's CSRF token as the `X-CSRF-Token` header or a `csrf_token` form field), or an API token
(`Authorization: Bearer tnr_...`, no CSRF since browsers never send it on their own).

Roles and book-of-business scope are defined once in `tenure.state.users` (PERMISSIONS, SCOPE):
a CSM sees and changes only accounts it owns (accounts.owner = users.csm_key), a manager its
team's (its own and those of users whose manager it is), executives and admins everything;
viewers read everything and change nothing. A token can narrow its user's rights by its scopes,
never widen them.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Depends, Request
from sqlalchemy import select

from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.state import sessions as web_sessions
from tenure.state import tokens
from tenure.state.models import User
from tenure.state.users import PERMISSIONS, SCOPE

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    full_name: str | None
    permissions: frozenset[str]
    owners: frozenset[str] | None  # accounts.owner values this user may see; None = all
    via: str  # "session" or "token"
    csrf_token: str | None = None

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def sees(self, owner: str | None) -> bool:
        """May this user see (and, with write, change) an account owned by `owner`?"""
        return self.owners is None or (owner is not None and owner in self.owners)

    def owner_filter(self) -> list[str] | None:
        """The owners to filter account lists by (None: no filter)."""
        return None if self.owners is None else sorted(self.owners)


def _owners(session, user: User) -> frozenset[str] | None:
    scope = SCOPE[user.role]
    if scope == "all":
        return None
    if scope == "own":
        return frozenset([user.csm_key] if user.csm_key else [])
    team = session.scalars(select(User.csm_key).where(User.manager_id == user.id, User.csm_key.is_not(None)))
    return frozenset([*team, *([user.csm_key] if user.csm_key else [])])


def principal_for(session, user: User, via: str, scopes: list[str] | None = None,
                  csrf_token: str | None = None) -> Principal:
    allowed = set(PERMISSIONS[user.role])
    if scopes is not None:
        allowed &= set(scopes)
    return Principal(user.id, user.username, user.role, user.full_name, frozenset(allowed), _owners(session, user),
                     via, csrf_token)


def client_ip(request: Request) -> str | None:
    """The caller's address, as recorded in the audit log."""
    return request.client.host if request.client else None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def identify(request: Request, ctx: AppContext) -> Principal | None:
    """The principal behind a request, or None when it carries no valid credentials.
    Cached on the request so pages and routers can ask twice."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    found: Principal | None = None
    with ctx.db() as session:
        secret = _bearer(request)
        if secret is not None:
            hit = tokens.verify_token(session, secret)
            if hit is not None:
                found = principal_for(session, hit[0], "token", hit[1])
        else:
            hit = web_sessions.resolve(session, request.cookies.get(web_sessions.COOKIE_NAME))
            if hit is not None:
                found = principal_for(session, hit[0], "session", None, hit[1].csrf_token)
    request.state.principal = found
    return found


async def check_csrf(request: Request, who: Principal) -> None:
    if who.via != "session" or request.method not in UNSAFE:
        return
    sent = request.headers.get("x-csrf-token")
    if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get("csrf_token")
    if not sent or not who.csrf_token or not hmac.compare_digest(str(sent), who.csrf_token):
        raise Problem(403, "missing or wrong CSRF token; reload the page and try again", kind="csrf")


async def current_principal(request: Request, ctx: AppContext = Depends(get_context)) -> Principal:
    """Dependency: the authenticated principal (401 otherwise), with CSRF checked for forms."""
    who = identify(request, ctx)
    if who is None:
        raise Problem(401, "log in, or send an API token as 'Authorization: Bearer <token>'",
                      headers={"WWW-Authenticate": "Bearer"})
    await check_csrf(request, who)
    return who


def require(permission: str):
    """Dependency factory: the principal, if it holds `permission` (read, write or admin)."""

    async def dependency(who: Principal = Depends(current_principal)) -> Principal:
        if not who.can(permission):
            raise Problem(403, f"role {who.role!r}" + (" with this token's scopes" if who.via == "token" else "")
                          + f" may not {permission}", kind="forbidden")
        return who

    return dependency


def ensure_sees(who: Principal, owner: str | None, account_id: str) -> None:
    """403 unless the account is in the principal's book of business. (Out-of-book accounts are
    reported as forbidden, not hidden, so a CSM knows to ask its manager.)"""
    if not who.sees(owner):
        raise Problem(403, f"account {account_id} is not in {who.username}'s book of business", kind="out-of-scope")
