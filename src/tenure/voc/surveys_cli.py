"""`tenure voc programs | send | remind | sync | link`: survey programs from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

import tenure.voc.actions  # noqa: F401  (registers the send_survey playbook action)

console = Console()
CONFIG = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")


def _pct(v) -> str:
    return "–" if v is None else f"{float(v) * 100:.1f}%"


def _score(kind: str, s: dict | None) -> str:
    if not s:
        return "no synced answer yet"
    fmt = {"nps": lambda v: f"{float(v):+.1f}", "csat": _pct}.get(kind, lambda v: f"{float(v):.2f}")
    ci = f" [{fmt(s['ci_low'])}, {fmt(s['ci_high'])}]" if s.get("ci_low") is not None else ""
    return f"{fmt(s['value'])}{ci} n={s['n']:,}"


def programs_cmd(as_json: bool = typer.Option(False, "--json"), config_path: Path = CONFIG) -> None:
    """Each survey program: invited, answered, response rate, and its current score with a 95%
    interval (the survey metrics on the warehouse's answers of the last 365 days)."""
    from tenure.voc.programs import program_status
    from tenure.warehouse import open_project

    config, wh = open_project(config_path, write=False)
    try:
        rows = program_status(config, wh)
    finally:
        wh.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        console.print("no survey programs: add them under surveys.programs in tenure.yaml (docs/voc.md \"Surveys\")")
        return
    window = next((r["score"]["window"] for r in rows if r["score"]), None)
    t = Table(title="survey programs", caption=f"score: 95% interval; answers of the {window}" if window else None)
    for col in ("program", "kind", "invited", "answered", "rate", "score"):
        t.add_column(col, justify="right" if col in ("invited", "answered", "rate") else "left", no_wrap=True)
    for r in rows:
        t.add_row(r["name"] + ("" if r["status"] == "active" else " (paused)"), r["kind"].upper(),
                  f"{r['invited']:,}", f"{r['answered']:,}", _pct(r["response_rate"]), _score(r["kind"], r["score"]))
    console.print(t)
    waiting = sum(r["unsynced"] for r in rows)
    if waiting:
        console.print(f"{waiting:,} invitation(s)/answer(s) not in the warehouse yet: `tenure voc sync` "
                      "(or the worker)")


def send_cmd(program: str = typer.Option(None, "--program", help="only this program (default: every active one)"),
             dry_run: bool = typer.Option(False, "--dry-run", help="count who would be invited; write nothing"),
             as_json: bool = typer.Option(False, "--json"), config_path: Path = CONFIG) -> None:
    """Invite the due contacts of the survey programs (the outbox sends the emails: `tenure worker`)."""
    from tenure.voc.send import send_all
    from tenure.warehouse import open_project

    config, wh = open_project(config_path, write=False)
    try:
        reports = send_all(config, wh, program=program, dry_run=dry_run)
    finally:
        wh.close()
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in reports], indent=2, default=str))
        return
    for r in reports:
        verb = "would invite" if dry_run else "invited"
        skips = ", ".join(f"{getattr(r, c):,} {c.replace('_', ' ')}" for c in
                          ("recently_asked", "throttled", "suppressed", "no_email", "capped", "already_invited")
                          if getattr(r, c))
        console.print(f"{r.program}: {verb} {r.invited:,} of an audience of {r.audience:,}"
                      + (f" and {r.enrolments:,} enrolled by playbooks" if r.enrolments else "")
                      + (f"; skipped {skips}" if skips else ""))
    if dry_run:
        console.print("dry run: nothing was written")


def remind_cmd(config_path: Path = CONFIG) -> None:
    """Remind unanswered invitations once (after the program's reminder_days); mark expired ones."""
    from tenure.config import load_config
    from tenure.voc.send import remind

    out = remind(load_config(config_path))
    console.print(f"reminded {out['reminded']:,} invitation(s); {out['expired']:,} expired")


def sync_cmd(as_json: bool = typer.Option(False, "--json"), config_path: Path = CONFIG) -> None:
    """Bring new survey invitations and answers to the warehouse through the ingest path."""
    from tenure.voc.responses import sync
    from tenure.warehouse import open_project

    config, wh = open_project(config_path, write=True)
    try:
        out = sync(config, wh)
    finally:
        wh.close()
    if as_json:
        typer.echo(json.dumps(out, indent=2, default=str))
        return
    console.print(f"synced {out['invitations']:,} invitation(s) and {out['responses']:,} response(s) to the warehouse"
                  + (f"; {out['rejected']:,} rejected (see `tenure runs`)" if out["rejected"] else ""))


def link_cmd(program: str = typer.Argument(..., help="a program with the link channel"),
             account: str = typer.Option(..., "--account", help="the account the link is for"),
             config_path: Path = CONFIG) -> None:
    """Print a program's share link for one account (respondents give their email address)."""
    from tenure.config import load_config
    from tenure.errors import InputError
    from tenure.notify.signing import project_secret
    from tenure.voc.programs import get_program
    from tenure.voc.send import survey_url
    from tenure.voc.tokens import link_token

    config = load_config(config_path)
    p = get_program(config, program)
    if "link" not in p.channels:
        raise InputError(f"survey program {program!r}: channels has no 'link' (add it in tenure.yaml surveys.programs)")
    typer.echo(survey_url(config, link_token(project_secret(config), p.name, account)))


def register(voc_app: typer.Typer) -> None:
    voc_app.command("programs")(programs_cmd)
    voc_app.command("send")(send_cmd)
    voc_app.command("remind")(remind_cmd)
    voc_app.command("sync")(sync_cmd)
    voc_app.command("link")(link_cmd)
