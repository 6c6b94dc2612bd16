"""Advocacy: reference candidates (promoters at healthy, renewed customers not asked recently,
ranked with their reasons), reference requests under the fatigue ledger's cap (409 over it, naming
the contact, the cap and when it is next available), the case-study pipeline, referrals with the
ARR they bring, and advisory-board members. A CSM sees and works its own book's, a manager its
team's (the account's owner, through the one access policy: Access.owners and open_account).
Thin: the service is tenure.voc.advocacy; every change is audited there."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from tenure.api.routers.common import paginated
from tenure.api.schemas import COMMON_PROBLEMS, Paginated, UtcDateTime, problem_responses
from tenure.http.auth import Access, allowed, open_account
from tenure.http.context import AppContext, get_context
from tenure.voc import advocacy as service

router = APIRouter(prefix="/advocacy", tags=["advocacy"], responses=COMMON_PROBLEMS)
ONE = problem_responses(404)
WRITE = problem_responses(404, 409)
RequestStatus = Literal["requested", "accepted", "declined", "completed", "withdrawn"]
ReferralStatus = Literal["new", "qualified", "won", "lost"]


class Candidate(BaseModel):
    """A contact who may be asked for a reference, with why."""

    rank: int = Field(description="1 = the biggest ARR, then the latest NPS answer")
    contact_id: str
    contact_name: str | None = None
    title: str | None = None
    role: str | None = None
    account_id: str
    account_name: str | None = None
    owner: str | None = None
    segment: str | None = None
    arr: float = Field(description="the account's ARR on as_of, reporting currency, per year")
    nps_score: int
    nps_at: UtcDateTime
    nps_comment: str | None = None
    band: str
    health_score: float | None = None
    health_as_of: date
    first_start: date = Field(description="the account's first contract line's start")
    last_renewal: date | None = Field(None, description="the latest won renewal opportunity's close date")
    asks_in_window: int = Field(description="reference requests counted by the fatigue ledger in its window")
    last_asked_at: UtcDateTime | None = None
    reasons: list[str]


class Candidates(Paginated[Candidate]):
    as_of: date | None = Field(None, description="the data's day the candidates are judged on")


class Availability(BaseModel):
    contact_id: str
    asks_in_window: int
    cap: int
    window_days: int
    asks_total: int
    last_asked_at: UtcDateTime | None = None
    available: bool
    next_available_at: UtcDateTime | None = Field(None, description="when under the cap again (null: now)")


class RequestOut(BaseModel):
    id: int
    contact_id: str
    account_id: str
    team: str
    requested_by: str
    opportunity_id: str | None = None
    prospect: str | None = None
    purpose: str = ""
    status: RequestStatus
    note: str | None = None
    requested_at: UtcDateTime
    updated_at: UtcDateTime
    closed_at: UtcDateTime | None = None


class RequestIn(BaseModel):
    """Ask a contact for a reference for an opportunity (its id) or a prospect (a company name)."""

    model_config = ConfigDict(extra="forbid")
    contact_id: str = Field(..., min_length=1, max_length=100)
    team: str = Field(..., min_length=1, max_length=100, description="the team asking, e.g. sales-emea")
    opportunity_id: str | None = Field(None, max_length=100)
    prospect: str | None = Field(None, max_length=255)
    purpose: str = Field("", max_length=10_000, description="what the reference is for (a call, a visit...)")


class RequestChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: RequestStatus
    note: str | None = Field(None, max_length=10_000)


class Move(BaseModel):
    from_stage: str | None = None
    to_stage: str
    note: str | None = None
    actor: str
    at: UtcDateTime


class CaseStudyOut(BaseModel):
    id: int
    account_id: str
    contact_id: str | None = None
    title: str
    stage: str
    owner: str | None = None
    url: str | None = None
    created_by: str
    created_at: UtcDateTime
    stage_at: UtcDateTime
    published_at: UtcDateTime | None = None
    moves: list[Move] | None = Field(None, description="on a create or a move only")


class CaseStudyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(..., min_length=1, max_length=100)
    title: str = Field(..., min_length=1, max_length=255)
    contact_id: str | None = Field(None, max_length=100)
    stage: str | None = Field(None, max_length=50, description="default: the first stage")


class CaseStudyMoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: str = Field(..., min_length=1, max_length=50, description="a stage of advocacy.case_study_stages, "
                                                                   "or dropped")
    note: str | None = Field(None, max_length=10_000)
    url: str | None = Field(None, max_length=500, description="where the published case study lives")


class ReferralOut(BaseModel):
    id: int
    account_id: str
    contact_id: str | None = None
    company: str
    status: ReferralStatus
    referred_account_id: str | None = None
    note: str | None = None
    created_by: str
    created_at: UtcDateTime
    updated_at: UtcDateTime
    arr: float | None = Field(None, description="the referred account's ARR on `day` (linked referrals)")


class Referrals(Paginated[ReferralOut]):
    day: date | None = Field(None, description="the day the ARR is read on")
    total_arr: float = Field(0, description="ARR of every linked referral of the book on `day`, reporting currency")


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(..., min_length=1, max_length=100, description="the referring account")
    company: str = Field(..., min_length=1, max_length=255)
    contact_id: str | None = Field(None, max_length=100, description="the referring contact")
    note: str | None = Field(None, max_length=10_000)


class ReferralChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: ReferralStatus | None = None
    referred_account_id: str | None = Field(None, min_length=1, max_length=100,
                                            description="the account it became (makes it won)")
    note: str | None = Field(None, max_length=10_000)


class MemberOut(BaseModel):
    id: int
    board: str
    contact_id: str
    account_id: str
    term_start: date
    term_end: date | None = None
    active: bool
    created_by: str
    created_at: UtcDateTime


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    board: str = Field(..., min_length=1, max_length=100)
    contact_id: str = Field(..., min_length=1, max_length=100)
    term_start: date
    term_end: date | None = None


class MemberEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    term_end: date


def _book(acc: Access, ctx: AppContext) -> list[str] | None:
    return service.book_accounts(ctx.warehouse(), acc.owners)


def _contact(acc: Access, ctx: AppContext, contact_id: str) -> dict:
    """The contact's account, opened through the policy (404 unknown, 403 outside the book)."""
    found = service.contact_account(ctx.warehouse(), contact_id)
    open_account(acc, ctx, found["account_id"])
    return found


def _created(response: Response, created: bool) -> None:
    if not created:
        response.status_code = 200


# -- candidates and the ledger ------------------------------------------------------------------------

@router.get("/candidates", response_model=Candidates, summary="Reference candidates, best first")
def candidates(segment: str | None = Query(None, max_length=100), account: str | None = Query(None, max_length=100),
               as_of: date | None = Query(None, description="default: the data's latest day"),
               page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500),
               acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """Promoters (latest NPS 9-10) at healthy, renewed customers of the caller's book, not asked
    recently, ranked by ARR then the latest answer, each with the reasons it qualifies."""
    from tenure.warehouse.asof import resolve_as_of

    wh = ctx.warehouse()
    day = resolve_as_of(wh, as_of)
    if day is None:
        return {**paginated([], 0, page, page_size), "as_of": None}
    with ctx.db() as session:
        found = service.candidates(wh, ctx.config, session, as_of=day, owners=acc.owners, segment=segment,
                                   account_id=account, limit=page_size, offset=(page - 1) * page_size)
    return {**paginated(found.rows, found.total, page, page_size), "as_of": day}


@router.get("/contacts/{contact_id}/availability", response_model=Availability, responses=ONE,
            summary="A contact in the fatigue ledger")
def availability(contact_id: str, acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """Requests counted in the ledger's window, the cap, and when the contact may be asked again."""
    _contact(acc, ctx, contact_id)
    with ctx.db() as session:
        return service.availability(session, contact_id, settings=ctx.config.advocacy)


# -- reference requests --------------------------------------------------------------------------------

@router.get("/reference-requests", response_model=Paginated[RequestOut], summary="Reference requests")
def list_requests(status: list[RequestStatus] | None = Query(None), contact: str | None = Query(None, max_length=100),
                  team: str | None = Query(None, max_length=100), page: int = Query(1, ge=1, le=1_000_000),
                  page_size: int = Query(50, ge=1, le=500), acc: Access = Depends(allowed("read")),
                  ctx: AppContext = Depends(get_context)):
    """Requests on the caller's book's contacts, newest first."""
    book = _book(acc, ctx)
    with ctx.db() as session:
        found = service.list_requests(session, accounts=book, contact_id=contact, status=status, team=team,
                                      limit=page_size, offset=(page - 1) * page_size)
    return paginated(found.rows, found.total, page, page_size)


@router.post("/reference-requests", response_model=RequestOut, status_code=201, responses=WRITE,
             summary="Ask a contact for a reference")
def create_request(body: RequestIn, response: Response, acc: Access = Depends(allowed("write")),
                   ctx: AppContext = Depends(get_context)):
    """409 when the contact is at the fatigue ledger's cap (the message names the contact, the cap
    and when it is next available). An open request of the same contact for the same opportunity or
    prospect is returned as it is (200)."""
    found = _contact(acc, ctx, body.contact_id)
    with ctx.db() as session:
        r, created = service.request_reference(session, contact_id=body.contact_id, account_id=found["account_id"],
                                               team=body.team, requested_by=acc.who.username,
                                               opportunity_id=body.opportunity_id, prospect=body.prospect,
                                               purpose=body.purpose, settings=ctx.config.advocacy)
        _created(response, created)
        return service.request_dict(r)


@router.patch("/reference-requests/{request_id}", response_model=RequestOut, responses=WRITE,
              summary="Accept, decline, complete or withdraw a reference request")
def change_request(body: RequestChange, request_id: int = Path(ge=1, le=2**31 - 1, description="reference request id"), acc: Access = Depends(allowed("write")),
                   ctx: AppContext = Depends(get_context)):
    """409 for a move its status does not allow (e.g. a completed request declined)."""
    with ctx.db() as session:
        account_id = service.get_request(session, request_id).account_id
    open_account(acc, ctx, account_id)
    with ctx.db() as session:
        return service.request_dict(service.set_request_status(session, request_id, body.status, note=body.note,
                                                               actor=acc.who.username))


# -- case studies ---------------------------------------------------------------------------------------

@router.get("/case-studies", response_model=Paginated[CaseStudyOut], summary="The case-study pipeline")
def list_case_studies(stage: str | None = Query(None, max_length=50), page: int = Query(1, ge=1, le=1_000_000),
                      page_size: int = Query(50, ge=1, le=500), acc: Access = Depends(allowed("read")),
                      ctx: AppContext = Depends(get_context)):
    """Case studies of the caller's book's accounts, most recently moved first."""
    book = _book(acc, ctx)
    with ctx.db() as session:
        found = service.list_case_studies(session, accounts=book, stage=stage, limit=page_size,
                                          offset=(page - 1) * page_size)
    return paginated(found.rows, found.total, page, page_size)


@router.post("/case-studies", response_model=CaseStudyOut, status_code=201, responses=WRITE,
             summary="Put a case study in the pipeline")
def create_case_study(body: CaseStudyIn, response: Response, acc: Access = Depends(allowed("write")),
                      ctx: AppContext = Depends(get_context)):
    """One of the same account and title still in the pipeline is returned as it is (200)."""
    open_account(acc, ctx, body.account_id)
    with ctx.db() as session:
        cs, created = service.create_case_study(session, account_id=body.account_id, title=body.title,
                                                contact_id=body.contact_id, owner=acc.who.username,
                                                stage=body.stage, settings=ctx.config.advocacy,
                                                actor=acc.who.username)
        _created(response, created)
        return service.case_study_dict(cs, service.case_study_moves(session, cs.id))


@router.post("/case-studies/{case_study_id}/stage", response_model=CaseStudyOut, responses=WRITE,
             summary="Move a case study to another stage")
def move_case_study(body: CaseStudyMoveIn, case_study_id: int = Path(ge=1, le=2**31 - 1, description="case study id"), acc: Access = Depends(allowed("write")),
                    ctx: AppContext = Depends(get_context)):
    """Every move is kept with who made it and when (and audited)."""
    with ctx.db() as session:
        account_id = service.get_case_study(session, case_study_id).account_id
    open_account(acc, ctx, account_id)
    with ctx.db() as session:
        cs = service.move_case_study(session, case_study_id, body.stage, note=body.note, url=body.url,
                                     settings=ctx.config.advocacy, actor=acc.who.username)
        return service.case_study_dict(cs, service.case_study_moves(session, cs.id))


# -- referrals ------------------------------------------------------------------------------------------

@router.get("/referrals", response_model=Referrals, summary="Referrals and the ARR they bring")
def list_referrals(status: ReferralStatus | None = None,
                   day: date | None = Query(None, description="the day ARR is read on; default: the data's day"),
                   page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500),
                   acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """Referrals made by the caller's book's accounts; a linked one carries its account's ARR on
    `day` (tenure.metrics.arr), and total_arr sums every linked referral of the book."""
    from tenure.warehouse.asof import resolve_as_of

    wh = ctx.warehouse()
    book = _book(acc, ctx)
    on = resolve_as_of(wh, day)
    with ctx.db() as session:
        found = service.list_referrals(session, accounts=book, status=status, limit=page_size,
                                       offset=(page - 1) * page_size)
        arr = service.referral_arr(wh, ctx.config, session, day=on, accounts=book,
                                   ids=[r["id"] for r in found.rows]) if on else None
    if arr:
        for r in found.rows:
            r["arr"] = arr["by_referral"].get(r["id"])
    return {**paginated(found.rows, found.total, page, page_size), "day": on,
            "total_arr": float(arr["total_arr"]) if arr else 0.0}


@router.post("/referrals", response_model=ReferralOut, status_code=201, responses=WRITE,
             summary="Record a referral")
def create_referral(body: ReferralIn, response: Response, acc: Access = Depends(allowed("write")),
                    ctx: AppContext = Depends(get_context)):
    """The same company referred by the same account again is returned as it is (200)."""
    open_account(acc, ctx, body.account_id)
    if body.contact_id:
        found = service.contact_account(ctx.warehouse(), body.contact_id)
        if found["account_id"] != body.account_id:
            from tenure.errors import InputError

            raise InputError(f"contact {body.contact_id} is at account {found['account_id']}, not {body.account_id}")
    with ctx.db() as session:
        r, created = service.add_referral(session, account_id=body.account_id, company=body.company,
                                          contact_id=body.contact_id, note=body.note, actor=acc.who.username)
        _created(response, created)
        return service.referral_dict(r)


@router.patch("/referrals/{referral_id}", response_model=ReferralOut, responses=WRITE,
              summary="Change a referral's status or link the account it became")
def change_referral(body: ReferralChange, referral_id: int = Path(ge=1, le=2**31 - 1, description="referral id"), acc: Access = Depends(allowed("write")),
                    ctx: AppContext = Depends(get_context)):
    """Linking `referred_account_id` (an account in the warehouse) makes the referral won."""
    with ctx.db() as session:
        account_id = service.get_referral(session, referral_id).account_id
    open_account(acc, ctx, account_id)
    if body.referred_account_id:
        service.account_exists(ctx.warehouse(), body.referred_account_id)
    with ctx.db() as session:
        return service.referral_dict(service.update_referral(
            session, referral_id, status=body.status, referred_account_id=body.referred_account_id, note=body.note,
            actor=acc.who.username))


# -- advisory boards ------------------------------------------------------------------------------------

@router.get("/board-members", response_model=Paginated[MemberOut], summary="Advisory-board members")
def list_members(board: str | None = Query(None, max_length=100),
                 active: bool = Query(False, description="only terms that include today"),
                 page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500),
                 acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """Memberships of the caller's book's contacts, by board."""
    from tenure.state.models import utcnow

    book = _book(acc, ctx)
    with ctx.db() as session:
        found = service.list_members(session, accounts=book, board=board,
                                     active_on=utcnow().date() if active else None, limit=page_size,
                                     offset=(page - 1) * page_size)
    return paginated(found.rows, found.total, page, page_size)


@router.post("/board-members", response_model=MemberOut, status_code=201, responses=WRITE,
             summary="Add a contact to an advisory board")
def add_member(body: MemberIn, response: Response, acc: Access = Depends(allowed("write")),
               ctx: AppContext = Depends(get_context)):
    """The same board, contact and term start again is returned as it is (200); 422 for a term
    overlapping one of the contact's on the same board."""
    found = _contact(acc, ctx, body.contact_id)
    with ctx.db() as session:
        m, created = service.add_member(session, board=body.board, contact_id=body.contact_id,
                                        account_id=found["account_id"], term_start=body.term_start,
                                        term_end=body.term_end, settings=ctx.config.advocacy, actor=acc.who.username)
        _created(response, created)
        return service.member_dict(m)


@router.post("/board-members/{member_id}/end", response_model=MemberOut, responses=ONE,
             summary="End an advisory-board term")
def end_member(body: MemberEnd, member_id: int = Path(ge=1, le=2**31 - 1, description="board membership id"), acc: Access = Depends(allowed("write")),
               ctx: AppContext = Depends(get_context)):
    with ctx.db() as session:
        account_id = service.get_member(session, member_id).account_id
    open_account(acc, ctx, account_id)
    with ctx.db() as session:
        return service.member_dict(service.end_member(session, member_id, term_end=body.term_end,
                                                      actor=acc.who.username))
