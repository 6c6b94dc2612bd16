"""`tenure plans`: success plans (tenure.playbooks.success_plans) from the command line — the
templates, an account's plans, one plan's objectives and tasks (blocked or ready), start one from a
template, add a task (waiting for others), mark an objective achieved / dropped / open again,
complete or skip a task (refused while it is blocked), close a plan. Every change is
audited under --user / TENURE_USER."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")
UserOpt = typer.Option(None, "--user", envvar="TENURE_USER",
                       help="who you are (a tenure user name; default: the TENURE_USER environment variable)")
plans_app = typer.Typer(help="Success plans: objectives and tasks that wait for each other.", no_args_is_help=True)
JsonOpt = typer.Option(False, "--json", help="print the answer as JSON")


def _json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _actor(session, user: str | None) -> str:
    """The audit actor: the user named by --user / TENURE_USER (it must exist), else "cli"."""
    if user:
        from tenure.state.users import get

        get(session, user)
    return user or "cli"


def _print_plan(v: dict) -> None:
    p = v["progress"]
    console.print(f"[bold]plan {v['id']}[/bold] {v['title']} — account {v['account_id']}, owner {v['owner'] or '–'}, "
                  f"{v['status']}; tasks {p['tasks_done']}/{p['tasks']} done, {p['tasks_blocked']} blocked; "
                  f"objectives {p['objectives_achieved']}/{p['objectives']} achieved")
    t = Table(title_justify="left")
    for col in ("objective", "task", "title", "state", "due", "waits for"):
        t.add_column(col, justify="right" if col == "task" else "left")
    groups = [(o["title"] + (f" (by {o['target_date']})" if o["target_date"] else "") + f" [{o['status']}]",
               o["tasks"]) for o in v["objectives"]]
    if v["other_tasks"]:
        groups.append(("(no objective)", v["other_tasks"]))
    for title, rows in groups:
        for i, r in enumerate(rows or [None]):
            if r is None:
                t.add_row(title, "", "no tasks", "", "", "")
                continue
            state = "[yellow]blocked[/yellow]" if r["blocked"] else r["state"]
            due = str(r["due_at"])[:10] if r["due_at"] else "–"
            t.add_row(title if i == 0 else "", str(r["id"]), r["title"], state,
                      f"[red]{due}[/red]" if r["overdue"] else due, ", ".join(map(str, r["waiting_for"])) or "–")
    console.print(t)


@plans_app.command("templates")
def plans_templates(as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """The plan templates in tenure.yaml `success_plans.templates`."""
    from tenure.config import load_config

    config = load_config(config_path)
    rows = [{"name": k, "title": t.title, "description": t.description, "objectives": len(t.objectives),
             "tasks": sum(len(o.tasks) for o in t.objectives)} for k, t in sorted(config.success_plans.templates.items())]
    if as_json:
        _json(rows)
    elif not rows:
        console.print("no success plan templates: add success_plans.templates to tenure.yaml (docs/onboarding.md)")
    else:
        for r in rows:
            console.print(f"{r['name']}: {r['title']} ({r['objectives']} objectives, {r['tasks']} tasks)")


@plans_app.command("list")
def plans_list(account: str = typer.Option(None, "--account", help="one account's plans"),
               owner: str = typer.Option(None, "--owner", help="one owner's plans"),
               status: str = typer.Option("active", "--status", help="active, achieved, abandoned or all"),
               as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Success plans, newest first, with their progress."""
    from tenure.config import load_config
    from tenure.playbooks.success_plans import list_plans
    from tenure.state.db import session_scope

    config = load_config(config_path)
    with session_scope(config) as session:
        plans = list_plans(session, owners=[owner] if owner else None, accounts=[account] if account else None,
                           status=None if status == "all" else status)
    if as_json:
        _json(plans)
        return
    if not plans:
        console.print("no success plans match")
        return
    t = Table(title=f"Success plans ({len(plans)})", title_justify="left")
    for col in ("id", "account", "title", "owner", "status", "tasks done", "blocked", "objectives"):
        t.add_column(col, justify="right" if col in ("id", "tasks done", "blocked", "objectives") else "left")
    for v in plans:
        p = v["progress"]
        t.add_row(str(v["id"]), v["account_id"], v["title"], v["owner"] or "–", v["status"],
                  f"{p['tasks_done']}/{p['tasks']}", str(p["tasks_blocked"]),
                  f"{p['objectives_achieved']}/{p['objectives']}")
    console.print(t)


@plans_app.command("show")
def plans_show(plan_id: int = typer.Argument(..., help="the plan's id (tenure plans list)"), as_json: bool = JsonOpt,
               config_path: Path = ConfigOpt) -> None:
    """One plan: its objectives, each with its tasks (blocked ones and what they wait for)."""
    from tenure.config import load_config
    from tenure.playbooks.success_plans import plan_view
    from tenure.state.db import session_scope

    config = load_config(config_path)
    with session_scope(config) as session:
        v = plan_view(session, plan_id)
    _json(v) if as_json else _print_plan(v)


@plans_app.command("start")
def plans_start(account_id: str = typer.Argument(..., help="the account"),
                template: str = typer.Option(..., "--template", help="a template (tenure plans templates)"),
                owner: str = typer.Option(None, "--owner", help="who owns the plan's tasks (default: the account's "
                                                                "CSM, read from the warehouse)"),
                as_json: bool = JsonOpt, user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
    """Start a success plan on an account from a template (one active plan per template)."""
    from tenure.config import load_config
    from tenure.playbooks.success_plans import plan_view, start_plan
    from tenure.state.db import session_scope

    config = load_config(config_path)
    if owner is None:  # the account's CSM (accounts.owner)
        from tenure.errors import NotFoundError
        from tenure.warehouse import open_project

        _, wh = open_project(config_path, write=False)
        with wh:
            a = wh.table("accounts")
            rows = wh.to_pyarrow(a.filter(a.account_id == account_id).select("owner").limit(1)).to_pylist()
        if not rows:
            raise NotFoundError(f"no account {account_id!r}")
        owner = rows[0]["owner"]
    with session_scope(config) as session:
        plan = start_plan(session, account_id=account_id, template=template, settings=config.success_plans,
                          owner=owner, actor=_actor(session, user), task_settings=config.tasks)
        session.flush()
        v = plan_view(session, plan.id)
    if as_json:
        _json(v)
    else:
        console.print(f"started success plan {v['id']} on {account_id}")
        _print_plan(v)


def _finish(plan_id: int, task_id: int, state: str, outcome: str | None, comment: str | None, user: str | None,
            as_json: bool, config_path: Path | None) -> None:
    from tenure.config import load_config
    from tenure.playbooks.success_plans import finish_task
    from tenure.state.db import session_scope

    config = load_config(config_path)
    with session_scope(config) as session:
        v = finish_task(session, plan_id, task_id, state, outcome=outcome, comment=comment,
                        actor=_actor(session, user), task_settings=config.tasks)
    if as_json:
        _json(v)
    else:
        p = v["progress"]
        console.print(f"task {task_id} {state}" + (f" ({outcome})" if outcome else "")
                      + f"; plan {plan_id}: {p['tasks_done']}/{p['tasks']} done, {p['tasks_blocked']} blocked")


@plans_app.command("task-done")
def plans_task_done(plan_id: int = typer.Argument(..., help="the plan's id"),
                    task_id: int = typer.Argument(..., help="the task's id (tenure plans show PLAN)"),
                    outcome: str = typer.Option(..., "--outcome", help="an outcome code (tenure.yaml tasks.outcomes)"),
                    comment: str = typer.Option(None, "--comment", help="what was done"),
                    as_json: bool = JsonOpt, user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
    """Complete a plan task; refused while it waits for another task that is not done or skipped."""
    _finish(plan_id, task_id, "done", outcome, comment, user, as_json, config_path)


@plans_app.command("task-skip")
def plans_task_skip(plan_id: int = typer.Argument(..., help="the plan's id"),
                    task_id: int = typer.Argument(..., help="the task's id (tenure plans show PLAN)"),
                    comment: str = typer.Option(None, "--comment", help="why it is not needed"),
                    as_json: bool = JsonOpt, user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
    """Skip a plan task (it no longer blocks the tasks waiting for it); refused while it is blocked."""
    _finish(plan_id, task_id, "skipped", None, comment, user, as_json, config_path)


@plans_app.command("close")
def plans_close(plan_id: int = typer.Argument(..., help="the plan's id"),
                status: str = typer.Option(..., "--as", help="achieved or abandoned"),
                user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
    """End a plan; its open tasks are skipped with the reason recorded."""
    from tenure.config import load_config
    from tenure.playbooks.success_plans import close_plan
    from tenure.state.db import session_scope

    config = load_config(config_path)
    with session_scope(config) as session:
        close_plan(session, plan_id, status, actor=_actor(session, user))
    console.print(f"success plan {plan_id} {status}")


@plans_app.command("objective")
def plans_objective(account_id: str = typer.Argument(..., help="the account"),
                    objective: str = typer.Argument(..., help="the objective's id or title (tenure plans show PLAN)"),
                    achieved: bool = typer.Option(False, "--achieved", help="the objective is met"),
                    dropped: bool = typer.Option(False, "--dropped", help="the objective is no longer pursued"),
                    reopen: bool = typer.Option(False, "--open", help="open it again"),
                    as_json: bool = JsonOpt, user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
    """Mark an objective of the account's active success plans achieved, dropped or open again."""
    from tenure.config import load_config
    from tenure.errors import InputError
    from tenure.playbooks.success_plans import find_objective, plan_view, set_objective
    from tenure.state.db import session_scope

    chosen = [s for s, on in (("achieved", achieved), ("dropped", dropped), ("open", reopen)) if on]
    if len(chosen) != 1:
        raise InputError("tenure plans objective: give one of --achieved, --dropped or --open")
    config = load_config(config_path)
    with session_scope(config) as session:
        obj = find_objective(session, account_id, objective)
        set_objective(session, obj.id, chosen[0], actor=_actor(session, user), plan_id=obj.plan_id)
        v = plan_view(session, obj.plan_id)
    if as_json:
        _json(v)
    else:
        p = v["progress"]
        console.print(f"objective {obj.id} ({obj.title}) {chosen[0]}; plan {v['id']}: "
                      f"objectives {p['objectives_achieved']}/{p['objectives']} achieved")


@plans_app.command("add-task")
def plans_add_task(plan_id: int = typer.Argument(..., help="the plan's id (tenure plans list)"),
                   title: str = typer.Option(..., "--title", help="what is to be done"),
                   objective: str = typer.Option(None, "--objective", help="the objective it serves (id or title)"),
                   depends_on: list[int] = typer.Option([], "--depends-on", help="a plan task it waits for (repeat "
                                                                                   "for several)"),
                   due: str = typer.Option(None, "--due", help="due day, YYYY-MM-DD (default: the task type's "
                                                               "due_days in tenure.yaml tasks)"),
                   task_type: str = typer.Option("lifecycle", "--type", help="a task type (tenure.yaml tasks.types)"),
                   priority: str = typer.Option("normal", "--priority",
                                                help="a priority (tenure.yaml tasks.priorities)"),
                   as_json: bool = JsonOpt, user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
    """Add a task to an active success plan, owned by the plan's owner, optionally waiting for others."""
    from datetime import date, datetime, time

    from tenure.config import load_config
    from tenure.errors import InputError
    from tenure.playbooks.success_plans import add_task, find_objective, get_plan, plan_view
    from tenure.state.db import session_scope

    due_at = None
    if due:
        try:
            due_at = datetime.combine(date.fromisoformat(due), time(17, 0))
        except ValueError:
            raise InputError(f"--due {due!r}: give a day as YYYY-MM-DD") from None
    config = load_config(config_path)
    with session_scope(config) as session:
        objective_id = None
        if objective:
            plan = get_plan(session, plan_id)
            obj = find_objective(session, plan.account_id, objective)
            objective_id = obj.id
        task = add_task(session, plan_id, title=title, objective_id=objective_id, depends_on=depends_on,
                        type=task_type, due_at=due_at, priority=priority, actor=_actor(session, user),
                        task_settings=config.tasks)
        v = plan_view(session, plan_id)
    if as_json:
        _json(v)
    else:
        console.print(f"added task {task.id} to success plan {plan_id}")
        _print_plan(v)


def register_plans(app: typer.Typer) -> None:
    app.add_typer(plans_app, name="plans")
