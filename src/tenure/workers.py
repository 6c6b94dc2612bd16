"""The worker's composition root: every stage's worker jobs in one registry, and `tenure worker`.

A stage with worker jobs exposes `register_worker_jobs(registry)` (see tenure.jobs.worker) and is
added to `worker_registry` below; tenure.jobs knows no stage.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from tenure.jobs.worker import JobOutcome, Worker, WorkerRegistry, job_states
from tenure.notify import worker_jobs as notify_jobs
from tenure.playbooks import worker_jobs as playbook_jobs
from tenure.portfolio import voc_jobs as voc_page_jobs
from tenure.voc import custom_jobs
from tenure.voc import worker_jobs as voc_jobs

console = Console()


def worker_registry() -> WorkerRegistry:
    """The jobs `tenure worker` runs, from every stage that has some."""
    registry = WorkerRegistry()
    notify_jobs.register_worker_jobs(registry)
    playbook_jobs.register_worker_jobs(registry)
    voc_jobs.register_worker_jobs(registry)
    custom_jobs.register_worker_jobs(registry)
    voc_page_jobs.register_worker_jobs(registry)
    return registry


def _print_event(kind: str, what: JobOutcome | str) -> None:
    if kind == "start":
        console.print(f"[dim]running[/dim] {what}")
    elif kind == "end" and isinstance(what, JobOutcome):
        colour = {"succeeded": "green", "failed": "red", "lost": "yellow"}[what.status]
        detail = what.error or ", ".join(f"{k} {v}" for k, v in (what.result or {}).items()
                                         if isinstance(v, (int, float)) and v)
        console.print(f"[{colour}]{what.status}[/{colour}] {what.name} (lease token {what.token})"
                      + (f": {detail}" if detail else ""), highlight=False)


def worker_cmd(
    once: bool = typer.Option(False, "--once", help="run the jobs due now, then exit"),
    status: bool = typer.Option(False, "--status", help="list the jobs, their schedules and last runs, then exit"),
    as_json: bool = typer.Option(False, "--json", help="with --once or --status: JSON output"),
    config_path: Path = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)"),
) -> None:
    """Run scheduled and after-refresh jobs and deliver the outbox (until Ctrl-C / SIGTERM).

    Several workers may run against one state DB: a lease per job makes sure only one of them
    runs it at a time. Schedules: `worker.jobs` in tenure.yaml; see docs/operations.md."""
    from tenure.config import load_config

    config = load_config(config_path)
    registry = worker_registry()
    jobs = registry.jobs(config)
    if status:
        states = {s["name"]: s for s in job_states(config)}
        rows = [{"name": j.name, "schedule": j.schedule.describe(), "enabled": j.enabled,
                 **{k: v for k, v in states.get(j.name, {}).items() if k != "name"}} for j in jobs]
        if as_json:
            typer.echo(json.dumps(rows, indent=2, default=str))
            return
        table = Table("job", "schedule", "last status", "last finished (UTC)", "next (UTC)", "runs")
        for r in rows:
            table.add_row(r["name"], r["schedule"] + ("" if r["enabled"] else " (disabled)"),
                          r.get("last_status") or "-", r.get("last_finished_at") or "-",
                          r.get("next_run_at") or "-", str(r.get("runs") or 0))
        console.print(table)
        return
    worker = Worker(config, registry, on_event=None if as_json else _print_event)
    if once:
        outcomes = worker.run_once()
        if as_json:
            typer.echo(json.dumps([o.__dict__ for o in outcomes], indent=2, default=str))
        elif not outcomes:
            console.print("no job was due")
        if any(o.status == "failed" for o in outcomes):
            raise typer.Exit(1)
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"worker {worker.holder}: {len(jobs)} job(s): "
                  + "; ".join(f"{j.name} ({j.schedule.describe()})" for j in jobs if j.enabled))
    worker.run_forever(stop)
    console.print("worker stopped")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_cmd)
