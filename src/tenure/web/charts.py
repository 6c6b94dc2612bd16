"""Plotly figure specs (plain dicts) for the pages. The page puts each spec in a
<script type="application/json"> block and static/app.js draws it with the locally served
plotly.min.js; without JavaScript the data table next to every chart is the fallback.
These functions only arrange numbers the compute stages returned."""

from __future__ import annotations

from typing import Any

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


def waterfall(bridge: dict) -> dict:
    """The ARR bridge: opening, + new, + reactivation, + expansion, - contraction, - churn, closing."""
    steps = [("Opening", "absolute", bridge.get("opening")), ("New", "relative", bridge.get("new")),
             ("Reactivation", "relative", bridge.get("reactivation")),
             ("Expansion", "relative", bridge.get("expansion")),
             ("Contraction", "relative", -(_f(bridge.get("contraction")) or 0)),
             ("Churn", "relative", -(_f(bridge.get("churn")) or 0)), ("Closing", "total", bridge.get("closing"))]
    return {"data": [{"type": "waterfall", "x": [s[0] for s in steps], "measure": [s[1] for s in steps],
                      "y": [_f(s[2]) or 0 for s in steps], "connector": {"line": {"color": "#999"}},
                      "increasing": {"marker": {"color": "#2e7d32"}}, "decreasing": {"marker": {"color": "#c62828"}},
                      "totals": {"marker": {"color": "#1f5fa8"}}, "hovertemplate": "%{x}: %{y:,.0f}<extra></extra>"}],
            "layout": _layout(None, showlegend=False, hovermode="closest")}


def band_stack(rows: list[dict], value: str = "accounts") -> dict:
    """Accounts (or ARR) per health band on each snapshot day, stacked."""
    days = sorted({r["as_of"] for r in rows})
    by = {(r["as_of"], r["band"]): r[value] for r in rows}
    data = [{"type": "bar", "name": band, "x": days, "y": [by.get((d, band), 0) for d in days],
             "marker": {"color": BAND_COLORS[band]}} for band in ("red", "yellow", "green", "onboarding")
            if any(by.get((d, band)) for d in days) or band != "onboarding"]
    return {"data": data, "layout": _layout(None, barmode="stack")}


def usage(rows: list[dict]) -> dict:
    x = [r["day"] for r in rows]
    return {"data": [
        {"type": "scatter", "mode": "lines", "name": "events", "x": x, "y": [r["events"] for r in rows],
         "line": {"color": PALETTE[0], "width": 1.5}},
        {"type": "scatter", "mode": "lines", "name": "active users", "x": x, "y": [r["active_users"] for r in rows],
         "yaxis": "y2", "line": {"color": PALETTE[1], "width": 1.5}}],
        "layout": _layout(None, yaxis={"title": {"text": "events"}},
                          yaxis2={"title": {"text": "active users"}, "overlaying": "y", "side": "right"},
                          margin={"l": 56, "r": 56, "t": 12, "b": 40})}


def health(rows: list[dict], bands: dict[str, float] | None = None) -> dict:
    x = [r["as_of"] for r in rows]
    data = [{"type": "scatter", "mode": "lines+markers", "name": "health score", "x": x,
             "y": [_f(r["score"]) for r in rows], "line": {"color": PALETTE[0], "width": 2},
             "marker": {"color": [BAND_COLORS.get(r["band"], "#999") for r in rows], "size": 8}}]
    return {"data": data, "layout": _layout(None, yaxis={"range": [0, 100]}, showlegend=False)}
