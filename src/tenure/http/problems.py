"""Errors as RFC 9457 problem details (`application/problem+json`); no stack trace ever leaks.

Routers raise `Problem` (or a TenureError, mapped here by kind); the handlers in `install`
turn every error, including unexpected ones and request-validation errors, into one shape:
{type, title, status, detail, instance} plus optional extension members (e.g. `errors`).
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tenure.access import OutOfScope
from tenure.errors import ConfigError, ConflictError, InputError, NotFoundError, TenureError, WarehouseError

log = logging.getLogger("tenure.api")
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://tenure.dev/problems/"

TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Payload too large", 415: "Unsupported media type",
          422: "Invalid input", 429: "Too many requests", 500: "Internal error", 503: "Unavailable"}


class Problem(Exception):
    """An HTTP error a client can act on."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None, title: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.detail, self.extra, self.headers = status, detail, extra, headers
        self.title = title or TITLES.get(status, "Error")
        self.kind = kind or self.title.lower().replace(" ", "-")


def redact_paths(text: str, roots: Iterable[str | Path]) -> str:
    """`text` with every absolute path under one of `roots` (the project folder, the runs
    folder, the temp folder) cut to its file name: errors never show where the server keeps files."""
    for root in sorted({str(r).rstrip("/") for r in roots if r and str(r).rstrip("/")}, key=len, reverse=True):
        pattern = re.compile(re.escape(root) + r"(?:/[^\s'\"`:,;()<>\[\]]*)?")
        text = pattern.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1] if m.group(0) != root
                           else "the server's folder", text)
    return text


def server_roots(request: Request) -> list[Path]:
    """The folders whose paths errors must not show."""
    roots: list[Path] = [Path(tempfile.gettempdir()), Path(tempfile.gettempdir()).resolve()]
    ctx = getattr(request.app.state, "ctx", None)
    if ctx is not None:
        for p in (ctx.config.base_dir, ctx.config.runs_dir):
            roots += [Path(p), Path(p).resolve()]
    return roots


def problem_response(request: Request, status: int, detail: str, *, kind: str | None = None,
                     title: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    title = title or TITLES.get(status, "Error")
    body = {"type": TYPE_BASE + (kind or title.lower().replace(" ", "-")), "title": title, "status": status,
            "detail": detail, "instance": request.url.path, **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(err: TenureError) -> int:
    if isinstance(err, OutOfScope):  # the access policy refused (tenure.access)
        return 403
    if isinstance(err, NotFoundError):
        return 404
    if isinstance(err, ConflictError):
        return 409
    if isinstance(err, (InputError, ConfigError)):
        return 422
    if isinstance(err, WarehouseError):
        return 503
    return 400


def install(app: FastAPI, *, wants_html=None, html_error=None) -> None:
    """Register the handlers. When `wants_html(request)` is true, `html_error(request, status,
    detail)` renders the error as a page (the web layer owns HTML; it is handed in so this core
    imports neither the API nor the pages)."""

    def respond(request: Request, status: int, detail: str, **kw: Any):
        detail = redact_paths(detail, server_roots(request))
        if html_error is not None and wants_html is not None and wants_html(request):
            return html_error(request, status, detail)
        return problem_response(request, status, detail, **kw)

    @app.exception_handler(Problem)
    async def _problem(request: Request, err: Problem):
        return respond(request, err.status, err.detail, kind=err.kind, title=err.title, headers=err.headers,
                       **err.extra)

    @app.exception_handler(TenureError)
    async def _tenure(request: Request, err: TenureError):
        return respond(request, status_of(err), str(err), kind=getattr(err, "kind", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError):
        errors = [{"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                  for e in err.errors()]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "invalid request"
        return respond(request, 422, detail, kind="invalid-input", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException):
        detail = err.detail if isinstance(err.detail, str) else TITLES.get(err.status_code, "Error")
        return respond(request, err.status_code, detail, headers=getattr(err, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(request, 500, "an unexpected error happened; it has been logged")
