"""The cockpit's task panel: the signed-in user's open tasks — overdue, due this week, later — each
with a form to mark it done (with an outcome code) or snooze it. Plain POST forms with the
session's CSRF token (like the notes form): they work without JavaScript (303 back to the
cockpit) and, when htmx is present, swap the panel in place.

The panel is an include (`_tasks_panel.html`) the cockpit template pulls in with one line; its
data comes from `task_panel(request)`, a template global this module registers, so the cockpit's
route does not need to know about tasks. Scope is the policy's (Access.task); the work is the
task service's (tenure.playbooks.tasks), which audits every change.

Beside it, the review queue (`_email_review_panel.html`, data from `review_panel(request)`): the
emails held for review that the user releases (tenure.access.Access.email_owners: a CSM its own,
a manager its team's, an administrator all), each with its subject and text editable and a
Release button (POST /emails/{id}/release, CSRF-checked; tenure.notify.outbox.release audits it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from tenure.errors import TenureError
from tenure.notify import outbox
from tenure.http.auth import Access
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.playbooks import tasks as service
from tenure.state.models import utcnow
from tenure.web.login import page_writer
from tenure.web.render import ENV, render

router = APIRouter(include_in_schema=False)

PANEL_LIMIT = 50  # rows per section; each heading counts them all
SNOOZE_DAYS = ((1, "1 day"), (3, "3 days"), (7, "1 week"))


def _view(request: Request) -> str:
    """The panel's view: "team" (?tasks=team) or "mine" (the default)."""
    return "team" if request.query_params.get("tasks") == "team" else "mine"


def task_panel(request: Request, error: str | None = None) -> dict[str, Any]:
    """The signed-in user's tasks for the cockpit: overdue, due in the next 7 days, later (each
    soonest first, counted in the state DB), with the outcome codes and snooze choices. A principal
    whose task scope is more than its own (a manager: its team's CSMs, per Access.task_owners; the
    CCO and administrators: everyone's) may switch to the team view (?tasks=team): the same
    sections over every task in that scope, with open and overdue counts per owner."""
    who = getattr(request.state, "principal", None)
    ctx: AppContext = request.app.state.ctx
    empty = {"overdue": None, "week": None, "later": None, "outcomes": ctx.config.tasks.outcomes,
             "snooze_days": SNOOZE_DAYS, "error": error, "owner": None, "snoozed": 0, "view": "mine",
             "can_team": False, "by_owner": [], "q": ""}
    if who is None:
        return empty
    from tenure.access import policy
    from tenure.state.users import get

    now = utcnow()
    week = now + timedelta(days=7)
    scope = policy(who).task_owners  # None: every task
    with ctx.db() as session:
        me = service.owner_key(get(session, who.username))
        can_team = scope is None or bool(set(scope) - {me, who.username})
        view = "team" if can_team and _view(request) == "team" else "mine"
        who_kw = dict(owners=scope) if view == "team" else dict(owner=me)
        mine = dict(session=session, **who_kw, states=["open", "in_progress"], limit=PANEL_LIMIT, now=now)
        overdue = service.list_tasks(**mine, overdue=True)
        soon = service.list_tasks(**mine, due_from=now, due_before=week)
        later = service.list_tasks(**mine, due_from=week)
        snoozed = service.list_tasks(session, **who_kw, states=["snoozed"], limit=0, now=now).total
        by_owner = []
        if view == "team":
            by_owner = [r for r in service.summary(session, owners=scope, by=("owner",), now=now) if r["open"]]
            by_owner.sort(key=lambda r: (-r["overdue"], -r["open"], r["owner"] or ""))
    return {**empty, "overdue": overdue, "week": soon, "later": later, "snoozed": snoozed, "owner": me,
            "view": view, "can_team": can_team, "by_owner": by_owner, "q": "?tasks=team" if view == "team" else ""}


ENV.globals["task_panel"] = task_panel


def _hx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _respond(request: Request, error: str | None):
    if _hx(request):  # htmx swaps 2xx only: the panel again, with the error shown in it
        return render(request, "_tasks_panel.html", panel_error=error)
    if error:
        raise Problem(422, error)
    return RedirectResponse("/cockpit?tasks=team#tasks" if _view(request) == "team" else "/cockpit#tasks",
                            status_code=303)


def _work(request: Request, acc: Access, ctx: AppContext, task_id: int, change) -> str | None:
    """Apply `change(session)` to a task the principal may work; a user error becomes a message."""
    try:
        with ctx.db() as session:
            task = service.get_task(session, task_id)
            acc.task(task_id, task.owner)
            change(session)
    except TenureError as err:
        if not _hx(request):
            raise
        return str(err)
    return None


@router.post("/tasks/{task_id}/done")
def task_done(request: Request, task_id: int, outcome: str = Form("", max_length=50),
              acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    """Mark one of the user's tasks done with an outcome code (audited)."""
    error = _work(request, acc, ctx, task_id, lambda s: service.transition(
        s, task_id, "done", outcome=outcome or None, actor=acc.who.username, settings=ctx.config.tasks))
    return _respond(request, error)


@router.post("/tasks/{task_id}/snooze")
def task_snooze(request: Request, task_id: int, days: int = Form(1, ge=1, le=90),
                acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    """Snooze one of the user's tasks for `days` days (audited); it comes back open afterwards."""
    until = utcnow() + timedelta(days=days)
    error = _work(request, acc, ctx, task_id, lambda s: service.transition(
        s, task_id, "snoozed", snoozed_until=until, actor=acc.who.username, settings=ctx.config.tasks))
    return _respond(request, error)


# -- emails held for the CSM's review --------------------------------------------------------------

REVIEW_LIMIT = 20  # emails shown; the heading counts them all


def review_panel(request: Request, error: str | None = None) -> dict[str, Any]:
    """The emails held for review that the signed-in user may release (oldest first), with their
    recipient, account, subject and text."""
    who = getattr(request.state, "principal", None)
    empty = {"rows": [], "total": 0, "error": error}
    if who is None:
        return empty
    from tenure.access import policy

    ctx: AppContext = request.app.state.ctx
    with ctx.db() as session:
        rows, total = outbox.list_held(session, owners=policy(who).email_owners, limit=REVIEW_LIMIT)
        items = [{**outbox.message_dict(m), "to_name": m.payload.get("to_name") or "",
                  "account_id": m.payload.get("account_id"), "text": m.payload.get("text") or ""} for m in rows]
    return {**empty, "rows": items, "total": total}


ENV.globals["review_panel"] = review_panel


@router.post("/emails/{message_id}/release")
def email_release(request: Request, message_id: int, subject: str = Form(..., min_length=1, max_length=998),
                  text: str = Form(..., min_length=1, max_length=1_000_000),
                  acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    """Release a held email the user reviews, with the subject and text as edited (audited)."""
    error = None
    try:
        with ctx.db() as session:
            msg = outbox.get(session, message_id)
            acc.email(message_id, msg.payload.get("owner") if msg.channel == "email" else None)
            old = msg.payload
            outbox.release(session, message_id, actor=acc.who.username,
                           subject=None if subject.strip() == old.get("subject") else subject.strip(),
                           text=None if text.replace("\r\n", "\n") == old.get("text") else text.replace("\r\n", "\n"))
    except TenureError as err:
        if not _hx(request):
            if isinstance(err, outbox.OutboxError):  # not held (any more): a conflict, as in the API
                raise Problem(409, str(err), kind="conflict") from None
            raise
        error = str(err)
    if _hx(request):
        return render(request, "_email_review_panel.html", review_error=error)
    return RedirectResponse("/cockpit#email-review", status_code=303)
