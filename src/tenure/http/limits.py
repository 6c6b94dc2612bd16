"""Request bodies at the boundary: refused by size before they are read, and never read at all
for a caller without credentials.

`BodyGuard` is an ASGI middleware in front of every route:

1. An unsafe request (POST, PUT, PATCH, DELETE) with a body, to any route but the login form,
   must carry a valid credential (a bearer token or a session cookie) before its body is read:
   without one the route sees an empty body and answers as it does for any anonymous caller (401
   for the API, a redirect to /login for pages); the body is never taken off the socket.
2. The body limit is picked by route: `web.max_upload_mb` for file uploads under
   /api/v1/ingest, `web.max_login_kb` for the public login form, `web.max_json_mb` for the rest.
   A `Content-Length` over it gets 413 problem details at once; a body without one (chunked) is
   counted while it streams and cut off with 413 as soon as it passes the limit.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# the login form, and the unsubscribe page (its signed token is the credential; RFC 8058 one-click
# POSTs come from mail clients without a session)
PUBLIC = {("POST", "/login"), ("POST", "/unsubscribe")}
# the public survey page (tenure.web.survey_public): its signed token is the credential
# and the in-app survey widget's answers (tenure.web.survey_embed): the user hash and token are
PUBLIC_PREFIXES = ("/s/", "/embed/v1/")
SURVEY_FORM_KB = 64  # a survey comment form (a few thousand characters, percent-encoded)
MB = 1 << 20


def is_public(method: str, path: str) -> bool:
    """A POST anyone may send without credentials: the login form, unsubscribe, survey answers."""
    return (method, path) in PUBLIC or (method == "POST" and path.startswith(PUBLIC_PREFIXES))


class BodyGuard:
    def __init__(self, app: ASGIApp, *, upload_prefix: str, respond: Callable):
        """`respond(request, status, detail)` renders an error (problem details or a page)."""
        self.app, self.upload_prefix, self.respond = app, upload_prefix, respond

    def limit(self, scope: Scope, headers: Headers) -> tuple[int, str]:
        web = scope["app"].state.ctx.config.web
        if scope["path"].startswith(PUBLIC_PREFIXES):
            return SURVEY_FORM_KB * 1024, f"{SURVEY_FORM_KB} KB"
        if (scope["method"], scope["path"]) in PUBLIC:
            return int(web.max_login_kb * 1024), f"{web.max_login_kb:g} KB"
        if scope["path"].startswith(self.upload_prefix) and \
                headers.get("content-type", "").startswith("multipart/form-data"):
            return int(web.max_upload_mb * MB), f"{web.max_upload_mb:g} MB (web.max_upload_mb; or use `tenure ingest`)"
        return int(web.max_json_mb * MB), f"{web.max_json_mb:g} MB (web.max_json_mb)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None and not length.strip().isdigit():
            await self._reject(scope, receive, send, 400, "Content-Length is not a number")
            return
        carries_body = length is None or int(length) > 0  # no Content-Length: maybe a chunked body
        if scope["method"] in UNSAFE and carries_body and not is_public(scope["method"], scope["path"]):
            if not await self._authenticated(scope):  # the route answers an anonymous caller, body unread
                await self.app(_without_body(scope), _empty_body, send)
                return
        limit, shown = self.limit(scope, headers)
        if length is not None and int(length) > limit:
            await self._reject(scope, receive, send, 413, f"the request body is larger than {shown}")
            return
        await self.app(scope, _counting(receive, limit, shown), send)

    async def _authenticated(self, scope: Scope) -> bool:
        from tenure.http.auth import identify

        request = Request(scope)
        return await run_in_threadpool(identify, request, scope["app"].state.ctx) is not None

    async def _reject(self, scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        response = self.respond(Request(scope), status, detail)
        response.headers["Connection"] = "close"  # the unread body is not taken off the socket
        await response(scope, receive, send)


def _without_body(scope: Scope) -> Scope:
    drop = {b"content-type", b"content-length", b"transfer-encoding"}
    return {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() not in drop]}


async def _empty_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _counting(receive: Receive, limit: int, shown: str) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"the request body is larger than {shown}")
        return message

    return counted
