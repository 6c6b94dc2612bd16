"""Accounts: the portfolio list (scoped to the caller's book of business), one account's detail,
360 timeline, usage and health history, and notes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import select

from tenure.http.auth import Access, allowed, client_ip, open_account
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.api.routers.common import paginated
from tenure.api.schemas import (
    COMMON_PROBLEMS, AccountDetail, AccountRow, Band, HealthPoint, NoteIn, NoteOut, Paginated, TimelineItem,
    UsageDay, problem_responses,
)
from tenure.portfolio.accounts import SORTABLE
from tenure.state import audit
from tenure.state.models import Note, User

router = APIRouter(tags=["accounts"], responses=COMMON_PROBLEMS)
ACCOUNT_RESPONSES = problem_responses(404)

SortKey = Literal[SORTABLE]  # type: ignore[valid-type]
AccountId = Path(min_length=1, max_length=100, description="master account id")


class AccountQuery:
    """The portfolio's filters, sort and page (shared with health scores and risk predictions)."""

    def __init__(self,
                 q: str | None = Query(None, max_length=200, description="substring of id, name or domain"),
                 segment: str | None = Query(None, max_length=100), region: str | None = Query(None, max_length=100),
                 owner: str | None = Query(None, max_length=100), band: Band | None = None,
                 tier: str | None = Query(None, max_length=100),
                 status: Literal["customer", "churned", "prospect", "all"] = "customer",
                 min_risk: float | None = Query(None, ge=0, le=1),
                 renewal_within_days: int | None = Query(None, ge=0, le=3660),
                 page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500)):
        self.q, self.segment, self.region, self.owner, self.band, self.tier = q, segment, region, owner, band, tier
        self.status, self.min_risk, self.renewal_within_days = status, min_risk, renewal_within_days
        self.page, self.page_size = page, page_size

    def filter(self, acc: Access, **override):
        from tenure.portfolio.accounts import AccountFilter

        values = dict(q=self.q, segment=self.segment, region=self.region, owner=self.owner, band=self.band,
                      tier=self.tier, status=None if self.status == "all" else self.status, min_risk=self.min_risk,
                      renewal_within_days=self.renewal_within_days, owners=acc.owners)
        values.update(override)
        return AccountFilter(**values)


def list_page(ctx: AppContext, acc: Access, p: AccountQuery, sort: str, descending: bool, **override):
    from tenure.portfolio.accounts import list_accounts

    return list_accounts(ctx.warehouse(), p.filter(acc, **override), sort=sort, descending=descending,
                         page=p.page, page_size=p.page_size)


@router.get("/accounts", response_model=Paginated[AccountRow], summary="Accounts in the caller's book of business")
def accounts(p: AccountQuery = Depends(), sort: SortKey = "arr", order: Literal["asc", "desc"] = "desc",
             acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """Accounts with ARR, health, churn risk, renewal date and owner as of the last refresh;
    a CSM sees its own accounts, a manager its team's, everyone else all."""
    page = list_page(ctx, acc, p, sort, order == "desc")
    return paginated(page.rows, page.total, page.page, page.page_size)


@router.get("/accounts/{account_id}", response_model=AccountDetail, responses=ACCOUNT_RESPONSES)
def account(account_id: str = AccountId, acc: Access = Depends(allowed("read")),
            ctx: AppContext = Depends(get_context)):
    """One account with contacts and custom attributes (403 outside the book of business)."""
    from tenure.portfolio.account360 import get_account

    open_account(acc, ctx, account_id)
    row = get_account(ctx.warehouse(), account_id)
    if row is None:
        raise Problem(404, f"no account {account_id!r}")
    return row


@router.get("/accounts/{account_id}/timeline", response_model=list[TimelineItem], responses=ACCOUNT_RESPONSES)
def timeline(account_id: str = AccountId, kind: str | None = Query(None, max_length=20),
             limit: int = Query(200, ge=1, le=2000), acc: Access = Depends(allowed("read")),
             ctx: AppContext = Depends(get_context)):
    """Everything known about the account, newest first: contract changes, tickets, surveys,
    activities, milestones, signals, churn, opportunities, invoices."""
    from tenure.portfolio.account360 import timeline as account_timeline

    open_account(acc, ctx, account_id)
    return account_timeline(ctx.warehouse(), account_id, limit=limit, kind=kind or None,
                            currency=ctx.config.reporting_currency)


@router.get("/accounts/{account_id}/usage", response_model=list[UsageDay], responses=ACCOUNT_RESPONSES)
def usage(account_id: str = AccountId, days: int = Query(180, ge=1, le=3660),
          acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """Daily usage events and active users for the `days` up to the last refresh."""
    from tenure.portfolio.account360 import usage_series

    open_account(acc, ctx, account_id)
    return usage_series(ctx.warehouse(), account_id, days)


@router.get("/accounts/{account_id}/health", response_model=list[HealthPoint], responses=ACCOUNT_RESPONSES)
def health(account_id: str = AccountId, acc: Access = Depends(allowed("read")),
           ctx: AppContext = Depends(get_context)):
    """Every stored health snapshot of the account, oldest first, with component contributions."""
    from tenure.portfolio.account360 import health_history

    open_account(acc, ctx, account_id)
    return health_history(ctx.warehouse(), account_id)


def _notes(ctx: AppContext, account_id: str, note_id: int | None = None) -> list[dict]:
    with ctx.db() as session:
        q = (select(Note, User.username).join(User, User.id == Note.author_id).where(Note.account_id == account_id)
             .order_by(Note.created_at.desc(), Note.id.desc()))
        if note_id is not None:
            q = q.where(Note.id == note_id)
        return [{"id": n.id, "account_id": n.account_id, "body": n.body, "author": username,
                 "created_at": n.created_at} for n, username in session.execute(q.limit(500)).all()]


@router.get("/accounts/{account_id}/notes", response_model=list[NoteOut], responses=ACCOUNT_RESPONSES)
def notes(account_id: str = AccountId, acc: Access = Depends(allowed("read")),
          ctx: AppContext = Depends(get_context)):
    """Notes on the account, newest first."""
    open_account(acc, ctx, account_id)
    return _notes(ctx, account_id)


@router.post("/accounts/{account_id}/notes", response_model=NoteOut, status_code=201, responses=ACCOUNT_RESPONSES)
def add_note(request: Request, note: NoteIn, account_id: str = AccountId, acc: Access = Depends(allowed("write")),
             ctx: AppContext = Depends(get_context)):
    """Add a note to an account in the caller's book of business (audit-logged)."""
    open_account(acc, ctx, account_id)
    text = note.body.strip()
    if not text:
        raise Problem(422, "a note cannot be empty", kind="invalid-input")
    with ctx.db() as session:
        row = Note(account_id=account_id, author_id=acc.who.user_id, body=text)
        session.add(row)
        session.flush()
        note_id = row.id
        audit.record(session, acc.who.username, "create", "note", str(note_id), None,
                     {"account_id": account_id, "body": text, "author": acc.who.username},
                     ip=client_ip(request))
    return _notes(ctx, account_id, note_id)[0]
