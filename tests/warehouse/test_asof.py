"""The one "as of" (DuckDB and PostgreSQL): the latest day with events in the columns marked
`event_time`, never after yesterday; forward-dated columns and contract starts never count."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pyarrow as pa

from tenure.schema import TABLES
from tenure.warehouse import ibis_schema
from tenure.warehouse.asof import event_columns, latest_event_day, resolve_as_of

NOW = datetime(2026, 7, 1, 9, 0, tzinfo=timezone.utc)  # "yesterday" is 2026-06-30


def _put(wh, name, **cols):
    schema = ibis_schema(TABLES[name]).to_pyarrow()
    n = len(next(iter(cols.values())))
    defaults = {"source": ["test"] * n, "ingested_at": [datetime(2026, 7, 1)] * n}
    wh.insert(name, pa.table({f.name: pa.array(cols.get(f.name, defaults.get(f.name, [None] * n)), f.type)
                              for f in schema}))


def test_the_marked_columns_are_the_event_facts():
    assert sorted(event_columns()) == [("activities", "at", "timestamp"), ("invoices", "issued_at", "date"),
                                       ("survey_answers", "answered_at", "timestamp"),
                                       ("survey_invitations", "sent_at", "timestamp"),
                                       ("survey_responses", "responded_at", "timestamp"),
                                       ("tickets", "opened_at", "timestamp"), ("usage_daily", "day", "date")]


def test_latest_event_day_ignores_forward_dates_and_the_future(warehouse):
    wh = warehouse
    wh.ensure_schema()
    assert latest_event_day(wh, NOW) is None  # nothing happened yet
    _put(wh, "usage_daily", account_id=["A"], day=[date(2026, 6, 10)], events=[3], quantity=[3.0],
         active_users=[1], feature_mask=[1])
    _put(wh, "invoices", invoice_id=["I1"], account_id=["A"], amount=[100], currency=["USD"],
         issued_at=[date(2026, 5, 1)], due_at=[date(2099, 1, 1)])  # a due date far ahead: not an event
    _put(wh, "contract_lines", line_id=["L1", "L2"], account_id=["A", "A"], product=["core"] * 2,
         start_date=[date(2026, 1, 1), date(2026, 9, 1)], end_date=[date(9999, 12, 31), None],
         arr=[1200, 1200], currency=["USD"] * 2)
    _put(wh, "opportunities", opportunity_id=["O1"], account_id=["A"], kind=["renewal"], amount=[10],
         currency=["USD"], stage=["Discovery"], close_date=[date(2026, 12, 31)])
    assert latest_event_day(wh, NOW) == date(2026, 6, 10)
    _put(wh, "survey_responses", response_id=["S1"], account_id=["A"], kind=["nps"], score=[9],
         responded_at=[datetime(2026, 6, 20, 23, 30)])
    _put(wh, "tickets", ticket_id=["T1", "T2"], account_id=["A", "A"],
         opened_at=[datetime(2026, 7, 1, 8, 0), datetime(2096, 7, 1)])  # today and a typo: both ignored
    _put(wh, "activities", activity_id=["AC1"], account_id=["A"], kind=["call"], at=[datetime(2026, 6, 30, 23, 59)])
    assert latest_event_day(wh, NOW) == date(2026, 6, 30)
    assert latest_event_day(wh, NOW + timedelta(days=1)) == date(2026, 7, 1)  # today's ticket, a day later
    assert latest_event_day(wh, datetime(2026, 6, 15, tzinfo=timezone.utc)) == date(2026, 6, 10)
    assert resolve_as_of(wh, "2026-03-31", NOW) == date(2026, 3, 31)  # --as-of wins
    assert resolve_as_of(wh, None, NOW) == date(2026, 6, 30)
