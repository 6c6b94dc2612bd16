"""What the executive page shows, asked of the compute stages: registry metrics against targets
(tenure.metrics.compute), the ARR bridge, a monthly trend, the health band distribution and
the top risks (tenure.portfolio.cockpit). Metric results go through the shared per-data-version
cache (tenure.http.cache): they are the expensive part of the page and change only with the data.

Scope (tenure.access): the headline tiles and the ARR bridge are company-wide figures every
reader sees. The breakdown and the trend are by segment for principals that see every account;
for a CSM or a manager they are by owner, for the owners in its book only. Band distribution and
top risks are account reads, scoped to the book in the query.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from tenure.access import Access
from tenure.http.cache import cached
from tenure.metrics.compute import bridge_rows, metric_rows, metric_value
from tenure.metrics.periods import Period, add_months, monthly, parse_period, previous_period, to_date
from tenure.metrics.registry import get_metric
from tenure.metrics.targets import target_at
from tenure.web import charts

KPIS = (("arr", "ARR"), ("grr", "GRR"), ("nrr", "NRR"), ("logo_churn_rate", "Logo churn"),
        ("expansion_rate", "Expansion"))
TREND_METRICS = ("arr", "grr", "nrr")


def memo(ctx, key: tuple, fn: Callable[[], Any]) -> Any:
    """fn() through the app's shared per-data-version cache (tenure.http.cache), single-flight."""
    return cached(ctx, ("web", *key), fn)


def latest_month(ctx, wh) -> date | None:
    """The first day of the month of the latest data (what `tenure demo` reports on)."""
    from tenure.warehouse.asof import latest_event_day

    last = memo(ctx, ("latest_day",), lambda: latest_event_day(wh))
    return None if last is None else date(to_date(last).year, to_date(last).month, 1)


def period_choices(last: date) -> list[tuple[str, str]]:
    """(label for humans, period text) — the trailing 12 months, recent quarters, recent months."""
    t12 = f"{add_months(last, -11):%Y-%m}..{last:%Y-%m}"
    out = [(f"Trailing 12 months ({t12})", t12)]
    q_last = add_months(last, -((last.month - 1) % 3))  # first month of the quarter holding `last`
    for k in range(0, 4):
        first = add_months(q_last, -3 * k)
        label = f"{first.year}-Q{(first.month - 1) // 3 + 1}"
        out.append((label + (" (to date)" if k == 0 and last.month % 3 else ""), label))
    for k in range(0, 3):
        m = add_months(last, -k)
        out.append((f"{m:%Y-%m}", f"{m:%Y-%m}"))
    return out


def with_deltas(tiles: list[dict], prior: dict[str, list[dict]] | None, prior_label: str) -> list[dict]:
    """Each headline tile with the same metric over the prior period: "prior" (its value),
    "delta" (value - prior; percentage points for ratios) and "prior_label"."""
    for t in tiles:
        rows = (prior or {}).get(t["name"]) or []
        before = rows[0].get("value") if rows else None
        t["prior"] = None if before is None else float(before)
        t["prior_label"] = prior_label
        t["delta"] = None if before is None or t.get("value") is None else float(t["value"]) - float(before)
    return tiles


def kpis_from_bridge(config, rows: list[dict], by: tuple[str, ...], period: Period) -> dict[str, list[dict]]:
    """The headline metrics from bridge rows already fetched for the page, with the registry's
    own numerator, denominator and targets: the same rows tenure.metrics.compute.compute returns
    for these (bridge-sourced, not trailing) metrics, without running the bridge once per metric.
    tests/web/test_executive.py holds the two equal."""
    out: dict[str, list[dict]] = {}
    for name, _ in KPIS:
        m = get_metric(name)
        assert m.source == "bridge" and not m.trailing_12, name
        out[name] = metric_rows(config, m, period, period, rows, by)
    return out


def _trend(ctx, wh, last: date, by: tuple[str, ...]) -> list[dict]:
    """Per month of the 12 ending with `last` (and per group): the bridge row plus ARR, GRR and
    NRR from the registry's own numerator and denominator. One bridge query for all months."""
    from tenure.metrics.bridge import bridge

    months = monthly(add_months(last, -11), last)

    def run():
        rows = wh.execute(bridge(wh, ctx.config, months, list(by))).to_dict(orient="records")
        for r in rows:
            for name in TREND_METRICS:
                value = metric_value(get_metric(name), r)[0]
                r[name] = None if value is None else float(value)
        return rows

    return memo(ctx, ("trend", last.isoformat(), by), run)


def executive_view(ctx, wh, acc: Access, period_text: str | None) -> dict:
    from tenure.portfolio import cockpit as pq
    from tenure.portfolio.accounts import owner_names
    from tenure.portfolio.churn import churn_by_reason

    last = latest_month(ctx, wh)
    if last is None:
        return {"empty": True, "period": None, "choices": [], "owner_names": {}}
    choices = period_choices(last)
    period = parse_period(period_text) if period_text else parse_period(choices[0][1])
    scoped = not acc.everything
    dim = "owner" if scoped else "segment"
    by_group = acc.figure("bridge", (dim,))
    all_groups = memo(ctx, ("bridge", period.label, by_group.dims),
                      lambda: bridge_rows(wh, ctx.config, period, list(by_group.dims)))
    bridge_group = by_group.keep(all_groups)
    company = acc.figure("bridge")
    total = memo(ctx, ("bridge", period.label, company.dims),
                 lambda: bridge_rows(wh, ctx.config, period, list(company.dims)))
    bridge_total = total[0] if total else None
    kpis_group = kpis_from_bridge(ctx.config, bridge_group, by_group.dims, period)
    kpis_total = kpis_from_bridge(ctx.config, [bridge_total], company.dims, period) if bridge_total else None
    groups: dict[str, dict] = {}
    for name, _ in KPIS:
        for r in kpis_group[name]:
            groups.setdefault(r["group"].get(dim), {})[name] = r
    tiles = []
    if kpis_total:
        for name, label in KPIS:
            row = kpis_total[name][0] if kpis_total[name] else {}
            tiles.append({"name": name, "label": label, **row})
        before = previous_period(period)
        prior_rows = memo(ctx, ("bridge", before.label, company.dims),
                          lambda: bridge_rows(wh, ctx.config, before, list(company.dims)))
        prior_kpis = kpis_from_bridge(ctx.config, prior_rows[:1], company.dims, before) if prior_rows else None
        with_deltas(tiles, prior_kpis, before.label)
    reasons = memo(ctx, ("churn_reasons", period.label), lambda: churn_by_reason(wh, ctx.config, period))

    names = owner_names(wh, acc.owners)
    trend_last = date(period.last_day.year, period.last_day.month, 1)
    trend = acc.figure("trend", (dim,) if scoped else ())
    trend_rows = trend.keep(_trend(ctx, wh, trend_last, trend.dims))
    x = sorted({r["period"] for r in trend_rows})
    series: dict[str, dict[str, list]] = {m: {} for m in TREND_METRICS}
    for m in TREND_METRICS:
        keys = sorted({(r.get(dim) if scoped else "all accounts") for r in trend_rows}, key=str)
        for n in keys:
            by_period = {r["period"]: r[m] for r in trend_rows if (r.get(dim) if scoped else "all accounts") == n}
            series[m][names.get(n) or str(n)] = [by_period.get(p) for p in x]
    grr_target = _target_value(ctx, "grr")
    nrr_target = _target_value(ctx, "nrr")
    figures = {
        "arr_trend": charts.lines(x, series["arr"]),
        "retention_trend": charts.lines(x, {**{f"GRR {k}" if scoped else "GRR": v for k, v in series["grr"].items()},
                                            **{f"NRR {k}" if scoped else "NRR": v for k, v in series["nrr"].items()}},
                                        y_format=".1%", target=grr_target),
    }
    if bridge_total:
        figures["bridge"] = charts.waterfall(bridge_total, currency=ctx.config.reporting_currency)
    if reasons:
        figures["churn_reasons"] = charts.bars([r["reason"].replace("_", " ") for r in reasons],
                                               [r["arr"] for r in reasons], currency=ctx.config.reporting_currency)
    bands = pq.band_distribution(wh, acc.owners)
    if bands:
        figures["bands"] = charts.band_stack(bands)
    return {
        "empty": False, "period": period, "choices": choices, "scoped": scoped, "dim": dim, "tiles": tiles,
        "groups": groups, "bridge_rows": bridge_group, "bridge_total": bridge_total, "trend_x": x,
        "trend_series": series, "figures": figures, "bands": bands, "nrr_target": nrr_target,
        "top_risks": pq.top_risks(wh, acc.owners, 10), "churn_reasons": reasons, "owner_names": names,
        "churn_total": {"accounts": sum(r["accounts"] for r in reasons), "arr": sum(r["arr"] for r in reasons)},
    }


def _target_value(ctx, metric: str) -> float | None:
    """The company-wide target of a metric restated for one month, for the dashed line on a
    monthly trend chart (a 90% annual GRR target is a 99.1% monthly one)."""
    t = target_at(ctx.config, get_metric(metric), {}, 1)
    return None if t is None or t["value"] is None else float(t["value"])
