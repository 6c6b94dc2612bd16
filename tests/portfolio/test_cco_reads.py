"""The read models behind the CCO's pages (DuckDB and PostgreSQL), on the hand-worked company of
conftest.py: churned ARR by reason, ARR at risk and the totals of a filtered list, the filters'
choices and CSM names, the account header's last touch and next renewal, weekly usage, and
freshness per source."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tenure.metrics.compute import bridge_rows
from tenure.metrics.periods import parse_period
from tenure.portfolio.account360 import get_account, weekly_usage
from tenure.portfolio.accounts import AccountFilter, choices, list_accounts, owner_names
from tenure.portfolio.churn import NO_REASON, churn_by_reason
from tenure.portfolio.cockpit import top_risks
from tenure.portfolio.freshness import freshness

from .conftest import _load


def test_churned_arr_by_reason_adds_up_to_the_bridge(book, company):
    """C's only line (3,000 USD) ended 2026-04-30 with reason 'price': 2026-Q2 churns 3,000 for price."""
    _, config = company
    q2 = parse_period("2026-Q2")
    assert churn_by_reason(book, config, q2) == [{"reason": "price", "accounts": 1, "arr": 3000.0}]
    bridge = bridge_rows(book, config, q2)[0]
    assert float(bridge["churn"]) == 3000.0
    assert churn_by_reason(book, config, parse_period("2026-Q1")) == []  # nobody churned then


def test_a_churn_without_a_recorded_reason_is_not_dropped(book, company):
    _, config = company
    book.raw_sql("DELETE FROM churn_reasons WHERE account_id = 'C'")
    assert churn_by_reason(book, config, parse_period("2026-Q2")) == [
        {"reason": NO_REASON, "accounts": 1, "arr": 3000.0}]


def test_arr_at_risk_and_the_totals_of_every_matching_account(book):
    """Customers A (2,400 x 0.1) and B (17,000 x 0.5): ARR 19,400, ARR at risk 240 + 8,500 = 8,740."""
    page = list_accounts(book, AccountFilter(), page_size=1)
    assert [r["account_id"] for r in page.rows] == ["B"]  # one row on the page ...
    assert page.total == 2 and page.arr == pytest.approx(19_400) and page.arr_at_risk == pytest.approx(8_740)
    assert page.rows[0]["arr_at_risk"] == pytest.approx(8_500)  # ... the totals cover both
    smb = list_accounts(book, AccountFilter(segment="SMB"))
    assert (smb.total, smb.arr, smb.arr_at_risk) == (1, pytest.approx(2_400), pytest.approx(240))
    nobody = list_accounts(book, AccountFilter(owners=[]))
    assert (nobody.total, nobody.arr, nobody.arr_at_risk) == (0, 0.0, 0.0)
    by_risk = list_accounts(book, AccountFilter(), sort="arr_at_risk", descending=False)
    assert [r["arr_at_risk"] for r in by_risk.rows] == pytest.approx([240, 8_500])
    # the cockpit's top risks use the same definition
    assert [(r["account_id"], r["arr_at_risk"]) for r in top_risks(book)] == [("B", pytest.approx(8_500)),
                                                                              ("A", pytest.approx(240))]


def test_filter_choices_come_from_the_data_and_csms_have_names(book):
    got = choices(book)
    assert got["segment"] == ["Enterprise", "SMB"]
    assert got["region"] == ["EMEA", "NA"]
    assert got["owner"] == [("csm1", "Ann Ames"), ("csm2", "Bob Burr")]
    assert choices(book, ["csm1"])["owner"] == [("csm1", "Ann Ames")]
    assert choices(book, ["csm1"])["segment"] == ["SMB"]
    assert choices(book, [])["owner"] == []
    assert owner_names(book) == {"csm1": "Ann Ames", "csm2": "Bob Burr"}
    assert owner_names(book, ["csm2"]) == {"csm2": "Bob Burr"}
    rows = list_accounts(book, AccountFilter(status=None), sort="account_id", descending=False).rows
    assert [r["owner_name"] for r in rows] == ["Ann Ames", "Bob Burr", "Ann Ames", None, "Bob Burr"]


def test_the_header_has_the_last_touch_and_the_next_renewal(book, company):
    b = get_account(book, "B")
    assert b["last_touch"]["kind"] == "qbr" and b["last_touch"]["by"] == "csm2"
    assert b["last_touch"]["at"].date() == date(2026, 6, 15)
    assert (b["renewal_date"], b["days_to_renewal"]) == (date(2026, 9, 30), 92)
    assert get_account(book, "A")["last_touch"] is None
    # a later call is the last touch
    _load(book, company[1], "activities", activity_id=["AC2"], account_id=["B"], kind=["call"],
          at=["2026-06-28T10:00:00Z"], with_exec=["false"], owner=["csm2"])
    assert get_account(book, "B")["last_touch"]["kind"] == "call"


def test_weekly_usage_keeps_whole_weeks_and_the_busiest_day():
    first = date(2026, 1, 1)
    days = [{"day": first + timedelta(days=k), "events": float(k), "active_users": k % 5} for k in range(16)]
    weeks = weekly_usage(days)
    # 16 days: the first 2 are left out, then two whole weeks ending on the last day
    assert [w["week"] for w in weeks] == [date(2026, 1, 3), date(2026, 1, 10)]
    assert [w["events"] for w in weeks] == [sum(range(2, 9)), sum(range(9, 16))]
    assert [w["active_users"] for w in weeks] == [4, 4]
    assert weekly_usage(days[:6]) == []


def test_freshness_per_source_and_table(book, company):
    _load(book, company[1], "tickets", ticket_id=["T2"], account_id=["A"], opened_at=["2026-06-29T08:00:00Z"],
          priority=["low"], status=["open"], subject=["Question"])
    rows = {(r["source"], r["entity"]): r for r in freshness(book)}
    tickets = rows[("test", "tickets")]
    assert tickets["rows"] == 2 and tickets["latest_event"] == "2026-06-29"
    assert datetime.fromisoformat(tickets["latest_load"]).year >= 2026
    assert rows[("test", "churn_reasons")]["latest_event"] == "2026-04-30"
    assert rows[("test", "opportunities")]["latest_event"] is None  # close dates lie ahead: loads only
    assert rows[("test", "contract_lines")]["rows"] == 7
