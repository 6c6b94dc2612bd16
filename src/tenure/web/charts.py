"""Plotly figure specs (plain dicts) for the pages. The page puts each spec in a
<script type="application/json"> block and static/app.js draws it with the locally served
plotly.min.js; without JavaScript the data table next to every chart is the fallback.
These functions only arrange numbers the compute stages returned."""

from __future__ import annotations

from typing import Any

from tenure.web.render import money

BAND_COLORS = {"green": "#2e7d32", "yellow": "#c98a00", "red": "#c62828", "onboarding": "#1f5fa8"}
PALETTE = ("#1f5fa8", "#c2571a", "#2e7d32", "#7b3fa0", "#00838f", "#8d6e00", "#ad1457", "#455a64")
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}


def _layout(title: str | None = None, **extra: Any) -> dict:
    layout = {"margin": {"l": 56, "r": 16, "t": 36 if title else 12, "b": 40}, "font": FONT,
              "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)", "height": 300,
              "legend": {"orientation": "h", "y": -0.2}, "hovermode": "x unified"}
    if title:
        layout["title"] = {"text": title, "font": {"size": 14}}
    layout.update(extra)
    return layout


def _f(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if f != f else f


def lines(x: list, series: dict[str, list], *, title: str | None = None, y_format: str | None = None,
          target: float | None = None) -> dict:
    """One line per named series over the shared x axis (a target as a dashed line)."""
    data = [{"type": "scatter", "mode": "lines+markers", "name": name, "x": x, "y": [_f(v) for v in ys],
             "line": {"color": PALETTE[i % len(PALETTE)], "width": 2}}
            for i, (name, ys) in enumerate(series.items())]
    if target is not None and x:
        data.append({"type": "scatter", "mode": "lines", "name": "target", "x": [x[0], x[-1]],
                     "y": [target, target], "line": {"color": "#666", "dash": "dash", "width": 1}})
    layout = _layout(title)
    if y_format:
        layout["yaxis"] = {"tickformat": y_format}
    return {"data": data, "layout": layout}


MOVEMENT_STEPS = (("New", "new", 1), ("Reactivation", "reactivation", 1), ("Expansion", "expansion", 1),
                  ("Contraction", "contraction", -1), ("Churn", "churn", -1))


def waterfall(bridge: dict, currency: str = "USD") -> dict:
    """The ARR bridge: opening, + new, + reactivation, + expansion, - contraction, - churn, closing.
    Every bar carries its amount as a label (a $20k reactivation beside a $10M opening is a sliver
    otherwise), and the value axis starts near the lowest level the bridge reaches, not at zero,
    so the movements are drawn at a readable size (the opening and closing bars say their totals)."""
    opening = _f(bridge.get("opening")) or 0.0
    steps = [("Opening", "absolute", opening)]
    for label, key, sign in MOVEMENT_STEPS:
        steps.append((label, "relative", sign * (_f(bridge.get(key)) or 0.0)))
    closing = _f(bridge.get("closing"))
    steps.append(("Closing", "total", closing if closing is not None else opening + sum(s[2] for s in steps[1:])))
    levels, level = [opening], opening
    for _label, _kind, v in steps[1:-1]:
        level += v
        levels.append(level)
    levels.append(steps[-1][2])
    low, high = min(levels), max(levels)
    moved = max(high - low, max((abs(s[2]) for s in steps[1:-1]), default=0.0), 1.0)
    axis_low = max(0.0, low - 0.6 * moved)
    axis_high = high + 0.35 * moved
    text = [money(steps[0][2], currency)] + [money(v, currency, sign=True) if v else money(0, currency)
                                             for _l, _k, v in steps[1:-1]] + [money(steps[-1][2], currency)]
    return {"data": [{"type": "waterfall", "x": [s[0] for s in steps], "measure": [s[1] for s in steps],
                      "y": [s[2] for s in steps], "text": text, "textposition": "outside",
                      "cliponaxis": False, "connector": {"line": {"color": "#999"}},
                      "increasing": {"marker": {"color": "#2e7d32"}}, "decreasing": {"marker": {"color": "#c62828"}},
                      "totals": {"marker": {"color": "#1f5fa8"}}, "hovertemplate": "%{x}: %{text}<extra></extra>"}],
            "layout": _layout(None, showlegend=False, hovermode="closest",
                              yaxis={"range": [axis_low, axis_high], "tickformat": "~s",
                                     "title": {"text": f"ARR ({currency}, axis not from zero)"
                                               if axis_low > 0 else f"ARR ({currency})"}})}


def bars(labels: list[str], values: list, *, currency: str = "USD", color: str = "#c62828") -> dict:
    """Horizontal bars, biggest at the top, each labelled with its amount (e.g. ARR by churn reason)."""
    ys = [_f(v) or 0.0 for v in values]
    return {"data": [{"type": "bar", "orientation": "h", "y": list(labels)[::-1], "x": ys[::-1],
                      "text": [money(v, currency) for v in ys][::-1], "textposition": "auto",
                      "marker": {"color": color}, "hovertemplate": "%{y}: %{text}<extra></extra>"}],
            "layout": _layout(None, showlegend=False, hovermode="closest",
                              height=max(160, 40 + 34 * len(ys)),
                              margin={"l": 120, "r": 16, "t": 12, "b": 32},
                              xaxis={"tickformat": "~s", "title": {"text": f"ARR ({currency})"}})}


def band_stack(rows: list[dict], value: str = "accounts") -> dict:
    """Accounts (or ARR) per health band on each snapshot day, stacked."""
    days = sorted({r["as_of"] for r in rows})
    by = {(r["as_of"], r["band"]): r[value] for r in rows}
    data = [{"type": "bar", "name": band, "x": days, "y": [by.get((d, band), 0) for d in days],
             "marker": {"color": BAND_COLORS[band]}} for band in ("red", "yellow", "green", "onboarding")
            if any(by.get((d, band)) for d in days) or band != "onboarding"]
    return {"data": data, "layout": _layout(None, barmode="stack")}


def usage(weeks: list[dict]) -> dict:
    """Weekly usage: one series (events per week, bars), active users in the hover text; from
    `portfolio.account360.weekly_usage` rows {week, events, active_users}."""
    x = [r["week"] for r in weeks]
    return {"data": [{"type": "bar", "name": "events per week", "x": x, "y": [_f(r["events"]) or 0 for r in weeks],
                      "customdata": [r["active_users"] for r in weeks], "marker": {"color": PALETTE[0]},
                      "hovertemplate": "week of %{x}: %{y:,.0f} events, %{customdata} active users"
                                       "<extra></extra>"}],
            "layout": _layout(None, showlegend=False, hovermode="closest",
                              yaxis={"title": {"text": "events per week"}, "rangemode": "tozero"})}


def health(rows: list[dict], bands: dict[str, float] | None = None) -> dict:
    x = [r["as_of"] for r in rows]
    data = [{"type": "scatter", "mode": "lines+markers", "name": "health score", "x": x,
             "y": [_f(r["score"]) for r in rows], "line": {"color": PALETTE[0], "width": 2},
             "marker": {"color": [BAND_COLORS.get(r["band"], "#999") for r in rows], "size": 8}}]
    return {"data": data, "layout": _layout(None, yaxis={"range": [0, 100]}, showlegend=False)}
