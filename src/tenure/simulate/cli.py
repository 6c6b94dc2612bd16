"""Commands of this stage (registered by tenure.cli)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the root `tenure` app."""
