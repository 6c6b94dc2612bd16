"""`tenure serve`: the web app and REST API in one process (Uvicorn). This is the one module that
imports both the API (tenure.api) and the pages (tenure.web): it mounts them, siblings over the
shared HTTP core (tenure.http), on one app."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from tenure.config import Config
from tenure.warehouse import Warehouse

console = Console()
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")


def create_app(config: Config, *, warehouse: Warehouse | None = None):
    """The ASGI app for a project: REST API under /api/v1 (OpenAPI at /api/v1/openapi.json, docs at
    /api/docs) and the pages, sharing one AppContext. `warehouse` lets tests hand in an open
    connection. Whoever creates the app closes `app.state.ctx` when done."""
    from tenure import api, web
    from tenure.http.app import API_PREFIX, build_app

    app = build_app(config, warehouse=warehouse, html_error=web.error_page)
    api.mount(app, API_PREFIX)
    web.mount(app)
    return app


def serve_cmd(host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
              port: int = typer.Option(8000, "--port"),
              log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level"),
              config_path: Path = ConfigOpt) -> None:
    """Serve the web app (pages) and the REST API (/api/v1, docs at /api/docs)."""
    import uvicorn

    from tenure.config import load_config

    config = load_config(config_path)
    app = create_app(config)
    console.print(f"[bold]{config.title}[/bold] on http://{host}:{port}/  "
                  f"(API docs: http://{host}:{port}/api/docs; Ctrl-C stops)")
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        app.state.ctx.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
