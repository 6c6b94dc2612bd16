"""Property tests: for any set of contract lines the bridge reconciles, and 0 <= GRR <= NRR."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenure.metrics.compute import bridge_rows, compute
from tenure.metrics.periods import parse_period

from .conftest import load

LINE = st.tuples(st.sampled_from("ABCDE"), st.integers(0, 700), st.one_of(st.none(), st.integers(0, 500)),
                 st.integers(0, 5000), st.sampled_from(["USD", "EUR"]))


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, min_size=1, max_size=12), period=st.sampled_from(["2025-03", "2025-Q2", "2025",
                                                                              "2024-11..2025-08"]))
def test_bridge_reconciles_and_grr_nrr_bounds(warehouse, mconfig, lines, period):
    for t in ("contract_lines", "accounts", "fx"):
        warehouse.raw_sql(f"DELETE FROM {t}")
    base = date(2024, 6, 1)
    rows = [(f"L{i}", acc, str(base + timedelta(days=s)), None if e is None else str(base + timedelta(days=s + e)),
             arr, cur) for i, (acc, s, e, arr, cur) in enumerate(lines)]
    load(warehouse, mconfig, [(a, "SMB" if a < "C" else "Enterprise") for a in "ABCDE"], rows,
         fx=[("2024-01-01", "EUR", "1.1"), ("2025-01-01", "EUR", "1.3")])
    for by in ((), ("segment",)):
        for r in bridge_rows(warehouse, mconfig, parse_period(period), by):
            d = {k: Decimal(r[k]) for k in ("opening", "new", "reactivation", "expansion", "contraction", "churn",
                                            "closing")}
            assert d["opening"] + d["new"] + d["reactivation"] + d["expansion"] - d["contraction"] - d["churn"] == \
                d["closing"]
            assert min(d.values()) >= 0
    grr = {str(r["group"]): r["value"] for r in compute(warehouse, mconfig, "grr", period, ["segment"])}
    nrr = {str(r["group"]): r["value"] for r in compute(warehouse, mconfig, "nrr", period, ["segment"])}
    for g, v in grr.items():
        if v is not None:
            assert 0 <= v <= 1 and v <= nrr[g]
