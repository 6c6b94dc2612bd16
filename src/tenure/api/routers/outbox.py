"""The outbox: administrators list messages (by status) and replay dead letters; an email held for
review is released (optionally after editing its subject or body) by an administrator or by the
CSM it is for (its payload's `owner`, the task owner of its account) and that CSM's manager, the
rule of tenure.access (Access.email). `GET /outbox/review` lists the held emails the caller
reviews. Thin: the service is tenure.notify.outbox, which audits each change (actor: the caller)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tenure.api.routers.common import paginated
from tenure.api.schemas import COMMON_PROBLEMS, Paginated, UtcDateTime, problem_responses
from tenure.http.auth import Access, Principal, allowed, client_ip, require
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.notify import outbox as service
from tenure.state.models import AuditLog

router = APIRouter(tags=["outbox"], responses=COMMON_PROBLEMS)
MessageId = Path(ge=1, le=2**31 - 1, description="outbox message id")
Status = Literal["pending", "held_for_review", "sent", "dead", "suppressed"]
CHANGE_RESPONSES = problem_responses(404, 409)


class OutboxMessageOut(BaseModel):
    """An outbox message: its status, attempts and last error; `subject` for emails, `url` for
    webhooks (the body itself is not listed)."""

    model_config = ConfigDict(extra="ignore")
    id: int
    channel: Literal["email", "webhook"]
    status: Status
    dedupe_key: str
    idempotency_key: str = Field(description="the email's Message-ID / the webhook's Idempotency-Key")
    category: str | None = None
    recipient: str | None = None
    recipient_tz: str | None = Field(None, description="the recipient's time zone (IANA) deciding the send window")
    attempts: int
    next_attempt_at: UtcDateTime | None = None
    last_error: str | None = None
    created_at: UtcDateTime
    sent_at: UtcDateTime | None = None
    subject: str | None = None
    url: str | None = None
    owner: str | None = Field(None, description="an email's reviewer: the task owner of its account (csm key or "
                              "user name)")


class ReleaseIn(BaseModel):
    """Edits made while reviewing (each optional; the rest of the email stays as written)."""

    model_config = ConfigDict(extra="forbid")
    subject: str | None = Field(None, min_length=1, max_length=998)
    text: str | None = Field(None, min_length=1, max_length=1_000_000)
    html: str | None = Field(None, min_length=1, max_length=1_000_000)


def _changed(session, request: Request, msg) -> dict:
    for obj in session.new:  # the service records who and what; the request knows where from
        if isinstance(obj, AuditLog) and obj.ip is None:
            obj.ip = client_ip(request)
    return service.message_dict(msg)


def _conflict(err: service.OutboxError) -> Problem:
    return Problem(409, str(err), kind="conflict")


@router.get("/outbox", response_model=Paginated[OutboxMessageOut], summary="Outbox messages")
def list_outbox(status: Status | None = Query(None, description="only messages in this status"),
                page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500),
                who: Principal = Depends(require("admin")), ctx: AppContext = Depends(get_context)):
    """Newest first; `status=dead` lists the dead letters, `status=held_for_review` the emails
    waiting for review."""
    with ctx.db() as session:
        rows, total = service.list_messages(session, status=status, limit=page_size, offset=(page - 1) * page_size)
        return paginated([service.message_dict(m) for m in rows], total, page, page_size)


@router.get("/outbox/review", response_model=Paginated[OutboxMessageOut], summary="Emails held for my review")
def review_queue(page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500),
                 acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """The emails held for review that the caller may release, oldest first: an administrator's
    are all of them, a CSM's its own, a manager's its team's (empty for the others)."""
    with ctx.db() as session:
        rows, total = service.list_held(session, owners=acc.email_owners, limit=page_size,
                                        offset=(page - 1) * page_size)
        return paginated([service.message_dict(m) for m in rows], total, page, page_size)


@router.post("/outbox/{message_id}/release", response_model=OutboxMessageOut, responses=CHANGE_RESPONSES,
             summary="Release an email held for review")
def release(request: Request, body: ReleaseIn | None = None, message_id: int = MessageId,
            acc: Access = Depends(allowed("write")), ctx: AppContext = Depends(get_context)):
    """The email goes out at its next chance (within the recipient's send window), with the
    edits given. Its CSM (payload `owner`), that CSM's manager or an administrator releases it
    (403 for anyone else); 409 when it is not held for review."""
    edits = body or ReleaseIn()
    with ctx.db() as session:
        msg = service.get(session, message_id)
        acc.email(message_id, msg.payload.get("owner") if msg.channel == "email" else None)
        try:
            msg = service.release(session, message_id, actor=acc.who.username, subject=edits.subject,
                                  text=edits.text, html=edits.html)
        except service.OutboxError as err:
            raise _conflict(err) from None
        return _changed(session, request, msg)


@router.post("/outbox/{message_id}/replay", response_model=OutboxMessageOut, responses=CHANGE_RESPONSES,
             summary="Send a dead letter again")
def replay(request: Request, message_id: int = MessageId, who: Principal = Depends(require("admin")),
           ctx: AppContext = Depends(get_context)):
    """A dead message goes back to pending with its attempts reset and the same idempotency key.
    409 when it is not dead."""
    with ctx.db() as session:
        try:
            msg = service.replay(session, message_id, actor=who.username)
        except service.OutboxError as err:
            raise _conflict(err) from None
        return _changed(session, request, msg)
