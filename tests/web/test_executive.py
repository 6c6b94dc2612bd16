"""The executive page's headline metrics come from one bridge query per grouping; they must be
exactly what the metrics layer's compute() returns (value, numerator, denominator, target)."""

from __future__ import annotations

import pytest

from tenure.metrics.compute import bridge_rows, compute
from tenure.metrics.periods import parse_period
from tenure.web.executive import KPIS, kpis_from_bridge, period_choices


@pytest.mark.parametrize("by", [(), ("segment",), ("owner",)])
def test_headline_metrics_equal_compute(demo_site, by):
    ctx = demo_site.app.state.ctx
    wh, config = ctx.warehouse(), demo_site.config
    from tenure.web.executive import latest_month

    period = parse_period(period_choices(latest_month(ctx, wh))[1][1])  # the latest quarter
    fast = kpis_from_bridge(config, bridge_rows(wh, config, period, list(by)), by, period)
    for name, _ in KPIS:
        expected = compute(wh, config, name, period, list(by))
        assert fast[name] == expected, name


def test_period_choices_cover_t12m_quarters_and_months():
    from datetime import date

    choices = [v for _, v in period_choices(date(2026, 10, 1))]
    assert choices[0] == "2025-11..2026-10"
    assert choices[1:5] == ["2026-Q4", "2026-Q3", "2026-Q2", "2026-Q1"]
    assert choices[5:] == ["2026-10", "2026-09", "2026-08"]
    for c in choices:
        parse_period(c)
