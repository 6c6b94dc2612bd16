"""The advocacy page (/advocacy): reference candidates of the principal's book with the reasons
each qualifies and a form to ask one (refused over the fatigue ledger's cap, with when the contact
is next available), reference requests and their status, the case-study pipeline, referrals with
the ARR they bring, and advisory-board members. Plain POST forms with the session's CSRF token
(page_writer), 303 back to the page; a refusal is the error page with the service's message. A CSM
sees and works its own book, a manager its team's (tenure.access: Access.owners, open_account).
The service is tenure.voc.advocacy; every change is audited there."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenure.http.auth import Access, open_account
from tenure.http.context import AppContext, get_context
from tenure.state.models import REFERENCE_STATUSES, REFERRAL_STATUSES, utcnow
from tenure.voc import advocacy as service
from tenure.web.login import page_access, page_writer
from tenure.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

CANDIDATES_PER_PAGE = 25
LIST_LIMIT = 50
DONE = {"requested": "Reference request {name} recorded.", "already": "Reference request {name} was already open.",
        "status": "Reference request {name} updated.", "case_study": "Case study {name} saved.",
        "moved": "Case study {name} moved.", "referral": "Referral {name} saved.", "member": "Board member {name} saved.",
        "ended": "Board term {name} ended."}


def _back(outcome: str, name: object, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/advocacy?{urlencode({'done': outcome, 'name': str(name)})}#{anchor}", status_code=303)


@router.get("/advocacy", response_class=HTMLResponse)
def advocacy_page(request: Request, page: int = Query(1, ge=1, le=100_000),
                  segment: str | None = Query(None, max_length=100), acc: Access = Depends(page_access),
                  ctx: AppContext = Depends(get_context)):
    from tenure.warehouse.asof import resolve_as_of

    wh = ctx.warehouse()
    s = ctx.config.advocacy
    day = resolve_as_of(wh)
    book = service.book_accounts(wh, acc.owners)
    with ctx.db() as session:
        cands = (service.candidates(wh, ctx.config, session, as_of=day, owners=acc.owners, segment=segment or None,
                                    limit=CANDIDATES_PER_PAGE, offset=(page - 1) * CANDIDATES_PER_PAGE)
                 if day else service.CandidatePage([], 0, None))
        requests = service.list_requests(session, accounts=book, limit=LIST_LIMIT)
        open_requests = service.list_requests(session, accounts=book, status=["requested", "accepted"], limit=0).total
        stages = service.pipeline_counts(session, accounts=book, settings=s)
        studies = service.list_case_studies(session, accounts=book, limit=LIST_LIMIT)
        referrals = service.list_referrals(session, accounts=book, limit=LIST_LIMIT)
        arr = (service.referral_arr(wh, ctx.config, session, day=day, accounts=book,
                                    ids=[r["id"] for r in referrals.rows]) if day else None)
        members = service.list_members(session, accounts=book, limit=LIST_LIMIT, active_on=utcnow().date())
    names = service.account_names(wh, [r["account_id"] for r in (*requests.rows, *studies.rows, *referrals.rows,
                                                                 *members.rows)]
                                  + [r["referred_account_id"] for r in referrals.rows if r["referred_account_id"]])
    people = service.contact_names(wh, [r["contact_id"] for r in (*requests.rows, *studies.rows, *members.rows)
                                        if r.get("contact_id")])
    for r in referrals.rows:
        r["arr"] = arr["by_referral"].get(r["id"]) if arr else None
    q = request.query_params
    done = DONE[q["done"]].format(name=q.get("name", "")) if q.get("done") in DONE else None
    pages = max(1, -(-cands.total // CANDIDATES_PER_PAGE))
    return render(request, "advocacy.html", title="Advocacy", settings=s, as_of=day, cands=cands, page=page,
                  pages=pages, segment=segment or "", segments=ctx.config.segments, requests=requests,
                  open_requests=open_requests, stages=stages, studies=studies, referrals=referrals, arr=arr,
                  members=members, names=names, people=people, done=done, request_statuses=REFERENCE_STATUSES,
                  referral_statuses=REFERRAL_STATUSES, today=utcnow().date(),
                  moves={k: v for k, v in service.REQUEST_MOVES.items()})


@router.post("/advocacy/reference-requests")
def ask_reference(contact_id: str = Form(..., min_length=1, max_length=100),
                  team: str = Form(..., min_length=1, max_length=100),
                  opportunity_id: str = Form("", max_length=100), prospect: str = Form("", max_length=255),
                  purpose: str = Form("", max_length=10_000), acc: Access = Depends(page_writer),
                  ctx: AppContext = Depends(get_context)):
    """Ask a contact of the principal's book for a reference (409 over the fatigue ledger's cap)."""
    found = service.contact_account(ctx.warehouse(), contact_id)
    open_account(acc, ctx, found["account_id"])  # 404 / 403
    with ctx.db() as session:
        r, created = service.request_reference(session, contact_id=contact_id, account_id=found["account_id"],
                                               team=team, requested_by=acc.who.username,
                                               opportunity_id=opportunity_id or None, prospect=prospect or None,
                                               purpose=purpose, settings=ctx.config.advocacy)
        rid = r.id
    return _back("requested" if created else "already", rid, "requests")


@router.post("/advocacy/reference-requests/{request_id}")
def change_request(request_id: int, status: str = Form(..., max_length=20), note: str = Form("", max_length=10_000),
                   acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    with ctx.db() as session:
        account_id = service.get_request(session, request_id).account_id
    open_account(acc, ctx, account_id)
    with ctx.db() as session:
        service.set_request_status(session, request_id, status, note=note or None, actor=acc.who.username)
    return _back("status", request_id, "requests")


@router.post("/advocacy/case-studies")
def create_case_study(account_id: str = Form(..., min_length=1, max_length=100),
                      title: str = Form(..., min_length=1, max_length=255), contact_id: str = Form("", max_length=100),
                      acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    open_account(acc, ctx, account_id)
    with ctx.db() as session:
        cs, _ = service.create_case_study(session, account_id=account_id, title=title, contact_id=contact_id or None,
                                          owner=acc.who.username, settings=ctx.config.advocacy,
                                          actor=acc.who.username)
        cid = cs.id
    return _back("case_study", cid, "case-studies")


@router.post("/advocacy/case-studies/{case_study_id}/stage")
def move_case_study(case_study_id: int, stage: str = Form(..., max_length=50), url: str = Form("", max_length=500),
                    acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    with ctx.db() as session:
        account_id = service.get_case_study(session, case_study_id).account_id
    open_account(acc, ctx, account_id)
    with ctx.db() as session:
        service.move_case_study(session, case_study_id, stage, url=url or None, settings=ctx.config.advocacy,
                                actor=acc.who.username)
    return _back("moved", case_study_id, "case-studies")


@router.post("/advocacy/referrals")
def add_referral(account_id: str = Form(..., min_length=1, max_length=100),
                 company: str = Form(..., min_length=1, max_length=255), contact_id: str = Form("", max_length=100),
                 acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    open_account(acc, ctx, account_id)
    with ctx.db() as session:
        r, _ = service.add_referral(session, account_id=account_id, company=company, contact_id=contact_id or None,
                                    actor=acc.who.username)
        rid = r.id
    return _back("referral", rid, "referrals")


@router.post("/advocacy/referrals/{referral_id}")
def change_referral(referral_id: int, status: str = Form("", max_length=20),
                    referred_account_id: str = Form("", max_length=100), acc: Access = Depends(page_writer),
                    ctx: AppContext = Depends(get_context)):
    with ctx.db() as session:
        account_id = service.get_referral(session, referral_id).account_id
    open_account(acc, ctx, account_id)
    if referred_account_id:
        service.account_exists(ctx.warehouse(), referred_account_id)
    with ctx.db() as session:
        service.update_referral(session, referral_id, status=status or None,
                                referred_account_id=referred_account_id or None, actor=acc.who.username)
    return _back("referral", referral_id, "referrals")


@router.post("/advocacy/board-members")
def add_member(board: str = Form(..., min_length=1, max_length=100),
               contact_id: str = Form(..., min_length=1, max_length=100), term_start: date = Form(...),
               term_end: str = Form("", max_length=10), acc: Access = Depends(page_writer),
               ctx: AppContext = Depends(get_context)):
    from tenure.errors import InputError

    found = service.contact_account(ctx.warehouse(), contact_id)
    open_account(acc, ctx, found["account_id"])
    try:
        end = date.fromisoformat(term_end) if term_end else None
    except ValueError:
        raise InputError(f"term_end {term_end!r} is not a date (YYYY-MM-DD)") from None
    with ctx.db() as session:
        m, _ = service.add_member(session, board=board, contact_id=contact_id, account_id=found["account_id"],
                                  term_start=term_start, term_end=end, settings=ctx.config.advocacy,
                                  actor=acc.who.username)
        mid = m.id
    return _back("member", mid, "boards")


@router.post("/advocacy/board-members/{member_id}/end")
def end_member(member_id: int, term_end: date = Form(...), acc: Access = Depends(page_writer),
               ctx: AppContext = Depends(get_context)):
    with ctx.db() as session:
        account_id = service.get_member(session, member_id).account_id
    open_account(acc, ctx, account_id)
    with ctx.db() as session:
        service.end_member(session, member_id, term_end=term_end, actor=acc.who.username)
    return _back("ended", member_id, "boards")
