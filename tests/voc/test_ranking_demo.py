"""On the demo company: the ranking's ARR and ARR at risk are the portfolio's own numbers (one
definition, proven shared), and churn reasons add up to the ARR bridge's churn."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenure.state.db import session_scope
from tenure.voc import ranking
from tenure.warehouse import connect


def test_arr_and_arr_at_risk_are_the_portfolios_on_the_demo(demo_site):
    from tenure.portfolio.read import arr_at_risk

    config = demo_site.config
    with connect(config=config, write=False) as wh, session_scope(config) as s:
        summary = wh.table("account_summary")
        day = wh.execute(summary.as_of.max())
        day = day.date() if hasattr(day, "date") else day
        book = wh.execute(summary.mutate(at_risk=arr_at_risk(summary)).select("account_id", "arr", "at_risk"))
        rows = ranking.ranked(wh, s, config, "requests", day, None, use_embeddings=False, quotes=1)
        assigned = ranking.assign(wh, s, config, "requests", since=day - timedelta(days=364), until=day,
                                  use_embeddings=False)
        churn = ranking.ranked(wh, s, config, "churn", day, None, use_embeddings=False, quotes=0)
    assert len(rows) >= 2 and rows == sorted(rows, key=lambda r: -r["arr"])
    book = book.set_index("account_id")
    for r in rows:
        accounts = sorted(set(assigned[assigned["key"] == r["key"]]["account_id"]))
        assert r["accounts"] == len(accounts)
        assert r["arr"] == pytest.approx(float(book.loc[accounts, "arr"].astype(float).sum()), abs=0.01)
        assert (r["arr_at_risk"] or 0) == pytest.approx(float(book.loc[accounts, "at_risk"].fillna(0).sum()), abs=0.01)
        assert r["quotes"] and r["quotes"][0]["account_name"]
    # every churned account's recorded reason is a taxonomy category on the demo
    assert churn and {r["key"] for r in churn} <= set(config.churn_taxonomy.categories) | {"other"}
    assert sum(r["churned_arr"] for r in churn) > 0
