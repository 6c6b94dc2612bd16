"""What the executive page shows, asked of the compute stages: registry metrics against targets
(tenure.metrics.compute), the ARR bridge, a monthly trend, the health band distribution and
the top risks (tenure.portfolio.query). Results are memoized per data version, since the
metrics are the expensive part of the page and change only when data changes.

Scope: principals that see every account get company metrics by segment; a CSM or a manager
gets the same metrics by owner, for the owners in its book of business only.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from typing import Any

from tenure.api.auth import Principal
from tenure.metrics.compute import bridge_rows, compute
from tenure.metrics.periods import Period, add_months, monthly, parse_period, to_date
from tenure.metrics.registry import get_metric
from tenure.web import charts

KPIS = (("arr", "ARR"), ("grr", "GRR"), ("nrr", "NRR"), ("logo_churn_rate", "Logo churn"),
        ("expansion_rate", "Expansion"))
TREND_METRICS = ("arr", "grr", "nrr")
MEMO_SIZE = 256
MEMO_SECONDS = 600  # other processes (tenure refresh, ingest from the CLI) do not bump data_version

_memo: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
_memo_lock = threading.Lock()


def memo(ctx, key: tuple, fn: Callable[[], Any]) -> Any:
    """fn() cached per (data version, key) for a few minutes; a small LRU."""
    full = (id(ctx), ctx.data_version, *key)
    now = time.monotonic()
    with _memo_lock:
        hit = _memo.get(full)
        if hit is not None and now - hit[0] < MEMO_SECONDS:
            _memo.move_to_end(full)
            return hit[1]
    value = fn()
    with _memo_lock:
        _memo[full] = (now, value)
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)
    return value


def latest_month(ctx, wh) -> date | None:
    """The first day of the month of the latest data (what `tenure demo` reports on)."""
    from tenure.portfolio.summary import latest_day

    last = memo(ctx, ("latest_day",), lambda: latest_day(wh))
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


def _scope_rows(rows: list[dict], who: Principal, dim: str | None) -> list[dict]:
    if dim != "owner" or who.owners is None:
        return rows
    return [r for r in rows if (r.get("group", r) or {}).get("owner", r.get("owner")) in who.owners]


def _kpis(ctx, wh, period: Period, by: tuple[str, ...]) -> dict[str, list[dict]]:
    config = ctx.config
    return {name: memo(ctx, ("compute", name, period.label, by),
                       lambda name=name: compute(wh, config, name, period, list(by)))
            for name, _ in KPIS}


def _trend(ctx, wh, last: date, by: tuple[str, ...]) -> list[dict]:
    """Per month of the 12 ending with `last` (and per group): the bridge row plus ARR, GRR and
    NRR from the registry's own numerator and denominator. One bridge query for all months."""
    from tenure.metrics.bridge import bridge

    months = monthly(add_months(last, -11), last)

    def run():
        rows = wh.execute(bridge(wh, ctx.config, months, list(by))).to_dict(orient="records")
        for r in rows:
            for name in TREND_METRICS:
                m = get_metric(name)
                num = m.numerator(r)
                den = m.denominator(r) if m.denominator else None
                r[name] = (None if num is None else float(num)) if m.denominator is None else \
                    (float(num) / float(den) if den else None)
        return rows

    return memo(ctx, ("trend", last.isoformat(), by), run)


def executive_view(ctx, wh, who: Principal, period_text: str | None) -> dict:
    from tenure.portfolio import query as pq

    last = latest_month(ctx, wh)
    if last is None:
        return {"empty": True, "period": None, "choices": []}
    choices = period_choices(last)
    period = parse_period(period_text) if period_text else parse_period(choices[0][1])
    scoped = who.owners is not None
    dim = "owner" if scoped else "segment"
    kpis_total = None if scoped else _kpis(ctx, wh, period, ())
    kpis_group = _kpis(ctx, wh, period, (dim,))
    groups: dict[str, dict] = {}
    for name, _ in KPIS:
        for r in _scope_rows(kpis_group[name], who, dim):
            g = r["group"].get(dim)
            groups.setdefault(g, {})[name] = r
    if scoped and len(groups) == 1:
        kpis_total = {name: [row] for name, row in next(iter(groups.values())).items()}
    tiles = []
    if kpis_total:
        for name, label in KPIS:
            row = kpis_total[name][0] if kpis_total[name] else {}
            tiles.append({"name": name, "label": label, **row})

    bridge_group = _scope_rows(memo(ctx, ("bridge", period.label, (dim,)),
                                    lambda: bridge_rows(wh, ctx.config, period, [dim])), who, dim)
    if scoped:
        bridge_total = bridge_group[0] if len(bridge_group) == 1 else None
    else:
        total = memo(ctx, ("bridge", period.label, ()), lambda: bridge_rows(wh, ctx.config, period, []))
        bridge_total = total[0] if total else None

    trend_last = date(period.last_day.year, period.last_day.month, 1)
    trend_rows = _scope_rows(_trend(ctx, wh, trend_last, (dim,) if scoped else ()), who, dim)
    x = sorted({r["period"] for r in trend_rows})
    series: dict[str, dict[str, list]] = {m: {} for m in TREND_METRICS}
    for m in TREND_METRICS:
        names = sorted({(r.get(dim) if scoped else "all accounts") for r in trend_rows}, key=str)
        for n in names:
            by_period = {r["period"]: r[m] for r in trend_rows if (r.get(dim) if scoped else "all accounts") == n}
            series[m][str(n)] = [by_period.get(p) for p in x]
    grr_target = _target_value(ctx, "grr")
    nrr_target = _target_value(ctx, "nrr")
    figures = {
        "arr_trend": charts.lines(x, series["arr"]),
        "retention_trend": charts.lines(x, {**{f"GRR {k}" if scoped else "GRR": v for k, v in series["grr"].items()},
                                            **{f"NRR {k}" if scoped else "NRR": v for k, v in series["nrr"].items()}},
                                        y_format=".0%", target=grr_target),
    }
    if bridge_total:
        figures["bridge"] = charts.waterfall(bridge_total)
    bands = pq.band_distribution(wh, who.owner_filter())
    if bands:
        figures["bands"] = charts.band_stack(bands)
    return {
        "empty": False, "period": period, "choices": choices, "scoped": scoped, "dim": dim, "tiles": tiles,
        "groups": groups, "bridge_rows": bridge_group, "bridge_total": bridge_total, "trend_x": x,
        "trend_series": series, "figures": figures, "bands": bands, "nrr_target": nrr_target,
        "top_risks": pq.top_risks(wh, who.owner_filter(), 10),
    }


def _target_value(ctx, metric: str) -> float | None:
    """The company-wide target (no `where`) of a metric, for the dashed line on a trend chart."""
    for t in ctx.config.metrics.targets:
        if t.metric == metric and not t.where:
            return float(t.value)
    return None
