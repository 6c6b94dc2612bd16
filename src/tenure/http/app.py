"""The one web process: REST API under /api/v1 (OpenAPI at /api/v1/openapi.json, docs at
/api/docs) and the server-rendered pages, sharing one AppContext. Neither computes metrics:
both ask the compute stages (metrics, health, predict, portfolio)."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from tenure import __version__
from tenure.api import problems
from tenure.api.context import AppContext
from tenure.config import Config
from tenure.warehouse import Warehouse

API_PREFIX = "/api/v1"
# REST routers: each a module in tenure.api.routers with a `router` (paths relative to /api/v1)
API_ROUTERS = ("accounts", "metrics", "health", "risk", "ingest", "admin")
STATIC = Path(__file__).resolve().parent.parent / "web" / "static"

SECURITY_HEADERS = {
    # pages load scripts and styles only from this server (no CDN, no inline scripts)
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
                               "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def create_app(config: Config, *, warehouse: Warehouse | None = None) -> FastAPI:
    """The ASGI app for a project. `warehouse` lets tests hand in an open connection. Whoever
    creates the app closes `app.state.ctx` when done (`tenure serve` does after the server stops;
    not in a lifespan hook, since test clients start and stop an app many times)."""

    app = FastAPI(title=f"tenure — {config.project}", version=__version__,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url="/api/docs", redoc_url=None,
                  description="The tenure REST API: accounts with health, risk and ARR; metrics from the one "
                              "metric registry; health and risk; ingestion; users and tokens. Authenticate "
                              "with `Authorization: Bearer <token>` (`tenure tokens create`). Errors are RFC "
                              "9457 problem details.")
    app.state.ctx = AppContext.open(config, warehouse)
    problems.install(app, wants_html=_wants_html)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.path.startswith("/api/") or "text/html" in response.headers.get("content-type", ""):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    for name in API_ROUTERS:
        app.include_router(import_module(f"tenure.api.routers.{name}").router, prefix=API_PREFIX)
    from tenure.web.pages import router as pages

    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    return app
