"""Cohorts: membership is the month-end ARR series (what arr_monthly holds), so month 0 is 100%."""

from __future__ import annotations

from tenure.metrics.cohorts import cohorts
from tests.metrics.conftest import load


def test_month_zero_is_whole_and_membership_follows_month_end_arr(warehouse, mconfig):
    # A: a normal May start. B: a May trial line that ends inside May, then a real line from July
    # -> B's first month-end ARR is July, so May has one member (the finding: 6 listed, 5 in
    # arr_monthly, and month 0 at 83%). C: starts 31 May, so it ends May with ARR.
    load(warehouse, mconfig, accounts=[("A", "SMB"), ("B", "SMB"), ("C", "SMB"), ("D", "SMB")],
         lines=[("a1", "A", "2021-05-03", None, 1200, "USD"),
                ("b0", "B", "2021-05-10", "2021-05-20", 600, "USD"),
                ("b1", "B", "2021-07-01", None, 600, "USD"),
                ("c1", "C", "2021-05-31", "2021-08-15", 300, "USD"),
                ("d1", "D", "2021-09-01", None, 100, "USD")])
    rows = cohorts(warehouse, mconfig)
    may = {r["months_since"]: r for r in rows if r["cohort"] == "2021-05"}
    july = {r["months_since"]: r for r in rows if r["cohort"] == "2021-07"}
    assert may[0]["accounts"] == 2 and may[0]["active_accounts"] == 2
    assert may[0]["logo_retention"] == 1 and may[0]["revenue_retention"] == 1
    assert float(may[0]["arr"]) == 1500
    assert may[3]["active_accounts"] == 1 and may[3]["logo_retention"] == 0.5  # C ended 15 Aug
    assert may[3]["revenue_retention"] == 0.8
    assert july[0]["accounts"] == 1 and july[0]["logo_retention"] == 1
    assert all(r["logo_retention"] == 1 for r in rows if r["months_since"] == 0)
