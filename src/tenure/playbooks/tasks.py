"""Tasks (CTAs): the work a person or a playbook asks for on one account. The one service every door
uses (the CLI, the REST API, the cockpit, the playbook engine, the worker).

A task has a type (tenure.yaml `tasks.types`: risk, renewal, expansion, onboarding, lifecycle), a
reason, a priority whose SLA sets `sla_due_at`, an owner (an `accounts.owner` value or a user name)
or a named queue, a due time, an optional contact, a checklist and comments. Its state is one of
open, in_progress, done, skipped, snoozed (until `snoozed_until`, then open again); done records an
outcome code (`tasks.outcomes`). A playbook's task carries the playbook, its version and a
`dedupe_key`, unique in the table: creating a task with a key that exists creates nothing (also
when two processes race: the insert is `ON CONFLICT DO NOTHING`). Every change writes one audit
entry (entity "task").

Times are naive UTC datetimes, like every state-DB timestamp. Scope (who may see and work which
task) is the access policy's (`tenure.access.Access.task_owners` / `Access.task`); list functions
take the owners it allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from tenure.config import OperatingModel, TaskSettings
from tenure.errors import ConflictError, InputError, NotFoundError
from tenure.state.models import (TASK_OPEN_STATES, TASK_STATES, AuditLog, SuccessPlanTask, Task, TaskComment,
                                 User, utcnow)

ASSIGNMENT_RULES = ("account_owner", "manager", "round_robin", "fewest_open", "queue")
CLOSED_STATES = ("done", "skipped")
AUDITED = ("state", "outcome", "owner", "queue", "due_at", "snoozed_until", "priority", "checklist", "close_reason")
_DEFAULTS = TaskSettings()


def _settings(settings: TaskSettings | None) -> TaskSettings:
    return settings or _DEFAULTS


def _snapshot(task: Task) -> dict[str, Any]:
    return {k: getattr(task, k) for k in AUDITED}


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}


def _audit_rows(actor: str, action: str, rows: Iterable[tuple[int, dict | None, dict | None]]) -> list[dict]:
    now = utcnow()
    return [{"at": now, "actor": actor, "action": action, "entity": "task", "entity_id": str(i),
             "before": None if b is None else _clean(b), "after": None if a is None else _clean(a)}
            for i, b, a in rows]


def owner_key(user: User) -> str:
    """The owner value of a user's tasks: its csm key (an accounts.owner value), else its user name."""
    return user.csm_key or user.username


# -- creating ------------------------------------------------------------------------------------

def _validated(row: Mapping[str, Any], s: TaskSettings, now: datetime) -> dict[str, Any]:
    """One task row checked against the configured vocabulary, with its due and SLA times."""
    where = f"task for account {row.get('account_id')!r}"
    if not row.get("account_id"):
        raise InputError("a task needs an account_id")
    kind = row.get("type")
    if kind not in s.types:
        raise InputError(f"{where}: type {kind!r} is not one of {', '.join(s.types)} (tenure.yaml tasks.types)")
    reason = row.get("reason")
    allowed = s.types[kind].reasons
    if reason is not None and allowed and reason not in allowed:
        raise InputError(f"{where}: reason {reason!r} is not one of {', '.join(allowed)} for type {kind} "
                         "(tenure.yaml tasks.types.<type>.reasons)")
    priority = row.get("priority") or "normal"
    if priority not in s.priorities:
        raise InputError(f"{where}: priority {priority!r} is not one of {', '.join(s.priorities)} "
                         "(tenure.yaml tasks.priorities)")
    title = (row.get("title") or "").strip()
    if not title:
        raise InputError(f"{where}: a task needs a title")
    if row.get("owner") and row.get("queue"):
        raise InputError(f"{where}: give an owner or a queue, not both")
    checklist = [{"item": str(i["item"] if isinstance(i, Mapping) else i), "done": bool(
        i.get("done", False)) if isinstance(i, Mapping) else False} for i in (row.get("checklist") or ())]
    due = row.get("due_at") or now + timedelta(days=s.types[kind].due_days)
    return {"account_id": str(row["account_id"]), "contact_id": row.get("contact_id"), "type": kind,
            "reason": reason, "title": title[:255], "body": row.get("body") or "", "priority": priority,
            "state": "open", "owner": row.get("owner") or None, "queue": row.get("queue") or None, "due_at": due,
            "sla_due_at": now + timedelta(hours=s.priorities[priority]), "checklist": checklist or None,
            "playbook": row.get("playbook"), "playbook_version": row.get("playbook_version"),
            "dedupe_key": row.get("dedupe_key"), "created_by": row.get("actor") or "system",
            "created_at": now, "updated_at": now}


_INSERTS: dict[str, Any] = {}  # dialect name -> the statement, built once per process


def _insert_ignoring_duplicates(session: Session, rows: list[dict]) -> list[int]:
    """INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id for all `rows`: the ids of the
    rows inserted (a key that exists, or repeats, is skipped by the database). One statement,
    compiled once and executed for every row (SQLAlchemy batches them into multi-row INSERTs with
    RETURNING); building a 500-row VALUES statement per chunk cost its compilation every time."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    stmt = _INSERTS.get(dialect)
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:  # pragma: no cover - the state DB is SQLite or PostgreSQL
            raise InputError(f"the state DB dialect {dialect!r} is not supported for tasks")
        table = Task.__table__
        stmt = _INSERTS[dialect] = (dialect_insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
                                    .returning(table.c.id))
    return sorted(session.execute(stmt, rows).scalars())


def create_tasks(session: Session, rows: Sequence[Mapping[str, Any]], *, actor: str = "system",
                 settings: TaskSettings | None = None, now: datetime | None = None) -> list[int]:
    """Create many tasks at once (a playbook run): each row has create_task's keyword arguments.
    Rows whose dedupe_key exists already (or repeats within `rows`) are skipped. Returns the ids
    of the tasks created, in the order of `rows`; one audit entry per task created."""
    s, now = _settings(settings), now or utcnow()
    checked = [_validated({**r, "actor": r.get("actor") or actor}, s, now) for r in rows]
    ids = _insert_ignoring_duplicates(session, checked)
    if ids:
        by_id = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(ids)))}
        session.execute(insert(AuditLog), _audit_rows(actor, "create", (
            (i, None, {"account_id": by_id[i].account_id, "type": by_id[i].type, "reason": by_id[i].reason,
                       "title": by_id[i].title, **_snapshot(by_id[i]), "playbook": by_id[i].playbook,
                       "dedupe_key": by_id[i].dedupe_key}) for i in ids)))
    return ids


def create_task(session: Session, *, account_id: str, type: str, title: str, body: str = "",  # noqa: A002
                reason: str | None = None, owner: str | None = None, queue: str | None = None,
                due_at: datetime | None = None, priority: str = "normal", checklist: Iterable = (),
                contact_id: str | None = None, playbook: str | None = None, playbook_version: int | None = None,
                dedupe_key: str | None = None, actor: str = "system", settings: TaskSettings | None = None,
                now: datetime | None = None) -> Task | None:
    """Create one task (audited). None when `dedupe_key` exists already: nothing is created twice."""
    ids = create_tasks(session, [dict(account_id=account_id, type=type, title=title, body=body, reason=reason,
                                      owner=owner, queue=queue, due_at=due_at, priority=priority,
                                      checklist=list(checklist), contact_id=contact_id, playbook=playbook,
                                      playbook_version=playbook_version, dedupe_key=dedupe_key)],
                       actor=actor, settings=settings, now=now)
    return session.get(Task, ids[0]) if ids else None


# -- owners --------------------------------------------------------------------------------------

def _team_members(session: Session, team: str | Sequence[str] | None, model: OperatingModel | None) -> list[str]:
    if team is None:
        raise InputError("round_robin and fewest_open assign within a team: name one (operating_model.teams) "
                         "or give its members")
    if isinstance(team, str):
        if model is None or team not in model.teams:
            known = ", ".join(model.teams) if model and model.teams else "none configured"
            raise InputError(f"no team {team!r} in tenure.yaml operating_model.teams (teams: {known})")
        return list(model.teams[team].members)
    members = [m for m in team if m]
    if not members:
        raise InputError("the team has no members to assign tasks to")
    return members


def managers_of(session: Session, owners: Iterable[str], model: OperatingModel | None = None) -> dict[str, str]:
    """{owner: its manager's owner key}: from operating_model.teams, else the users table
    (users.manager_id of the user whose csm key or name is the owner)."""
    wanted = {o for o in owners if o}
    out: dict[str, str] = {}
    if model is not None:
        for t in model.teams.values():
            out.update({m: t.manager for m in t.members if m in wanted})
    missing = wanted - set(out)
    if missing:
        boss = User.__table__.alias("boss")
        q = (select(User.csm_key, User.username, boss.c.csm_key, boss.c.username)
             .join(boss, boss.c.id == User.manager_id)
             .where(or_(User.csm_key.in_(missing), User.username.in_(missing))))
        for csm_key, username, boss_key, boss_name in session.execute(q):
            out.setdefault(csm_key or username, boss_key or boss_name)
    return out


def open_counts(session: Session, owners: Sequence[str]) -> dict[str, int]:
    """Open tasks (open, in progress or snoozed) per owner, counted in the state DB."""
    rows = session.execute(select(Task.owner, func.count()).where(Task.owner.in_(list(owners)),
                                                                   Task.state.in_(TASK_OPEN_STATES))
                           .group_by(Task.owner)).all()
    got = dict(rows)
    return {o: int(got.get(o, 0)) for o in owners}


def _fewest_open(counts: np.ndarray, k: int) -> np.ndarray:
    """Member index for each of k new tasks, each given to the member with the fewest open tasks
    at that moment (ties: the earlier member): the k smallest (count + j, member) slots in order."""
    if k == 0:
        return np.zeros(0, dtype=int)
    lo, hi = int(counts.min()), int(counts.max()) + k
    while lo < hi:  # the lowest level L with at least k slots below it
        mid = (lo + hi) // 2
        if np.maximum(0, mid + 1 - counts).sum() >= k:
            hi = mid
        else:
            lo = mid + 1
    per = np.maximum(0, lo + 1 - counts)
    member = np.repeat(np.arange(len(counts)), per)
    level = counts[member] + (np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per))
    order = np.lexsort((member, level))
    return member[order][:k]


def assign_owners(session: Session, accounts: pd.DataFrame, rule: str, team: str | Sequence[str] | None = None,
                  *, model: OperatingModel | None = None) -> pd.Series:
    """The owner of a new task on each account (a Series aligned with `accounts`, which has at
    least account_id and owner):

    - account_owner: the account's owner (accounts.owner);
    - manager: that owner's manager (operating_model.teams, else users.manager_id); None if none;
    - round_robin: the members of `team` in turn, continuing where the last assignment to the
      team left off (the rotation is the count of tasks the team ever got, so it survives restarts);
    - fewest_open: each task to the member with the fewest open tasks at that moment;
    - queue: None for every account (the task goes to the queue named in create_task).
    """
    if rule not in ASSIGNMENT_RULES:
        raise InputError(f"owner rule {rule!r} is not one of {', '.join(ASSIGNMENT_RULES)}")
    if rule == "account_owner":
        return accounts["owner"].astype(object).where(accounts["owner"].notna(), None)
    if rule == "queue":
        return pd.Series([None] * len(accounts), index=accounts.index, dtype=object)
    if rule == "manager":
        bosses = managers_of(session, accounts["owner"].dropna().unique(), model)
        return accounts["owner"].map(bosses).astype(object).where(lambda s: s.notna(), None)
    members = _team_members(session, team, model)
    n = len(accounts)
    if rule == "round_robin":
        start = session.scalar(select(func.count()).select_from(Task).where(Task.owner.in_(members))) or 0
        picks = (start + np.arange(n)) % len(members)
    else:
        counts = open_counts(session, members)
        picks = _fewest_open(np.array([counts[m] for m in members], dtype=np.int64), n)
    return pd.Series(np.array(members, dtype=object)[picks], index=accounts.index, dtype=object)


# -- reading -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskPage:
    """One page of tasks and how many match in all (counted in the state DB)."""

    rows: list[dict]
    total: int


def as_dict(task: Task, now: datetime | None = None) -> dict[str, Any]:
    """A task as the API, the CLI and the pages show it (with `overdue`, `sla_breached`)."""
    now = now or utcnow()
    live = task.state in TASK_OPEN_STATES
    return {"id": task.id, "account_id": task.account_id, "contact_id": task.contact_id, "type": task.type,
            "reason": task.reason, "title": task.title, "body": task.body, "priority": task.priority,
            "state": task.state, "owner": task.owner, "queue": task.queue, "due_at": task.due_at,
            "sla_due_at": task.sla_due_at, "snoozed_until": task.snoozed_until, "outcome": task.outcome,
            "checklist": task.checklist or [], "playbook": task.playbook, "playbook_version": task.playbook_version,
            "dedupe_key": task.dedupe_key, "created_by": task.created_by, "created_at": task.created_at,
            "updated_at": task.updated_at, "closed_at": task.closed_at, "close_reason": task.close_reason,
            "overdue": bool(live and task.due_at is not None and task.due_at < now),
            "sla_breached": bool(live and task.sla_due_at is not None and task.sla_due_at < now)}


def get_task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFoundError(f"no task {task_id} (tenure tasks list shows the tasks you may work)")
    return task


def wake_snoozed(session: Session, now: datetime | None = None, actor: str = "system") -> int:
    """Snoozed tasks whose snooze has ended become open again (audited); returns how many."""
    now = now or utcnow()
    due = list(session.scalars(select(Task.id).where(Task.state == "snoozed", Task.snoozed_until <= now)))
    if due:
        session.execute(update(Task).where(Task.id.in_(due)).values(state="open", snoozed_until=None, updated_at=now))
        session.execute(insert(AuditLog), _audit_rows(actor, "wake", ((i, {"state": "snoozed"}, {"state": "open"})
                                                                      for i in due)))
    return len(due)


def _filters(*, owners: Sequence[str] | None, owner: str | None, accounts: Sequence[str] | None,
             states: Sequence[str] | None, types: Sequence[str] | None, overdue: bool | None,
             due_before: datetime | None, due_from: datetime | None, playbook: str | None, queue: str | None,
             now: datetime) -> list:
    conds = []
    if owners is not None:  # the policy's scope (None = every task)
        conds.append(Task.owner.in_(list(owners)))
    if owner is not None:
        conds.append(Task.owner == owner)
    if accounts is not None:
        conds.append(Task.account_id.in_(list(accounts)))
    if states:
        bad = [s for s in states if s not in TASK_STATES]
        if bad:
            raise InputError(f"task state {bad[0]!r} is not one of {', '.join(TASK_STATES)}")
        conds.append(Task.state.in_(list(states)))
    if types:
        conds.append(Task.type.in_(list(types)))
    live = Task.state.in_(TASK_OPEN_STATES)
    if overdue is True:
        conds.append(and_(live, Task.due_at < now))
    elif overdue is False:
        conds.append(or_(~live, Task.due_at.is_(None), Task.due_at >= now))
    if due_before is not None:
        conds.append(Task.due_at < due_before)
    if due_from is not None:  # due then or later, or never
        conds.append(or_(Task.due_at.is_(None), Task.due_at >= due_from))
    if playbook is not None:
        conds.append(Task.playbook == playbook)
    if queue is not None:
        conds.append(Task.queue == queue)
    return conds


def list_tasks(session: Session, *, owners: Sequence[str] | None = None, owner: str | None = None,
               accounts: Sequence[str] | None = None, states: Sequence[str] | None = None,
               types: Sequence[str] | None = None, overdue: bool | None = None, due_before: datetime | None = None,
               due_from: datetime | None = None, playbook: str | None = None, queue: str | None = None,
               limit: int = 50, offset: int = 0, now: datetime | None = None) -> TaskPage:
    """Tasks matching every filter given, soonest due first (no due time last), then newest.
    `owners` is the caller's scope (Access.task_owners; None = all), `owner` one owner's tasks;
    `overdue`: due before now and still open; `due_before` / `due_from`: due before / at or after
    (`due_from` keeps tasks with no due time). Ended snoozes are woken first."""
    now = now or utcnow()
    wake_snoozed(session, now)
    conds = _filters(owners=owners, owner=owner, accounts=accounts, states=states, types=types, overdue=overdue,
                     due_before=due_before, due_from=due_from, playbook=playbook, queue=queue, now=now)
    total = session.scalar(select(func.count()).select_from(Task).where(*conds)) or 0
    q = (select(Task).where(*conds).order_by(Task.due_at.is_(None), Task.due_at, Task.id.desc())
         .limit(max(0, limit)).offset(max(0, offset)))
    return TaskPage([as_dict(t, now) for t in session.scalars(q)], int(total))


def summary(session: Session, *, owners: Sequence[str] | None = None, by: Sequence[str] = ("type", "reason"),
            now: datetime | None = None) -> list[dict]:
    """Counts by `by` (any of type, reason, owner, priority, playbook, outcome): open, overdue,
    done and skipped tasks, counted in the state DB (reporting by type and reason)."""
    now = now or utcnow()
    cols = [getattr(Task, b) for b in by if b in ("type", "reason", "owner", "priority", "playbook", "outcome")]
    if len(cols) != len(by):
        raise InputError("tasks can be counted by type, reason, owner, priority, playbook or outcome")
    live = Task.state.in_(TASK_OPEN_STATES)

    def n(cond):
        return func.sum(case((cond, 1), else_=0))

    q = select(*cols, func.count().label("tasks"), n(live).label("open"),
               n(and_(live, Task.due_at < now)).label("overdue"), n(Task.state == "done").label("done"),
               n(Task.state == "skipped").label("skipped"))
    if owners is not None:
        q = q.where(Task.owner.in_(list(owners)))
    rows = session.execute(q.group_by(*cols).order_by(*cols)).all()
    return [{**{b: r[i] for i, b in enumerate(by)}, "tasks": int(r.tasks), "open": int(r.open or 0),
             "overdue": int(r.overdue or 0), "done": int(r.done or 0), "skipped": int(r.skipped or 0)} for r in rows]


def comments(session: Session, task_id: int) -> list[dict]:
    q = select(TaskComment).where(TaskComment.task_id == task_id).order_by(TaskComment.created_at, TaskComment.id)
    return [{"id": c.id, "author": c.author, "body": c.body, "created_at": c.created_at} for c in session.scalars(q)]


# -- changing ------------------------------------------------------------------------------------

def _changed(session: Session, task: Task, before: dict, actor: str, action: str, now: datetime) -> Task:
    after = _snapshot(task)
    if after != before:
        task.updated_at = now
        session.add(AuditLog(at=now, actor=actor, action=action, entity="task", entity_id=str(task.id),
                             before=_clean({k: v for k, v in before.items() if after[k] != v}),
                             after=_clean({k: v for k, v in after.items() if before[k] != v})))
    return task


def add_comment(session: Session, task_id: int, body: str, *, actor: str) -> dict:
    text = (body or "").strip()
    if not text:
        raise InputError(f"task {task_id}: a comment cannot be empty")
    get_task(session, task_id)
    c = TaskComment(task_id=task_id, author=actor, body=text[:10_000])
    session.add(c)
    session.flush()
    session.add(AuditLog(actor=actor, action="comment", entity="task", entity_id=str(task_id), before=None,
                         after={"comment": c.body}))
    return {"id": c.id, "author": c.author, "body": c.body, "created_at": c.created_at}


def waiting_for(session: Session, task_id: int) -> list[int]:
    """The success plan tasks (tenure.playbooks.success_plans) this task still waits for: its
    dependencies neither done nor skipped (empty for a task outside a plan)."""
    deps = session.scalar(select(SuccessPlanTask.depends_on).where(SuccessPlanTask.task_id == task_id))
    if not deps:
        return []
    return list(session.scalars(select(Task.id).where(Task.id.in_(list(deps)), Task.state.not_in(CLOSED_STATES))
                                .order_by(Task.id)))


def transition(session: Session, task_id: int, state: str, *, outcome: str | None = None,
               comment: str | None = None, snoozed_until: datetime | None = None, actor: str,
               settings: TaskSettings | None = None, now: datetime | None = None) -> Task:
    """Move a task to `state`. done needs an outcome code (tasks.outcomes); skipped may have one;
    snoozed needs `snoozed_until` in the future; open or in_progress reopens a closed task.
    The same state again changes nothing (no audit entry). `comment` is added as a comment."""
    s, now = _settings(settings), now or utcnow()
    task = get_task(session, task_id)
    if state not in TASK_STATES:
        raise InputError(f"task {task_id}: state {state!r} is not one of {', '.join(TASK_STATES)}")
    if outcome is not None and outcome not in s.outcomes:
        raise InputError(f"task {task_id}: outcome {outcome!r} is not one of {', '.join(s.outcomes)} "
                         "(tenure.yaml tasks.outcomes)")
    if state == "done" and outcome is None and task.outcome is None:
        raise InputError(f"task {task_id}: a done task records its outcome: one of {', '.join(s.outcomes)}")
    if outcome is not None and state not in CLOSED_STATES:
        raise InputError(f"task {task_id}: an outcome is recorded when the task is done or skipped, not {state}")
    if state == "snoozed" and (snoozed_until is None or snoozed_until <= now):
        raise InputError(f"task {task_id}: snoozing needs a time in the future to wake it (snoozed_until)")
    if state in CLOSED_STATES and task.state not in CLOSED_STATES:
        waiting = waiting_for(session, task_id)
        if waiting:
            raise ConflictError(f"task {task_id} is blocked: it waits for success plan task(s) "
                                f"{', '.join(map(str, waiting))}; finish or skip those first")
    before = _snapshot(task)
    task.state = state
    if state in CLOSED_STATES:
        if before["state"] not in CLOSED_STATES:
            task.closed_at = now
        task.outcome = outcome if outcome is not None else task.outcome
        task.snoozed_until = None
    else:
        task.closed_at, task.outcome, task.close_reason = None, None, None
        task.snoozed_until = snoozed_until if state == "snoozed" else None
    if comment and comment.strip():
        add_comment(session, task_id, comment, actor=actor)
    return _changed(session, task, before, actor, "transition", now)


def reassign(session: Session, task_id: int, *, owner: str | None = None, queue: str | None = None,
             actor: str, now: datetime | None = None) -> Task:
    """Give the task to `owner` or to the named `queue` (one of them)."""
    if bool(owner) == bool(queue):
        raise InputError(f"task {task_id}: reassign to an owner or to a queue (one of them)")
    task = get_task(session, task_id)
    before = _snapshot(task)
    task.owner, task.queue = owner or None, queue or None
    return _changed(session, task, before, actor, "reassign", now or utcnow())


def set_due(session: Session, task_id: int, due_at: datetime, *, actor: str, now: datetime | None = None) -> Task:
    task = get_task(session, task_id)
    before = _snapshot(task)
    task.due_at = due_at
    return _changed(session, task, before, actor, "reschedule", now or utcnow())


def check_item(session: Session, task_id: int, index: int, done: bool, *, actor: str,
               now: datetime | None = None) -> Task:
    """Tick (or untick) checklist item `index` (from 0)."""
    task = get_task(session, task_id)
    items = [dict(i) for i in (task.checklist or [])]
    if not 0 <= index < len(items):
        raise InputError(f"task {task_id} has {len(items)} checklist item(s); there is no item {index}")
    before = _snapshot(task)
    items[index]["done"] = bool(done)
    task.checklist = items
    return _changed(session, task, before, actor, "checklist", now or utcnow())


def close_tasks(session: Session, ids: Iterable[int], reason: str, *, actor: str, state: str = "skipped",
                outcome: str | None = None, now: datetime | None = None) -> int:
    """Close the still-open tasks among `ids` (a playbook's condition cleared, a playbook retired):
    state skipped (or done), the reason recorded in close_reason. Returns how many closed;
    closed tasks are left alone, so a re-run closes nothing more."""
    if state not in CLOSED_STATES:
        raise InputError(f"tasks close as done or skipped, not {state!r}")
    now, ids = now or utcnow(), list(ids)
    if not ids:
        return 0
    live = list(session.scalars(select(Task.id).where(Task.id.in_(ids), Task.state.in_(TASK_OPEN_STATES))))
    if live:
        session.execute(update(Task).where(Task.id.in_(live)).values(
            state=state, outcome=outcome, close_reason=reason[:255], closed_at=now, snoozed_until=None,
            updated_at=now))
        session.execute(insert(AuditLog), _audit_rows(actor, "close", (
            (i, None, {"state": state, "outcome": outcome, "close_reason": reason[:255]}) for i in live)))
    return len(live)


def bulk(session: Session, ids: Sequence[int], *, actor: str, state: str | None = None, outcome: str | None = None,
         snoozed_until: datetime | None = None, owner: str | None = None, queue: str | None = None,
         settings: TaskSettings | None = None, now: datetime | None = None) -> list[Task]:
    """One change applied to several tasks (each audited): a state (with outcome/snooze), an owner
    or a queue. All or nothing: the caller's transaction rolls back on the first error."""
    s = _settings(settings)
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise InputError("a bulk action needs at least one task id")
    if len(ids) > s.max_bulk:
        raise InputError(f"a bulk action changes at most {s.max_bulk} tasks (tenure.yaml tasks.max_bulk); "
                         f"{len(ids)} given")
    if state is None and not owner and not queue:
        raise InputError("a bulk action sets a state, an owner or a queue")
    out = []
    for task_id in ids:
        if owner or queue:
            reassign(session, task_id, owner=owner, queue=queue, actor=actor, now=now)
        if state is not None:
            transition(session, task_id, state, outcome=outcome, snoozed_until=snoozed_until, actor=actor,
                       settings=s, now=now)
        out.append(get_task(session, task_id))
    return out
