"""Success plans: for an account beyond onboarding, what the customer wants to achieve (objectives)
and the work toward it (tasks, some waiting for others), kept in the state DB (migration 0010).

A plan is started from a template in tenure.yaml `success_plans.templates` (a
tenure.config.SuccessPlanTemplate: objectives with target days and tasks with due days and
dependencies) or by hand. Its tasks are ordinary tasks (tenure.playbooks.tasks: type, owner, due
date, states, audit); the plan records which objective each serves and which plan tasks it waits
for. A task is *blocked* while a task it depends on is neither done nor skipped, and *ready*
otherwise. One active plan per account and template. Every change writes an audit entry (entity
"success_plan").

    start_plan(session, *, account_id, template, settings, owner=None, actor, task_settings=None,
               now=None) -> SuccessPlan
    create_plan(session, *, account_id, title, objectives=(), owner=None, actor, now=None) -> SuccessPlan
    add_task(session, plan_id, *, title, objective_id=None, depends_on=(), type="lifecycle",
             reason=None, due_at=None, priority="normal", actor, task_settings=None, now=None) -> Task
    set_objective(session, objective_id, status, *, actor, plan_id=None, now=None) -> SuccessObjective
    find_objective(session, account_id, objective) -> SuccessObjective  # by id or title, on active plans
    close_plan(session, plan_id, status, *, actor, now=None) -> SuccessPlan  # closes its open tasks
    finish_task(session, plan_id, task_id, state, *, outcome=None, comment=None, actor, task_settings=None,
                now=None) -> dict   # done (with an outcome) or skipped; ConflictError while blocked
    plan_view(session, plan_id) -> dict        # objectives, tasks (blocked / ready), progress
    list_plans(session, *, owners=None, accounts=None, status=None) -> list[dict]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tenure.config import SuccessPlanSettings, TaskSettings
from tenure.errors import ConflictError, InputError, NotFoundError
from tenure.playbooks import tasks
from tenure.state.models import (OBJECTIVE_STATUSES, SUCCESS_PLAN_STATUSES, AuditLog, SuccessObjective, SuccessPlan,
                                 SuccessPlanTask, Task, TASK_OPEN_STATES, utcnow)

__all__ = ["add_task", "close_plan", "create_plan", "find_objective", "finish_task", "get_plan", "list_plans",
           "plan_view", "set_objective", "start_plan"]

FINISHED = ("done", "skipped")  # a dependency in one of these states no longer blocks


def _audit(session: Session, actor: str, action: str, plan_id: int, before: dict | None, after: dict | None) -> None:
    session.execute(insert(AuditLog), [{"at": utcnow(), "actor": actor, "action": action, "entity": "success_plan",
                                        "entity_id": str(plan_id), "before": before, "after": after}])


def _plan(session: Session, plan_id: int) -> SuccessPlan:
    plan = session.get(SuccessPlan, plan_id)
    if plan is None:
        raise NotFoundError(f"success plan {plan_id} does not exist")
    return plan


def create_plan(session: Session, *, account_id: str, title: str, objectives: Sequence[str | dict] = (),
                owner: str | None = None, template: str | None = None, actor: str,
                now: datetime | None = None) -> SuccessPlan:
    """A plan with objectives (titles, or {title, target_date}) and no tasks yet (audited)."""
    now = now or utcnow()
    if not account_id or not title.strip():
        raise InputError("a success plan needs an account_id and a title")
    plan = SuccessPlan(account_id=account_id, title=title.strip()[:255], template=template, status="active",
                       owner=owner, created_by=actor, created_at=now, updated_at=now)
    session.add(plan)
    session.flush()
    for i, o in enumerate(objectives):
        o = {"title": o} if isinstance(o, str) else dict(o)
        session.add(SuccessObjective(plan_id=plan.id, position=i, title=str(o["title"])[:255],
                                     target_date=o.get("target_date"), status="open"))
    session.flush()
    _audit(session, actor, "create", plan.id, None, {"account_id": account_id, "title": plan.title,
                                                      "template": template, "owner": owner,
                                                      "objectives": len(objectives)})
    return plan


def start_plan(session: Session, *, account_id: str, template: str, settings: SuccessPlanSettings,
               owner: str | None = None, actor: str, task_settings: TaskSettings | None = None,
               now: datetime | None = None) -> SuccessPlan:
    """A plan from a tenure.yaml template: its objectives (target dates from now), and its tasks
    (owned by `owner`, due from now, dependencies by the template's keys). ConflictError when the
    account already has an active plan from this template."""
    now = now or utcnow()
    t = settings.templates.get(template)
    if t is None:
        known = ", ".join(sorted(settings.templates)) or "none (add success_plans.templates to tenure.yaml)"
        raise InputError(f"success plan template {template!r} does not exist; templates: {known}")
    existing = session.scalar(select(SuccessPlan.id).where(SuccessPlan.account_id == account_id,
                                                           SuccessPlan.template == template,
                                                           SuccessPlan.status == "active"))
    if existing is not None:
        raise ConflictError(f"account {account_id} already has an active {template!r} success plan ({existing})")
    objectives = [{"title": o.title, "target_date": (now + timedelta(days=o.due_days)).date()
                   if o.due_days is not None else None} for o in t.objectives]
    plan = create_plan(session, account_id=account_id, title=t.title, objectives=objectives, owner=owner,
                       template=template, actor=actor, now=now)
    objs = list(session.scalars(select(SuccessObjective).where(SuccessObjective.plan_id == plan.id)
                                .order_by(SuccessObjective.position)))
    rows, where = [], []
    for obj, o in zip(objs, t.objectives):
        for task in o.tasks:
            rows.append(dict(account_id=account_id, type=task.type, reason=task.reason, title=task.title,
                             priority=task.priority, owner=owner, due_at=now + timedelta(days=task.due_days),
                             dedupe_key=f"success:{plan.id}:{task.key}"))
            where.append((obj.id, task))
    ids = tasks.create_tasks(session, rows, actor=actor, settings=task_settings, now=now)
    by_key = {task.key: i for (_, task), i in zip(where, ids)}
    for (objective_id, task), task_id in zip(where, ids):
        session.add(SuccessPlanTask(plan_id=plan.id, objective_id=objective_id, task_id=task_id, step_key=task.key,
                                    depends_on=[by_key[d] for d in task.depends_on]))
    session.flush()
    return plan


def add_task(session: Session, plan_id: int, *, title: str, objective_id: int | None = None,
             depends_on: Iterable[int] = (), type: str = "lifecycle", reason: str | None = None,  # noqa: A002
             due_at: datetime | None = None, priority: str = "normal", actor: str,
             task_settings: TaskSettings | None = None, now: datetime | None = None) -> Task:
    """A task on an active plan, under one of its objectives, waiting for plan tasks `depends_on`
    (task ids of the same plan; a new task can only wait for existing ones, so there is no circle)."""
    plan = _plan(session, plan_id)
    if plan.status != "active":
        raise ConflictError(f"success plan {plan_id} is {plan.status}; add tasks to an active plan")
    deps = sorted(set(depends_on))
    mine = set(session.scalars(select(SuccessPlanTask.task_id).where(SuccessPlanTask.plan_id == plan_id)))
    stray = [d for d in deps if d not in mine]
    if stray:
        raise InputError(f"task {stray[0]} is not a task of success plan {plan_id}; depend on the plan's own tasks")
    if objective_id is not None:
        obj = session.get(SuccessObjective, objective_id)
        if obj is None or obj.plan_id != plan_id:
            raise InputError(f"objective {objective_id} is not an objective of success plan {plan_id}")
    task = tasks.create_task(session, account_id=plan.account_id, type=type, reason=reason, title=title,
                             owner=plan.owner, due_at=due_at, priority=priority, actor=actor,
                             settings=task_settings, now=now)
    session.add(SuccessPlanTask(plan_id=plan_id, objective_id=objective_id, task_id=task.id, depends_on=deps))
    session.flush()
    _audit(session, actor, "add_task", plan_id, None, {"task_id": task.id, "objective_id": objective_id,
                                                        "depends_on": deps})
    return task


def set_objective(session: Session, objective_id: int, status: str, *, actor: str, plan_id: int | None = None,
                  now: datetime | None = None) -> SuccessObjective:
    """Mark an objective open, achieved or dropped (audited; the same status again changes nothing).
    With `plan_id`, NotFoundError unless the objective is that plan's; ConflictError when its plan
    is closed."""
    if status not in OBJECTIVE_STATUSES:
        raise InputError(f"objective status {status!r}: use one of {', '.join(OBJECTIVE_STATUSES)}")
    obj = session.get(SuccessObjective, objective_id)
    if obj is None or (plan_id is not None and obj.plan_id != plan_id):
        raise NotFoundError(f"objective {objective_id} does not exist" + (
            f" in success plan {plan_id} (tenure plans show {plan_id} lists its objectives)" if plan_id else ""))
    plan = _plan(session, obj.plan_id)
    if plan.status != "active":
        raise ConflictError(f"success plan {plan.id} is {plan.status}; its objectives no longer change")
    if obj.status != status:
        before = obj.status
        obj.status, obj.achieved_at = status, (now or utcnow()) if status == "achieved" else None
        session.flush()
        _audit(session, actor, "objective", obj.plan_id, {"objective_id": obj.id, "status": before},
               {"objective_id": obj.id, "status": status})
    return obj


def find_objective(session: Session, account_id: str, objective: str) -> SuccessObjective:
    """An objective of the account's active plans, named by its id or its title (case and spacing
    ignored). NotFoundError listing the account's objectives when none matches, InputError when a
    title names several (use the id)."""
    rows = list(session.scalars(select(SuccessObjective).join(SuccessPlan, SuccessPlan.id == SuccessObjective.plan_id)
                                .where(SuccessPlan.account_id == account_id, SuccessPlan.status == "active")
                                .order_by(SuccessObjective.plan_id, SuccessObjective.position)))
    key = " ".join(objective.split()).casefold()
    found = [o for o in rows if str(o.id) == key or " ".join(o.title.split()).casefold() == key]
    if len(found) > 1:
        raise InputError(f"objective {objective!r} names {len(found)} objectives of {account_id}'s plans "
                         f"(ids {', '.join(str(o.id) for o in found)}): give the id")
    if not found:
        known = "; ".join(f"{o.id} {o.title}" for o in rows) or "none: it has no active success plan"
        raise NotFoundError(f"no objective {objective!r} on an active success plan of {account_id} "
                            f"(its objectives: {known})")
    return found[0]


def close_plan(session: Session, plan_id: int, status: str, *, actor: str, now: datetime | None = None) -> SuccessPlan:
    """End a plan as achieved or abandoned; its open tasks are skipped with the reason recorded."""
    if status not in SUCCESS_PLAN_STATUSES or status == "active":
        raise InputError(f"close a success plan as achieved or abandoned, not {status!r}")
    plan = _plan(session, plan_id)
    if plan.status != "active":
        raise ConflictError(f"success plan {plan_id} is {plan.status} already")
    now = now or utcnow()
    ids = list(session.scalars(select(SuccessPlanTask.task_id).where(SuccessPlanTask.plan_id == plan_id)))
    closed = tasks.close_tasks(session, ids, f"success plan {plan_id} {status}", actor=actor, now=now) if ids else 0
    plan.status, plan.closed_at, plan.updated_at = status, now, now
    session.flush()
    _audit(session, actor, "close", plan_id, {"status": "active"}, {"status": status, "tasks_closed": closed})
    return plan


def get_plan(session: Session, plan_id: int) -> SuccessPlan:
    """The plan; NotFoundError when there is none."""
    return _plan(session, plan_id)


def finish_task(session: Session, plan_id: int, task_id: int, state: str, *, outcome: str | None = None,
                comment: str | None = None, actor: str, task_settings: TaskSettings | None = None,
                now: datetime | None = None) -> dict[str, Any]:
    """Complete (state "done", with an outcome code) or skip (state "skipped") a task of an active
    plan; audited on the task and on the plan. ConflictError while the task is blocked (a task it
    depends on is neither done nor skipped: tenure.playbooks.tasks.transition refuses it) or the
    plan is closed. Returns the plan as plan_view gives it."""
    if state not in FINISHED:
        raise InputError(f"a success plan task is finished as done or skipped, not {state!r}")
    plan = _plan(session, plan_id)
    link = session.scalar(select(SuccessPlanTask).where(SuccessPlanTask.task_id == task_id))
    if link is None or link.plan_id != plan_id:
        raise NotFoundError(f"task {task_id} is not a task of success plan {plan_id}")
    if plan.status != "active":
        raise ConflictError(f"success plan {plan_id} is {plan.status}; its tasks are closed")
    before = tasks.get_task(session, task_id).state
    tasks.transition(session, task_id, state, outcome=outcome, comment=comment, actor=actor,
                     settings=task_settings, now=now)
    if before != state:
        _audit(session, actor, "task", plan_id, {"task_id": task_id, "state": before},
               {"task_id": task_id, "state": state, "outcome": outcome})
    return plan_view(session, plan_id)


def _views(session: Session, plans: Sequence[SuccessPlan]) -> list[dict[str, Any]]:
    ids = [p.id for p in plans]
    if not ids:
        return []
    objs = session.scalars(select(SuccessObjective).where(SuccessObjective.plan_id.in_(ids))
                           .order_by(SuccessObjective.plan_id, SuccessObjective.position)).all()
    links = session.execute(select(SuccessPlanTask, Task).join(Task, Task.id == SuccessPlanTask.task_id)
                            .where(SuccessPlanTask.plan_id.in_(ids)).order_by(Task.due_at, Task.id)).all()
    state = {task.id: task.state for _, task in links}
    out = []
    for p in plans:
        rows = []
        for link, task in links:
            if link.plan_id != p.id:
                continue
            waiting = [d for d in (link.depends_on or []) if state.get(d) not in FINISHED]
            rows.append({**tasks.as_dict(task), "objective_id": link.objective_id, "step_key": link.step_key,
                         "depends_on": list(link.depends_on or []), "waiting_for": waiting,
                         "blocked": bool(waiting) and task.state in TASK_OPEN_STATES})
        mine = [o for o in objs if o.plan_id == p.id]
        done = sum(r["state"] in FINISHED for r in rows)
        out.append({"id": p.id, "account_id": p.account_id, "title": p.title, "template": p.template,
                    "status": p.status, "owner": p.owner, "created_by": p.created_by, "created_at": p.created_at,
                    "closed_at": p.closed_at,
                    "objectives": [{"id": o.id, "title": o.title, "target_date": o.target_date, "status": o.status,
                                    "achieved_at": o.achieved_at,
                                    "tasks": [r for r in rows if r["objective_id"] == o.id]} for o in mine],
                    "other_tasks": [r for r in rows if r["objective_id"] is None],
                    "progress": {"objectives": len(mine), "objectives_achieved": sum(o.status == "achieved"
                                                                                    for o in mine),
                                 "tasks": len(rows), "tasks_done": done,
                                 "tasks_blocked": sum(r["blocked"] for r in rows)}})
    return out


def plan_view(session: Session, plan_id: int) -> dict[str, Any]:
    """The plan with its objectives, each with its tasks (state, due, what each still waits for,
    blocked or not), and progress counts."""
    return _views(session, [_plan(session, plan_id)])[0]


def list_plans(session: Session, *, owners: Sequence[str] | None = None, accounts: Sequence[str] | None = None,
               status: str | None = None) -> list[dict[str, Any]]:
    """Plans (newest first) of the given owners' (None = all) or accounts, each as plan_view gives it."""
    q = select(SuccessPlan)
    if owners is not None:
        q = q.where(SuccessPlan.owner.in_(list(owners)))
    if accounts is not None:
        q = q.where(SuccessPlan.account_id.in_(list(accounts)))
    if status is not None:
        q = q.where(SuccessPlan.status == status)
    return _views(session, session.scalars(q.order_by(SuccessPlan.id.desc())).all())
