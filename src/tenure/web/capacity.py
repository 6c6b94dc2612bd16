"""The team capacity page (/capacity): accounts and ARR per CSM against capacity by touch level,
utilisation per CSM and per team, and the unassigned customers. The report is
`tenure.playbooks.capacity.capacity` (what `tenure capacity --json` prints), computed once per data
version; this module only scopes it.

Scope (tenure.access): a principal that sees every account sees every CSM, team and unassigned
customer. A book-limited principal (a manager: its team and itself; a CSM: itself) sees the CSMs of
its book, the teams all of whose members are in its book, and only the count and ARR of the
unassigned customers (they are outside every book, so none is named)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from tenure.http.auth import Access
from tenure.http.context import AppContext, get_context
from tenure.web.login import page_access
from tenure.web.render import render

__all__ = ["capacity_view", "router"]

router = APIRouter(include_in_schema=False)


def capacity_view(report: dict, owners: list[str] | None, team_members: dict[str, list[str]]) -> dict:
    """`report` (CapacityReport.to_dict()) limited to a book: `owners` None = everything;
    `team_members` {team: its members} from tenure.yaml operating_model.teams."""
    if owners is None:
        return {**report, "limited": False}
    book = set(owners)
    teams = [t for t in report["teams"] if team_members.get(t["team"]) and set(team_members[t["team"]]) <= book]
    unassigned = {k: v for k, v in report["unassigned"].items() if k != "largest"}
    return {**report, "csms": [c for c in report["csms"] if c["csm"] in book], "teams": teams,
            "unassigned": {**unassigned, "largest": []}, "limited": True}


def _report(ctx: AppContext) -> dict[str, Any]:
    from tenure.http.cache import cached
    from tenure.playbooks.capacity import capacity
    from tenure.warehouse.asof import require_as_of

    def build() -> dict:
        wh = ctx.warehouse()
        return capacity(wh, ctx.config, require_as_of(wh, None)).to_dict()

    return cached(ctx, ("web", "capacity"), build)


@router.get("/capacity", response_class=HTMLResponse)
def capacity_page(request: Request, acc: Access = Depends(page_access), ctx: AppContext = Depends(get_context)):
    from tenure.portfolio.accounts import owner_names

    members = {name: list(t.members) for name, t in ctx.config.operating_model.teams.items()}
    view = capacity_view(_report(ctx), acc.owners, members)
    names = owner_names(ctx.warehouse(), acc.owners)
    return render(request, "capacity.html", title="Capacity", view=view, owner_names=names)
