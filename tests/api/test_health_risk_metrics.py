"""Metrics, health and risk over the API: the numbers are the compute layer's (asked, not
recomputed), scoped by book of business, cached per data version."""

from __future__ import annotations

V1 = "/api/v1"


def test_registry_lists_every_metric_with_its_formula(api, auth):
    from tenure.metrics.registry import METRICS

    body = api.get(f"{V1}/metrics", headers=auth("viewer")).json()
    assert [m["name"] for m in body] == [m.name for m in METRICS]
    assert all(m["formula"] and m["description"] for m in body)


def test_a_metric_is_the_compute_layers_number(api, auth, demo_site):
    from tenure.metrics.compute import compute

    r = api.get(f"{V1}/metrics/nrr", params={"period": "2026-Q2", "by": "segment"}, headers=auth("cco")).json()
    want = compute(demo_site.app.state.ctx.warehouse(), demo_site.config, "nrr", "2026-Q2", ["segment"])
    assert {row["group"]["segment"]: row["value"] for row in r["rows"]} == \
        {w["group"]["segment"]: (None if w["value"] is None else float(w["value"])) for w in want}


def test_metrics_for_a_csm_are_company_wide_and_its_owner_breakdown_its_book(api, auth):
    """The access policy (docs/web.md): a metric is a company-wide figure every reader sees; a
    breakdown by owner is limited to the caller's book."""
    r = api.get(f"{V1}/metrics/arr", params={"by": "segment"}, headers=auth("csm01")).json()
    assert r["by"] == ["segment"]
    assert r == api.get(f"{V1}/metrics/arr", params={"by": "segment"}, headers=auth("cco")).json()
    mine = api.get(f"{V1}/metrics/arr", params={"by": "segment,owner"}, headers=auth("csm01")).json()
    assert mine["rows"] and {row["group"]["owner"] for row in mine["rows"]} == {"csm01"}
    bridge = api.get(f"{V1}/metrics/bridge", params={"by": "owner"}, headers=auth("manager")).json()
    assert {row["owner"] for row in bridge["rows"]} <= {"csm01", "csm02"}


def test_explain_sums_to_the_metric(api, auth):
    h = auth("cco")
    metric = api.get(f"{V1}/metrics/churned_arr", params={"period": "2026-Q2"}, headers=h).json()["rows"][0]
    ex = api.get(f"{V1}/metrics/churned_arr/explain", params={"period": "2026-Q2"}, headers=h).json()
    assert abs(ex["numerator"] - metric["value"]) < 0.01
    assert abs(sum(a["contribution"] for a in ex["accounts"]) - metric["value"]) < 0.01
    mine = api.get(f"{V1}/metrics/churned_arr/explain", params={"period": "2026-Q2"}, headers=auth("csm01")).json()
    assert all(a["owner"] == "csm01" for a in mine["accounts"])
    # exactly what the CCO sees for that owner, and not nothing (an empty answer passes the line above)
    theirs = api.get(f"{V1}/metrics/churned_arr/explain", params={"period": "2026-Q2", "where": "owner:csm01"},
                     headers=h).json()
    assert {a["account_id"] for a in mine["accounts"]} == {a["account_id"] for a in theirs["accounts"]}
    assert mine["accounts"] and {a["account_id"] for a in mine["accounts"]} <= {a["account_id"] for a in ex["accounts"]}
    other = api.get(f"{V1}/metrics/churned_arr/explain", params={"where": "owner:csm03"}, headers=auth("csm01"))
    assert other.status_code == 403


def test_metric_input_errors_are_problems(api, auth):
    h = auth("cco")
    assert api.get(f"{V1}/metrics/no_such_metric", headers=h).status_code == 404
    for params in ({"period": "last tuesday"}, {"period": "0000"}, {"period": "2026-13"}, {"by": "shoe_size"}):
        r = api.get(f"{V1}/metrics/arr", params=params, headers=h)
        assert r.status_code == 422, (params, r.text)
    assert api.get(f"{V1}/metrics/cac/explain", headers=h).status_code == 422  # not an ARR-bridge metric


def test_metric_results_are_cached_until_the_data_changes(api, auth, demo_site):
    from tenure.http.cache import shared_cache

    cache = shared_cache()
    h = auth("cco")
    api.get(f"{V1}/metrics/grr", params={"period": "2025-Q4"}, headers=h)
    hits = cache.hits
    api.get(f"{V1}/metrics/grr", params={"period": "2025-Q4"}, headers=h)
    assert cache.hits == hits + 1
    misses = cache.misses
    demo_site.app.state.ctx.changed()
    api.get(f"{V1}/metrics/grr", params={"period": "2025-Q4"}, headers=h)
    assert cache.misses >= misses + 1


def test_health_explanation_contributions_sum_to_the_score(api, auth, books):
    acc = books["csm01"][0]
    e = api.get(f"{V1}/health/scores/{acc}", headers=auth("csm01")).json()
    assert abs(sum(c["contribution"] for c in e["components"]) - e["score"]) < 0.5
    assert e["history"][-1]["as_of"] == e["as_of"]


def test_health_scores_lowest_first(api, auth):
    body = api.get(f"{V1}/health/scores", params={"page_size": 500}, headers=auth("cco")).json()
    scores = [r["score"] for r in body["items"] if r["score"] is not None]
    assert scores == sorted(scores)


def test_validation_reports_auc_and_bands(api, auth):
    v = api.get(f"{V1}/health/validation", params={"horizon": 180}, headers=auth("viewer")).json()
    assert 0 <= v["score_auc"] <= 1 and v["horizon_days"] == 180
    assert {b["band"] for b in v["bands"]} <= {"green", "yellow", "red", "onboarding"}


def test_risk_predictions_riskiest_first_with_drivers(api, auth):
    body = api.get(f"{V1}/risk/predictions", params={"page_size": 50}, headers=auth("cco")).json()
    risks = [r["risk"] for r in body["items"]]
    assert risks and risks == sorted(risks, reverse=True)
    assert all(r["drivers"] for r in body["items"][:5])
    top = body["items"][0]
    assert abs(top["arr_at_risk"] - top["arr"] * top["risk"]) < 1e-6


def test_backtest_reports_and_refuses_unknowable_outcomes(api, auth):
    r = api.post(f"{V1}/risk/backtest", json={"cutoff": "2025-06-01", "horizon": 180}, headers=auth("manager"))
    assert r.status_code == 200
    report = r.json()
    assert report["horizon_days"] == 180 and 0 <= report["boosted"]["auc"] <= 1
    future = api.post(f"{V1}/risk/backtest", json={"cutoff": "2030-01-01", "horizon": 180}, headers=auth("admin"))
    assert future.status_code == 422 and "not known yet" in future.json()["detail"]
    ancient = api.post(f"{V1}/risk/backtest", json={"cutoff": "1999-01-01", "horizon": 180}, headers=auth("admin"))
    assert ancient.status_code == 422
