"""The REST API under /api/v1: one router module per concept in tenure.api.routers. It stands on
the shared HTTP core (tenure.http) and never imports the pages (tenure.web); tenure.serve mounts
both on one app."""

from __future__ import annotations

from importlib import import_module

# REST routers: each a module in tenure.api.routers with a `router` (paths relative to /api/v1)
ROUTERS = ("accounts", "metrics", "health", "risk", "renewals", "ingest", "admin", "jobs", "tasks", "outbox",
           "success_plans", "voc", "advocacy")


def mount(app, prefix: str = "/api/v1") -> None:
    """Add every REST router to `app` under `prefix`."""
    for name in ROUTERS:
        app.include_router(import_module(f"tenure.api.routers.{name}").router, prefix=prefix)
