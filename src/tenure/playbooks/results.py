"""What playbooks did, read from the state DB (counted there, never in Python): the list of
playbooks with their lifecycle, and one playbook's results."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tenure.playbooks.spec import find, playbooks_folder, validate_folder
from tenure.state.db import session_scope
from tenure.state.models import (TASK_OPEN_STATES, OutboxMessage, PlaybookEnrolment, PlaybookOccurrence,
                                 PlaybookState, PlaybookVersion, Task)


def _iso(v: Any) -> str | None:
    return v.isoformat(timespec="seconds") if v is not None else None


def overview(config: Any) -> list[dict]:
    """Every valid playbook file: name, title, status, recorded version, triggers, steps, last
    run, enrolments started and open tasks."""
    books, _ = validate_folder(playbooks_folder(config), config.tasks)
    with session_scope(config) as s:
        states = {x.name: x for x in s.scalars(select(PlaybookState))}
        current = dict(s.execute(select(PlaybookVersion.name, PlaybookVersion.version).where(
            PlaybookVersion.content_hash.in_([b.content_hash for b in books]))).all()) if books else {}
        enrolled = dict(s.execute(select(PlaybookEnrolment.playbook, func.count()).where(
            PlaybookEnrolment.arm == "treatment").group_by(PlaybookEnrolment.playbook)).all())
        open_tasks = dict(s.execute(select(Task.playbook, func.count()).where(
            Task.playbook.isnot(None), Task.state.in_(TASK_OPEN_STATES)).group_by(Task.playbook)).all())
    out = []
    for b in books:
        st = states.get(b.name)
        out.append({"name": b.name, "title": b.title or b.name, "status": b.status, "version": current.get(b.name),
                    "triggers": [t.trigger_id for t in b.trigger_params], "steps": len(b.walk_steps()),
                    "last_run_at": _iso(st.last_run_at) if st else None, "enrolments": int(enrolled.get(b.name, 0)),
                    "open_tasks": int(open_tasks.get(b.name, 0)), "file": b.file,
                    "holdout": b.experiment.holdout})
    return out


def _grouped(s, column, *where) -> dict[str, int]:
    rows = s.execute(select(column, func.count()).where(*where).group_by(column)).all()
    return {str(k): int(v) for k, v in rows}


def playbook_results(config: Any, name: str, wh: Any | None = None) -> dict:
    """Counts of one playbook: occurrences by outcome, enrolments by status and arm, its tasks by
    state and outcome, its outbox messages by status; the experiment when it holds accounts out
    (tenure.playbooks.experiments, when a warehouse is given)."""
    books, _ = validate_folder(playbooks_folder(config), config.tasks)
    pb = find(books, name)
    prefix = f"{name}|"
    with session_scope(config) as s:
        st = s.get(PlaybookState, name)
        version = s.scalar(select(PlaybookVersion.version).where(PlaybookVersion.name == name,
                                                                 PlaybookVersion.content_hash == pb.content_hash))
        res = {
            "name": name, "status": pb.status, "version": version,
            "last_run_at": _iso(st.last_run_at) if st else None,
            "occurrences": _grouped(s, PlaybookOccurrence.outcome, PlaybookOccurrence.playbook == name),
            "enrolments": _grouped(s, PlaybookEnrolment.status, PlaybookEnrolment.playbook == name),
            "arms": _grouped(s, PlaybookEnrolment.arm, PlaybookEnrolment.playbook == name),
            "tasks": _grouped(s, Task.state, Task.playbook == name),
            "task_outcomes": _grouped(s, Task.outcome, Task.playbook == name, Task.outcome.isnot(None)),
            "tasks_by_version": _grouped(s, Task.playbook_version, Task.playbook == name),
            "messages": _grouped(s, OutboxMessage.status, OutboxMessage.dedupe_key.startswith(prefix, autoescape=True)),
        }
    if pb.experiment.holdout > 0:
        if wh is None:
            res["experiment"] = {"message": "run with a warehouse to measure the experiment"}
        else:
            from tenure.playbooks.experiments import experiment_results

            res["experiment"] = experiment_results(wh, config, name)
    return res
