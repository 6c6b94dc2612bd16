"""The questions the web app and API ask (DuckDB and PostgreSQL), on the hand-worked company."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest

from tenure.errors import InputError, NotFoundError
from tenure.portfolio import query as Q
from tenure.portfolio.summary import write_band_history, write_summary

from .conftest import AS_OF


@pytest.fixture
def book(company):
    wh, config = company
    write_summary(wh, config, AS_OF)
    write_band_history(wh, config, AS_OF)
    return wh


def ids(rows):
    return [r["account_id"] for r in rows]


def test_scoping_by_owner(book):
    every = Q.AccountFilter(status=None)
    assert sorted(ids(Q.list_accounts(book, every).rows)) == ["A", "B", "C", "D", "E"]
    mine = Q.list_accounts(book, Q.AccountFilter(status=None, owners=["csm1"]))
    assert sorted(ids(mine.rows)) == ["A", "C"] and mine.total == 2
    none = Q.list_accounts(book, Q.AccountFilter(status=None, owners=[]))
    assert none.rows == [] and none.total == 0
    assert ids(Q.list_accounts(book, Q.AccountFilter(status=None, owners=["csm1", "csm2"]), sort="account_id",
                               descending=False).rows) == ["A", "B", "C", "E"]
    assert Q.renewals(book, [], 400) == [] and Q.top_risks(book, []) == [] and Q.changes_since(book, [], 7) == []
    assert Q.band_distribution(book, []) == []
    assert ids(Q.renewals(book, ["csm1"], 400)) == ["A"]
    assert ids(Q.top_risks(book, ["csm2"])) == ["B"]
    assert {r["account_id"] for r in Q.changes_since(book, ["csm1"], 7)} == {"A"}
    assert Q.export_accounts(book, Q.AccountFilter(status=None, owners=[])).num_rows == 0


def test_filters_sort_and_paging(book):
    page = Q.list_accounts(book, Q.AccountFilter())  # customers, by ARR, highest first
    assert ids(page.rows) == ["B", "A"] and page.total == 2 and page.pages == 1
    assert ids(Q.list_accounts(book, Q.AccountFilter(), sort="arr", descending=False).rows) == ["A", "B"]
    p2 = Q.list_accounts(book, Q.AccountFilter(status=None), sort="name", descending=False, page=2, page_size=2)
    assert ids(p2.rows) == ["D", "E"]  # Alpha, Beta | Delta, Epsilon | Gamma
    assert (p2.total, p2.pages, p2.page, p2.page_size) == (5, 3, 2, 2)
    past = Q.list_accounts(book, Q.AccountFilter(status=None), page=9, page_size=2)
    assert past.rows == [] and past.total == 5
    assert Q.list_accounts(book, Q.AccountFilter(), page_size=10_000).page_size == Q.MAX_PAGE_SIZE
    assert ids(Q.list_accounts(book, Q.AccountFilter(q="BETA", status=None)).rows) == ["B"]  # name
    assert ids(Q.list_accounts(book, Q.AccountFilter(q="gamma.co", status=None)).rows) == ["C"]  # domain
    assert ids(Q.list_accounts(book, Q.AccountFilter(q="50%", status=None)).rows) == []  # % is literal text
    assert ids(Q.list_accounts(book, Q.AccountFilter(status="churned")).rows) == ["C"]
    assert sorted(ids(Q.list_accounts(book, Q.AccountFilter(status="prospect")).rows)) == ["D", "E"]
    assert ids(Q.list_accounts(book, Q.AccountFilter(segment="Enterprise")).rows) == ["B"]
    assert ids(Q.list_accounts(book, Q.AccountFilter(band="green")).rows) == ["A"]
    assert ids(Q.list_accounts(book, Q.AccountFilter(min_risk=0.3)).rows) == ["B"]
    assert ids(Q.list_accounts(book, Q.AccountFilter(renewal_within_days=100)).rows) == ["B"]
    assert ids(Q.list_accounts(book, Q.AccountFilter(segment=["SMB", "Enterprise"], owner="csm1")).rows) == ["A"]
    # nulls last either way; band sorts by severity
    assert ids(Q.list_accounts(book, Q.AccountFilter(status=None), sort="risk").rows)[:2] == ["B", "A"]
    assert ids(Q.list_accounts(book, Q.AccountFilter(status=None), sort="risk", descending=False).rows)[:2] == \
        ["A", "B"]
    assert ids(Q.list_accounts(book, Q.AccountFilter(), sort="band", descending=False).rows) == ["B", "A"]
    with pytest.raises(InputError, match="cannot sort by"):
        Q.list_accounts(book, Q.AccountFilter(), sort="drop table")


def test_rows_are_plain_values(book):
    row = next(r for r in Q.list_accounts(book, Q.AccountFilter()).rows if r["account_id"] == "A")
    assert row["arr"] == 2400.0 and isinstance(row["arr"], float)
    assert row["renewal_date"] == date(2026, 12, 31) and type(row["renewal_date"]) is date
    assert row["customer_since"] == date(2025, 1, 1) and row["as_of"] == AS_OF
    assert row["risk_drivers"] == [{"feature": "nps_latest", "effect": 0.5}]
    t = Q.export_accounts(book, Q.AccountFilter())
    assert isinstance(t, pa.Table) and t.column("account_id").to_pylist() == ["B", "A"]
    assert pa.types.is_floating(t.schema.field("arr").type)


def test_get_account_and_owner(book):
    b = Q.get_account(book, "B")
    assert b["name"] == "Beta GmbH" and b["arr"] == 17000.0 and b["band"] == "red"
    assert {c["role"] for c in b["contacts"]} == {"exec_sponsor", "champion"}
    assert b["attributes"] == {"employees": "5000"}
    assert Q.get_account(book, "nope") is None
    assert Q.owner_of(book, "A") == "csm1" and Q.owner_of(book, "D") is None
    with pytest.raises(NotFoundError):
        Q.owner_of(book, "nope")


def test_timeline_newest_first_with_every_kind(book):
    events = Q.timeline(book, "B")
    kinds = {e["kind"] for e in events}
    assert kinds == {"contract", "ticket", "survey", "activity", "milestone", "signal", "opportunity", "invoice"}
    keys = [e["at"] if isinstance(e["at"], datetime) else datetime.combine(e["at"], datetime.min.time())
            for e in events]
    assert keys == sorted(keys, reverse=True)
    assert events[0]["kind"] == "contract" and events[0]["at"] == date(2026, 9, 30)  # fixed-term end
    survey = next(e for e in events if e["kind"] == "survey")
    assert survey["score"] == 3 and survey["comment"] == "too slow" and "too slow" in survey["detail"]
    ticket = next(e for e in events if e["kind"] == "ticket")
    assert ticket["title"] == "Ticket: Export broken" and "escalated" in ticket["detail"]
    assert isinstance(ticket["at"], datetime)
    starts = [e for e in events if e["kind"] == "contract" and e["tag"] == "start"]
    assert {e["line_id"] for e in starts} == {"LB1", "LB2", "LB3"}
    assert all(e["title"] and isinstance(e["detail"], str) for e in events)
    assert len(Q.timeline(book, "B", limit=3)) == 3
    # same day: ordered by kind (churn before the line's end), then the line's start
    assert [(e["kind"], e["tag"]) for e in Q.timeline(book, "C")] == [("churn", "price"), ("contract", "end"),
                                                                       ("contract", "start")]
    assert Q.timeline(book, "nope") == []


def test_renewals_with_band_probability(book):
    rows = Q.renewals(book, None, within_days=200)
    assert ids(rows) == ["B", "A"]  # soonest first: 92 and 184 days
    b = rows[0]
    assert b["renewal_probability"] == pytest.approx(0.6) and b["expected_renewal_arr"] == pytest.approx(3000)
    assert ids(Q.renewals(book, None, within_days=90)) == []
    assert ids(Q.renewals(book, None, within_days=92)) == ["B"]


def test_renewal_totals_cover_every_row_not_just_a_page(book):
    rows = Q.renewals(book, None, within_days=200)
    totals = Q.renewal_totals(book, None, within_days=200)
    assert totals["accounts"] == len(rows) == 2
    assert totals["renewal_arr"] == pytest.approx(sum(r["renewal_arr"] for r in rows))
    assert totals["expected_renewal_arr"] == pytest.approx(sum(r["expected_renewal_arr"] or 0 for r in rows))
    one = Q.renewals(book, None, within_days=200, limit=1)
    assert len(one) == 1 and Q.renewal_totals(book, None, within_days=200) == totals
    assert Q.renewal_totals(book, [], within_days=200)["accounts"] == 0
    assert Q.renewal_totals(book, None, within_days=90) == {"accounts": 0, "renewal_arr": 0.0,
                                                           "expected_renewal_arr": 0.0}


def test_top_risks_changes_and_bands(book):
    top = Q.top_risks(book, None)
    assert ids(top) == ["B", "A"] and top[0]["arr_at_risk"] == pytest.approx(8500)
    changes = Q.changes_since(book, None, days=7)
    by_kind = {(c["kind"], c["account_id"]) for c in changes}
    assert by_kind == {("band", "A"), ("band", "B"), ("signal", "B"), ("risk", "B")}  # the old signal is out
    band_b = next(c for c in changes if c["kind"] == "band" and c["account_id"] == "B")
    assert band_b["direction"] == "down" and band_b["title"] == "health yellow -> red"
    jump = next(c for c in changes if c["kind"] == "risk")
    assert jump["risk_before"] == pytest.approx(0.2) and jump["risk_now"] == pytest.approx(0.5)
    assert {(c["kind"], c["account_id"]) for c in Q.changes_since(book, None, days=200)} >= {("signal", "B")}
    dist = Q.band_distribution(book)
    assert [(r["as_of"], r["band"], r["accounts"], r["arr"]) for r in dist] == [
        (date(2026, 5, 31), "yellow", 2, 19400.0), (AS_OF, "red", 1, 17000.0), (AS_OF, "green", 1, 2400.0)]
    assert [(r["band"], r["accounts"]) for r in Q.band_distribution(book, ["csm1"])] == [("yellow", 1),
                                                                                          ("green", 1)]


def test_usage_and_health_history(book):
    series = Q.usage_series(book, "B", days=30)
    assert len(series) == 30 and series[-1]["day"] == AS_OF and all(r["events"] == 0 for r in series)
    hist = Q.health_history(book, "A")
    assert [(h["as_of"], h["band"]) for h in hist] == [(date(2026, 5, 31), "yellow"), (AS_OF, "green")]
    assert hist[0]["components"] == []


def test_changes_are_capped_biggest_arr_first(book):
    changes = Q.changes_since(book, None, days=7, limit=2)
    assert len(changes) == 2 and all(c["account_id"] == "B" for c in changes)  # B's ARR beats A's
