"""`tenure playbooks ...`: list, validate, preview, backtest, run, results, start and library.
Registered by tenure.playbooks.cli (`register_playbooks`)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from tenure.errors import ConfigError, InputError

console = Console()
app = typer.Typer(help="Playbooks: triggers, audiences and steps as reviewable config (docs/playbooks.md).",
                  no_args_is_help=True)
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")
AsOfOpt = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: the latest day with events)")
JsonOpt = typer.Option(False, "--json", help="print JSON")
LIBRARY = Path(__file__).parent / "library"


def _json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=lambda v: float(v) if hasattr(v, "is_finite") else str(v)))


def _progress(quiet: bool):
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=Console(stderr=True, quiet=quiet), transient=True)


def _config(config_path):
    from tenure.config import load_config

    return load_config(config_path)


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from None


@app.command("list")
def list_cmd(as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Every playbook in the folder with its status, version, triggers and last run."""
    from tenure.playbooks.results import overview

    config = _config(config_path)
    rows = overview(config)
    if as_json:
        _json(rows)
        return
    t = Table(title="Playbooks", title_justify="left")
    for col in ("name", "status", "version", "triggers", "steps", "last run", "started", "open tasks", "file"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["name"], r["status"], str(r["version"] or "new"), ", ".join(r["triggers"]), str(r["steps"]),
                  r["last_run_at"] or "never", str(r["enrolments"]), str(r["open_tasks"]), r["file"])
    console.print(t)
    if not rows:
        console.print(f"no playbooks in {config.playbooks.folder}/ — `tenure playbooks library` copies the shipped ones")


@app.command("validate")
def validate_cmd(as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Check every playbook file; each problem names its file, line and field."""
    from tenure.playbooks.spec import playbooks_folder, validate_folder

    config = _config(config_path)
    books, problems = validate_folder(playbooks_folder(config), config.tasks)
    if as_json:
        _json({"valid": [b.name for b in books], "problems": [p.to_dict() for p in problems]})
    else:
        for b in books:
            console.print(f"[green]ok[/green] {b.file}: {b.name} ({b.status})")
        for p in problems:
            console.print(f"[red]error[/red] {p}", highlight=False)
    if problems:
        raise typer.Exit(2)


@app.command("preview")
def preview_cmd(name: str = typer.Argument(..., help="playbook name"), as_of: str = AsOfOpt,
                limit: int = typer.Option(30, "--limit", help="accounts to list"), as_json: bool = JsonOpt,
                config_path: Path = ConfigOpt) -> None:
    """Which accounts fire (draft playbooks too), the trigger values behind each, and what would be done.
    Nothing is written."""
    from tenure.playbooks.engine import preview
    from tenure.warehouse import open_project

    config, wh = open_project(config_path, write=False)
    with wh, _progress(as_json) as bar:
        bar.add_task(f"previewing {name}")
        report = preview(wh, config, name, as_of=_day(as_of))
    if as_json:
        _json(report)
        return
    _print_run(report, limit)
    occ = report.get("occurrences", [])
    t = Table(title=f"{len(occ)} occurrence(s) of {name} on {report['as_of']}", title_justify="left")
    for col in ("account", "name", "owner", "trigger", "value", "detail"):
        t.add_column(col)
    for r in occ[:limit]:
        t.add_row(r["account_id"], r.get("account_name") or "", r.get("owner") or "", r["trigger_id"],
                  "" if r.get("value") is None else f"{r['value']:.3g}", r.get("detail") or "")
    console.print(t)


def _print_run(report: dict, limit: int) -> None:
    for pb in report["playbooks"]:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(pb["skipped"].items())) or "none"
        line = (f"[bold]{pb['name']}[/bold] v{pb['version']} ({pb['status']}): fired {pb['fired']}, started "
                f"{pb['started']}, holdout {pb['holdout']}; tasks {pb['tasks']}, emails {pb['emails']}, webhooks "
                f"{pb['webhooks']}; closed tasks {pb['closed_tasks']}, exited {pb['exited']}; not started: {skipped}")
        if pb["capped"]:
            line += f" — [red]CAPPED[/red]: would start {pb['skipped'].get('capped', 0)}, over max_per_run; nothing done"
        console.print(line, highlight=False)
        for a in pb["accounts"][:limit]:
            acts = "; ".join(_describe(x) for x in a.get("actions", []))
            console.print(f"  {a['account_id']} {a.get('name') or ''} (owner {a.get('owner') or '-'}): "
                          f"{a.get('detail') or a['trigger']} -> {acts or 'waits'}", highlight=False)
        if len(pb["accounts"]) > limit:
            console.print(f"  ... and {len(pb['accounts']) - limit} more (--json lists all)")


def _describe(x: dict) -> str:
    if x.get("skipped"):
        return f"{x['kind']} skipped ({x['skipped']})"
    if x["kind"] == "task":
        return f"task '{x['title']}' for {x.get('owner')}"
    if x["kind"] == "email":
        return f"email to {x['to']}" + (" (held for review)" if x.get("held_for_review") else "")
    if x["kind"] == "webhook":
        return f"webhook {x['url']}"
    if x["kind"] == "field":
        return f"set {x['name']}={x['value']}"
    if x["kind"] == "survey":
        return f"survey {x['program']} for {x.get('contact_id')}"
    return x["kind"]


@app.command("run")
def run_cmd(dry_run: bool = typer.Option(False, "--dry-run", help="show what would be done, write nothing"),
            as_of: str = AsOfOpt, limit: int = typer.Option(10, "--limit", help="accounts to list per playbook"),
            as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Evaluate every active playbook now and act (tasks, emails, webhooks, ...). Idempotent."""
    from tenure.playbooks.engine import run_playbooks
    from tenure.warehouse import open_project

    config, wh = open_project(config_path, write=False)
    with wh, _progress(as_json) as bar:
        task = bar.add_task("running playbooks")
        report = run_playbooks(wh, config, as_of=_day(as_of), dry_run=dry_run, trigger="cli",
                               progress=lambda text: bar.update(task, description=text))
    if as_json:
        _json(report)
    else:
        console.print(("[yellow]dry run[/yellow]: nothing written. " if dry_run else "") + f"as of {report['as_of']}")
        _print_run(report, limit)
    if report["capped"]:
        raise typer.Exit(1)


@app.command("start")
def start_cmd(name: str = typer.Argument(..., help="playbook name"),
              accounts: list[str] = typer.Argument(..., help="account ids"),
              user: str = typer.Option(None, "--user", envvar="TENURE_USER", help="who starts it"),
              dry_run: bool = typer.Option(False, "--dry-run"), as_json: bool = JsonOpt,
              config_path: Path = ConfigOpt) -> None:
    """Start an active playbook by hand on one account or a batch."""
    from tenure.playbooks.engine import start_manually
    from tenure.warehouse import open_project

    config, wh = open_project(config_path, write=False)
    with wh:
        res = start_manually(wh, config, name, accounts, actor=user or "cli", dry_run=dry_run)
    if as_json:
        _json(res)
        return
    _print_run({"playbooks": [res]}, 50)


@app.command("results")
def results_cmd(name: str = typer.Argument(..., help="playbook name"), as_json: bool = JsonOpt,
                config_path: Path = ConfigOpt) -> None:
    """What a playbook did: occurrences, enrolments, tasks by state and outcome, emails, and its
    experiment (holdout vs treatment) when it has one."""
    from tenure.playbooks.results import playbook_results
    from tenure.warehouse import open_project

    config, wh = open_project(config_path, write=False)
    with wh:
        res = playbook_results(config, name, wh=wh)
    if as_json:
        _json(res)
        return
    console.print(f"[bold]{res['name']}[/bold] ({res['status']}, version {res['version']}), "
                  f"last run {res['last_run_at'] or 'never'}", highlight=False)
    for section in ("occurrences", "enrolments", "arms", "tasks", "task_outcomes", "messages"):
        values = ", ".join(f"{k} {v}" for k, v in res[section].items()) or "none"
        console.print(f"  {section.replace('_', ' ')}: {values}", highlight=False)
    exp = res.get("experiment")
    if exp:
        console.print(f"  experiment: {exp.get('message', '')}", highlight=False)


@app.command("backtest")
def backtest_cmd(name: str = typer.Argument(..., help="playbook name"),
                 months: int = typer.Option(12, "--months", min=1, max=60, help="months of history to replay"),
                 horizon: int = typer.Option(180, "--horizon", min=30, max=730, help="churn window (days)"),
                 as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """How often the playbook would have fired over the last months and on which accounts; for
    risk triggers, how many of them churned within the horizon (precision and recall)."""
    from tenure.playbooks.backtest import backtest
    from tenure.playbooks.spec import find, load_playbooks
    from tenure.warehouse import open_project

    config, wh = open_project(config_path, write=False)
    pb = find(load_playbooks(config), name)
    with wh, _progress(as_json) as bar:
        task = bar.add_task(f"replaying {months} months")
        res = backtest(wh, config, pb, months=months, horizon=horizon,
                       progress=lambda text: bar.update(task, description=text))
    if as_json:
        _json(res)
        return
    t = Table(title=f"{name}: {res['firings']} firing(s) on {res['accounts']} account(s) in {months} months",
              title_justify="left")
    for col in ("month end", "fired", "accounts"):
        t.add_column(col)
    for m in res["by_date"]:
        t.add_row(m["as_of"], str(m["fired"]), ", ".join(m["accounts"][:8]) + (" ..." if len(m["accounts"]) > 8 else ""))
    console.print(t)
    q = res.get("churn")
    if q and q.get("message"):
        console.print(f"churn within {horizon} days: {q['message']} (use more --months)", highlight=False)
    elif q:
        p = "n/a" if q["precision"] is None else f"{q['precision'] * 100:.1f}%"
        rc = "n/a" if q["recall"] is None else f"{q['recall'] * 100:.1f}%"
        console.print(f"churn within {horizon} days: {q['fired_churned']} of {q['fired_evaluable']} firings were on "
                      f"accounts that churned (precision {p}); {q.get('churned_caught', 0)} of {q['churned']} churning "
                      f"accounts had been fired on (recall {rc}); month ends evaluated: {q['dates']}",
                      highlight=False)


@app.command("library")
def library_cmd(enable: bool = typer.Option(False, "--enable", help="copy them as active, not draft"),
                force: bool = typer.Option(False, "--force", help="overwrite files that exist"),
                config_path: Path = ConfigOpt) -> None:
    """Copy the shipped playbooks (onboarding, renewal, at-risk save, expansion, detractor, sponsor
    change, missed cadence) into the playbooks folder."""
    config = _config(config_path)
    copied = install_library(config, enable=enable, force=force)
    console.print(f"copied {len(copied)} playbook(s) to {config.playbooks.folder}/: {', '.join(copied) or 'none'}")


def install_library(config, *, enable: bool = False, force: bool = False) -> list[str]:
    """Copy the shipped playbook files into the project's folder (as active with `enable`); files
    already there are kept unless `force`. Returns the file names copied."""
    from tenure.playbooks.spec import playbooks_folder

    folder = playbooks_folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for src in sorted(LIBRARY.glob("*.yaml")):
        dest = folder / src.name
        if dest.exists() and not force:
            continue
        text = src.read_text(encoding="utf-8")
        if enable:
            if "\nstatus: draft\n" not in text:
                raise ConfigError(f"{src.name}: the shipped file has no 'status: draft' line to enable")
            text = text.replace("\nstatus: draft\n", "\nstatus: active\n", 1)
        dest.write_text(text, encoding="utf-8")
        copied.append(src.name)
    return copied


def register_playbooks(root: typer.Typer) -> None:
    root.add_typer(app, name="playbooks")

