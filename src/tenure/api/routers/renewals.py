"""Renewals: upcoming renewals in the caller's book of business (filtered, paged, with month
subtotals and the total), and the forecast call on each renewal — commit, best case or at risk,
with the next step — set by the account's CSM or its manager (the one access policy) and audited.
The same read model and service as the renewals page (tenure.portfolio.renewals)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from tenure.api.routers.common import plain_rows
from tenure.api.schemas import COMMON_PROBLEMS, Band, UtcDateTime, problem_responses
from tenure.http.auth import Access, allowed, client_ip, open_account
from tenure.http.context import AppContext, get_context

router = APIRouter(prefix="/renewals", tags=["renewals"], responses=COMMON_PROBLEMS)
CALL_RESPONSES = problem_responses(404, 409)

Category = Literal["commit", "best_case", "at_risk", "not_set"]


class RenewalRow(BaseModel):
    account_id: str
    name: str | None = None
    owner: str | None = Field(None, description="the owning CSM (accounts.owner)")
    owner_name: str | None = Field(None, description="the owning CSM's name, where the data has one")
    segment: str | None = None
    band: str | None = None
    arr: float | None = Field(None, description="ARR on the as-of day, reporting currency")
    renewal_arr: float | None = Field(None, description="ARR on the lines renewing on renewal_date")
    renewal_date: date | None = None
    days_to_renewal: int | None = None
    renewal_term: str | None = Field(None, description="monthly or quarterly for a rolling term (no renewal date)")
    renewal_month: str = Field(description="YYYY-MM of the renewal, or 'rolling'")
    renewal_key: str | None = Field(None, description="the renewal a forecast call is made on")
    risk: float | None = Field(None, description="churn risk over the model's horizon")
    renewal_probability: float | None = Field(None, description="1 - churn risk (band average without a score)")
    renewal_source: str | None = None
    expected_renewal_arr: float | None = None
    forecast_category: Literal["commit", "best_case", "at_risk"] | None = Field(None, description="null: not set")
    amount_override: float | None = None
    next_step: str | None = None
    call_set_by: str | None = None
    call_set_at: UtcDateTime | None = None
    last_touch_at: UtcDateTime | None = Field(None, description="the latest activity or note")
    last_touch: str | None = Field(None, description="its kind (qbr, call, note, ...)")
    open_renewal_stage: str | None = None


class Subtotal(BaseModel):
    accounts: int
    renewal_arr: float
    expected_renewal_arr: float


class MonthSubtotal(Subtotal):
    month: str


class RenewalPage(BaseModel):
    items: list[RenewalRow]
    total: int = Field(ge=0, description="matching renewals over all pages")
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
    pages: int = Field(ge=1)
    currency: str = Field(description="the reporting currency of every amount")
    months: list[MonthSubtotal] = Field(description="subtotals per renewal month over every matching renewal")
    totals: Subtotal = Field(description="the grand total over every matching renewal")


class CallIn(BaseModel):
    category: Category = Field(description="commit, best_case, at_risk, or not_set")
    next_step: str | None = Field(None, max_length=1000)
    amount_override: float | None = Field(None, ge=0, lt=1e16, description="expected renewal ARR if not the "
                                                                             "model's, reporting currency")
    renewal_key: str | None = Field(None, max_length=20, description="the renewal the caller saw (409 when the "
                                                                        "account's renewal has moved since)")


class CallOut(BaseModel):
    account_id: str
    renewal_key: str
    renewal_date: date | None = None
    category: Literal["commit", "best_case", "at_risk"] | None = None
    amount_override: float | None = None
    currency: str | None = None
    next_step: str | None = None
    set_by: str | None = None
    set_at: UtcDateTime | None = None


@router.get("", response_model=RenewalPage, summary="Upcoming renewals in the book of business")
def list_renewals(within_days: int = Query(180, ge=1, le=3660), owner: str | None = Query(None, max_length=100),
                  segment: str | None = Query(None, max_length=100),
                  month: str | None = Query(None, max_length=10, description="YYYY-MM, or 'rolling'"),
                  band: Band | None = None, page: int = Query(1, ge=1, le=1_000_000),
                  page_size: int = Query(50, ge=1, le=500), acc: Access = Depends(allowed("read")),
                  ctx: AppContext = Depends(get_context)):
    """Renewals in the next `within_days` days, soonest first, with the renewal probability (1 -
    churn risk), expected renewal ARR, forecast call, next step and last touch; a CSM sees its own
    book, a manager its team's."""
    from tenure.portfolio.renewals import RenewalFilter, renewal_view

    flt = RenewalFilter(within_days=within_days, owner=owner, segment=segment, month=month, band=band,
                        owners=acc.owners)
    view = renewal_view(ctx.warehouse(), ctx.db, flt, page=page, page_size=page_size)
    pg = view.page
    return {"items": plain_rows(pg.rows), "total": pg.total, "page": pg.page, "page_size": pg.page_size,
            "pages": pg.pages, "currency": ctx.config.reporting_currency, "months": view.months,
            "totals": view.totals}


def _call_of(ctx: AppContext, account_id: str) -> dict:
    from tenure.errors import ConflictError
    from tenure.portfolio.renewals import current_renewal
    from tenure.state.renewal_calls import get_calls

    renewal = current_renewal(ctx.warehouse(), account_id)
    if renewal is None:
        raise ConflictError(f"account {account_id} has no upcoming renewal (not a customer, or no term known)")
    with ctx.db() as session:
        call = get_calls(session, [(account_id, renewal["renewal_key"])]).get((account_id, renewal["renewal_key"]))
    return call or {"account_id": account_id, "renewal_key": renewal["renewal_key"],
                    "renewal_date": renewal["renewal_date"], "category": None}


@router.get("/{account_id}/call", response_model=CallOut, responses=CALL_RESPONSES,
            summary="The forecast call on the account's next renewal")
def get_call(account_id: str, acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    """The call on the account's current renewal (category null: not set)."""
    open_account(acc, ctx, account_id)
    return _call_of(ctx, account_id)


@router.put("/{account_id}/call", response_model=CallOut, responses=CALL_RESPONSES,
            summary="Set the forecast call on the account's next renewal")
def put_call(request: Request, body: CallIn, account_id: str, acc: Access = Depends(allowed("write")),
             ctx: AppContext = Depends(get_context)):
    """Commit, best case or at risk (or not_set), the next step and an optional amount: the
    account's CSM, its manager, or a principal that sees every account; audited. Idempotent."""
    from tenure.portfolio.renewals import call_renewal

    return call_renewal(ctx.warehouse(), ctx.db, acc, account_id, renewal_key=body.renewal_key,
                        category=body.category, next_step=body.next_step, amount_override=body.amount_override,
                        currency=ctx.config.reporting_currency, ip=client_ip(request))


@router.delete("/{account_id}/call", status_code=204, responses=CALL_RESPONSES,
               summary="Remove the forecast call on the account's next renewal")
def delete_call(request: Request, account_id: str, acc: Access = Depends(allowed("write")),
                ctx: AppContext = Depends(get_context)):
    """Back to "not set" (audited); 204 whether or not there was a call."""
    from tenure.portfolio.renewals import current_renewal
    from tenure.state.renewal_calls import clear_call

    open_account(acc, ctx, account_id)
    renewal = current_renewal(ctx.warehouse(), account_id)
    if renewal is not None:
        with ctx.db() as session:
            clear_call(session, account_id, renewal["renewal_key"], actor=acc.who.username, ip=client_ip(request))
    return Response(status_code=204)
