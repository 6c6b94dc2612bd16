"""Rendering: the Jinja2 environment, display filters (money, percentages, dates), the page
renderer and the HTML error page. Filters only format numbers the compute stages produced."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from tenure import __version__
from tenure.access import policy

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def money(v: Any, places: int = 0) -> str:
    """ARR and amounts in the reporting currency: 1,234,567 (or '–' when unknown)."""
    f = _num(v)
    return "–" if f is None else f"{f:,.{places}f}"


def money_short(v: Any) -> str:
    """12.3M, 450K, 980."""
    f = _num(v)
    if f is None:
        return "–"
    a = abs(f)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if a >= limit:
            return f"{f / limit:,.1f}{suffix}"
    return f"{f:,.0f}"


def pct(v: Any, places: int = 1) -> str:
    f = _num(v)
    return "–" if f is None else f"{f * 100:.{places}f}%"


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


def _json_default(v: Any):
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return str(v)


def json_data(v: Any) -> Markup:
    """JSON for a <script type="application/json"> block: '<' is escaped so no tag can close it."""
    text = json.dumps(v, default=_json_default, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=money, money_short=money_short, pct=pct, signed=signed, day=day, json_data=json_data)
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
