"""The renewals page (/renewals): upcoming renewals in the principal's book of business, asked of
the portfolio read model (tenure.portfolio.renewals), with the band -> renewal-probability table.
Its own router, mounted beside the other pages (tenure.web.mount)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from tenure.http.auth import Access
from tenure.http.context import AppContext, get_context
from tenure.web.login import page_access
from tenure.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/renewals", response_class=HTMLResponse)
def renewals_page(request: Request, within: int = Query(180, ge=1, le=730),
                  acc: Access = Depends(page_access), ctx: AppContext = Depends(get_context)):
    from tenure.portfolio.renewals import renewal_totals, renewals
    from tenure.portfolio.summary import band_renewal_table

    wh = ctx.warehouse()
    acc.figure("band_table")
    rows = renewals(wh, acc.owners, within_days=within, limit=500).rows
    totals = renewal_totals(wh, acc.owners, within_days=within)
    return render(request, "renewals.html", title="Renewals", rows=rows, within=within,
                  windows=(30, 90, 180, 365), bands=band_renewal_table(wh), total_accounts=totals["accounts"],
                  total_arr=totals["renewal_arr"], total_expected=totals["expected_renewal_arr"])
