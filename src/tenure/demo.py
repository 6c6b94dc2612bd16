"""`tenure demo`: simulate a company, ingest it through the real path, compute, and show it."""

import typer


def register(app: typer.Typer) -> None:
    """Add `tenure demo` to the root app."""
