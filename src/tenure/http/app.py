"""The app shell the REST API and the pages share: FastAPI with the process's AppContext, RFC
9457 problem handlers and the security headers. It knows nothing of either: `tenure.serve`
composes it with the API's routers (tenure.api) and the pages (tenure.web)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request

from tenure import __version__
from tenure.config import Config
from tenure.http import problems
from tenure.http.context import AppContext
from tenure.warehouse import Warehouse

API_PREFIX = "/api/v1"

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


def build_app(config: Config, *, warehouse: Warehouse | None = None,
              html_error: Callable | None = None) -> FastAPI:
    """An app holding a fresh AppContext (`app.state.ctx`), with the error handlers and headers
    but no routes. `html_error(request, status, detail)` renders errors for browsers. Whoever
    creates the app closes `app.state.ctx` when done (`tenure serve` does after the server stops;
    not in a lifespan hook, since test clients start and stop an app many times)."""
    app = FastAPI(title=config.title, version=__version__,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url="/api/docs", redoc_url=None,
                  description="The tenure REST API: accounts with health, risk and ARR; metrics from the one "
                              "metric registry; health and risk; ingestion; users and tokens. Authenticate "
                              "with `Authorization: Bearer <token>` (`tenure tokens create`). Errors are RFC "
                              "9457 problem details.")
    app.state.ctx = AppContext.open(config, warehouse)
    problems.install(app, wants_html=wants_html, html_error=html_error)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.path.startswith("/api/") or "text/html" in response.headers.get("content-type", ""):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
