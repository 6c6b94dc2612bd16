"""Backtests replay the triggers at month ends; numbers worked out by hand on the company of
tests/playbooks/pb_company.py (DuckDB and PostgreSQL)."""

from __future__ import annotations

from datetime import date

from tests.playbooks.pb_company import AS_OF, company, warehouse_company  # noqa: F401
from tenure.playbooks.backtest import backtest, month_ends
from tenure.playbooks.spec import parse

RED = "name: red\nstatus: active\ntriggers: [{type: band_change, to: [red]}]\nsteps: [{action: create_task, title: x}]\n"


def test_month_ends():
    assert month_ends(date(2026, 6, 30), 3) == [date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30)]
    assert month_ends(date(2026, 3, 15), 2) == [date(2026, 2, 28), date(2026, 3, 15)]


def test_backtest_counts_each_occurrence_once_and_scores_it_against_churn(company):
    """F is red from 04-30 (one streak: fires on 04-30 only), B turns red on 06-30. With a 30-day
    horizon the month ends 04-30 and 05-31 can be judged: on 04-30 the customers are A, B, C and F,
    and C churns (its line ends 04-30); the playbook fired on F, which did not churn. So precision
    0/1 and recall 0/1; on 05-31 nobody churns within 30 days and nothing new fires."""
    wh, config = company
    pb, _ = parse(RED, "red.yaml")
    res = backtest(wh, config, pb, months=3, horizon=30, as_of=AS_OF)
    assert (res["firings"], res["accounts"]) == (2, 2)
    assert [(d["as_of"], d["fired"], d["accounts"]) for d in res["by_date"]] == [
        ("2026-04-30", 1, ["F"]), ("2026-06-30", 1, ["B"])]
    q = res["churn"]
    assert (q["dates"], q["fired_evaluable"], q["fired_churned"], q["churned"], q["churned_caught"]) == (2, 1, 0, 1, 0)
    assert (q["precision"], q["recall"]) == (0.0, 0.0)


def test_backtest_of_a_non_risk_playbook_has_no_churn_figures(company):
    wh, config = company
    pb, _ = parse("name: r\nstatus: active\ntriggers: [{type: renewal_window}]\nsteps: [{action: create_task, title: x}]\n",
                  "r.yaml")
    res = backtest(wh, config, pb, months=2, horizon=30, as_of=AS_OF)
    assert res["churn"] is None
    # on 05-31 B's renewal (2026-07-15) is 45 days away (T-60); on 06-30, 15 days (T-30)
    assert [(d["as_of"], d["accounts"]) for d in res["by_date"]] == [("2026-05-31", ["B"]), ("2026-06-30", ["B"])]
    assert res["firings"] == 2


def test_a_churned_account_counts_although_today_it_is_no_customer(company):
    """C churns when its line ends on 04-30. Red on 04-30, it fires then and churns within 30 days:
    precision 1 of 2 (C and F fired on 04-30) and recall 1 of 1. The audience `status: customer`
    is tested on each month end's facts: C was a customer on 04-30 (it is churned now)."""
    wh, config = company
    from tests.playbooks.pb_company import EARLIER, put

    put(wh, "health_scores", account_id=["C"], as_of=[EARLIER], segment=["SMB"], score=[20.0], band=["red"])
    try:
        pb, _ = parse(RED + "audience: [{field: status, eq: customer}, {field: segment, in: [SMB, Mid-Market]}]\n",
                      "red.yaml")
        res = backtest(wh, config, pb, months=3, horizon=30, as_of=AS_OF)
    finally:
        wh.raw_sql("DELETE FROM health_scores WHERE account_id = 'C'")
    assert res["audience_not_applied"] == []  # status on each month end, from the facts
    assert [(d["as_of"], d["accounts"]) for d in res["by_date"]] == [("2026-04-30", ["C", "F"])]  # B: Enterprise
    q = res["churn"]
    assert (q["fired_evaluable"], q["fired_churned"], q["churned"], q["churned_caught"]) == (2, 1, 1, 1)
    assert (q["precision"], q["recall"]) == (0.5, 1.0)
