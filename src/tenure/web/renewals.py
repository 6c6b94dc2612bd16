"""The renewals page (/renewals): upcoming renewals in the principal's book of business, filtered
by CSM, segment, renewal month and health band, grouped by month with a subtotal per month and a
grand total, paged on the server, exported as CSV (/renewals.csv), and a forecast call per renewal
(commit, best case, at risk, with the next step) set by the account's CSM or its manager
(POST /renewals/{account_id}/call, CSRF-checked, audited). Plus the band -> renewal-probability
table, the same computation as `tenure health validate`.

Every number comes from the portfolio read model (tenure.portfolio.renewals); the calls are
stored by tenure.state.renewal_calls. Its own router, mounted beside the other pages
(tenure.web.mount)."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenure.http.auth import Access, client_ip
from tenure.http.context import AppContext, get_context
from tenure.schema.health import BANDS
from tenure.web.login import page_access, page_writer
from tenure.web.pages import _csv_safe  # the one formula-injection guard of the CSV exports
from tenure.web.render import query_url, render

__all__ = ["RenewalParams", "router"]

router = APIRouter(include_in_schema=False)

WINDOWS = (30, 90, 180, 365)
PAGE_SIZES = (25, 50, 100, 200)
CATEGORIES = (("", "Not set"), ("commit", "Commit"), ("best_case", "Best case"), ("at_risk", "At risk"))


class RenewalParams:
    """The renewals page's query string (the filter form, paging links and the CSV link share it)."""

    def __init__(self, within: int = Query(180, ge=1, le=730), owner: str | None = Query(None, max_length=100),
                 segment: str | None = Query(None, max_length=100), month: str | None = Query(None, max_length=10),
                 band: str | None = Query(None, max_length=20), page: int = Query(1, ge=1, le=1_000_000),
                 size: int = Query(50, ge=1, le=500)):
        self.within, self.owner, self.segment, self.month, self.band = within, owner, segment, month, band
        self.page, self.size = page, size

    def filters(self) -> dict[str, Any]:
        keys = ("owner", "segment", "month", "band")
        out: dict[str, Any] = {k: getattr(self, k) for k in keys if getattr(self, k)}
        if self.within != 180:
            out["within"] = self.within
        return out

    def url(self, base: str = "/renewals", **change: Any) -> str:
        values = {**self.filters(), "page": self.page, "size": self.size}
        values.update(change)
        return query_url(base, values, {"page": 1, "size": 50})

    def renewal_filter(self, acc: Access):
        from tenure.portfolio.renewals import RenewalFilter

        return RenewalFilter(within_days=self.within, owner=self.owner, segment=self.segment, month=self.month,
                             band=self.band, owners=acc.owners).checked()


def _month_label(month: str) -> str:
    from tenure.portfolio.renewals import ROLLING, month_bounds

    if month == ROLLING:
        return "Rolling terms (monthly, quarterly): no renewal date"
    return month_bounds(month)[0].strftime("%B %Y")


@router.get("/renewals", response_class=HTMLResponse)
def renewals_page(request: Request, p: RenewalParams = Depends(), acc: Access = Depends(page_access),
                  ctx: AppContext = Depends(get_context)):
    from tenure.health import BAND_TABLE
    from tenure.portfolio.renewals import ROLLING, renewal_choices, renewal_view
    from tenure.portfolio.summary import band_renewal_table

    wh = ctx.warehouse()
    acc.figure("band_table")
    view = renewal_view(wh, ctx.db, p.renewal_filter(acc), page=p.page, page_size=p.size)
    choices = renewal_choices(wh, acc.owners, within_days=p.within)
    owner_names = {c["key"]: c["name"] for c in choices["owners"]}
    return render(request, "renewals.html", title="Renewals", p=p, view=view, groups=view.groups(),
                  choices=choices, owner_names=owner_names, month_label=_month_label, rolling=ROLLING,
                  windows=WINDOWS, page_sizes=PAGE_SIZES, bands=BANDS, categories=CATEGORIES,
                  band_table=band_renewal_table(wh), band_params=BAND_TABLE,
                  export_url=p.url("/renewals.csv", page=None, size=None), here=p.url())


@router.get("/renewals.csv")
def renewals_csv(p: RenewalParams = Depends(), acc: Access = Depends(page_access),
                 ctx: AppContext = Depends(get_context)):
    """Every renewal matching the filters (within the book of business), with its forecast call, as CSV."""
    import pyarrow.csv as pacsv

    from tenure.portfolio.renewals import export_renewals

    table = _csv_safe(export_renewals(ctx.warehouse(), ctx.db, p.renewal_filter(acc)))
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="renewals.csv"', "Cache-Control": "no-store"})


def _back(back: str | None) -> str:
    """Where the form returns to: a /renewals URL on this site, never elsewhere."""
    parts = urlsplit(back or "")
    if parts.scheme or parts.netloc or parts.path != "/renewals":
        return "/renewals"
    return "/renewals" + (f"?{parts.query}" if parts.query else "")


@router.post("/renewals/{account_id}/call")
def set_call_form(request: Request, account_id: str, renewal_key: str = Form("", max_length=20),
                  category: str = Form("", max_length=20), next_step: str = Form("", max_length=2000),
                  back: str = Form("/renewals", max_length=2000), acc: Access = Depends(page_writer),
                  ctx: AppContext = Depends(get_context)):
    """The forecast call on the account's next renewal: the account's CSM, its manager or a
    principal that sees every account (the access policy); audited."""
    from tenure.portfolio.renewals import call_renewal

    call = call_renewal(ctx.warehouse(), ctx.db, acc, account_id, renewal_key=renewal_key or None,
                        category=category, next_step=next_step, currency=ctx.config.reporting_currency,
                        ip=client_ip(request))
    target = _back(back)
    return RedirectResponse(f"{target}#call-{call['account_id']}", status_code=303)
