"""Hand-worked scenarios for every edge of the ARR bridge definitions (DuckDB and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

from tenure.metrics.compute import bridge_rows, compute
from tenure.metrics.periods import parse_period

from .conftest import load, make_config


def _bridge(wh, config, period, by=()):
    rows = bridge_rows(wh, config, parse_period(period), by)
    return rows[0] if not by else {tuple(r[k] for k in by): r for r in rows}


def _amounts(row):
    return {k: Decimal(row[k]) for k in ("opening", "new", "reactivation", "expansion", "contraction", "churn",
                                         "closing")}


def test_line_ending_on_last_day_is_in_closing_and_churns_next_period(warehouse, mconfig):
    load(warehouse, mconfig, [("A", "SMB")], [("L1", "A", "2025-01-01", "2025-09-30", 1200, "USD")])
    sep = _amounts(_bridge(warehouse, mconfig, "2025-09"))
    assert sep["opening"] == sep["closing"] == 1200 and sep["churn"] == 0
    octo = _amounts(_bridge(warehouse, mconfig, "2025-10"))
    assert octo["opening"] == 1200 and octo["closing"] == 0 and octo["churn"] == 1200


def test_line_starting_on_first_day_is_new_not_opening(warehouse, mconfig):
    load(warehouse, mconfig, [("A", "SMB")], [("L1", "A", "2025-10-01", None, 600, "USD")])
    row = _bridge(warehouse, mconfig, "2025-10")
    assert _amounts(row)["opening"] == 0 and _amounts(row)["new"] == 600 and row["new_accounts"] == 1
    # open-ended: still ARR years later
    assert _amounts(_bridge(warehouse, mconfig, "2030-01"))["closing"] == 600


def test_upgrade_then_downgrade_within_period_nets_out(warehouse, mconfig):
    load(warehouse, mconfig, [("A", "SMB")], [
        ("L1", "A", "2025-01-01", "2025-10-10", 1000, "USD"),
        ("L2", "A", "2025-10-11", "2025-10-20", 3000, "USD"),
        ("L3", "A", "2025-10-21", None, 900, "USD"),
    ])
    a = _amounts(_bridge(warehouse, mconfig, "2025-Q4"))
    assert (a["opening"], a["expansion"], a["contraction"], a["closing"]) == (1000, 0, 100, 900)


def test_overlapping_lines_add_up(warehouse, mconfig):
    load(warehouse, mconfig, [("A", "SMB")], [("L1", "A", "2025-01-01", None, 1000, "USD"),
                                            ("L2", "A", "2025-06-01", "2026-05-31", 500, "USD")])
    a = _amounts(_bridge(warehouse, mconfig, "2025-06"))
    assert (a["opening"], a["expansion"], a["closing"]) == (1000, 500, 1500)


def test_reactivation_and_window(warehouse, tmp_path):
    lines = [("L1", "A", "2024-01-01", "2024-12-31", 1000, "USD"), ("L2", "A", "2025-03-01", None, 800, "USD"),
             ("L3", "B", "2024-01-01", "2025-01-31", 100, "USD"), ("L4", "B", "2025-03-01", None, 100, "USD")]
    any_return = make_config(tmp_path)
    load(warehouse, any_return, [("A", "SMB"), ("B", "SMB")], lines)
    r = _bridge(warehouse, any_return, "2025-03")
    assert _amounts(r)["reactivation"] == 900 and _amounts(r)["new"] == 0 and r["reactivated_accounts"] == 2
    # Maxio-style 60-day window: A left 2024-12-31 (60 days before 2025-03-01 is 2024-12-31: inside);
    # with a 30-day window A counts as new, B (left 2025-01-31) is still a reactivation.
    windowed = make_config(tmp_path, reactivation_window_days=30)
    r = _bridge(warehouse, windowed, "2025-03")
    assert _amounts(r)["new"] == 800 and _amounts(r)["reactivation"] == 100


def test_currency_conversion_uses_rate_in_force_and_currency_change(warehouse, mconfig):
    load(warehouse, mconfig, [("A", "Enterprise")],
         [("L1", "A", "2025-01-01", "2025-06-30", 1000, "EUR"), ("L2", "A", "2025-07-01", None, 1100, "USD")],
         fx=[("2025-01-01", "EUR", "1.10"), ("2025-06-15", "EUR", "1.20"), ("2025-01-01", "USD", "1")])
    may = _amounts(_bridge(warehouse, mconfig, "2025-05"))
    assert may["closing"] == Decimal("1100.00")  # 1000 EUR x 1.10
    jun = _amounts(_bridge(warehouse, mconfig, "2025-06"))
    assert (jun["opening"], jun["closing"], jun["expansion"]) == (1100, 1200, 100)  # fx moved
    jul = _amounts(_bridge(warehouse, mconfig, "2025-07"))
    assert (jul["opening"], jul["closing"], jul["contraction"]) == (1200, 1100, 100)  # switched to USD


def test_grouping_reconciles_and_custom_attributes(warehouse, mconfig):
    load(warehouse, mconfig, [("A", "SMB"), ("B", "Enterprise"), ("C", "SMB")], [
        ("L1", "A", "2025-01-01", "2025-09-15", 100, "USD"), ("L2", "B", "2025-01-01", None, 1000, "USD"),
        ("L3", "B", "2025-09-10", None, 250, "USD", "addon"), ("L4", "C", "2025-09-05", None, 40, "USD")])
    groups = _bridge(warehouse, mconfig, "2025-09", ["segment"])
    total = _amounts(_bridge(warehouse, mconfig, "2025-09"))
    for k in total:
        assert sum(_amounts(g)[k] for g in groups.values()) == total[k]
    for g in groups.values():
        a = _amounts(g)
        assert a["opening"] + a["new"] + a["reactivation"] + a["expansion"] - a["contraction"] - a["churn"] == \
            a["closing"]
    by_product = _bridge(warehouse, mconfig, "2025-09", ["product"])
    assert _amounts(by_product[("addon",)])["new"] == 250
    grr = compute(warehouse, mconfig, "grr", "2025-09", ["segment"])
    smb = next(r for r in grr if r["group"]["segment"] == "SMB")
    assert smb["value"] == 0 and smb["denominator"] == 100
