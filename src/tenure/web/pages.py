"""The server-rendered pages: executive, portfolio (+ CSV export), account 360 (+ notes), cockpit
and data quality (the renewals page is tenure.web.renewals); plus login/logout (tenure.web.login) and the locally served chart
library. Every page is scoped by the principal's book of business and asks the compute stages
(tenure.portfolio, tenure.metrics, tenure.ingest.identity) for its numbers.

Pages work without JavaScript: filters are GET forms, sorting and paging are links, notes are a
POST form. When htmx is present (static/vendor/htmx.min.js, fetched at set-up time) the
portfolio filters and the notes form update in place; requests from htmx get only the fragment.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from tenure.http.auth import Access, client_ip, open_account
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.schema.health import BANDS
from tenure.state import audit
from tenure.state.models import Note, User
from tenure.state.runs import list_runs
from tenure.web import charts
from tenure.web.login import page_access, page_writer
from tenure.web.login import router as login_router
from tenure.web.render import error_page, query_url, render

__all__ = ["error_page", "router"]

router = APIRouter(include_in_schema=False)
router.include_router(login_router)

STATUSES = ("customer", "churned", "prospect", "all")
PAGE_SIZES = (25, 50, 100, 200)
TIMELINE_KINDS = (("contract", "Contracts"), ("ticket", "Tickets"), ("survey", "Surveys"),
                  ("activity", "Activities"), ("milestone", "Milestones"), ("signal", "Signals"),
                  ("opportunity", "Opportunities"), ("invoice", "Invoices"), ("churn", "Churn"))
CSV_COLUMNS = ("account_id", "name", "domain", "segment", "region", "industry", "tier", "owner", "owner_name",
               "status", "arr", "arr_change_90", "customer_since", "score", "band", "score_change_30", "band_30",
               "risk", "arr_at_risk", "renewal_date", "days_to_renewal", "renewal_term", "renewal_arr",
               "open_renewal_stage", "as_of")
NOTE_MAX = 5000


def _plotly_path() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@router.get("/static/vendor/plotly.min.js")
def plotly_js() -> Response:
    """Plotly's bundled file from the installed `plotly` package (no CDN)."""
    path = _plotly_path()
    if not path.exists():
        raise Problem(404, "plotly.min.js is not installed (pip install plotly)")
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


def _hx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


# -- executive ------------------------------------------------------------------------------------

def _check_period(text: str | None) -> None:
    """A page's `period` parameter: 422 with the accepted forms, never a 500 (year 0000 is not a
    calendar date; years outside 1900-2200 are refused as the API refuses them)."""
    from tenure.errors import InputError
    from tenure.metrics.periods import parse_period

    if not text:
        return
    try:
        p = parse_period(text)
    except InputError as err:
        raise Problem(422, str(err), kind="invalid-input") from None
    except (ValueError, OverflowError):
        raise Problem(422, f"period {text!r} is not a calendar period: use a month (2026-09), quarter (2026-Q3) "
                           "or year (2026)", kind="invalid-input") from None
    if p.first_day.year < 1900 or p.last_day.year > 2200:
        raise Problem(422, f"period {text!r}: years 1900-2200 only", kind="invalid-input")


@router.get("/", response_class=HTMLResponse)
def executive_page(request: Request, period: str | None = Query(None, max_length=40),
                   acc: Access = Depends(page_access), ctx: AppContext = Depends(get_context)):
    from tenure.web.executive import executive_view

    _check_period(period)
    view = executive_view(ctx, ctx.warehouse(), acc, period or None)
    return render(request, "executive.html", title="Executive", **view)


# -- portfolio ------------------------------------------------------------------------------------

def _portfolio_filter(acc: Access, q: str | None, segment: str | None, region: str | None, band: str | None,
                      tier: str | None, owner: str | None, status: str | None):
    from tenure.portfolio.accounts import AccountFilter

    def clean(v: str | None) -> str | None:
        v = (v or "").strip()
        return v or None

    status = clean(status) or "customer"
    if status not in STATUSES:
        raise Problem(422, f"status must be one of {', '.join(STATUSES)}")
    band = clean(band)
    if band is not None and band not in BANDS:
        raise Problem(422, f"band must be one of {', '.join(BANDS)}")
    return AccountFilter(q=clean(q), segment=clean(segment), region=clean(region), band=band, tier=clean(tier),
                         owner=clean(owner), status=None if status == "all" else status,
                         owners=acc.owners)


class PortfolioParams:
    """The portfolio's query string (the filter form, sort links and paging share it)."""

    def __init__(self, q: str | None = Query(None, max_length=200), segment: str | None = Query(None, max_length=100),
                 region: str | None = Query(None, max_length=100), band: str | None = Query(None, max_length=10),
                 tier: str | None = Query(None, max_length=100), owner: str | None = Query(None, max_length=100),
                 status: str | None = Query(None, max_length=20), sort: str = Query("arr", max_length=40),
                 order: str = Query("desc", pattern="^(asc|desc)$"), page: int = Query(1, ge=1, le=1_000_000),
                 size: int = Query(50, ge=1, le=500)):
        self.q, self.segment, self.region, self.band, self.tier, self.owner = q, segment, region, band, tier, owner
        self.status, self.sort, self.order, self.page, self.size = status, sort, order, page, size

    def filters(self) -> dict[str, str]:
        keys = ("q", "segment", "region", "band", "tier", "owner", "status")
        return {k: getattr(self, k) for k in keys if getattr(self, k)}

    def url(self, base: str = "/accounts", **change: Any) -> str:
        values = {**self.filters(), "sort": self.sort, "order": self.order, "page": self.page, "size": self.size}
        values.update(change)
        return query_url(base, values, {"page": 1, "size": 50})


def _choice_pairs(options: dict[str, list]) -> dict[str, list[tuple[str, str]]]:
    """Each filter's choices as (value, text) pairs: the CSM's name as text, its id as the value."""
    return {k: [v if isinstance(v, tuple) else (v, v) for v in values] for k, values in options.items()}


@router.get("/accounts", response_class=HTMLResponse)
def portfolio_page(request: Request, p: PortfolioParams = Depends(), acc: Access = Depends(page_access),
                   ctx: AppContext = Depends(get_context)):
    from tenure.portfolio.account360 import data_as_of
    from tenure.portfolio.accounts import SORTABLE, choices, list_accounts

    wh = ctx.warehouse()
    flt = _portfolio_filter(acc, p.q, p.segment, p.region, p.band, p.tier, p.owner, p.status)
    if p.sort not in SORTABLE:
        raise Problem(422, f"cannot sort by {p.sort!r}")
    result = list_accounts(wh, flt, sort=p.sort, descending=p.order == "desc", page=p.page, page_size=p.size)
    context = dict(title="Portfolio", p=p, result=result, bands=BANDS, statuses=STATUSES, page_sizes=PAGE_SIZES,
                   export_url=p.url("/accounts.csv", page=None, size=None))
    if _hx(request) and request.headers.get("hx-target") == "results":
        return render(request, "_accounts_results.html", **context)
    return render(request, "accounts.html", as_of=data_as_of(wh), options=_choice_pairs(choices(wh, acc.owners)), **context)


def _csv_safe(table):
    """Text cells starting with = + - @ (or a tab/CR) get a leading apostrophe, so a spreadsheet
    does not run them as formulas."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = []
    for i, f in enumerate(table.schema):
        col = table.column(i)
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            risky = pc.fill_null(pc.match_substring_regex(col, r"^[=+\-@\t\r]"), False)
            col = pc.if_else(risky, pc.binary_join_element_wise(pa.scalar("'"), col, ""), col)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


@router.get("/accounts.csv")
def portfolio_csv(p: PortfolioParams = Depends(), acc: Access = Depends(page_access),
                  ctx: AppContext = Depends(get_context)):
    """Every account matching the filters (within the book of business), as CSV."""
    import pyarrow.csv as pacsv

    from tenure.portfolio.accounts import SORTABLE, export_accounts

    flt = _portfolio_filter(acc, p.q, p.segment, p.region, p.band, p.tier, p.owner, p.status)
    if p.sort not in SORTABLE:
        raise Problem(422, f"cannot sort by {p.sort!r}")
    table = export_accounts(ctx.warehouse(), flt, sort=p.sort, descending=p.order == "desc")
    table = _csv_safe(table.select([c for c in CSV_COLUMNS if c in table.column_names]))
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="accounts.csv"', "Cache-Control": "no-store"})


# -- account 360 ----------------------------------------------------------------------------------

def _notes(ctx: AppContext, account_id: str, limit: int = 100) -> list[dict]:
    with ctx.db() as session:
        rows = session.execute(select(Note, User.username, User.full_name).join(User, User.id == Note.author_id)
                               .where(Note.account_id == account_id).order_by(Note.created_at.desc(), Note.id.desc())
                               .limit(limit)).all()
        return [{"id": n.id, "body": n.body, "created_at": n.created_at, "author": full or username}
                for n, username, full in rows]


TIMELINE_PAGE_SIZE = 25
USAGE_WEEKS = 26


def _timeline_url(account_id: str, kind: str | None, page: int) -> str:
    query = urlencode({k: v for k, v in (("kind", kind), ("page", page if page > 1 else None)) if v})
    return f"/accounts/{account_id}" + (f"?{query}" if query else "")


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_page(request: Request, account_id: str, kind: str | None = Query(None, max_length=20),
                 page: int = Query(1, ge=1, le=100_000), acc: Access = Depends(page_access),
                 ctx: AppContext = Depends(get_context)):
    from tenure.portfolio.account360 import KINDS, account_360, timeline_page, weekly_usage

    open_account(acc, ctx, account_id)  # 404 / 403
    kind = kind or None
    if kind is not None and kind not in KINDS:
        raise Problem(422, f"kind must be one of {', '.join(KINDS)}")
    wh = ctx.warehouse()
    # the timeline: one page of events, counted per kind in the engine
    events = timeline_page(wh, account_id, kind=kind, page=page, page_size=TIMELINE_PAGE_SIZE,
                           currency=ctx.config.reporting_currency)
    timeline = dict(a={"account_id": account_id}, items=events.rows, kind=kind, kinds=TIMELINE_KINDS,
                    counts=events.counts, tl=events, tl_url=lambda k=kind, n=1: _timeline_url(account_id, k, n))
    if _hx(request) and request.headers.get("hx-target") == "timeline":
        return render(request, "_timeline.html", **timeline)
    account = account_360(wh, account_id, usage_days=USAGE_WEEKS * 7)  # header, usage and health: one query
    if account is None:
        raise Problem(404, f"no account {account_id!r}")
    weeks = weekly_usage(account["usage"])
    history = account["health_history"]
    latest = history[-1] if history else None
    figures = {}
    if any(w["events"] or w["active_users"] for w in weeks):
        figures["usage"] = charts.usage(weeks)
    if history:
        figures["health"] = charts.health(history)
    sponsors = [c for c in account.get("contacts", []) if c.get("role") in ("exec_sponsor", "champion")]
    timeline["a"] = account
    return render(request, "account.html", title=account.get("name") or account_id, weeks=weeks,
                  usage_weeks=USAGE_WEEKS, history=history, latest=latest, figures=figures, sponsors=sponsors,
                  notes=_notes(ctx, account_id), note_max=NOTE_MAX, **timeline)


@router.post("/accounts/{account_id}/notes")
def add_note(request: Request, account_id: str, body: str = Form("", max_length=NOTE_MAX * 2),
             acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    """A CSM's note on an account in its book of business; audit-logged."""
    open_account(acc, ctx, account_id)  # 404 / 403
    text = body.strip()
    error = None
    if not text:
        error = "A note cannot be empty."
    elif len(text) > NOTE_MAX:
        error = f"A note can have at most {NOTE_MAX} characters."
    if error is None:
        with ctx.db() as session:
            note = Note(account_id=account_id, author_id=acc.who.user_id, body=text)
            session.add(note)
            session.flush()
            audit.record(session, acc.who.username, "create", "note", str(note.id), None,
                         {"account_id": account_id, "body": text},
                         ip=client_ip(request))
    if _hx(request):
        return render(request, "_notes.html", a={"account_id": account_id}, notes=_notes(ctx, account_id),
                      note_max=NOTE_MAX, note_error=error, note_text=text if error else "")  # htmx swaps 2xx only
    if error:
        raise Problem(422, error)
    return RedirectResponse(f"/accounts/{account_id}#notes", status_code=303)


# -- cockpit (the renewals page: tenure.web.renewals) ----------------------------------------

CHANGES_DAYS = 7  # the cockpit's "what changed" window

@router.get("/cockpit", response_class=HTMLResponse)
def cockpit_page(request: Request, acc: Access = Depends(page_access), ctx: AppContext = Depends(get_context)):
    from tenure.portfolio.accounts import AccountFilter, list_accounts
    from tenure.portfolio.cockpit import changes_since
    from tenure.portfolio.renewals import renewals

    wh = ctx.warehouse()
    owners = acc.owners
    at_risk = list_accounts(wh, AccountFilter(owners=owners), sort="risk", descending=True, page_size=20)
    # each list shows at most 100 rows; its heading counts every row (counted in the engine)
    from tenure.portfolio.accounts import owner_names
    from tenure.web.plays import play_suggestions

    return render(request, "cockpit.html", title="Cockpit", at_risk=at_risk, owner_names=owner_names(wh, owners),
                  plays=play_suggestions(ctx, wh, at_risk.rows),
                  renew_90=renewals(wh, owners, within_days=90, limit=100),
                  renew_180=renewals(wh, owners, within_days=180, after_days=91, limit=100),
                  changes=changes_since(wh, owners, days=CHANGES_DAYS, limit=100), changes_days=CHANGES_DAYS)


# -- data quality ---------------------------------------------------------------------------------

@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request, acc: Access = Depends(page_access), ctx: AppContext = Depends(get_context)):
    """Ingest runs, the quarantine with reasons and identity matches to review. Raw rows can belong
    to any account, so only principals that see every account may look."""
    from tenure.http.cache import cached
    from tenure.ingest.identity import list_identities
    from tenure.portfolio.freshness import freshness
    from tenure.notify.outbox import panel as outbox_panel

    acc.records("data_quality")
    runs = list_runs(ctx.config, limit=50)
    wh = ctx.warehouse()
    qt = wh.table("quarantine")
    reasons = wh.to_pyarrow(qt.group_by(["entity", "reason"]).aggregate(rows=qt.count())
                            .order_by([qt.entity, qt.reason])).to_pylist()
    recent = wh.to_pyarrow(qt.select("run_id", "entity", "file", "row_number", "column", "value", "reason",
                                     "message", "quarantined_at")
                           .order_by([qt.quarantined_at.desc(), qt.row_number]).limit(200)).to_pylist()
    review = {s: list_identities(wh, status=s) for s in ("ambiguous", "unmatched")}
    fresh = cached(ctx, ("web", "freshness"), lambda: freshness(wh))  # scans the facts: once per data version
    return render(request, "data.html", title="Data",
                  outbox=outbox_panel(ctx.config),
                  runs=runs, reasons=reasons, quarantine=recent, freshness=fresh,
                  quarantine_total=sum(r["rows"] for r in reasons),
                  review={k: v[:200] for k, v in review.items()}, review_totals={k: len(v) for k, v in review.items()})
