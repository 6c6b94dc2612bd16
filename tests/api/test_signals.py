"""/health/signals on the demo site: ranked by the ARR at stake, counted in the engine (not the
length of a capped list), paged, scoped."""

from __future__ import annotations

V1 = "/api/v1"


def _signals_in_window(wh, days: int, owner: str | None = None) -> int:
    scope = f"AND s.owner = '{owner}'" if owner else ""
    return wh.raw_sql(f"""SELECT count(*) FROM health_signals g JOIN account_summary s USING (account_id)
                          WHERE g.at > s.as_of - INTERVAL {days} DAY AND g.at <= s.as_of {scope}""")[0][0]


def test_signals_ranked_by_arr_at_stake(api, auth):
    body = api.get(f"{V1}/health/signals", params={"days": 365, "page_size": 100}, headers=auth("cco")).json()
    arr = [r["arr"] for r in body["items"]]
    assert len(arr) > 10 and arr == sorted(arr, reverse=True)


def test_signals_counted_in_the_engine_and_paged(api, auth, demo_site):
    wh = demo_site.app.state.ctx.warehouse()
    expected = _signals_in_window(wh, 365)
    first = api.get(f"{V1}/health/signals", params={"days": 365, "page_size": 3}, headers=auth("cco")).json()
    assert first["total"] == expected > 3 and len(first["items"]) == 3
    second = api.get(f"{V1}/health/signals", params={"days": 365, "page": 2, "page_size": 3},
                     headers=auth("cco")).json()
    key = [(r["account_id"], r["signal"], r["at"]) for r in first["items"] + second["items"]]
    assert len(set(key)) == 6 and second["total"] == expected
    mine = api.get(f"{V1}/health/signals", params={"days": 365, "page_size": 500}, headers=auth("csm03")).json()
    assert mine["total"] == _signals_in_window(wh, 365, "csm03") == len(mine["items"])
