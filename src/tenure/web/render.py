"""Rendering: the Jinja2 environment, display filters (money, percentages, dates), the page
renderer and the HTML error page. Filters only format numbers the compute stages produced."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup

from tenure import __version__
from tenure.access import policy
from tenure.formats import CURRENCY_SYMBOLS, currency_prefix, money, money_exact  # noqa: F401 (the filters)
from tenure.formats import json_default
from tenure.formats import number_or_none as _num

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def pct(v: Any, places: int = 1) -> str:
    f = _num(v)
    return "–" if f is None else f"{f * 100:.{places}f}%"


def pct_points(v: Any, places: int = 1) -> str:
    """A change of a ratio in percentage points: 0.012 -> '+1.2 pp'."""
    f = _num(v)
    return "–" if f is None else f"{f * 100:+.{places}f} pp"


def number(v: Any, places: int = 0) -> str:
    """A count or quantity with thousands separators: 12,345 ('–' when unknown)."""
    f = _num(v)
    return "–" if f is None else f"{f:,.{places}f}"


def when(v: Any) -> str:
    """A moment to the minute, in UTC: '2026-11-30 14:05 UTC' (ISO text is parsed; a date stays a
    date; anything unreadable is shown as it is rather than failing the page)."""
    if v is None or v == "":
        return "–"
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return v
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            from datetime import timezone

            v = v.astimezone(timezone.utc).replace(tzinfo=None)
        return v.strftime("%Y-%m-%d %H:%M") + " UTC"
    return day(v)


def signed(v: Any, places: int = 0) -> str:
    f = _num(v)
    return "–" if f is None else f"{f:+,.{places}f}"


def day(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M") if (v.hour or v.minute) else v.strftime("%Y-%m-%d")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def json_data(v: Any) -> Markup:
    """JSON for a <script type="application/json"> block: '<' is escaped so no tag can close it."""
    text = json.dumps(v, default=json_default, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@pass_context
def _money_filter(ctx, v: Any, currency: str | None = None) -> str:
    return money(v, currency or ctx.get("currency"))


@pass_context
def _money_delta_filter(ctx, v: Any, currency: str | None = None) -> str:
    return money(v, currency or ctx.get("currency"), sign=True)


@pass_context
def _money_exact_filter(ctx, v: Any, currency: str | None = None) -> str:
    return money_exact(v, currency or ctx.get("currency"))


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=_money_filter, money_delta=_money_delta_filter, money_exact=_money_exact_filter,
                       pct=pct, pct_points=pct_points, signed=signed, day=day, when=when, number=number,
                       json_data=json_data)
    env.globals["version"] = __version__
    env.globals["vendor_htmx"] = (STATIC / "vendor" / "htmx.min.js").exists()
    return env


ENV = _env()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page (or, for HTMX requests asking for a fragment, the template as given)."""
    ctx = request.app.state.ctx
    context.setdefault("who", getattr(request.state, "principal", None))
    context.setdefault("access", None if context["who"] is None else policy(context["who"]))
    context.setdefault("project", ctx.config.project)
    context.setdefault("currency", ctx.config.reporting_currency)
    context["request"] = request
    context["path"] = request.url.path
    context["vendor_htmx"] = ENV.globals["vendor_htmx"] or (STATIC / "vendor" / "htmx.min.js").exists()
    html = ENV.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)


def login_url(request: Request) -> str:
    """/login?next=<where the browser was going>. A form post (e.g. a note after the session
    expired) returns to the page the form was on, when that page is on this site."""
    from urllib.parse import urlencode, urlsplit

    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        ref = urlsplit(request.headers.get("referer", ""))
        same = ref.netloc == request.url.netloc and ref.path.startswith("/")
        target = (ref.path + (f"?{ref.query}" if ref.query else "")) if same else "/"
    return "/login?" + urlencode({"next": target})


def login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(login_url(request), status_code=303)


ERROR_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 405: "Not allowed here",
                409: "Conflict", 422: "Something in the request is not right", 500: "Something went wrong",
                503: "The data store is unavailable"}


def error_page(request: Request, status: int, detail: str):
    """The HTML error page (never a stack trace). 401 and 303 (login required) send the browser
    to the login page, back to where it was going afterwards (htmx requests get HX-Redirect, so
    the login page replaces the whole page rather than a fragment)."""
    if status in (401, 303):
        if request.headers.get("hx-request") == "true":  # a fragment request: htmx loads /login itself
            return Response(status_code=401, headers={"HX-Redirect": login_url(request)})
        return login_redirect(request)
    who = getattr(request.state, "principal", None)
    if status >= 500:
        detail = "An unexpected error happened; it has been logged. Try again, or tell your administrator."
    try:
        return render(request, "error.html", status_code=status, who=who, status=status,
                      title=ERROR_TITLES.get(status, "Error"), detail=detail)
    except Exception:  # the error page itself must not fail
        return HTMLResponse(f"<!doctype html><title>Error {status}</title><h1>Error {status}</h1>",
                            status_code=status)


def query_url(base: str, values: dict[str, Any], defaults: dict[str, Any]) -> str:
    """`base?query` of a filtered, paged list: empty values and values at their default are left
    out, so the first page of an unfiltered list is just `base`."""
    kept = {k: v for k, v in values.items() if v not in (None, "") and defaults.get(k, object()) != v}
    return base + ("?" + urlencode(kept) if kept else "")
