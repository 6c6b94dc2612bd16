"""The account page's "Success plan" section: the account's active plans with their objectives and
tasks (which are blocked and what they wait for), a form to start one from a tenure.yaml template,
buttons marking each objective achieved / dropped / open again, a form adding a task (under an
objective, waiting for other plan tasks), and complete / skip buttons on each ready task
(CSRF-checked forms; a blocked task is refused by tenure.playbooks.tasks with 409). A template
global, so the account page's route does not need to know about plans. The service is tenure.playbooks.success_plans; every change is audited there."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from tenure.http.auth import Access, open_account
from tenure.http.context import AppContext, get_context
from tenure.web.login import page_writer
from tenure.web.render import ENV

router = APIRouter(include_in_schema=False)

DONE = {"started": "Started the success plan {name}.", "done": "Task {name} done.", "skipped": "Task {name} skipped.",
        "added": "Added the task {name}.", "achieved": "Objective {name} achieved.",
        "dropped": "Objective {name} dropped.", "open": "Objective {name} is open again."}


def plan_panel(request: Request, account_id: str) -> dict[str, Any]:
    """The account's active plans (as plan_view gives them), the templates one may start, the
    outcome codes a task is completed with, and the answer of the last form (303 back here)."""
    from tenure.playbooks.success_plans import list_plans

    ctx: AppContext = request.app.state.ctx
    with ctx.db() as session:
        plans = list_plans(session, accounts=[account_id], status="active")
    running = {p["template"] for p in plans}
    q = request.query_params
    done = DONE[q["plan_outcome"]].format(name=q.get("plan_name", "")) if q.get("plan_outcome") in DONE else None
    return {"plans": plans, "done": done, "outcomes": list(ctx.config.tasks.outcomes),
            "templates": [(k, t.title) for k, t in sorted(ctx.config.success_plans.templates.items())
                          if k not in running]}


ENV.globals["success_plan_panel"] = plan_panel


def _back(account_id: str, outcome: str, name: str) -> RedirectResponse:
    query = urlencode({"plan_outcome": outcome, "plan_name": name})
    return RedirectResponse(f"/accounts/{account_id}?{query}#success-plan", status_code=303)


@router.post("/accounts/{account_id}/success-plans")
def start_plan(account_id: str, template: str = Form(..., min_length=1, max_length=100),
               acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    """Start a plan from a template on an account in the principal's book; its tasks go to the
    account's CSM (409 when one from this template is active)."""
    from tenure.playbooks.success_plans import start_plan as start
    from tenure.portfolio.accounts import owner_of

    open_account(acc, ctx, account_id)  # 404 / 403
    owner = owner_of(ctx.warehouse(), account_id)
    with ctx.db() as session:
        plan = start(session, account_id=account_id, template=template, settings=ctx.config.success_plans,
                     owner=owner, actor=acc.who.username, task_settings=ctx.config.tasks)
        title = plan.title
    return _back(account_id, "started", title)


@router.post("/success-plans/{plan_id}/tasks/{task_id}")
def finish_task(plan_id: int, task_id: int, state: str = Form(..., pattern="^(done|skipped)$"),
                outcome: str | None = Form(None, max_length=50), acc: Access = Depends(page_writer),
                ctx: AppContext = Depends(get_context)):
    """Complete (with an outcome) or skip a ready task of a plan on an account in the principal's
    book; a blocked task is refused (409)."""
    from tenure.playbooks.success_plans import finish_task as finish
    from tenure.playbooks.success_plans import get_plan

    with ctx.db() as session:
        account_id = get_plan(session, plan_id).account_id
    open_account(acc, ctx, account_id)  # 404 / 403
    with ctx.db() as session:
        finish(session, plan_id, task_id, state, outcome=outcome or None, actor=acc.who.username,
               task_settings=ctx.config.tasks)
    return _back(account_id, state, str(task_id))


def _plan_account(ctx: AppContext, acc: Access, plan_id: int) -> str:
    """The plan's account, when it is in the principal's book (404 / 403 otherwise)."""
    from tenure.playbooks.success_plans import get_plan

    with ctx.db() as session:
        account_id = get_plan(session, plan_id).account_id
    open_account(acc, ctx, account_id)
    return account_id


@router.post("/success-plans/{plan_id}/objectives/{objective_id}")
def change_objective(plan_id: int, objective_id: int, status: str = Form(..., pattern="^(open|achieved|dropped)$"),
                     acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    """Mark an objective of a plan on an account in the principal's book achieved, dropped or open."""
    from tenure.playbooks.success_plans import set_objective

    account_id = _plan_account(ctx, acc, plan_id)
    with ctx.db() as session:
        title = set_objective(session, objective_id, status, actor=acc.who.username, plan_id=plan_id).title
    return _back(account_id, status, title)


@router.post("/success-plans/{plan_id}/tasks")
def add_task(plan_id: int, title: str = Form(..., min_length=1, max_length=255),
             objective_id: str = Form("", max_length=12), depends_on: list[int] = Form([]),
             due: str = Form("", max_length=10), acc: Access = Depends(page_writer),
             ctx: AppContext = Depends(get_context)):
    """Add a task to a plan on an account in the principal's book (owned by the plan's owner),
    under an objective and waiting for other plan tasks when chosen."""
    from datetime import date, datetime, time

    from tenure.errors import InputError
    from tenure.playbooks.success_plans import add_task as add

    account_id = _plan_account(ctx, acc, plan_id)
    try:
        due_at = datetime.combine(date.fromisoformat(due), time(17, 0)) if due else None
        objective = int(objective_id) if objective_id else None
    except ValueError:
        raise InputError(f"add a task: due {due!r} must be a day (YYYY-MM-DD) and objective an id") from None
    with ctx.db() as session:
        add(session, plan_id, title=title.strip(), objective_id=objective, depends_on=depends_on, due_at=due_at,
            actor=acc.who.username, task_settings=ctx.config.tasks)
    return _back(account_id, "added", title.strip())
