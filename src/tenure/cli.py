"""The `tenure` command (Typer + Rich).

Each stage owns its commands in `tenure/<stage>/cli.py` and exposes `register(app)`; this module
only assembles them, adds `init`, and turns TenureError into one clear line and an exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from tenure.errors import TenureError

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="tenure",
    help="tenure: the customer operating system for a Chief Customer Officer and their teams.\n\n"
    "Start with `tenure demo` (a realistic demo company, end to end) or `tenure init` "
    "(a commented tenure.yaml), then `tenure ingest ENTITY FILE`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """tenure: the customer operating system for a Chief Customer Officer and their teams."""


@app.command()
def init(
    directory: Path = typer.Argument(Path("."), help="project folder to create tenure.yaml in"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing tenure.yaml"),
) -> None:
    """Write a commented default tenure.yaml into DIRECTORY."""
    from tenure.config import write_default_config

    path = write_default_config(directory, overwrite=force)
    console.print(f"wrote [bold]{path}[/bold]; edit it, then run `tenure db upgrade` and `tenure ingest`.")


def _register_stages() -> None:
    from tenure import demo
    from tenure.health import cli as health_cli
    from tenure.ingest import cli as ingest_cli
    from tenure.metrics import cli as metrics_cli
    from tenure.notify import cli as notify_cli
    from tenure.playbooks import cli as playbooks_cli
    from tenure.predict import cli as predict_cli
    from tenure.simulate import cli as simulate_cli
    from tenure.state import cli as state_cli
    from tenure.voc import cli as voc_cli

    from tenure import serve as api_cli
    from tenure import workers as worker_cli
    from tenure.portfolio import cli as portfolio_cli

    for module in (ingest_cli, simulate_cli, state_cli, metrics_cli, health_cli, predict_cli, playbooks_cli, voc_cli,
                   portfolio_cli, api_cli, notify_cli, worker_cli, demo):
        module.register(app)


_register_stages()


def main() -> None:
    """Console entry point: user errors become one red line and the error's exit code."""
    try:
        app()
    except TenureError as err:
        err_console.print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)
        sys.exit(err.exit_code)


if __name__ == "__main__":
    main()
