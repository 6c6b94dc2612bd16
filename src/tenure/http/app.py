"""The app shell the REST API and the pages share: FastAPI with the process's AppContext, RFC
9457 problem handlers and the security headers. It knows nothing of either: `tenure.serve`
composes it with the API's routers (tenure.api) and the pages (tenure.web)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from tenure import __version__
from tenure.config import Config
from tenure.http import problems
from tenure.http.context import AppContext
from tenure.warehouse import Warehouse

API_PREFIX = "/api/v1"
DOCS_URL = "/api/docs"
DOCS_STATIC = Path(__file__).resolve().parent / "static"  # docs.js; vendor/swagger-ui/ from scripts/_env.sh

SECURITY_HEADERS = {
    # pages load scripts and styles only from this server (no CDN, no inline scripts)
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
                               "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def is_https(request: Request) -> bool:
    """The request came over https: its own scheme, or `X-Forwarded-Proto: https` when
    `web.trust_forwarded_proto` says a TLS-terminating proxy sets that header."""
    if request.url.scheme == "https":
        return True
    ctx = getattr(request.app.state, "ctx", None)
    if ctx is not None and ctx.config.web.trust_forwarded_proto:
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False


def _docs_page(title: str) -> HTMLResponse:
    """Swagger UI from tenure's own files (the CSP allows no CDN and no inline script)."""
    installed = (DOCS_STATIC / "vendor" / "swagger-ui" / "swagger-ui-bundle.js").is_file()
    spec = f"{API_PREFIX}/openapi.json"
    head = (f'<link rel="stylesheet" href="{DOCS_URL}/static/vendor/swagger-ui/swagger-ui.css">' if installed else "")
    scripts = (f'<script src="{DOCS_URL}/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>'
               f'<script src="{DOCS_URL}/static/docs.js"></script>' if installed else "")
    missing = ("" if installed else
               f'<p>Swagger UI is not installed here (run <code>scripts/demo</code> or <code>scripts/test</code>, '
               f'which fetch it). The OpenAPI document is at <a href="{spec}">{spec}</a>.</p>')
    return HTMLResponse(f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                        f'<title>{escape(title)} — API docs</title>{head}</head><body>'
                        f'<p><a href="/">&larr; back to {escape(title)}</a></p>{missing}'
                        f'<div id="swagger-ui" data-openapi="{spec}"></div>{scripts}</body></html>')


def build_app(config: Config, *, warehouse: Warehouse | None = None,
              html_error: Callable | None = None) -> FastAPI:
    """An app holding a fresh AppContext (`app.state.ctx`), with the error handlers and headers
    but no routes. `html_error(request, status, detail)` renders errors for browsers. Whoever
    creates the app closes `app.state.ctx` when done (`tenure serve` does after the server stops;
    not in a lifespan hook, since test clients start and stop an app many times)."""
    app = FastAPI(title=config.title, version=__version__,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=None, redoc_url=None,
                  description="The tenure REST API: accounts with health, risk and ARR; metrics from the one "
                              "metric registry; health and risk; ingestion; users and tokens. Authenticate "
                              "with `Authorization: Bearer <token>` (`tenure tokens create`). Errors are RFC "
                              "9457 problem details.")
    app.state.ctx = AppContext.open(config, warehouse)
    problems.install(app, wants_html=wants_html, html_error=html_error)

    from fastapi.staticfiles import StaticFiles

    from tenure.http.limits import BodyGuard

    @app.get(DOCS_URL, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return _docs_page(config.title)

    app.mount(f"{DOCS_URL}/static", StaticFiles(directory=DOCS_STATIC, check_dir=False), name="api-docs-static")

    def respond(request: Request, status: int, detail: str):
        if html_error is not None and wants_html(request):
            return html_error(request, status, detail)
        return problems.problem_response(request, status, detail)

    # bodies: size limits, and credentials checked before a body is read (inside the headers below)
    app.add_middleware(BodyGuard, upload_prefix=f"{API_PREFIX}/ingest/", respond=respond)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if is_https(request) and config.web.hsts_max_age:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={config.web.hsts_max_age}")
        if request.url.path.startswith("/api/") or "text/html" in response.headers.get("content-type", ""):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
