"""Logging in and out of the web app, and the page-side view of who is asking.

Login CSRF uses a signed double-submit token: GET /login sets a `tenure_login_csrf` cookie
(HttpOnly, SameSite=Strict, path /login) holding `nonce.signature` (an HMAC of a random nonce
with the server's secret key) and puts the same value in the form; POST /login accepts only when
both match AND the signature is the server's, so an attacker cannot plant a pair of their own.
After login the session's own CSRF token protects every form.

A failed login says only "wrong username or password" and does exactly one password-hash check
whatever the reason (unknown, disabled or locked user, empty password), so neither the answer nor
its time tells them apart; it is written to the audit log with the client address. Repeated
failures lock the user name and the client address for a while (tenure.state.login_throttle):
a locked login answers like a wrong password, plus `Retry-After`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from tenure.http.auth import Access, Principal, check_csrf, client_ip, ensure_can, identify, policy
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.notify.signing import SECRET_FILE, project_secret  # noqa: F401 - SECRET_FILE: tests name the file
from tenure.state import audit, sessions
from tenure.state.login_throttle import lockout
from tenure.state.models import User
from tenure.state.users import verify_password
from tenure.web.render import login_url, render

LOGIN_CSRF_COOKIE = "tenure_login_csrf"
# an argon2 hash of a random password: checking against it costs what checking a real one does
_DUMMY_HASH: str | None = None

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a local path ('/accounts?x=1'), never another site ('//evil', 'https://...')."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _secure(request: Request) -> bool:
    from tenure.http.app import is_https

    return is_https(request)


def secret_key(ctx: AppContext) -> bytes:
    """The key signing login form tokens: the project secret (`secret_key` / TENURE_SECRET_KEY, else
    the random key in `.tenure_secret` beside tenure.yaml, shared by every process of the project;
    tenure.notify.signing.project_secret, which also signs unsubscribe links)."""
    return project_secret(ctx.config)


def _sign(key: bytes, nonce: str) -> str:
    mac = hmac.new(key, b"tenure-login-csrf:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def new_login_token(ctx: AppContext) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(secret_key(ctx), nonce)}"


def valid_login_token(ctx: AppContext, cookie: str, sent: str) -> bool:
    """The form's copy equals the cookie, and the token carries the server's signature."""
    if not cookie or not sent or not hmac.compare_digest(cookie, sent) or "." not in cookie:
        return False
    nonce, sig = cookie.rsplit(".", 1)
    return bool(nonce) and hmac.compare_digest(sig, _sign(secret_key(ctx), nonce))


def page_principal(request: Request, ctx: AppContext = Depends(get_context)) -> Principal:
    """Dependency for pages: the logged-in principal; otherwise the browser goes to /login."""
    who = identify(request, ctx)
    if who is None:
        if request.headers.get("hx-request") == "true":  # htmx: reload the whole page at /login
            raise Problem(401, "log in first", kind="login-required", headers={"HX-Redirect": login_url(request)})
        raise Problem(303, "log in first", kind="login-required", headers={"Location": login_url(request)})
    return who


def page_access(who: Principal = Depends(page_principal)) -> Access:
    """Dependency for pages: the logged-in principal's access policy (tenure.access)."""
    return policy(who)


async def page_writer(request: Request, who: Principal = Depends(page_principal)) -> Access:
    """Dependency for page forms that change something: CSRF checked and write permission held;
    the principal's access policy."""
    await check_csrf(request, who)
    ensure_can(who, "write")
    return policy(who)


def _login_form(request: Request, *, next_url: str, error: str | None = None, username: str = "",
                status_code: int = 200, headers: dict[str, str] | None = None):
    token = new_login_token(request.app.state.ctx)
    response = render(request, "login.html", status_code=status_code, who=None, next_url=next_url,
                      error=error, username=username, login_csrf=token)
    for k, v in (headers or {}).items():
        response.headers[k] = v
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="strict",
                        secure=_secure(request))
    return response


@router.get("/login")
def login_page(request: Request, next: str | None = None, ctx: AppContext = Depends(get_context)):
    if identify(request, ctx) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, next_url=safe_next(next))


def _dummy_verify() -> None:
    global _DUMMY_HASH
    from argon2 import PasswordHasher
    from argon2.exceptions import VerificationError

    hasher = PasswordHasher()
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))
    try:
        hasher.verify(_DUMMY_HASH, "not the password")
    except VerificationError:
        pass


@router.post("/login")
def login_submit(request: Request, username: str = Form(""), password: str = Form(""),
                 csrf_token: str = Form(""), next: str = Form("/"), ctx: AppContext = Depends(get_context)):
    next_url = safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not valid_login_token(ctx, cookie, csrf_token):
        return _login_form(request, next_url=next_url, username=username, status_code=403,
                           error="The login form expired. Please try again.")
    username = username.strip()[:100]
    ip = client_ip(request)
    with ctx.db() as session:
        wait = lockout(session, ctx.config, username or None, ip)
        # exactly one password-hash check on every path: a real one for an active user who is not
        # locked out, the dummy one otherwise (unknown, disabled, locked, empty name)
        if wait is None and username and session.scalar(select(User.active).where(User.username == username)):
            user = verify_password(session, username, password)
        else:
            _dummy_verify()
            user = None
        if user is None:
            audit.record(session, username or "(empty)", "login_failed", "user", username or None,
                         None, {"locked": True, "retry_after": math.ceil(wait)} if wait else None, ip=ip)
        else:
            _, secret = sessions.start(session, user, ip=ip, user_agent=request.headers.get("user-agent"))
    if user is None:
        return _login_form(request, next_url=next_url, username=username, status_code=401,
                           error="Wrong username or password.",
                           headers={"Retry-After": str(math.ceil(wait))} if wait else None)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(sessions.COOKIE_NAME, secret, max_age=sessions.SESSION_HOURS * 3600, path="/",
                        httponly=True, samesite="lax", secure=_secure(request))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, who: Principal = Depends(page_principal), ctx: AppContext = Depends(get_context)):
    await check_csrf(request, who)
    with ctx.db() as session:
        sessions.end(session, request.cookies.get(sessions.COOKIE_NAME), ip=client_ip(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response
