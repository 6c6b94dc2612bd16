"""Timeline words carry money with its currency: ARR movements in the reporting currency, a
contract line, an opportunity and an invoice in their own (the page, the API and the CLI show
these titles as they are)."""

from datetime import date

from tenure.portfolio.wording import describe_event


def _row(kind, a=None, b=None, c=None, value=None):
    return {"at": date(2026, 3, 1), "kind": kind, "id": "x", "a": a, "b": b, "c": c, "value": value}


def test_an_arr_movement_is_written_in_the_reporting_currency():
    e = describe_event(_row("contract", "expansion", "10000", "12500.5", 2500.5), currency="EUR")
    assert e["title"] == "ARR expansion: +€2,500.50"
    assert e["detail"] == "ARR €10,000 -> €12,500.50 in the month"
    down = describe_event(_row("contract", "contraction", "12000", "9000", -3000), currency="USD")
    assert down["title"] == "ARR contraction: -$3,000"


def test_lines_opportunities_and_invoices_use_their_own_currency():
    line = describe_event(_row("contract", "start", "core", "pro GBP", 12000), currency="USD")
    assert line["detail"] == "pro GBP, ARR £12,000"
    opp = describe_event(_row("opportunity", "expansion", "proposal", "EUR", 5000), currency="USD")
    assert opp["detail"] == "€5,000"
    inv = describe_event(_row("invoice", "PLN", None, "2026-04-01", 1234.5), currency="USD")
    assert inv["title"] == "Invoice PLN 1,234.50" and inv["detail"] == "unpaid, due 2026-04-01"
