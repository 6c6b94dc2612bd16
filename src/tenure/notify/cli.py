"""`tenure outbox`: list, deliver, release, replay and suppress outbox messages."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
outbox_app = typer.Typer(help="The outbox: emails and webhooks waiting, sent, held for review or dead.",
                         no_args_is_help=True)
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")


def _config(path: Path | None):
    from tenure.config import load_config

    return load_config(path)


@outbox_app.command("list")
def list_cmd(
    dead: bool = typer.Option(False, "--dead", help="only dead letters (failed notify.max_attempts times)"),
    held: bool = typer.Option(False, "--held", help="only emails held for review"),
    status: str = typer.Option(None, "--status", help="pending, held_for_review, sent, dead or suppressed"),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json"),
    config_path: Path = ConfigOpt,
) -> None:
    """List outbox messages, newest first, with the count in each status."""
    from tenure.errors import InputError
    from tenure.jobs.db import session
    from tenure.notify import outbox
    from tenure.state.models import OUTBOX_STATUSES

    wanted = "dead" if dead else "held_for_review" if held else status
    if wanted is not None and wanted not in OUTBOX_STATUSES:
        raise InputError(f"--status: {wanted!r} is not one of {', '.join(OUTBOX_STATUSES)}")
    with session(_config(config_path)) as s:
        rows, total = outbox.list_messages(s, status=wanted, limit=limit)
        items = [outbox.message_dict(m) for m in rows]
        counts = outbox.counts(s).as_dict()
    if as_json:
        typer.echo(json.dumps({"counts": counts, "total": total, "messages": items}, indent=2))
        return
    console.print(", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items()))
    table = Table("id", "channel", "status", "to / url", "subject", "attempts", "next attempt (UTC)", "last error")
    for m in items:
        table.add_row(str(m["id"]), m["channel"], m["status"], m["recipient"] or m["url"] or "", m["subject"] or "",
                      str(m["attempts"]), m["next_attempt_at"] or "", (m["last_error"] or "")[:80])
    console.print(table)
    if total > len(items):
        console.print(f"{len(items)} of {total:,} shown (--limit)")


@outbox_app.command("replay")
def replay_cmd(message_id: int = typer.Argument(..., metavar="ID"), config_path: Path = ConfigOpt) -> None:
    """Send a dead letter again (same Message-ID / Idempotency-Key), at the worker's next look."""
    from tenure.jobs.db import session
    from tenure.notify import outbox

    with session(_config(config_path)) as s:
        outbox.replay(s, message_id, actor="cli")
    console.print(f"outbox message {message_id} is pending again; `tenure worker --once` delivers it")


@outbox_app.command("release")
def release_cmd(
    message_id: int = typer.Argument(..., metavar="ID"),
    subject: str = typer.Option(None, "--subject", help="replace the subject"),
    text_file: Path = typer.Option(None, "--text-file", help="replace the plain-text body with this file"),
    by: str = typer.Option("cli", "--by", help="who reviewed it (recorded in the audit log)"),
    config_path: Path = ConfigOpt,
) -> None:
    """Release an email held for review, optionally edited."""
    from tenure.errors import InputError
    from tenure.jobs.db import session
    from tenure.notify import outbox

    text = None
    if text_file is not None:
        if not text_file.is_file():
            raise InputError(f"--text-file: {text_file.name}: no such file")
        text = text_file.read_text(encoding="utf-8")
    with session(_config(config_path)) as s:
        outbox.release(s, message_id, actor=by, subject=subject, text=text)
    console.print(f"outbox message {message_id} released; it goes at the worker's next look")


@outbox_app.command("suppress")
def suppress_cmd(
    address: str,
    category: str = typer.Option(None, "--category", help="only this category (default: every automated email)"),
    remove: bool = typer.Option(False, "--remove", help="lift the suppression instead"),
    config_path: Path = ConfigOpt,
) -> None:
    """Stop (or, with --remove, resume) automated email to ADDRESS."""
    from tenure.jobs.db import session
    from tenure.notify import outbox

    with session(_config(config_path)) as s:
        changed = (outbox.unsuppress(s, address, category, actor="cli") if remove
                   else outbox.suppress(s, address, category, reason="cli", actor="cli"))
    what = f"category {category!r}" if category else "every automated email"
    verb = ("no longer suppressed" if remove else "suppressed") if changed else "unchanged"
    console.print(f"{address.lower()}: {verb} ({what})")


@outbox_app.command("deliver")
def deliver_cmd(as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """Deliver every due message now (what the worker's deliver-outbox job does), with progress."""
    from sqlalchemy import func, select

    from tenure.jobs.db import session
    from tenure.notify.deliver import deliver_due
    from tenure.state.models import OutboxMessage, utcnow

    config = _config(config_path)
    with session(config) as s:
        due = int(s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= utcnow())) or 0)
    with Progress(TextColumn("delivering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=as_json, transient=True) as bar:
        task = bar.add_task("deliver", total=due)
        report = deliver_due(config, progress=lambda n: bar.update(task, completed=n))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    console.print(f"sent {report.sent:,}, failed {report.failed:,} (dead now {report.dead:,}), "
                  f"waiting for the send window {report.deferred:,}, suppressed {report.suppressed:,}")
    for line in report.errors[:5]:
        console.print(f"[red]{line}[/red]", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
