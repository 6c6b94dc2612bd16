"""Success plans: an account's plans (objectives, tasks, which are blocked), start one from a
tenure.yaml template, add a task (waiting for others), mark an objective achieved, dropped or open
again, and complete or skip one of its tasks — refused with 409 while a task it depends on is
neither done nor skipped. A CSM works its own book's plans, a manager its team's
(the account's owner, through the one access policy: open_account). Thin: the service is
tenure.playbooks.success_plans; every change is audited there."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from tenure.api.routers.tasks import TaskOut
from tenure.api.schemas import COMMON_PROBLEMS, UtcDateTime, problem_responses
from tenure.http.auth import Access, allowed, open_account
from tenure.http.context import AppContext, get_context
from tenure.playbooks import success_plans as service

router = APIRouter(tags=["success plans"], responses=COMMON_PROBLEMS)
PLAN_RESPONSES = problem_responses(404, 409)
PlanId = Path(ge=1, le=2**31 - 1, description="success plan id")
TaskId = Path(ge=1, le=2**31 - 1, description="task id")


class PlanTask(TaskOut):
    objective_id: int | None = None
    step_key: str | None = Field(None, description="the template's task key")
    depends_on: list[int] = Field(default_factory=list, description="plan task ids it waits for")
    waiting_for: list[int] = Field(default_factory=list, description="of those, the ones not done or skipped")
    blocked: bool = Field(description="open and still waiting for another task")


class Objective(BaseModel):
    id: int
    title: str
    target_date: date | None = None
    status: Literal["open", "achieved", "dropped"]
    achieved_at: UtcDateTime | None = None
    tasks: list[PlanTask]


class Progress(BaseModel):
    objectives: int
    objectives_achieved: int
    tasks: int
    tasks_done: int = Field(description="done or skipped")
    tasks_blocked: int


class PlanOut(BaseModel):
    id: int
    account_id: str
    title: str
    template: str | None = None
    status: Literal["active", "achieved", "abandoned"]
    owner: str | None = None
    created_by: str
    created_at: UtcDateTime
    closed_at: UtcDateTime | None = None
    objectives: list[Objective]
    other_tasks: list[PlanTask] = Field(description="tasks under no objective")
    progress: Progress


class PlanStart(BaseModel):
    """Start a plan from a template in tenure.yaml `success_plans.templates`; the plan and its
    tasks belong to the account's CSM (accounts.owner)."""

    model_config = ConfigDict(extra="forbid")
    template: str = Field(..., min_length=1, max_length=100)


class PlanTaskFinish(BaseModel):
    """Complete (done, with an outcome code from tenure.yaml tasks.outcomes) or skip a plan task."""

    model_config = ConfigDict(extra="forbid")
    state: Literal["done", "skipped"]
    outcome: str | None = Field(None, max_length=50)
    comment: str | None = Field(None, max_length=10_000)


class ObjectiveChange(BaseModel):
    """An objective's new status."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "achieved", "dropped"]


class PlanTaskIn(BaseModel):
    """A task added to an active plan: owned by the plan's owner, under one of its objectives,
    waiting for plan tasks `depends_on` (ids of the same plan's tasks)."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(..., min_length=1, max_length=255)
    objective_id: int | None = Field(None, ge=1, le=2**31 - 1)
    depends_on: list[int] = Field(default_factory=list, max_length=100)
    due_date: date | None = Field(None, description="due day (17:00 UTC); default: the task type's due_days")
    type: str = Field("lifecycle", min_length=1, max_length=50, description="a task type (tenure.yaml tasks.types)")
    priority: str = Field("normal", min_length=1, max_length=20)


def _plan_account(session, acc: Access, ctx: AppContext, plan_id: int) -> None:
    """The plan exists (404) and its account is in the principal's book (403)."""
    open_account(acc, ctx, service.get_plan(session, plan_id).account_id)


@router.get("/accounts/{account_id}/success-plans", response_model=list[PlanOut], responses=problem_responses(404),
            summary="An account's success plans")
def account_plans(account_id: str, acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """The account's plans, newest first, each with its objectives and tasks (blocked or ready)."""
    open_account(acc, ctx, account_id)
    with ctx.db() as session:
        return service.list_plans(session, accounts=[account_id])


@router.post("/accounts/{account_id}/success-plans", response_model=PlanOut, status_code=201,
             responses=PLAN_RESPONSES, summary="Start a success plan from a template")
def start_plan(start: PlanStart, account_id: str, acc: Access = Depends(allowed("write")),
               ctx: AppContext = Depends(get_context)):
    """409 when the account already has an active plan from this template; 422 for an unknown one."""
    from tenure.portfolio.accounts import owner_of

    open_account(acc, ctx, account_id)
    owner = owner_of(ctx.warehouse(), account_id)
    with ctx.db() as session:
        plan = service.start_plan(session, account_id=account_id, template=start.template,
                                  settings=ctx.config.success_plans, owner=owner, actor=acc.who.username,
                                  task_settings=ctx.config.tasks)
        return service.plan_view(session, plan.id)


@router.post("/success-plans/{plan_id}/tasks/{task_id}", response_model=PlanOut, responses=PLAN_RESPONSES,
             summary="Complete or skip a success plan task")
def finish_task(finish: PlanTaskFinish, plan_id: int = PlanId, task_id: int = TaskId,
                acc: Access = Depends(allowed("write")), ctx: AppContext = Depends(get_context)):
    """409 while the task is blocked (what it waits for is not done or skipped) or the plan is closed."""
    with ctx.db() as session:
        plan = service.get_plan(session, plan_id)
        open_account(acc, ctx, plan.account_id)
        return service.finish_task(session, plan_id, task_id, finish.state, outcome=finish.outcome,
                                   comment=finish.comment, actor=acc.who.username, task_settings=ctx.config.tasks)


@router.post("/success-plans/{plan_id}/tasks", response_model=PlanOut, status_code=201, responses=PLAN_RESPONSES,
             summary="Add a task to a success plan")
def add_task(task: PlanTaskIn, plan_id: int = PlanId, acc: Access = Depends(allowed("write")),
             ctx: AppContext = Depends(get_context)):
    """422 when an objective or a task it waits for is not the plan's; 409 when the plan is closed."""
    from datetime import datetime, time

    with ctx.db() as session:
        _plan_account(session, acc, ctx, plan_id)
        due_at = datetime.combine(task.due_date, time(17, 0)) if task.due_date else None
        service.add_task(session, plan_id, title=task.title, objective_id=task.objective_id,
                         depends_on=task.depends_on, type=task.type, due_at=due_at, priority=task.priority,
                         actor=acc.who.username, task_settings=ctx.config.tasks)
        return service.plan_view(session, plan_id)


ObjectiveId = Path(ge=1, le=2**31 - 1, description="objective id")


@router.post("/success-plans/{plan_id}/objectives/{objective_id}", response_model=PlanOut,
             responses=PLAN_RESPONSES, summary="Mark a success plan objective achieved, dropped or open")
def change_objective(change: ObjectiveChange, plan_id: int = PlanId, objective_id: int = ObjectiveId,
                     acc: Access = Depends(allowed("write")), ctx: AppContext = Depends(get_context)):
    """404 when the objective is not the plan's; 409 when the plan is closed."""
    with ctx.db() as session:
        _plan_account(session, acc, ctx, plan_id)
        service.set_objective(session, objective_id, change.status, actor=acc.who.username, plan_id=plan_id)
        return service.plan_view(session, plan_id)
