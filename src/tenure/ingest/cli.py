"""`tenure ingest`, `tenure runs prune` and `tenure accounts identities`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

console = Console()

accounts_app = typer.Typer(help="Master accounts and how source records map to them.", no_args_is_help=True)
runs_app = typer.Typer(help="Ingest run folders (reports, quarantine files, uploads).", no_args_is_help=True)


def _open(config_path):
    from tenure.warehouse import open_project

    return open_project(config_path)


def render_results(results, as_json: bool) -> None:
    if as_json:
        payload = [r.to_dict() for r in results]
        typer.echo(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2))
        return
    table = RichTable(title="ingest", show_lines=False)
    for col in ("entity", "status", "read", "inserted", "updated", "unchanged", "rejected"):
        table.add_column(col, justify="right" if col not in ("entity", "status") else "left")
    for r in results:
        style = {"loaded": "green", "partial": "yellow"}.get(r.status, "red")
        table.add_row(r.entity, f"[{style}]{r.status}[/{style}]", f"{r.rows_read:,}", f"{r.inserted:,}",
                      f"{r.updated:,}", f"{r.unchanged:,}", f"{r.rejected:,}")
    console.print(table)
    for r in results:
        for reason, n in r.rejected_by_reason.items():
            console.print(f"  rejected [bold]{n:,}[/bold] {r.entity} row(s): {reason}")
        for w in r.warnings:
            console.print(f"  [yellow]warning:[/yellow] {w}")
        if r.quarantine_path:
            console.print(f"  quarantine: {r.quarantine_path}")
        console.print(f"  report: {r.report_path}")


def ingest_command(
    entity: str = typer.Argument(..., help="accounts, contacts, contract_lines, invoices, usage_events, tickets, "
                                 "survey_responses, survey_invitations, survey_answers, opportunities, activities, "
                                 "milestones, churn_reasons, spend, costs, fx (with --format: the entity to take from "
                                 "the export, or 'all')"),
    path: Path = typer.Argument(..., help="CSV/Parquet/JSON lines file (optionally .gz) or a folder of part files"),
    source: str = typer.Option("file", "--source", help="name recorded as the rows' source"),
    fmt: str = typer.Option(None, "--format", help="a vendor export: stripe, salesforce, zendesk, segment, "
                                                   "survey (a generic survey CSV), delighted, surveymonkey"),
    strict: bool = typer.Option(False, "--strict", help="load all or nothing; exit 2 on any rejection"),
    as_json: bool = typer.Option(False, "--json", help="print the run summary as JSON"),
    config_path: Path = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)"),
) -> None:
    """Validate a file, quarantine bad rows with reasons, and upsert the good ones by natural key.

    Exit code: 0 all rows loaded, 1 some rows rejected (and quarantined), 2 nothing loaded
    (--strict with rejections, or an unusable file)."""
    from tenure.ingest.pipeline import ingest_file
    from tenure.ingest.retention import prune_runs

    config, wh = _open(config_path)
    prune_runs(config)  # run folders and uploads past ingest.retention_days
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), disable=as_json, transient=True) as bar:
            task = bar.add_task(f"ingesting {entity}", total=None)

            def progress(advance: int, total: int | None, description: str) -> None:
                bar.update(task, advance=advance, total=total, description=description)

            out = ingest_file(wh, config, entity, path, source=fmt or source, fmt=fmt, strict=strict,
                              progress=progress)
    finally:
        wh.close()
    results = out if isinstance(out, list) else [out]
    render_results(results, as_json)
    raise typer.Exit(max(r.exit_code for r in results))


@accounts_app.command("identities")
def identities_command(
    status: str = typer.Option(None, "--status", help="only matched, ambiguous or unmatched"),
    source: str = typer.Option(None, "--source", help="only this source system"),
    set_: tuple[str, str, str] | None = typer.Option(None, "--set", metavar="SOURCE EXTERNAL_ID ACCOUNT_ID",
                                              help="map a source record to a master account by hand (wins over rules)"),
    as_json: bool = typer.Option(False, "--json"),
    config_path: Path = typer.Option(None, "--config"),
) -> None:
    """List how records of each source map to master accounts; ambiguous ones need a decision."""
    from tenure.ingest.identity import list_identities, set_identity

    config, wh = _open(config_path)
    try:
        if set_ and set_[0]:
            set_identity(wh, *set_)
            console.print(f"mapped {set_[0]} {set_[1]} -> {set_[2]} (manual)")
        rows = list_identities(wh, status=status, source=source)
    finally:
        wh.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = RichTable(title=f"account identities ({len(rows)})")
    for col in ("source", "external_id", "account_id", "rule", "status", "domain", "name", "candidates"):
        table.add_column(col)
    for r in rows:
        style = {"matched": "green", "ambiguous": "yellow"}.get(r["status"], "red")
        table.add_row(r["source"], r["external_id"], r["account_id"] or "", r["rule"] or "",
                      f"[{style}]{r['status']}[/{style}]", r["domain"] or "", r["name"] or "", r["candidates"] or "")
    console.print(table)


@runs_app.command("prune")
def prune_command(days: int = typer.Option(None, "--days", min=1, help="keep this many days (default: "
                                           "ingest.retention_days)"),
                  config_path: Path = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or "
                                                   "TENURE_CONFIG)")) -> None:
    """Delete run folders, quarantine files and uploads older than the retention period."""
    from tenure.config import load_config
    from tenure.ingest.retention import prune_runs

    config = load_config(config_path)
    if days is None and config.ingest.retention_days is None:
        console.print("ingest.retention_days is null: run files are kept forever (pass --days to prune)")
        return
    removed = prune_runs(config, days=days)
    console.print(f"deleted {removed:,} run folder(s) older than {days or config.ingest.retention_days} days "
                  f"under {config.ingest.runs_dir}")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
    app.add_typer(runs_app, name="runs")
    app.add_typer(accounts_app, name="accounts")
