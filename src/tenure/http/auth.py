"""Who is asking, and what they may do.

Two ways in: a browser session cookie (set by the login page; unsafe methods must carry the
session's CSRF token as the `X-CSRF-Token` header or a `csrf_token` form field), or an API token
(`Authorization: Bearer tnr_...`, no CSRF since browsers never send it on their own).

What a role may do (read, write, admin) is checked here (`require`); which accounts, figures and
records it may see is decided by the one access policy, `tenure.access` (`allowed` hands a route
its `Access`). A token can narrow its user's rights by its scopes, never widen them.
"""

from __future__ import annotations

import hmac

from fastapi import Depends, Request

from tenure.access import Access, Principal, policy, principal_for
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.state import sessions as web_sessions
from tenure.state import tokens

__all__ = ["Access", "Principal", "allowed", "policy", "check_csrf", "client_ip", "current_principal", "ensure_can", "identify",
           "open_account", "require"]

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


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


def ensure_can(who: Principal, permission: str) -> None:
    """403 unless the principal holds `permission` (read, write or admin)."""
    if not who.can(permission):
        raise Problem(403, f"role {who.role!r}" + (" with this token's scopes" if who.via == "token" else "")
                      + f" may not {permission}", kind="forbidden")


def require(permission: str):
    """Dependency factory: the principal, if it holds `permission` (read, write or admin)."""

    async def dependency(who: Principal = Depends(current_principal)) -> Principal:
        ensure_can(who, permission)
        return who

    return dependency


def open_account(acc: Access, ctx: AppContext, account_id: str) -> None:
    """404 for an unknown account (the read model's NotFoundError); the policy's 403 for one
    outside the principal's book of business."""
    from tenure.portfolio.accounts import owner_of

    acc.account(account_id, owner_of(ctx.warehouse(), account_id))


def allowed(permission: str):
    """Dependency factory: the access policy (`tenure.access.Access`) of a principal holding
    `permission`; the route asks it which accounts or figures it may show."""

    async def dependency(who: Principal = Depends(require(permission))) -> Access:
        return policy(who)

    return dependency
