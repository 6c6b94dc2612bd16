"""Published worked examples (../shared/reference/worked-examples.md), each as a test. Where a
vendor's convention differs from tenure's, the test names it."""

from __future__ import annotations

from decimal import Decimal

from tenure.metrics.compute import compute, economics_rows
from tenure.metrics.periods import parse_period

from .conftest import load, make_config

P = "2025-06"


def _v(wh, config, metric, period=P):
    return compute(wh, config, metric, period)[0]["value"]


def test_chartmogul_churn_and_retention(warehouse, mconfig):
    """Starting MRR 100 (ARR 1200) over 4 accounts: churn 10, contraction 10, expansion 10 (MRR).
    GRR 80%, NRR 90%; ChartMogul's gross MRR churn rate 20% = our revenue churn + contraction rate."""
    # MRR: A 50 -> 60 (expansion 10), B 10 -> 0 (churn 10), C 40 -> 30 (contraction 10)
    lines = [("A1", "A", "2025-01-01", None, 600, "USD"), ("A2", "A", "2025-06-01", None, 120, "USD"),
             ("B1", "B", "2025-01-01", "2025-05-31", 120, "USD"),
             ("C1", "C", "2025-01-01", "2025-05-31", 480, "USD"), ("C2", "C", "2025-06-01", None, 360, "USD")]
    load(warehouse, mconfig, [(x, "SMB") for x in "ABC"], lines)
    assert _v(warehouse, mconfig, "opening_arr") == 1200
    assert _v(warehouse, mconfig, "grr") == Decimal("0.8")
    assert _v(warehouse, mconfig, "nrr") == Decimal("0.9")
    gross_mrr_churn = _v(warehouse, mconfig, "revenue_churn_rate") + _v(warehouse, mconfig, "contraction_rate")
    assert gross_mrr_churn == Decimal("0.2")
    # ChartMogul net MRR churn = (churn + contraction - expansion - reactivation) / start = 10%
    net = gross_mrr_churn - _v(warehouse, mconfig, "expansion_rate")
    assert net == Decimal("0.1")


def test_churnzero_nrr(warehouse, mconfig):
    """Starting ARR 27,000; the same customers end at 30,000 (35,000 of upsells net of 5,000 churn): 111%."""
    load(warehouse, mconfig, [("A", "SMB"), ("B", "SMB")], [
        ("A1", "A", "2025-01-01", None, 22000, "USD"), ("A2", "A", "2025-06-10", None, 8000, "USD"),
        ("B1", "B", "2025-01-01", "2025-06-20", 5000, "USD")])
    assert _v(warehouse, mconfig, "nrr") == Decimal("1.111111")


def test_chartmogul_arpa(warehouse, mconfig):
    """Customer MRRs 100, 100, 300, 500, 500 -> ARPA 300 per month (3,600 ARR; tenure's ARPA is annual)."""
    load(warehouse, mconfig, [(f"A{i}", "SMB") for i in range(5)],
         [(f"L{i}", f"A{i}", "2025-01-01", None, m * 12, "USD") for i, m in enumerate([100, 100, 300, 500, 500])])
    assert _v(warehouse, mconfig, "arpa") / 12 == 300


def test_chartmogul_ltv_and_zero_churn_convention(warehouse, tmp_path):
    """ARPA 100/month, 5% monthly logo churn -> LTV 2,000 (gross margin 100%: no cost to serve).
    tenure annualizes churn linearly (5% x 12 = 60%/year, lifetime 1/0.6 years), so CLV = 1,200 x 1 x 1.667
    = 2,000 as ChartMogul. At zero churn ChartMogul shows 0, Stripe assumes 1.67%, PostHog null: tenure's
    default is null, or a configured cap."""
    config = make_config(tmp_path)
    accounts = [(f"A{i:02d}", "SMB") for i in range(20)]
    lines = [(f"L{i:02d}", a, "2025-01-01", "2025-06-15" if i == 0 else None, 1200, "USD")
             for i, (a, _) in enumerate(accounts)]
    load(warehouse, config, accounts, lines)
    row = economics_rows(warehouse, config, parse_period(P))[0]
    assert row["annual_logo_churn"] == Decimal("0.6")
    assert row["gross_margin"] == 1
    # ARPA over the 19 remaining customers is 1,200 (annual), as in the example
    assert row["clv"] == Decimal("2000.00")
    warehouse.raw_sql("DELETE FROM contract_lines WHERE line_id = 'L00'")
    warehouse.raw_sql("DELETE FROM accounts WHERE account_id = 'A00'")
    row = economics_rows(warehouse, config, parse_period(P))[0]
    assert row["annual_logo_churn"] == 0 and row["lifetime_years"] is None and row["clv"] is None
    capped = make_config(tmp_path, ltv_zero_churn="cap", max_lifetime_years=5)
    assert economics_rows(warehouse, capped, parse_period(P))[0]["clv"] == Decimal("6000.00")


def test_stripe_mrr(warehouse, mconfig):
    """100 subscribers at 100/month plus 50 at 600/year: MRR 12,500 (ARR 150,000)."""
    accounts = [(f"M{i:03d}", "SMB") for i in range(100)] + [(f"Y{i:03d}", "SMB") for i in range(50)]
    lines = [(f"L{a}", a, "2025-01-01", None, 1200 if a.startswith("M") else 600, "USD") for a, _ in accounts]
    load(warehouse, mconfig, accounts, lines)
    assert _v(warehouse, mconfig, "arr") / 12 == Decimal("12500")


def test_cac_payback(warehouse, tmp_path):
    """CAC 1,200, ARPA 100/month, gross margin 80% -> 15 months."""
    config = make_config(tmp_path)
    load(warehouse, config, [("A", "SMB")], [("L1", "A", "2025-06-01", None, 1200, "USD")])
    from tenure.ingest.pipeline import ingest_table
    import pyarrow as pa

    ingest_table(warehouse, config, "spend", pa.table({"period": ["2025-06"], "segment": ["SMB"], "amount": ["1200"],
                                                       "currency": ["USD"]}), source="t", file_label="spend")
    ingest_table(warehouse, config, "costs", pa.table({"period": ["2025-06"], "segment": ["SMB"], "amount": ["20"],
                                                       "currency": ["USD"]}), source="t", file_label="costs")
    row = economics_rows(warehouse, config, parse_period(P), ["segment"])[0]
    assert (row["cac"], row["gross_margin"]) == (1200, Decimal("0.8"))
    assert row["payback_months"] == Decimal("15")


def test_bridge_identity_for_every_period_and_group(warehouse, mconfig):
    load(warehouse, mconfig, [("A", "SMB"), ("B", "Enterprise")], [
        ("L1", "A", "2024-03-01", "2024-11-30", 100, "USD"), ("L2", "A", "2025-02-01", None, 300, "USD"),
        ("L3", "B", "2024-01-01", None, 1000, "USD"), ("L4", "B", "2024-06-01", "2025-05-31", 250, "USD")])
    from tenure.metrics.bridge import bridge
    from tenure.metrics.periods import monthly, parse_period as pp

    rows = warehouse.execute(bridge(warehouse, mconfig, monthly(pp("2024-01").first_day, pp("2025-12").last_day),
                                    ["segment"]))
    lhs = rows.opening + rows.new + rows.reactivation + rows.expansion - rows.contraction - rows.churn
    assert (lhs == rows.closing).all() and len(rows) > 20
