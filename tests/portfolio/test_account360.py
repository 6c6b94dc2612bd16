"""One account all round (DuckDB and PostgreSQL), on the hand-worked company: the header with
contacts and attributes, usage and health history in one query, the timeline paged in another."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tenure.portfolio.account360 import account_360, get_account, health_history, timeline, timeline_page, \
    usage_series

from .conftest import AS_OF, BEFORE, _load, _put


def test_get_account(book):
    b = get_account(book, "B")
    assert b["name"] == "Beta GmbH" and b["arr"] == 17000.0 and b["band"] == "red"
    assert [c["name"] for c in b["contacts"]] == ["Bo", "Bea"]  # champion, then exec sponsor
    assert b["attributes"] == {"employees": "5000"}
    assert b["risk_drivers"] == [] and b["renewal_date"] == date(2026, 9, 30)
    assert get_account(book, "nope") is None
    a = get_account(book, "A")
    assert a["contacts"] == [] and a["risk_drivers"] == [{"feature": "nps_latest", "effect": 0.5}]


def test_an_account_added_after_the_refresh_has_a_header(book, company):
    _load(book, company[1], "accounts", account_id=["F"], name=["Phi"], owner=["csm1"], segment=["SMB"])
    f = get_account(book, "F")
    assert (f["name"], f["owner"], f["segment"]) == ("Phi", "csm1", "SMB")
    assert f["arr"] is None and f["status"] is None and f["contacts"] == [] and f["attributes"] == {}


def test_the_page_is_two_queries(book, monkeypatch):
    queries = []
    for method in ("to_pyarrow", "raw_sql"):
        original = getattr(type(book), method)

        def counting(self, *args, _original=original, **kwargs):
            queries.append(args[0])
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(type(book), method, counting)
    a = account_360(book, "B", usage_days=30)
    page = timeline_page(book, "B", page_size=5)
    assert len(queries) == 2
    assert a["name"] == "Beta GmbH" and len(a["contacts"]) == 2 and a["attributes"] == {"employees": "5000"}
    assert len(a["usage"]) == 30 and a["usage"][-1]["day"] == AS_OF
    assert [(h["as_of"], h["band"]) for h in a["health_history"]] == [(BEFORE, "yellow"), (AS_OF, "red")]
    assert len(page.rows) == 5 and page.total == 14


def test_usage_and_health_history(book):
    _put(book, "usage_daily", account_id=["B", "B", "B"], day=[AS_OF, date(2026, 6, 1), date(2026, 5, 1)],
         events=[5, 7, 9], active_users=[2, 3, 4], quantity=[5.0, 7.0, 9.0], feature_mask=[1, 1, 1])
    series = usage_series(book, "B", days=30)
    assert len(series) == 30 and series[0]["day"] == date(2026, 6, 1) and series[-1]["day"] == AS_OF
    assert [(r["day"], r["events"], r["active_users"]) for r in series if r["events"]] == [
        (date(2026, 6, 1), 7.0, 3), (AS_OF, 5.0, 2)]  # May 1st is before the window
    hist = health_history(book, "A")
    assert [(h["as_of"], h["band"]) for h in hist] == [(BEFORE, "yellow"), (AS_OF, "green")]
    assert hist[0]["components"] == []
    assert health_history(book, "nope") == [] and all(r["events"] == 0 for r in usage_series(book, "nope", 7))


def test_timeline_newest_first_with_every_kind(book):
    events = timeline(book, "B")
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
    assert len(timeline(book, "B", limit=3)) == 3
    # same day: ordered by kind (churn before the line's end), then the line's start
    assert [(e["kind"], e["tag"]) for e in timeline(book, "C")] == [("churn", "price"), ("contract", "end"),
                                                                     ("contract", "start")]
    assert timeline(book, "nope") == []


def test_timeline_pages_and_counts_in_the_engine(book):
    first = timeline_page(book, "B", page_size=4)
    assert first.total == 14 and first.pages == 4
    assert first.counts == {"contract": 5, "ticket": 1, "survey": 1, "activity": 1, "milestone": 1, "signal": 2,
                            "opportunity": 2, "invoice": 1, "churn": 0}
    everything = timeline(book, "B", limit=100)
    pages = [e for p in range(1, 5) for e in timeline_page(book, "B", page=p, page_size=4).rows]
    assert [(e["kind"], e["id"], e["at"]) for e in pages] == [(e["kind"], e["id"], e["at"]) for e in everything]
    signals = timeline_page(book, "B", kind="signal")
    assert [e["signal"] for e in signals.rows] == ["detractor", "usage_decline"] and signals.total == 2
    assert signals.counts == first.counts  # the other kinds' counts come along for the tabs
    none = timeline_page(book, "B", kind="churn")
    assert none.rows == [] and none.total == 0 and none.counts == first.counts
    past = timeline_page(book, "B", page=9, page_size=4)
    assert past.rows == [] and past.total == 14


@pytest.mark.parametrize("account_id", ["x' OR '1'='1", "B%", "b"])
def test_an_account_id_is_a_value_not_sql(book, account_id):
    assert get_account(book, account_id) is None and timeline(book, account_id) == []
