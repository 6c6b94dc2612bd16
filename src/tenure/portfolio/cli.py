"""`tenure refresh`: run the refresh graph (ARR snapshots, health scores and signals, risk, the
band tables, the account summary), skipping the steps whose inputs did not change."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

console = Console()
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")


def _day(value: str | None, option: str):
    from datetime import date

    from tenure.errors import InputError

    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def refresh_cmd(as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: the latest day with events, "
                                                                 "at most yesterday)"),
                force: bool = typer.Option(False, "--force", help="rerun every step, changed inputs or not"),
                show_runs: bool = typer.Option(False, "--runs", help="list the latest refresh runs and exit"),
                show_steps: bool = typer.Option(False, "--steps", help="list the steps, their reads and writes, "
                                                                       "and exit"),
                as_json: bool = typer.Option(False, "--json", help="print the run summary as JSON"),
                config_path: Path = ConfigOpt) -> None:
    """Recompute what the web app and API read; steps whose inputs did not change are skipped."""
    from tenure.portfolio.steps import refresh_graph

    if show_steps:
        _print_steps(refresh_graph().describe(), as_json)
        return
    from tenure.config import load_config

    if show_runs:
        from tenure.jobs import runs

        config = load_config(config_path)
        runs.reap_stale(config)
        items, _ = runs.list_runs(config, limit=20)
        _print_runs(items, as_json)
        return
    from tenure.jobs.runner import run_graph
    from tenure.warehouse import open_project

    day = _day(as_of, "--as-of")
    config, wh = open_project(config_path)
    graph = refresh_graph()
    try:
        with _StepBars(graph, disable=as_json) as bars:
            run = run_graph(graph, wh, config, as_of=day, force=force, progress=bars.update)
    finally:
        wh.close()
    if as_json:
        typer.echo(json.dumps(run, indent=2, default=str))
        return
    console.print(f"refreshed as of {run.get('as_of')} in {run.get('seconds', 0):.1f} s: {run['steps_run']} steps "
                  f"ran, {run['steps_skipped']} skipped (inputs unchanged) [run {run['id']}]")


class _StepBars:
    """One Rich progress bar per step: pulsing while it runs, full when done or skipped."""

    def __init__(self, graph, disable: bool):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description:<44}"), BarColumn(), TextColumn("{task.fields[status]:>9}"),
                            TimeElapsedColumn(), console=console, disable=disable)
        self.tasks = {}
        self.names = [s.name for s in graph.order()]

    def __enter__(self):
        self.bar.__enter__()
        for name in self.names:
            self.tasks[name] = self.bar.add_task(name, total=1, start=False, status="waiting")
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def update(self, step: str, done: int, total: int, status: str) -> None:
        name, _, detail = step.partition(": ")
        task = self.tasks.get(name)
        if task is None:
            return
        if status == "running":
            self.bar.start_task(task)
            self.bar.update(task, total=None, status="running", description=f"{name}: {detail}" if detail else name)
        else:
            self.bar.start_task(task)
            self.bar.update(task, total=1, completed=1, status=status, description=name)
            self.bar.stop_task(task)


def _print_steps(steps: list[dict], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(steps, indent=2))
        return
    from rich.table import Table

    t = Table(title="the refresh graph, in run order")
    for c in ("step", "reads", "writes", "after"):
        t.add_column(c)
    for s in steps:
        t.add_row(s["name"], ", ".join(s["reads"]), ", ".join(s["writes"]), ", ".join(s["after"]))
    console.print(t)


def _print_runs(items: list[dict], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    from rich.table import Table

    t = Table(title="refresh runs, newest first")
    for c in ("run", "status", "as of", "started (UTC)", "steps run/skipped/total", "seconds", "error"):
        t.add_column(c)
    for r in items:
        t.add_row(r["id"], r["status"], r["as_of"] or "", (r["started_at"] or "")[:19],
                  f"{r['steps_run']}/{r['steps_skipped']}/{r['steps_total']}",
                  "" if r["seconds"] is None else f"{r['seconds']:.1f}", (r["error"] or "")[:80])
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("refresh")(refresh_cmd)
