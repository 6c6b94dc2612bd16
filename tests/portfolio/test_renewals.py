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


# -- the renewals page's read model: filters, months, calls, last touch, export ------------------------

from datetime import date, datetime  # noqa: E402

from tenure.access import Access, OutOfScope, Principal  # noqa: E402
from tenure.errors import ConflictError, InputError  # noqa: E402
from tenure.portfolio.renewals import (  # noqa: E402
    ROLLING, RenewalFilter, call_renewal, export_renewals, renewal_choices, renewal_months, renewal_view,
)


@pytest.fixture
def state(tmp_path):
    """A state DB (SQLite, migrated) with a CSM for csm1, one for csm2, a manager of csm1 and an admin;
    db() opens a committed session like the app context's."""
    from tenure.state import users
    from tenure.state.db import session_scope

    url = f"sqlite:///{tmp_path / 'state.db'}"
    with session_scope(url) as s:
        boss = users.create_user(s, "boss", "password-123", "manager")
        s.flush()
        for name, role, key, manager in (("ann", "csm", "csm1", boss.id), ("bob", "csm", "csm2", None),
                                         ("root", "admin", None, None)):
            u = users.create_user(s, name, "password-123", role, csm_key=key)
            u.manager_id = manager
    return lambda: session_scope(url)


def acc_of(db, username: str) -> Access:
    from sqlalchemy import select

    from tenure.access import principal_for
    from tenure.state.models import User

    with db() as s:
        return Access(principal_for(s, s.scalars(select(User).where(User.username == username)).one(), "session"))


def test_filters_by_csm_segment_band_and_month(book):
    def listed(**kw):
        return ids(renewals(book, None, flt=RenewalFilter(within_days=200, **kw)).rows)

    assert listed() == ["B", "A"]
    assert listed(owner="csm1") == ["A"] and listed(owner="csm2") == ["B"] and listed(owner="nobody") == []
    assert listed(segment="Enterprise") == ["B"] and listed(segment="SMB") == ["A"]
    assert listed(band="green") == ["A"] and listed(band="red") == ["B"] and listed(band="yellow") == []
    assert listed(month="2026-09") == ["B"] and listed(month="2026-12") == ["A"] and listed(month="2026-10") == []
    # the book of business still limits a filter: csm1's book asking for csm2's renewals gets none
    assert ids(renewals(book, None, flt=RenewalFilter(within_days=200, owner="csm2", owners=["csm1"])).rows) == []


@pytest.mark.parametrize("field,kw", [("month", {"month": "2026-13"}), ("month", {"month": "Sept"}),
                                      ("band", {"band": "purple"}), ("within_days", {"within_days": 0})])
def test_a_bad_filter_names_its_field(book, field, kw):
    with pytest.raises(InputError, match=field):
        renewals(book, None, flt=RenewalFilter(**kw))


def test_month_subtotals_and_the_total_cover_the_whole_filtered_set(book):
    # B: 5,000 renewing 2026-09-30 at risk 0.5 -> 2,500 expected; A: 2,400 on 2026-12-31 at risk 0.1 -> 2,160
    months = renewal_months(book, RenewalFilter(within_days=200))
    assert [m["month"] for m in months] == ["2026-09", "2026-12"]
    assert months[0] == {"month": "2026-09", "accounts": 1, "renewal_arr": 5000.0,
                         "expected_renewal_arr": pytest.approx(2500.0)}
    assert months[1]["renewal_arr"] == 2400.0 and months[1]["expected_renewal_arr"] == pytest.approx(2160.0)
    # one page of one row still carries both months' subtotals and the grand total
    totals = renewal_totals(book, None, within_days=200)
    assert totals == {"accounts": 2, "renewal_arr": 7400.0, "expected_renewal_arr": pytest.approx(4660.0)}
    assert renewal_months(book, RenewalFilter(within_days=200, owner="csm1")) == [months[1]]


def test_choices_are_the_books_csms_segments_and_months(book):
    everyone = renewal_choices(book, None, within_days=200)
    assert [c["key"] for c in everyone["owners"]] == sorted(["csm1", "csm2"], key=lambda k: (
        next(c["name"] for c in everyone["owners"] if c["key"] == k), k))
    assert {c["key"] for c in everyone["owners"]} == {"csm1", "csm2"}
    assert everyone["segments"] == ["Enterprise", "SMB"] and everyone["months"] == ["2026-09", "2026-12"]
    mine = renewal_choices(book, ["csm1"], within_days=200)
    assert [c["key"] for c in mine["owners"]] == ["csm1"] and mine["segments"] == ["SMB"]
    assert mine["months"] == ["2026-12"]


def test_rolling_terms_are_listed_on_their_own_and_say_their_term(book):
    from tests.portfolio.conftest import AS_OF, _put

    _put(book, "account_summary", account_id=["M"], name=["Monthly Ltd"], owner=["csm1"], segment=["SMB"],
         status=["customer"], arr=[1200], renewal_term=["monthly"], risk=[0.3], band=["green"], as_of=[AS_OF])
    assert "M" not in ids(renewals(book, None, within_days=400).rows)  # no renewal date: not in a window
    page = renewals(book, None, flt=RenewalFilter(month=ROLLING))
    assert ids(page.rows) == ["M"] and page.rows[0]["renewal_term"] == "monthly"
    assert page.rows[0]["renewal_month"] == ROLLING
    assert renewal_months(book, RenewalFilter(month=ROLLING)) == [
        {"month": ROLLING, "accounts": 1, "renewal_arr": 1200.0, "expected_renewal_arr": pytest.approx(840.0)}]
    assert renewal_choices(book, None)["months"][-1] == ROLLING


def test_calls_are_set_by_the_csm_or_its_manager_and_audited(book, state):
    from sqlalchemy import select

    from tenure.state.models import AuditLog

    ann, bob, boss = acc_of(state, "ann"), acc_of(state, "bob"), acc_of(state, "boss")
    call = call_renewal(book, state, ann, "A", renewal_key="2026-12-31", category="commit",
                        next_step="Send the renewal quote", currency="USD")
    assert call["category"] == "commit" and call["renewal_key"] == "2026-12-31" and call["set_by"] == "ann"
    with pytest.raises(OutOfScope, match="bob's book"):
        call_renewal(book, state, bob, "A", renewal_key=None, category="at_risk", next_step=None)
    call_renewal(book, state, boss, "A", renewal_key=None, category="best_case", next_step="Exec call",
                 amount_override="2000", currency="USD")
    with pytest.raises(OutOfScope):  # the manager's team is csm1 only
        call_renewal(book, state, boss, "B", renewal_key=None, category="at_risk", next_step=None)
    with pytest.raises(ConflictError, match="2026-12-31"):  # the renewal moved since the caller looked
        call_renewal(book, state, ann, "A", renewal_key="2025-12-31", category="commit", next_step=None)
    with pytest.raises(ConflictError):  # C churned: no renewal to call
        call_renewal(book, state, acc_of(state, "root"), "C", renewal_key=None, category="commit", next_step=None)
    with pytest.raises(InputError, match="category"):
        call_renewal(book, state, ann, "A", renewal_key=None, category="maybe", next_step=None)
    # the same values again change nothing and audit nothing
    call_renewal(book, state, boss, "A", renewal_key=None, category="best_case", next_step="Exec call",
                 amount_override="2000", currency="USD")
    with state() as s:
        log = s.execute(select(AuditLog.actor, AuditLog.action, AuditLog.entity_id, AuditLog.after)
                        .where(AuditLog.entity == "renewal_call").order_by(AuditLog.id)).all()
    assert [(a, act, e) for a, act, e, _ in log] == [("ann", "create", "A/2026-12-31"),
                                                      ("boss", "update", "A/2026-12-31")]
    assert log[1].after["category"] == "best_case" and log[1].after["amount_override"] == "2000.00"

    view = renewal_view(book, state, RenewalFilter(within_days=200))
    a = next(r for r in view.page.rows if r["account_id"] == "A")
    assert (a["forecast_category"], a["next_step"], a["amount_override"], a["call_set_by"]) == (
        "best_case", "Exec call", 2000.0, "boss")
    b = next(r for r in view.page.rows if r["account_id"] == "B")
    assert b["forecast_category"] is None and b["next_step"] is None


def test_last_touch_is_the_latest_activity_or_note(book, state):
    from tenure.state.models import Note, User

    view = renewal_view(book, state, RenewalFilter(within_days=200))
    rows = {r["account_id"]: r for r in view.page.rows}
    assert rows["B"]["last_touch"] == "qbr" and rows["B"]["last_touch_at"] == datetime(2026, 6, 15, 15, 0)
    assert rows["A"]["last_touch_at"] is None
    from sqlalchemy import select

    with state() as s:
        ann = s.scalars(select(User).where(User.username == "ann")).one()
        s.add(Note(account_id="B", author_id=ann.id, body="called", created_at=datetime(2026, 6, 20, 9, 0)))
        s.add(Note(account_id="A", author_id=ann.id, body="old", created_at=datetime(2026, 1, 2, 9, 0)))
    rows = {r["account_id"]: r for r in renewal_view(book, state, RenewalFilter(within_days=200)).page.rows}
    assert (rows["B"]["last_touch"], rows["B"]["last_touch_at"]) == ("note", datetime(2026, 6, 20, 9, 0))
    assert (rows["A"]["last_touch"], rows["A"]["last_touch_at"]) == ("note", datetime(2026, 1, 2, 9, 0))
    export = export_renewals(book, state, RenewalFilter(within_days=200)).to_pylist()
    assert [(r["account_id"], r["last_touch"]) for r in export] == [("B", "note"), ("A", "note")]


def test_the_export_is_every_filtered_renewal_with_its_call(book, state):
    call_renewal(book, state, acc_of(state, "bob"), "B", renewal_key="2026-09-30", category="at_risk",
                 next_step="=HYPERLINK(\"x\")", currency="USD")
    t = export_renewals(book, state, RenewalFilter(within_days=200))
    rows = t.to_pylist()
    assert [r["account_id"] for r in rows] == ["B", "A"]  # the page's order, not paged
    assert rows[0]["forecast_category"] == "at_risk" and rows[1]["forecast_category"] is None
    assert rows[0]["renewal_date"] == date(2026, 9, 30) and rows[0]["renewal_month"] == "2026-09"
    assert rows[0]["expected_renewal_arr"] == pytest.approx(2500.0)
    assert [r["account_id"] for r in export_renewals(book, state, RenewalFilter(within_days=200, owner="csm1"))
            .to_pylist()] == ["A"]


def test_the_band_table_is_stored_only_from_the_commands_parameters(company, book):
    """One source for the band table: the demo handed its own validation (4 as-of dates) to the
    refresh step, so the page showed other rates and counts than `tenure health validate` (6).
    A validation made with other parameters than tenure.health.BAND_TABLE is not stored."""
    from datetime import timedelta

    from tenure.health import BAND_TABLE
    from tenure.portfolio.summary import band_renewal_table, same_band_table, store_band_renewal
    from tests.portfolio.conftest import AS_OF

    _, config = company
    newest = AS_OF - timedelta(days=BAND_TABLE["horizon"])

    def report(dates: int) -> dict:
        days = sorted(newest - timedelta(days=BAND_TABLE["step_days"] * k) for k in range(dates))
        return {"horizon_days": BAND_TABLE["horizon"], "as_of_dates": [str(d) for d in days],
                "bands": [{"band": "green", "accounts": 7, "churn_rate": 0.5, "renewal_probability": 0.5}]}

    assert same_band_table(report(BAND_TABLE["dates"]), AS_OF) and not same_band_table(report(4), AS_OF)
    store_band_renewal(book, config, AS_OF, validation=report(4))
    assert (7, 0.5) not in {(b["accounts"], b["renewal_probability"]) for b in band_renewal_table(book)}
    store_band_renewal(book, config, AS_OF, validation=report(BAND_TABLE["dates"]))
    assert [(b["band"], b["accounts"], b["renewal_probability"]) for b in band_renewal_table(book)] == [
        ("green", 7, 0.5)]
