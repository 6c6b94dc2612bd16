"""`tenure playbooks`, `tenure capacity`, `tenure tasks`: the playbooks stage's commands.

Each part keeps its commands in functions of its own (register_capacity, register_tasks, ...);
`register(app)` adds them all."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()


# -- capacity and tasks (operating-model helper): register_capacity, register_tasks -----------------

ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")
UserOpt = typer.Option(None, "--user", envvar="TENURE_USER",
                       help="who you are (a tenure user name; default: the TENURE_USER environment variable)")
AsOfOpt = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: the latest day with events)")


def _json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=lambda v: float(v) if hasattr(v, "is_finite") else str(v)))


def _pct(v: float) -> str:
    return f"{v * 100:.0f}%"


def _money(v: float, currency: str) -> str:
    return f"{v:,.0f} {currency}"


def _money_short(v: float, currency: str) -> str:
    """12.3M USD, 450K USD, 980 USD (tables)."""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= limit:
            return f"{v / limit:,.1f}{suffix} {currency}"
    return f"{v:,.0f} {currency}"


def _steps(quiet: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True, quiet=quiet), transient=True)


capacity_app = typer.Typer(help="CSM capacity by touch level, per CSM and team, and rebalancing.",
                           invoke_without_command=True)


@capacity_app.callback()
def capacity_cmd(ctx: typer.Context, as_of: str = AsOfOpt,
                 as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
                 config_path: Path = ConfigOpt) -> None:
    """Accounts and ARR per CSM against capacity by touch level; utilisation per CSM and team;
    unassigned accounts (tenure.yaml operating_model)."""
    if ctx.invoked_subcommand:
        return
    from tenure.playbooks.capacity import capacity
    from tenure.warehouse import open_project
    from tenure.warehouse.asof import require_as_of

    config, wh = open_project(config_path, write=False)
    with wh, _steps(as_json) as bar:
        task = bar.add_task("computing capacity", total=2)
        day = require_as_of(wh, as_of)
        bar.update(task, advance=1)
        report = capacity(wh, config, day)
        bar.update(task, advance=1)
    if as_json:
        _json(report.to_dict())
        return
    cur = report.currency
    t = Table(title=f"CSM capacity as of {report.as_of}", title_justify="left")
    for col in ("CSM", "team", "accounts", "high", "mid", "tech", "ARR", "by count", "by ARR", "used"):
        t.add_column(col, justify="left" if col in ("CSM", "team") else "right")
    for r in report.csms:
        flag = "[red]" if r["over_capacity"] else ""
        t.add_row(r["csm"], r["team"], str(r["accounts"]), *(str(r["by_touch"][k]) for k in ("high", "mid", "tech")),
                  _money_short(r["arr"], cur), _pct(r["account_utilisation"]), _pct(r["arr_utilisation"]),
                  f"{flag}{_pct(r['utilisation'])}" + (" over" if r["over_capacity"] else ""))
    console.print(t)
    tt = Table(title="Teams", title_justify="left")
    for col in ("team", "manager", "CSMs", "accounts", "ARR", "utilisation", "CSMs over"):
        tt.add_column(col, justify="left" if col in ("team", "manager") else "right")
    for r in report.teams:
        tt.add_row(r["team"], r["manager"] or "–", str(r["csms"]), str(r["accounts"]), _money_short(r["arr"], cur),
                   _pct(r["utilisation"]), str(r["over_capacity"]))
    console.print(tt)
    u = report.unassigned
    console.print(f"unassigned customers: {u['accounts']} ({_money(u['arr'], cur)} ARR)"
                  + ("; largest: " + ", ".join(f"{a['account_id']} ({_money(a['arr'], cur)})"
                                                for a in u["largest"][:5]) if u["largest"] else ""))
    caps = ", ".join(f"{k} {v['max_accounts']} accounts / {_money(v['max_arr'], cur)}"
                     for k, v in report.capacity.items())
    console.print(f"[dim]capacity of one CSM by touch level: {caps}[/dim]")


@capacity_app.command("rebalance")
def rebalance_cmd(apply_moves: bool = typer.Option(False, "--apply", help="write the moves (default: preview)"),
                  as_of: str = AsOfOpt, as_json: bool = typer.Option(False, "--json", help="print the plan as JSON"),
                  user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
    """Propose moves that bring every CSM within capacity, moving the least ARR and keeping each
    account's segment (exact: a mixed-integer program). Preview unless --apply."""
    from tenure.playbooks.capacity import apply, plan
    from tenure.warehouse import open_project
    from tenure.warehouse.asof import require_as_of

    config, wh = open_project(config_path, write=apply_moves)
    with wh, _steps(as_json) as bar:
        task = bar.add_task("reading the book of business", total=3 if apply_moves else 2)
        day = require_as_of(wh, as_of)
        bar.update(task, advance=1, description="solving for the least ARR moved")
        p = plan(wh, config, day)
        bar.update(task, advance=1)
        if apply_moves and p.feasible:
            bar.update(task, description=f"writing {len(p.moves)} move(s)")
            p = apply(wh, config, p, actor=user or "cli")
            bar.update(task, advance=1)
    if as_json:
        _json(p.to_dict())
    elif not p.feasible:
        console.print(f"[red]no plan:[/red] {p.reason}")
    elif not p.moves:
        console.print(f"every CSM is within capacity as of {p.as_of}: nothing to move")
    else:
        t = Table(title=f"{'Moved' if p.applied else 'Proposed moves'} as of {p.as_of}", title_justify="left")
        for col in ("account", "segment", "ARR", "from", "to"):
            t.add_column(col, justify="right" if col == "ARR" else "left")
        for m in p.moves:
            t.add_row(m["account_id"], m["segment"] or "–", _money(m["arr"], p.currency), m["from"], m["to"])
        console.print(t)
        changed = sorted(c for c in p.before if p.before[c] != p.after[c])
        console.print("utilisation: " + ", ".join(f"{c} {_pct(p.before[c])} -> {_pct(p.after[c])}" for c in changed))
        console.print(f"{len(p.moves)} move(s), {_money(p.arr_moved, p.currency)} ARR moved"
                      + ("; written (audited), run `tenure refresh` to update the pages" if p.applied
                         else "; preview only: run again with --apply to make them"))
    if not p.feasible:
        raise typer.Exit(1)


tasks_app = typer.Typer(help="Tasks (CTAs): list yours, complete them.", no_args_is_help=True)


def _who(session, user: str | None, need: str) -> str:
    """The owner key of the user named by --user / TENURE_USER."""
    from tenure.errors import InputError
    from tenure.playbooks.tasks import owner_key
    from tenure.state.users import get

    if not user:
        raise InputError(f"{need} needs to know who you are: give --user NAME or set TENURE_USER")
    return owner_key(get(session, user))


@tasks_app.command("list")
def tasks_list(mine: bool = typer.Option(False, "--mine", help="only tasks you own (--user / TENURE_USER)"),
               overdue: bool = typer.Option(False, "--overdue", help="only open tasks past their due time"),
               state: list[str] = typer.Option(None, "--state", help="open, in_progress, done, skipped, snoozed "
                                                                     "(repeatable; default: open, in_progress, "
                                                                     "snoozed)"),
               owner: str = typer.Option(None, "--owner", help="one owner's tasks"),
               account: str = typer.Option(None, "--account", help="one account's tasks"),
               limit: int = typer.Option(50, "--limit", min=1, max=10_000),
               as_json: bool = typer.Option(False, "--json", help="print the tasks as JSON"),
               user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
    """Tasks, soonest due first, with how many match in all."""
    from tenure.config import load_config
    from tenure.playbooks.tasks import list_tasks
    from tenure.state.db import session_scope
    from tenure.state.models import TASK_OPEN_STATES

    config = load_config(config_path)
    with session_scope(config) as session:
        who = _who(session, user, "--mine") if mine else owner
        page = list_tasks(session, owner=who, accounts=[account] if account else None,
                          states=state or list(TASK_OPEN_STATES), overdue=True if overdue else None, limit=limit)
    if as_json:
        _json({"total": page.total, "tasks": page.rows})
        return
    if not page.rows:
        console.print("no tasks match")
        return
    t = Table(title=f"Tasks ({len(page.rows)} of {page.total})", title_justify="left")
    for col in ("id", "account", "type", "reason", "priority", "state", "owner", "due", "title"):
        t.add_column(col, justify="right" if col == "id" else "left")
    for r in page.rows:
        due = str(r["due_at"])[:16] if r["due_at"] else "–"
        t.add_row(str(r["id"]), r["account_id"], r["type"], r["reason"] or "–", r["priority"], r["state"],
                  r["owner"] or (f"queue {r['queue']}" if r["queue"] else "–"),
                  f"[red]{due} overdue[/red]" if r["overdue"] else due, r["title"])
    console.print(t)


@tasks_app.command("done")
def tasks_done(task_id: int = typer.Argument(..., help="the task's id (tenure tasks list)"),
               outcome: str = typer.Option(..., "--outcome", help="an outcome code (tenure.yaml tasks.outcomes)"),
               comment: str = typer.Option(None, "--comment", help="what was done"),
               user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
    """Mark a task done with its outcome (audited under --user / TENURE_USER)."""
    from tenure.config import load_config
    from tenure.playbooks.tasks import transition
    from tenure.state.db import session_scope

    config = load_config(config_path)
    with session_scope(config) as session:
        if user:
            _who(session, user, "done")  # a named user must exist
        task = transition(session, task_id, "done", outcome=outcome, comment=comment, actor=user or "cli",
                          settings=config.tasks)
        title = task.title
    console.print(f"task {task_id} done ({outcome}): {title}")


def register_capacity(app: typer.Typer) -> None:
    app.add_typer(capacity_app, name="capacity")


def register_tasks(app: typer.Typer) -> None:
    app.add_typer(tasks_app, name="tasks")


def register(app: typer.Typer) -> None:
    from tenure.playbooks.playbook_cli import register_playbooks
    from tenure.playbooks.plans_cli import register_plans

    register_capacity(app)
    register_tasks(app)
    register_playbooks(app)
    register_plans(app)
