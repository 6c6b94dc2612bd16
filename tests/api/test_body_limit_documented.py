"""Every operation documents the 413 the body-size limit answers before anything else (schemathesis
sent a 12 MB `text` to POST /outbox/{id}/release and got an undocumented 413)."""

from fastapi.testclient import TestClient


def test_every_operation_documents_payload_too_large(demo_site):
    spec = TestClient(demo_site.app).get("/api/v1/openapi.json").json()
    missing = [f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method, op in ops.items()
               if method in ("get", "post", "put", "patch", "delete") and "413" not in op.get("responses", {})]
    assert not missing, missing


def test_an_oversized_body_gets_413_problem_details(demo_site):
    big = b'{"text": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    r = TestClient(demo_site.app, raise_server_exceptions=False).post(
        "/api/v1/outbox/1/release", content=big, headers={"Content-Type": "application/json",
                                                          "Authorization": f"Bearer {demo_site.tokens['admin']}"})
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
