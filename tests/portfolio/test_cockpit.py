"""The cockpit's questions on the hand-worked company (DuckDB and PostgreSQL): top risks, what
changed in the last `days` (counted in the engine), signals ranked by ARR at stake, band history."""

from __future__ import annotations

from datetime import date

import pytest

from tenure.portfolio.cockpit import band_distribution, changes_since, signals, top_risks

from .conftest import AS_OF, _put


def ids(rows):
    return [r["account_id"] for r in rows]


def kinds(rows):
    return {(r["kind"], r["account_id"]) for r in rows}


def test_top_risks_by_arr_at_risk(book):
    top = top_risks(book, None)
    assert ids(top) == ["B", "A"] and top[0]["arr_at_risk"] == pytest.approx(8500)
    assert ids(top_risks(book, ["csm2"])) == ["B"] and top_risks(book, []) == []


def test_changes_over_the_window_asked(book):
    # health and risk were last stored 30 days before AS_OF: the band moves and the risk jump are
    # changes of the last 30 days, not of the last week (the cockpit said "since last week")
    month = changes_since(book, None, days=30)
    assert kinds(month.rows) == {("band", "A"), ("band", "B"), ("signal", "B"), ("risk", "B")}
    assert month.total == 4
    band_b = next(c for c in month.rows if c["kind"] == "band" and c["account_id"] == "B")
    assert band_b["direction"] == "down" and band_b["title"] == "health yellow -> red"
    assert band_b["before"] == date(2026, 5, 31)
    jump = next(c for c in month.rows if c["kind"] == "risk")
    assert jump["risk_before"] == pytest.approx(0.2) and jump["risk_now"] == pytest.approx(0.5)
    week = changes_since(book, None, days=7)
    assert kinds(week.rows) == {("signal", "B")} and week.total == 1  # the old signal is out too
    assert kinds(changes_since(book, ["csm1"], days=30).rows) == {("band", "A")}
    assert changes_since(book, [], days=30).total == 0


def test_changes_are_counted_beyond_the_listed_rows(book):
    capped = changes_since(book, None, days=30, limit=2)
    assert len(capped.rows) == 2 and capped.total == 4
    assert all(c["account_id"] == "B" for c in capped.rows)  # B's ARR beats A's


def test_signals_ranked_by_arr_at_stake(book):
    # A's signal is newer, but B has the bigger ARR (17,000 against 2,400)
    _put(book, "health_signals", account_id=["A"], signal=["sponsor_left"], at=[date(2026, 6, 28)],
         severity=["high"], detail=["sponsor left"])
    page = signals(book, None, days=30)
    assert [(r["account_id"], r["signal"]) for r in page.rows] == [("B", "detractor"), ("A", "sponsor_left")]
    assert page.total == 2 and page.rows[0]["arr"] == pytest.approx(17000)
    one = signals(book, None, days=30, page_size=1)
    assert len(one.rows) == 1 and one.total == 2
    assert ids(signals(book, None, days=30, page=2, page_size=1).rows) == ["A"]
    assert ids(signals(book, None, days=365).rows) == ["B", "B", "A"]  # B's March usage decline too
    assert ids(signals(book, None, days=30, severity="medium").rows) == []
    assert ids(signals(book, ["csm1"], days=30).rows) == ["A"] and signals(book, [], days=30).total == 0


def test_band_distribution(book):
    dist = band_distribution(book)
    assert [(r["as_of"], r["band"], r["accounts"], r["arr"]) for r in dist] == [
        (date(2026, 5, 31), "yellow", 2, 19400.0), (AS_OF, "red", 1, 17000.0), (AS_OF, "green", 1, 2400.0)]
    assert [(r["band"], r["accounts"]) for r in band_distribution(book, ["csm1"])] == [("yellow", 1),
                                                                                       ("green", 1)]
    assert band_distribution(book, []) == []
