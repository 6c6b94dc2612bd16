"""`tenure simulate`: write a synthetic company in the canonical file formats."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()


def simulate_command(
    accounts: int = typer.Option(2000, "--accounts", min=1, help="number of customer accounts"),
    months: int = typer.Option(36, "--months", min=3, max=120, help="months of history"),
    seed: int = typer.Option(7, "--seed", help="random seed: the same seed gives the same files"),
    out: Path = typer.Option(Path("company"), "--out", help="folder to write the files into"),
    end: str = typer.Option("2026-10-31", "--end", help="last day of the simulated history"),
    save_effect: float = typer.Option(0.0, "--save-effect", min=0.0, max=1.0,
                                      help="relative cut in the churn probability of accounts the at-risk save "
                                           "playbook treats (a known effect for its experiment)"),
) -> None:
    """Simulate a realistic B2B SaaS company (accounts, contracts, usage, tickets, NPS, ...)."""
    from tenure.errors import InputError
    from tenure.simulate import simulate_company

    try:
        end_date = date.fromisoformat(end)
    except ValueError:
        raise InputError(f"--end {end!r} is not a date (YYYY-MM-DD)") from None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("simulating", total=months + 8)
        summary = simulate_company(out, accounts, months, seed, end=end_date,
                                   progress=lambda adv, total, desc: bar.update(task, advance=adv, description=desc),
                                   save_effect=save_effect)
    table = Table(title=f"simulated company in {out} ({summary.start} .. {summary.end})")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)
