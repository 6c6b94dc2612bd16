"""Every error is an RFC 9457 problem-details document; no stack trace ever leaks."""

from __future__ import annotations

import pytest

V1 = "/api/v1"
SHAPE = {"type", "title", "status", "detail", "instance"}


def _is_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert SHAPE <= set(body) and body["status"] == status
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    return body


def test_401_without_or_with_a_bad_token(api, books):
    body = _is_problem(api.get(f"{V1}/accounts"), 401)
    assert body["instance"] == f"{V1}/accounts"
    _is_problem(api.get(f"{V1}/accounts", headers={"Authorization": "Bearer tnr_not-a-real-token"}), 401)
    _is_problem(api.get(f"{V1}/accounts", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}), 401)


def test_403_names_the_reason(api, auth, books):
    body = _is_problem(api.get(f"{V1}/accounts/{books['csm03'][0]}", headers=auth("csm01")), 403)
    assert "book of business" in body["detail"] and body["type"].endswith("/out-of-scope")
    body = _is_problem(api.post(f"{V1}/risk/backtest", json={"cutoff": "2025-06-01"}, headers=auth("viewer")), 403)
    assert "may not write" in body["detail"]


def test_404_and_422(api, auth):
    _is_problem(api.get(f"{V1}/accounts/NOPE", headers=auth("admin")), 404)
    _is_problem(api.get(f"{V1}/no/such/path", headers=auth("admin")), 404)
    body = _is_problem(api.get(f"{V1}/accounts", params={"page_size": "many"}, headers=auth("admin")), 422)
    assert body["errors"][0]["location"] == "query.page_size"
    _is_problem(api.post(f"{V1}/risk/backtest", content=b"{not json", headers={**auth("admin"),
                                                                             "content-type": "application/json"}), 422)


def test_an_unexpected_error_is_a_500_problem_without_internals(demo_site):
    """A second app on the same project with a route that fails like a bug would."""
    from fastapi.testclient import TestClient

    from tenure.serve import create_app

    app = create_app(demo_site.config, warehouse=demo_site.app.state.ctx.root)

    @app.get("/api/v1/explode")
    def explode():
        raise RuntimeError("secret internal detail: password=hunter2 at /srv/tenure/core.py line 42")

    client = TestClient(app, raise_server_exceptions=False)  # no lifespan: the shared warehouse stays open
    r = client.get("/api/v1/explode")
    body = _is_problem(r, 500)
    assert "hunter2" not in r.text and "core.py" not in r.text and "RuntimeError" not in r.text
    assert body["detail"] == "an unexpected error happened; it has been logged"


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
def test_the_schema_is_published(api, path):
    r = api.get(f"/api/v1/openapi.json" if path == "/openapi.json" else "/api/docs")
    assert r.status_code == 200
    if path == "/openapi.json":
        spec = r.json()
        assert spec["openapi"].startswith("3.")
        assert "ProblemDetails" in spec["components"]["schemas"]
        accounts = spec["paths"]["/api/v1/accounts"]["get"]
        assert {"200", "401", "403", "422"} <= set(accounts["responses"])


def test_a_dimension_name_with_control_characters_or_quotes_is_refused_before_any_sql():
    """Schemathesis found `by=\\0` reaching DuckDB as a quoted identifier (a 500) once an upload had
    created an attribute of that name: dimension names are checked at the door."""
    import pytest as _pytest

    from tenure.api.routers.common import dimensions_of
    from tenure.http.problems import Problem

    assert dimensions_of("segment, region") == ["segment", "region"]
    assert dimensions_of("plan tier") == ["plan tier"]
    for bad in ("\0", 'seg"ment', "a;b\n"):
        with _pytest.raises(Problem) as err:
            dimensions_of(bad)
        assert err.value.status == 422
