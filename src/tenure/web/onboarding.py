"""The onboarding page (/onboarding): the accounts onboarding in the principal's book of business,
with their plan, milestones done / due / overdue, status (on track, behind, stuck), days since the
contract start, and time to value by segment and cohort. Every figure comes from the read model
(tenure.portfolio.onboarding); a CSM sees its own book, a manager its team's (tenure.access)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from tenure.http.auth import Access
from tenure.http.context import AppContext, get_context
from tenure.web.login import page_access
from tenure.web.render import query_url, render

__all__ = ["OnboardingParams", "router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZES = (25, 50, 100, 200)
STATUS_LABELS = {"on_track": "On track", "behind": "Behind", "stuck": "Stuck", "no_plan": "No plan"}


class OnboardingParams:
    """The onboarding page's query string (the filter form and the paging links share it)."""

    def __init__(self, owner: str | None = Query(None, max_length=100), segment: str | None = Query(None, max_length=100),
                 status: str | None = Query(None, max_length=20), page: int = Query(1, ge=1, le=1_000_000),
                 size: int = Query(50, ge=1, le=500)):
        self.owner, self.segment, self.status, self.page, self.size = owner, segment, status, page, size

    def filters(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("owner", "segment", "status") if getattr(self, k)}

    def url(self, **change: Any) -> str:
        values = {**self.filters(), "page": self.page, "size": self.size}
        values.update(change)
        return query_url("/onboarding", values, {"page": 1, "size": 50})


@router.get("/onboarding", response_class=HTMLResponse)
def onboarding_page(request: Request, p: OnboardingParams = Depends(), acc: Access = Depends(page_access),
                    ctx: AppContext = Depends(get_context)):
    from tenure.health.onboarding import onboarding_settings
    from tenure.portfolio.onboarding import ONBOARDING_STATUSES, onboarding_view, time_to_value

    wh = ctx.warehouse()
    # the owner filter narrows inside the book: the read model never leaves acc.owners
    view = onboarding_view(wh, ctx.config, acc.owners, owner=p.owner, segment=p.segment, status=p.status,
                           page=p.page, page_size=p.size)
    acc.figure("metrics", ["segment"])
    ttv = time_to_value(wh, ctx.config, view.as_of) if view.as_of else {"segments": [], "cohorts": []}
    order = {s: i for i, s in enumerate(ctx.config.segments)}
    for rows in ttv.values():
        rows.sort(key=lambda r: (r["period"], order.get(r["segment"], 99), r["segment"]))
        for r in rows:
            for k in ("median_days", "p25_days", "p75_days"):
                if r[k] is not None and r[k] != r[k]:
                    r[k] = None
    pg = view.page
    first = (pg.page - 1) * pg.page_size + 1 if pg.rows else 0
    return render(request, "onboarding.html", title="Onboarding", p=p, view=view, pg=pg, first=first,
                  last=first + len(pg.rows) - 1 if pg.rows else 0, statuses=ONBOARDING_STATUSES,
                  status_labels=STATUS_LABELS, page_sizes=PAGE_SIZES, ttv=ttv,
                  plans=ctx.config.onboarding_plans, onboarding_days=onboarding_settings(ctx.config).days)
