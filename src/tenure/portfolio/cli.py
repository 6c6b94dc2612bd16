"""`tenure refresh`: recompute the snapshots the web app reads (health, risk, account summary)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

console = Console()
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")


def refresh_cmd(as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: latest data)"),
                as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """Recompute health, risk and the account summary the web app and API read (idempotent)."""
    from datetime import date

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tenure.portfolio.summary import refresh
    from tenure.warehouse import open_project

    config, wh = open_project(config_path)
    try:
        with Progress(TextColumn("{task.description:<40}"), BarColumn(), TimeElapsedColumn(), console=console,
                      transient=True, disable=as_json) as bar:
            task = bar.add_task("refreshing", total=None)
            result = refresh(wh, config, date.fromisoformat(as_of) if as_of else None,
                             progress=lambda desc, done, total: bar.update(task, description=desc,
                                                                            completed=done, total=total))
    finally:
        wh.close()
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        took = sum((result.get("seconds") or {}).values())
        console.print(f"refreshed as of {result.get('as_of')} in {took:.1f} s: " + ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in result.items() if k not in ("as_of", "seconds")))


def register(app: typer.Typer) -> None:
    app.command("refresh")(refresh_cmd)
