"""Renewals in a window, on the hand-worked company (DuckDB and PostgreSQL): soonest first, with
one renewal probability (1 - churn risk), and a count of every renewal in the window, not of the listed rows."""

from __future__ import annotations

import pytest

from tenure.portfolio.renewals import renewal_totals, renewals


def ids(rows):
    return [r["account_id"] for r in rows]


def test_renewals_with_one_renewal_probability(book):
    page = renewals(book, None, within_days=200)
    assert ids(page.rows) == ["B", "A"] and page.total == 2  # soonest first: 92 and 184 days
    b = page.rows[0]
    # the finding: 63% churn risk beside an 85.8% renewal probability from the band. Now one model:
    # B's churn risk is 0.5 (its red band renewed at 0.6, which no longer overrides it)
    assert b["renewal_probability"] == pytest.approx(1 - b["risk"]) == pytest.approx(0.5)
    assert b["expected_renewal_arr"] == pytest.approx(2500) and b["renewal_source"] == "churn-risk model"
    assert renewals(book, None, within_days=90).rows == []
    assert ids(renewals(book, None, within_days=92).rows) == ["B"]
    assert ids(renewals(book, ["csm1"], within_days=400).rows) == ["A"]
    assert renewals(book, [], within_days=400).total == 0


def test_the_count_covers_every_renewal_not_the_listed_rows(book):
    # the cockpit listed 200 rows and headed them with the count of the list, not of the window
    page = renewals(book, None, within_days=200, limit=1)
    assert ids(page.rows) == ["B"] and page.total == 2
    second = renewals(book, None, within_days=200, limit=1, page=2)
    assert ids(second.rows) == ["A"] and second.total == 2


def test_a_window_between_days(book):
    # the cockpit's "91-180 days": B renews in 92 days, A in 184
    assert ids(renewals(book, None, within_days=180, after_days=91).rows) == ["B"]
    assert ids(renewals(book, None, within_days=200, after_days=93).rows) == ["A"]
    assert renewals(book, None, within_days=90, after_days=0).total == 0


def test_renewal_totals_cover_every_row_not_just_a_page(book):
    page = renewals(book, None, within_days=200)
    totals = renewal_totals(book, None, within_days=200)
    assert totals["accounts"] == page.total == 2
    assert totals["renewal_arr"] == pytest.approx(sum(r["renewal_arr"] for r in page.rows))
    assert totals["expected_renewal_arr"] == pytest.approx(sum(r["expected_renewal_arr"] or 0 for r in page.rows))
    assert renewal_totals(book, [], within_days=200)["accounts"] == 0
    assert renewal_totals(book, None, within_days=90) == {"accounts": 0, "renewal_arr": 0.0,
                                                          "expected_renewal_arr": 0.0}
