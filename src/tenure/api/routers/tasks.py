"""Tasks (CTAs): list with filters, one task, change its state, outcome, owner, due time or snooze,
and the same change on many tasks at once. A CSM works its own book's tasks, a manager its team's
and its own, everyone whose book is everything all of them (tenure.access: Access.task_owners,
Access.task). Thin: the service is tenure.playbooks.tasks; every change is audited there."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from tenure.api.routers.common import paginated
from tenure.api.schemas import COMMON_PROBLEMS, Paginated, UtcDateTime, problem_responses
from tenure.http.auth import Access, allowed
from tenure.http.context import AppContext, get_context
from tenure.playbooks import tasks as service
from tenure.state.models import TASK_OPEN_STATES

router = APIRouter(tags=["tasks"], responses=COMMON_PROBLEMS)
TASK_RESPONSES = problem_responses(404)
TaskId = Path(ge=1, le=2**31 - 1, description="task id")
State = Literal["open", "in_progress", "done", "skipped", "snoozed"]


class ChecklistItem(BaseModel):
    item: str
    done: bool


class TaskComment(BaseModel):
    id: int
    author: str
    body: str
    created_at: UtcDateTime


class TaskOut(BaseModel):
    """A task as stored, with `overdue` (due before now, still open) and `sla_breached`."""

    model_config = ConfigDict(extra="ignore")
    id: int
    account_id: str
    contact_id: str | None = None
    type: str
    reason: str | None = None
    title: str
    body: str = ""
    priority: str
    state: State
    owner: str | None = None
    queue: str | None = None
    due_at: UtcDateTime | None = None
    sla_due_at: UtcDateTime | None = None
    snoozed_until: UtcDateTime | None = None
    outcome: str | None = None
    checklist: list[ChecklistItem] = Field(default_factory=list)
    playbook: str | None = None
    playbook_version: int | None = None
    dedupe_key: str | None = None
    created_by: str
    created_at: UtcDateTime
    updated_at: UtcDateTime
    closed_at: UtcDateTime | None = None
    close_reason: str | None = None
    overdue: bool
    sla_breached: bool
    comments: list[TaskComment] | None = Field(None, description="on GET /tasks/{id} only")


class TaskChange(BaseModel):
    """What to change (every field optional): a state (done needs an outcome; snoozed needs
    snoozed_until), a comment, an owner or a queue, a due time. Times without a zone are UTC."""

    model_config = ConfigDict(extra="forbid")
    state: State | None = None
    outcome: str | None = Field(None, max_length=50)
    comment: str | None = Field(None, max_length=10_000)
    snoozed_until: datetime | None = None
    owner: str | None = Field(None, min_length=1, max_length=100)
    queue: str | None = Field(None, min_length=1, max_length=100)
    due_at: datetime | None = None


class TaskBulk(TaskChange):
    ids: list[int] = Field(..., min_length=1, max_length=10_000, description="task ids")


class TaskCount(BaseModel):
    model_config = ConfigDict(extra="allow")
    tasks: int
    open: int
    overdue: int
    done: int
    skipped: int


def _utc(v: datetime | None) -> datetime | None:
    """A time as the state DB keeps it: naive UTC (a time without a zone is taken as UTC)."""
    if v is None or v.tzinfo is None:
        return v
    try:
        return v.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        from tenure.errors import InputError

        raise InputError(f"{v.isoformat()} is outside the calendar once converted to UTC") from None


def _me(ctx: AppContext, acc: Access) -> str:
    from tenure.state.users import get

    with ctx.db() as session:
        return service.owner_key(get(session, acc.who.username))


@router.get("/tasks", response_model=Paginated[TaskOut], summary="Tasks the caller may work")
def list_tasks(mine: bool = Query(False, description="only the caller's own tasks"),
               owner: str | None = Query(None, max_length=100), account: str | None = Query(None, max_length=100),
               state: list[State] | None = Query(None, description="default: open, in_progress, snoozed"),
               type: list[str] | None = Query(None, max_length=20),  # noqa: A002
               overdue: bool | None = Query(None, description="true: open and due before now"),
               due_before: datetime | None = None, playbook: str | None = Query(None, max_length=100),
               queue: str | None = Query(None, max_length=100),
               page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500),
               acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """Tasks in the caller's book (a CSM its own, a manager its team's), soonest due first."""
    who = _me(ctx, acc) if mine else owner
    with ctx.db() as session:
        found = service.list_tasks(session, owners=acc.task_owners, owner=who,
                                   accounts=[account] if account else None, states=state or list(TASK_OPEN_STATES),
                                   types=type, overdue=overdue, due_before=_utc(due_before), playbook=playbook,
                                   queue=queue, limit=page_size, offset=(page - 1) * page_size)
    return paginated(found.rows, found.total, page, page_size)


@router.get("/tasks/summary", response_model=list[TaskCount], summary="Task counts by type and reason")
def task_summary(by: list[Literal["type", "reason", "owner", "priority", "playbook", "outcome"]] = Query(
                     ["type", "reason"], max_length=3),
                 acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """Open, overdue, done and skipped tasks in the caller's book, grouped by `by`."""
    with ctx.db() as session:
        return service.summary(session, owners=acc.task_owners, by=tuple(by))


def _one(session, acc: Access, task_id: int, comments: bool = False) -> dict:
    task = service.get_task(session, task_id)
    acc.task(task_id, task.owner)
    out = service.as_dict(task)
    if comments:
        out["comments"] = service.comments(session, task_id)
    return out


@router.get("/tasks/{task_id}", response_model=TaskOut, responses=TASK_RESPONSES)
def get_task(task_id: int = TaskId, acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """One task with its comments (403 outside the caller's book)."""
    with ctx.db() as session:
        return _one(session, acc, task_id, comments=True)


def _change(session, acc: Access, ctx: AppContext, task_id: int, change: TaskChange) -> None:
    task = service.get_task(session, task_id)
    acc.task(task_id, task.owner)
    actor = acc.who.username
    if change.owner or change.queue:
        acc.task(task_id, change.owner)  # the new owner must be inside the book too (a queue: everyone's)
        service.reassign(session, task_id, owner=change.owner, queue=change.queue, actor=actor)
    if change.due_at is not None:
        service.set_due(session, task_id, _utc(change.due_at), actor=actor)
    if change.state is not None:
        service.transition(session, task_id, change.state, outcome=change.outcome, comment=change.comment,
                           snoozed_until=_utc(change.snoozed_until), actor=actor, settings=ctx.config.tasks)
    elif change.outcome is not None or change.snoozed_until is not None:
        from tenure.errors import InputError

        raise InputError("an outcome or snoozed_until goes with a state (done, skipped or snoozed)")
    elif change.comment:
        service.add_comment(session, task_id, change.comment, actor=actor)


@router.patch("/tasks/{task_id}", response_model=TaskOut, responses=TASK_RESPONSES)
def change_task(change: TaskChange, task_id: int = TaskId, acc: Access = Depends(allowed("write")),
                ctx: AppContext = Depends(get_context)):
    """Change a task's state (with outcome or snooze), owner or queue, due time, or add a comment."""
    with ctx.db() as session:
        _change(session, acc, ctx, task_id, change)
        return _one(session, acc, task_id, comments=True)


@router.post("/tasks/bulk", response_model=list[TaskOut], responses=TASK_RESPONSES)
def bulk_change(change: TaskBulk, acc: Access = Depends(allowed("write")), ctx: AppContext = Depends(get_context)):
    """The same change on many tasks: all or nothing (one task outside the book refuses them all)."""
    from tenure.errors import InputError

    ids = list(dict.fromkeys(change.ids))
    if len(ids) > ctx.config.tasks.max_bulk:
        raise InputError(f"a bulk action changes at most {ctx.config.tasks.max_bulk} tasks "
                         f"(tenure.yaml tasks.max_bulk); {len(ids)} given")
    one = TaskChange(**change.model_dump(exclude={"ids"}))
    if one.state is None and not one.owner and not one.queue and one.due_at is None:
        raise InputError("a bulk action sets a state, an owner, a queue or a due time")
    with ctx.db() as session:
        for task_id in ids:
            _change(session, acc, ctx, task_id, one)
        return [_one(session, acc, task_id) for task_id in ids]
