"""The voice-of-the-customer page (/voc), the survey programs page for administrators
(/voc/programs) and the account page's survey panel.

/voc: NPS, CSAT and CES (and the response rate) for a period, for every account or one segment,
each with n, its 95% interval, the aggregation window and the weighting next to it, and the change
against the period before with its significance; the same per month over the last 12 months, drawn
as server-rendered SVG (points with their interval bars: no script, no CDN) with a table beside;
themes, feature requests and churn reasons ranked by ARR with example quotes; loop closure by team.
Every number is a row of the read model tenure.portfolio.voc, the same rows the API returns
(tenure.api.routers.voc) and `tenure metrics compute` prints. A part not computed yet says so and
names the command that makes it.

Scope (tenure.access): scores are company-wide figures (registry metrics); rankings' ARR and loop
closure by team are aggregates; quotes and per-CSM closure are kept to the reader's book."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from tenure.http.auth import Access, ensure_can
from tenure.http.cache import cached
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.web.login import page_access
from tenure.web.render import ENV, render

router = APIRouter(include_in_schema=False)

LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "survey_response_rate": "Response rate"}
RANKINGS = (("themes", "Themes"), ("feature_requests", "Feature requests"), ("churn_reasons", "Churn reasons"))


# -- formatting (one place, so page, chart and table read alike) ----------------------------------

def fmt_value(metric: str, v: Any) -> str:
    """NPS in points with one decimal (as `tenure metrics compute` prints it), CSAT and the response
    rate as percentages, CES as a mean with two decimals; '–' when there is no value."""
    if v is None:
        return "–"
    f = float(v)
    if metric == "nps":
        return f"{f:,.1f}"
    if metric in ("csat", "survey_response_rate"):
        return f"{f:.1%}"
    return f"{f:.2f}"


def fmt_change(metric: str, v: Any) -> str:
    if v is None:
        return "–"
    f = float(v)
    if metric == "nps":
        return f"{f:+,.1f} points"
    if metric in ("csat", "survey_response_rate"):
        return f"{f * 100:+.1f} pp"
    return f"{f:+.2f}"


def fmt_hours(h: Any) -> str:
    if h is None:
        return "–"
    h = float(h)
    return f"{h:,.0f} h" if h < 48 else f"{h / 24:,.1f} days"


def _is_missing(v: Any) -> bool:
    from tenure.portfolio.voc import Missing

    return isinstance(v, Missing)


def code_spans(text: Any) -> Markup:
    """Text whose `back-quoted` parts are commands: escaped, with those parts as <code>."""
    parts = str(text or "").split("`")
    return Markup("".join(str(escape(p)) if i % 2 == 0 else f"<code>{escape(p)}</code>" for i, p in enumerate(parts)))


ENV.filters.update(voc_value=fmt_value, voc_change=fmt_change, voc_hours=fmt_hours, code_spans=code_spans)
ENV.tests["missing"] = _is_missing


# -- SVG: a value per month with its 95% interval ------------------------------------------------

def interval_svg(metric: str, rows: list[dict], *, title: str) -> Markup:
    """Points per month with vertical bars for the 95% interval; months with no answers are
    marked "n = 0" on the axis. Scales to its container (viewBox), so it never overflows."""
    w, h, left, right, top, bottom = 640, 240, 52, 12, 14, 40
    pts = [r for r in rows if r.get("value") is not None]
    lows = [float(r["ci_low"] if r.get("ci_low") is not None else r["value"]) for r in pts]
    highs = [float(r["ci_high"] if r.get("ci_high") is not None else r["value"]) for r in pts]
    # the axis spans the intervals drawn (with a margin), inside the scale's own bounds, so a
    # year of NPS between -40 and -10 is not a flat line in the middle of -100..100
    bounds = {"nps": (-100.0, 100.0), "csat": (0.0, 1.0), "survey_response_rate": (0.0, 1.0)}.get(metric)
    lo, hi = (min(lows), max(highs)) if pts else (bounds or (1.0, 7.0))
    pad = max((hi - lo) * 0.15, 5.0 if metric == "nps" else 0.05 if bounds else 0.1)
    lo, hi = lo - pad, hi + pad
    if bounds:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    n = max(len(rows), 1)
    step = (w - left - right) / n

    def x(i: int) -> float:
        return left + step * (i + 0.5)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * (h - top - bottom)

    parts = [f'<svg class="voc-chart" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(title)}" '
             f'preserveAspectRatio="xMidYMid meet" width="100%" style="max-width:100%;height:auto;display:block" '
             f'font-family="system-ui, sans-serif" xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    for k in range(5):  # grid and axis labels
        v = lo + (hi - lo) * k / 4
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e3e6ea" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6570">'
                     f'{escape(fmt_value(metric, v) if metric != "nps" else f"{v:,.0f}")}</text>')
    if metric == "nps":
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#9aa3ad" stroke-width="1"/>')
    prev = None
    for i, r in enumerate(rows):
        label = str(r.get("period", ""))
        parts.append(f'<text x="{x(i):.1f}" y="{h - bottom + 16}" text-anchor="middle" font-size="11" fill="#5b6570">'
                     f'{escape(label[2:] if len(label) == 7 else label)}</text>')
        if r.get("value") is None:
            parts.append(f'<text x="{x(i):.1f}" y="{h - bottom + 30}" text-anchor="middle" font-size="10" fill="#8a939c">'
                         f'n = 0</text>')
            prev = None
            continue
        v = float(r["value"])
        tip = (f'{label}: {fmt_value(metric, v)} (95% interval {fmt_value(metric, r.get("ci_low"))} to '
               f'{fmt_value(metric, r.get("ci_high"))}, n = {int(r.get("n") or 0):,})')
        if r.get("ci_low") is not None and r.get("ci_high") is not None:
            a, b = y(float(r["ci_high"])), y(float(r["ci_low"]))
            parts.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{a:.1f}" y2="{b:.1f}" stroke="#1f5fa8" stroke-width="1.5" opacity="0.6"/>')
            for yy in (a, b):
                parts.append(f'<line x1="{x(i) - 5:.1f}" x2="{x(i) + 5:.1f}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#1f5fa8" stroke-width="1.5" opacity="0.6"/>')
        if prev is not None:
            parts.append(f'<line x1="{x(prev[0]):.1f}" x2="{x(i):.1f}" y1="{y(prev[1]):.1f}" y2="{y(v):.1f}" '
                         f'stroke="#1f5fa8" stroke-width="1" stroke-dasharray="3 3" opacity="0.5"/>')
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" fill="#1f5fa8"><title>{escape(tip)}</title>'
                     f'</circle>')
        prev = (i, v)
    parts.append("</svg>")
    return Markup("".join(parts))


# -- the page --------------------------------------------------------------------------------------

def _check_period(text: str | None):
    from tenure.errors import InputError
    from tenure.metrics.periods import parse_period

    try:
        p = parse_period(text)
    except InputError as err:
        raise Problem(422, str(err), kind="invalid-input") from None
    except (ValueError, OverflowError):
        raise Problem(422, f"period {text!r} is not a calendar period: use a month (2026-09), quarter (2026-Q3), "
                           "year (2026) or a range (2025-11..2026-10)", kind="invalid-input") from None
    if p.first_day.year < 1900 or p.last_day.year > 2200:
        raise Problem(422, f"period {text!r}: years 1900-2200 only", kind="invalid-input")
    return p


def voc_view(ctx: AppContext, acc: Access, period_text: str | None, segment: str | None) -> dict:
    from tenure.portfolio import voc
    from tenure.web.executive import period_choices

    wh = ctx.warehouse()
    last = cached(ctx, ("voc", "latest_month"), lambda: voc.latest_month(wh))
    if last is None:
        return {"empty": True}
    known = cached(ctx, ("voc", "segments"), lambda: voc.segments(wh))
    segment = (segment or "").strip() or None
    if segment is not None and segment not in known:
        raise Problem(422, f"segment {segment!r} is not an account segment (one of: {', '.join(known)})",
                      kind="invalid-input")
    choices = period_choices(last)
    period = _check_period(period_text) if period_text else voc.default_period(last)
    acc.figure("metrics", ("segment",) if segment else ())
    scores = cached(ctx, ("web", "voc", "scores", period.label, segment),
                    lambda: voc.scores(wh, ctx.config, period, segment))
    trends, charts = {}, {}
    end = min(last, date(period.last_day.year, period.last_day.month, 1))  # the 12 months up to the period's end
    for kind in voc.KINDS:
        rows = cached(ctx, ("web", "voc", "trend", kind, end.isoformat(), segment),
                      lambda kind=kind: voc.trend(wh, ctx.config, kind, end, voc.TREND_MONTHS, segment))
        trends[kind] = rows
        if any(r.get("value") is not None for r in rows):
            charts[kind] = interval_svg(kind, rows, title=f"{LABELS[kind]} per month with 95% intervals"
                                        + (f", segment {segment}" if segment else ""))
    rankings = {kind: voc.ranked(wh, ctx.config, kind, owners=acc.owners) for kind, _ in RANKINGS}
    with ctx.db() as session:
        loop = voc.loop_closure(session, wh, ctx.config, period, owners=acc.owners)
    return {"empty": False, "period": period, "previous": voc.previous_period(period), "choices": choices,
            "segment": segment, "segments": known, "scores": scores, "trends": trends, "charts": charts,
            "trend_end": end, "rankings": rankings, "ranking_titles": dict(RANKINGS), "closure": loop, "labels": LABELS,
            "scoped": not acc.everything}


@router.get("/voc", response_class=HTMLResponse)
def voc_page(request: Request, period: str | None = Query(None, max_length=40),
             segment: str | None = Query(None, max_length=100), acc: Access = Depends(page_access),
             ctx: AppContext = Depends(get_context)):
    view = voc_view(ctx, acc, period or None, segment)
    return render(request, "voc.html", title="Voice of the customer", **view)


# -- survey programs (administrators) --------------------------------------------------------------

@router.get("/voc/programs", response_class=HTMLResponse)
def programs_page(request: Request, acc: Access = Depends(page_access), ctx: AppContext = Depends(get_context)):
    """Each configured survey program with its live counts and current score (admins only)."""
    from tenure.portfolio import voc

    ensure_can(acc.who, "admin")
    rows = voc.programs(ctx.config, ctx.warehouse())
    return render(request, "voc_programs.html", title="Survey programs", programs=rows, labels=LABELS)


# -- the account page's panel --------------------------------------------------------------------

def responses_panel(request: Request, account_id: str) -> dict:
    """The account's survey responses with their loop status (the account page has already
    checked the reader may open the account)."""
    from tenure.portfolio.voc import account_responses

    ctx = request.app.state.ctx
    with ctx.db() as session:
        rows = account_responses(session, ctx.warehouse(), account_id)
    return {"rows": rows, "labels": LABELS}


ENV.globals["voc_panel"] = responses_panel
