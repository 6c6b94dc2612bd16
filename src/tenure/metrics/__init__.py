"""The semantic layer: every retention and economics metric defined once (registry.py),
computed as Ibis expressions on any engine (arr.py, bridge.py, compute.py)."""

from __future__ import annotations

from tenure.metrics.compute import compute, economics_rows, series
from tenure.metrics.periods import Period, parse_period

__all__ = ["Period", "compute", "demo_step", "economics_rows", "parse_period", "series"]


def demo_step(wh, config, console) -> dict:
    """For `tenure demo`: materialize snapshots and print headline metrics by segment."""
    from rich.table import Table

    from tenure.metrics.periods import add_months
    from tenure.metrics.snapshots import materialize
    from tenure.warehouse.asof import latest_event_day

    snap = materialize(wh, config)
    last = latest_event_day(wh)  # the one "as of": the last day with events
    last_full = add_months(last.replace(day=1), 0)
    period = f"{add_months(last_full, -11):%Y-%m}..{last_full:%Y-%m}"
    headline = {}
    t = Table(title=f"headline metrics, {period} (trailing 12 months)")
    cols = ("arr", "grr", "nrr", "logo_churn_rate", "expansion_rate", "cac_payback_months")
    t.add_column("segment")
    for c in cols:
        t.add_column(c, justify="right")
    for name in cols:
        by = ["segment"]
        rows = compute(wh, config, name, period, by) if name != "cac_payback_months" else \
            compute(wh, config, name, period, by)
        headline[name] = {r["group"]["segment"]: r for r in rows}
    for seg in sorted(headline["arr"]):
        cells = []
        for name in cols:
            r = headline[name].get(seg, {})
            v = r.get("value")
            s = "-" if v is None else (f"{float(v):,.0f}" if name == "arr" else f"{float(v):.1f}"
                                       if name == "cac_payback_months" else f"{float(v):.1%}")
            style = {"on track": "green", "off track": "red"}.get(r.get("status") or "", "")
            cells.append(f"[{style}]{s}[/{style}]" if style else s)
        t.add_row(seg, *cells)
    return {"snapshots": snap, "period": period, "table": t,
            "hints": [f"tenure metrics bridge --period {period} --by segment",
                      f"tenure metrics compute nrr --period {period} --by segment,region",
                      f"tenure metrics explain churned_arr --period {last_full:%Y-%m}",
                      "tenure metrics cohorts --by month"]}
