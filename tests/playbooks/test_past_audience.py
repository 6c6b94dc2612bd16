"""The audience on a past day is the accounts as they were that day, not today's account_summary
(a preview or backtest at an earlier date used to filter on today's status, ARR and segment and
silently dropped the accounts that churned since). The hand-worked company of pb_company.py, in its
own warehouse (DuckDB and PostgreSQL), plus:

    tickets T3 (C) and T4 (B), escalated, open 2026-04-20..2026-05-10: ticket_escalated fires for
        B and C on 2026-04-30 (not on 2026-06-30)
    accounts loaded with updated_at 2026-01-01; B moves Enterprise -> Mid-Market on 2026-07-15,
        after the as-of day; account_summary is rewritten after it (today B is Mid-Market)

On 2026-04-30 C is still a customer (its line ends that day) with ARR 3,000; today it has churned.
"""

from __future__ import annotations

import pytest

from tests.playbooks.pb_company import AS_OF, EARLIER, build_company, load, make_config, summarize
from tenure.errors import InputError
from tenure.playbooks.conditions import Condition, matching_accounts, past_day
from tenure.playbooks.engine import evaluate
from tenure.playbooks.spec import parse

ACCOUNTS = dict(account_id=["A", "B", "C", "F"], name=["Alpha Co", "Beta GmbH", "Gamma Ltd", "Foxtrot"],
                owner=["csm1", "csm2", "csm1", "csm1"], plan_tier=["silver", "silver", "silver", "gold"])


@pytest.fixture(scope="module", params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)])
def past_company(request, tmp_path_factory):
    import uuid

    from tenure.warehouse import Warehouse

    folder = tmp_path_factory.mktemp("pastwh")
    name = None
    if request.param == "embedded":
        url = f"duckdb:///{folder / 'wh.duckdb'}"
    else:
        from tests.conftest import PG_ADMIN_URL, _require_pg

        _require_pg()
        import psycopg

        name = f"tenure_pbpast_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        url = f"postgres://postgres@127.0.0.1:5432/{name}"
    wh = Warehouse(url)
    wh.ensure_schema()
    config = make_config(folder, f"sqlite:///{folder / 'unused.db'}")
    build_company(wh, config)
    load(wh, config, "accounts", **ACCOUNTS, segment=["SMB", "Enterprise", "SMB", "Mid-Market"],
         updated_at=["2026-01-01T00:00:00Z"] * 4)
    load(wh, config, "accounts", **ACCOUNTS, segment=["SMB", "Mid-Market", "SMB", "Mid-Market"],
         updated_at=["2026-01-01T00:00:00Z", "2026-07-15T00:00:00Z", "2026-01-01T00:00:00Z",
                     "2026-01-01T00:00:00Z"])
    load(wh, config, "tickets", ticket_id=["T3", "T4"], account_id=["C", "B"],
         opened_at=["2026-04-20T09:00:00Z"] * 2, resolved_at=["2026-05-10T09:00:00Z"] * 2,
         priority=["high", "high"], status=["solved", "solved"], escalated=["true", "true"])
    summarize(wh, config)
    try:
        yield wh, config
    finally:
        wh.close()
        if name:
            import psycopg

            from tests.conftest import PG_ADMIN_URL

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _book(audience: str, trigger: str = "{type: ticket_escalated}"):
    text = (f"name: past\nstatus: active\ntriggers: [{trigger}]\naudience: {audience}\n"
            "steps: [{action: create_task, title: x}]\n")
    pb, problems = parse(text, "past.yaml")
    assert not problems, [str(p) for p in problems]
    return pb


def _fired(wh, config, audience: str, day) -> set[str]:
    return {r["account_id"] for r in evaluate(wh, config, [_book(audience)], day)}


def test_today_reads_account_summary_and_earlier_days_do_not(past_company):
    wh, _config = past_company
    assert past_day(wh, AS_OF) is None
    assert past_day(wh, EARLIER) == EARLIER
    today = wh.execute(wh.table("account_summary").select("account_id", "status", "segment"))
    assert dict(zip(today.account_id, today.status))["C"] == "churned"
    assert dict(zip(today.account_id, today.segment))["B"] == "Mid-Market"


def test_an_account_that_churned_after_the_day_is_in_that_days_audience(past_company):
    wh, config = past_company
    assert _fired(wh, config, "[{field: status, eq: customer}]", EARLIER) == {"B", "C"}
    assert _fired(wh, config, "[{field: arr, gte: 3000}]", EARLIER) == {"B", "C"}  # C 3,000 then, 0 now
    got = matching_accounts(wh, [Condition(field="status", eq="churned")], as_of=EARLIER, config=config)
    assert set(wh.execute(got).account_id) == set()
    # today the same audience drops C (it churned on 2026-04-30), as it should
    now = matching_accounts(wh, [Condition(field="status", eq="customer")])
    assert "C" not in set(wh.execute(now).account_id)


def test_a_segment_change_after_the_day_does_not_move_the_account(past_company):
    wh, config = past_company
    assert _fired(wh, config, "[{field: segment, in: [Enterprise]}]", EARLIER) == {"B"}
    assert _fired(wh, config, "[{field: segment, in: [Mid-Market]}]", EARLIER) == set()
    # on the summary day B is Mid-Market: today's evaluation is unchanged
    now = matching_accounts(wh, [Condition(field="segment", eq="Mid-Market")])
    assert set(wh.execute(now).account_id) == {"B", "F"}


def test_health_on_a_past_day_comes_from_the_health_history(past_company):
    wh, config = past_company
    # 2026-04-30: only F has a snapshot (red); on 2026-05-31 A is yellow, B yellow, F red
    red = matching_accounts(wh, [Condition(field="band", eq="red")], as_of=EARLIER, config=config)
    assert set(wh.execute(red).account_id) == {"F"}
    day = EARLIER.replace(month=6, day=10)  # the latest snapshot on or before it: 2026-05-31
    yellow = matching_accounts(wh, [Condition(field="band", eq="yellow")], as_of=day, config=config)
    assert set(wh.execute(yellow).account_id) == {"A", "B"}


def test_a_field_without_history_on_a_past_day_is_refused_naming_field_and_day(past_company):
    wh, config = past_company
    with pytest.raises(InputError, match=r"'risk' cannot be tested on 2026-04-30.*risk_scores"):
        evaluate(wh, config, [_book("[{field: risk, gte: 0.3}]")], EARLIER)
    with pytest.raises(InputError, match=r"'days_to_renewal' cannot be tested on 2026-04-30"):
        evaluate(wh, config, [_book("[{field: days_to_renewal, lte: 90}]")], EARLIER)
    # on the summary day both read account_summary as before
    assert _fired(wh, config, "[{field: risk, gte: 0.3}]", AS_OF) == {"B"}  # T1 open, risk 0.5


def test_custom_attributes_on_a_past_day(past_company):
    wh, config = past_company
    got = matching_accounts(wh, [Condition(attribute="plan_tier", eq="silver")], as_of=EARLIER, config=config)
    assert set(wh.execute(got).account_id) == {"A", "B", "C"}


def test_backtest_tests_status_and_segment_on_each_month_end(past_company):
    """band_change to red: F on 04-30, B on 06-30. B was Enterprise until 07-15 and F is
    Mid-Market; C was a customer on 04-30 only. Health conditions are listed, not applied."""
    from tenure.playbooks.backtest import backtest

    wh, config = past_company
    red = "name: red\nstatus: active\ntriggers: [{type: band_change, to: [red]}]\nsteps: [{action: create_task, title: x}]\n"
    pb, _ = parse(red + "audience: [{field: segment, in: [Enterprise]}, {field: band, eq: red}]\n", "red.yaml")
    res = backtest(wh, config, pb, months=3, horizon=30, as_of=AS_OF)
    assert res["audience_not_applied"] == ["band eq red"]
    assert [(d["as_of"], d["accounts"]) for d in res["by_date"]] == []  # B is Mid-Market on the summary day
    pb, _ = parse(red + "audience: [{field: status, eq: churned}]\n", "red.yaml")
    res = backtest(wh, config, pb, months=3, horizon=30, as_of=AS_OF)
    assert res["firings"] == 0  # F was no churned account on 04-30, nor B on 06-30
