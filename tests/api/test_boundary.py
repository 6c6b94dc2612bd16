"""The HTTP boundary against hostile requests: bodies are refused by size before they are read,
credentials are checked before any body is read, https gets HSTS, errors never show server
paths, uploads are kept only as long as the retention setting says, and the API docs load from
tenure itself (the CSP forbids CDNs and inline scripts)."""

from __future__ import annotations

import json
import os
import re
import time

import anyio
import pytest
from fastapi.testclient import TestClient

V1 = "/api/v1"
MB = 1 << 20


def _call(app, method: str, path: str, headers: dict[str, str], chunks: int, chunk_size: int = MB,
          client: tuple[str, int] = ("198.51.100.7", 1234)):
    """Run one raw ASGI request whose body comes in `chunks` pieces; returns (status, headers,
    body, bytes of the body the app asked for)."""
    state = {"read": 0, "sent": 0}
    messages: list[dict] = []

    async def receive():
        if state["sent"] >= chunks:
            return {"type": "http.request", "body": b"", "more_body": False}
        state["sent"] += 1
        state["read"] += chunk_size
        return {"type": "http.request", "body": b" " * chunk_size, "more_body": state["sent"] < chunks}

    async def send(message):
        messages.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": client, "server": ("testserver", 80)}

    async def run():
        await app(scope, receive, send)

    anyio.run(run)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body, state["read"]


# -- body size and authentication before the body ---------------------------------------------------

def test_an_unauthenticated_json_body_is_refused_before_it_is_read(demo_site):
    status, headers, body, read = _call(demo_site.app, "POST", f"{V1}/users",
                                        {"content-type": "application/json", "content-length": str(300 * MB)}, 300)
    assert status == 401 and read == 0
    assert json.loads(body)["status"] == 401 and headers["content-type"].startswith("application/problem+json")


def test_an_unauthenticated_upload_is_refused_before_it_is_read(demo_site):
    status, _, _, read = _call(demo_site.app, "POST", f"{V1}/ingest/accounts",
                               {"content-type": "multipart/form-data; boundary=xyz",
                                "content-length": str(1100 * MB)}, 1100)
    assert status == 401 and read == 0
    # no Content-Length at all (chunked): still refused before a byte is read
    status, _, _, read = _call(demo_site.app, "POST", f"{V1}/ingest/accounts",
                               {"content-type": "multipart/form-data; boundary=xyz"}, 1100)
    assert status == 401 and read == 0


def test_an_unauthenticated_page_form_is_refused_before_it_is_read(demo_site):
    status, headers, _, read = _call(demo_site.app, "POST", "/accounts/A1/notes",
                                     {"content-type": "application/x-www-form-urlencoded", "accept": "text/html",
                                      "content-length": str(50 * MB)}, 50)
    assert read == 0 and status in (303, 401)


def test_a_body_over_the_limit_gets_413_by_content_length_without_being_read(demo_site):
    token = demo_site.tokens["admin"]
    limit = demo_site.config.web.max_json_mb
    status, _, body, read = _call(demo_site.app, "POST", f"{V1}/users",
                                  {"authorization": f"Bearer {token}", "content-type": "application/json",
                                   "content-length": str(int((limit + 1) * MB))}, int(limit) + 1)
    assert status == 413 and read == 0
    problem = json.loads(body)
    assert problem["status"] == 413 and f"{limit:g} MB" in problem["detail"]


def test_a_streamed_body_without_content_length_is_counted_and_cut_off(demo_site):
    token = demo_site.tokens["admin"]
    limit = demo_site.config.web.max_json_mb
    status, _, body, read = _call(demo_site.app, "POST", f"{V1}/users",
                                  {"authorization": f"Bearer {token}", "content-type": "application/json"},
                                  int(limit) * 3)
    assert status == 413 and json.loads(body)["status"] == 413
    assert read <= (limit + 1) * MB  # stopped at the limit, not after the whole body


def test_an_upload_over_its_own_limit_gets_413_before_it_is_read(demo_site):
    token = demo_site.tokens["admin"]
    over = int(demo_site.config.web.max_upload_mb + 1) * MB
    status, _, body, read = _call(demo_site.app, "POST", f"{V1}/ingest/accounts",
                                  {"authorization": f"Bearer {token}", "content-length": str(over),
                                   "content-type": "multipart/form-data; boundary=xyz"}, 3)
    assert status == 413 and read == 0 and "MB" in json.loads(body)["detail"]


def test_the_public_login_form_has_a_small_cap(demo_site):
    status, _, _, read = _call(demo_site.app, "POST", "/login",
                               {"content-type": "application/x-www-form-urlencoded",
                                "content-length": str(2 * MB)}, 2)
    assert status == 413 and read == 0


def test_ordinary_requests_still_work(writable_site):
    api, auth = writable_site.api, writable_site.auth  # its own copy: the upload is recorded
    assert api.get(f"{V1}/accounts", headers=auth("admin")).status_code == 200
    r = api.post(f"{V1}/ingest/activities", files={"file": ("tiny.csv", b"activity_id,account_id,kind,at,with_exec\n",
                                                             "text/csv")}, headers=auth("admin"))
    assert r.status_code in (201, 422), r.text


# -- HSTS --------------------------------------------------------------------------------------------

def test_hsts_on_https_only(demo_site):
    https = TestClient(demo_site.app, base_url="https://testserver", raise_server_exceptions=False)
    r = https.get("/login")
    assert r.status_code == 200
    assert "max-age=" in r.headers.get("strict-transport-security", "")
    plain = TestClient(demo_site.app, raise_server_exceptions=False)
    assert "strict-transport-security" not in plain.get("/login").headers
    # a forwarded header is not trusted unless the configuration says a proxy sets it
    r = plain.get("/login", headers={"x-forwarded-proto": "https"})
    assert "strict-transport-security" not in r.headers


def test_hsts_behind_a_trusted_proxy(tmp_path):
    from tenure.config import config_from_dict
    from tenure.serve import create_app

    config = config_from_dict({"web": {"trust_forwarded_proto": True},
                               "warehouse": {"url": "duckdb:///w.duckdb"}, "state": {"url": "sqlite:///s.db"}},
                              base_dir=tmp_path)
    app = create_app(config)
    try:
        c = TestClient(app, raise_server_exceptions=False)
        assert "max-age=" in c.get("/login", headers={"x-forwarded-proto": "https"}).headers.get(
            "strict-transport-security", "")
        assert "strict-transport-security" not in c.get("/login").headers
    finally:
        app.state.ctx.close()


# -- no server paths in errors --------------------------------------------------------------------------

def test_ingest_errors_and_runs_name_only_the_users_file(writable_site):
    demo_site = writable_site  # its own copy: the uploads are recorded
    api, auth = demo_site.api, demo_site.auth
    secret_dirs = {str(demo_site.dir), str(demo_site.config.runs_dir), "/tmp/", "uploads/"}
    r = api.post(f"{V1}/ingest/usage_events", files={"file": ("my usage.parquet", b"this is not parquet at all\n" * 20,
                                                              "application/octet-stream")}, headers=auth("admin"))
    assert r.status_code in (201, 422), r.text
    text = r.text
    assert not any(d in text for d in secret_dirs), text
    assert "usage.parquet" in text
    r = api.post(f"{V1}/ingest/activities", files={"file": ("acts.csv", b"activity_id,account_id,kind,at,with_exec\n"
                                                             b"X-1,NOPE,party,2024-01-05T10:00:00,false\n", "text/csv")},
                 headers=auth("admin"))
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["file"] == "acts.csv" and all(row["file"] == "acts.csv" for row in run["rejected_rows"])
    assert not any(d in r.text for d in secret_dirs)
    listed = api.get(f"{V1}/ingest/runs", headers=auth("admin")).json()["items"]
    assert not any(d in json.dumps(listed) for d in secret_dirs)


def test_problem_details_never_show_absolute_paths(demo_site):
    from tenure.http.problems import redact_paths

    base = str(demo_site.dir)
    assert redact_paths(f"could not read {base}/runs/uploads/ab12/data.csv: bad", [demo_site.dir]) == \
        "could not read data.csv: bad"
    assert redact_paths("see /api/v1/accounts", [demo_site.dir]) == "see /api/v1/accounts"


# -- retention ------------------------------------------------------------------------------------------

def test_old_uploads_and_run_folders_are_pruned(tmp_path):
    from tenure.config import config_from_dict
    from tenure.ingest.retention import prune_runs

    config = config_from_dict({"ingest": {"runs_dir": "runs", "retention_days": 7}}, base_dir=tmp_path)
    runs = config.runs_dir
    old_upload = runs / "uploads" / "old"
    new_upload = runs / "uploads" / "new"
    old_run = runs / "20200101-run"
    for d in (old_upload, new_upload, old_run):
        d.mkdir(parents=True)
        (d / "f.csv").write_text("x")
    stale = time.time() - 8 * 86400
    for p in (old_upload / "f.csv", old_upload, old_run / "f.csv", old_run):
        os.utime(p, (stale, stale))
    removed = prune_runs(config)
    assert removed == 2
    assert not old_upload.exists() and not old_run.exists() and new_upload.exists()
    assert (runs / "uploads").exists()
    forever = config_from_dict({"ingest": {"retention_days": None}}, base_dir=tmp_path)
    os.utime(new_upload, (stale, stale))
    assert prune_runs(forever) == 0 and new_upload.exists()


# -- API docs -------------------------------------------------------------------------------------------

def test_api_docs_load_only_from_tenure(api, demo_site):
    r = api.get("/api/docs")
    assert r.status_code == 200
    html = r.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script (the CSP blocks it)"
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(ref.startswith("/") and not ref.startswith("//") for ref in refs), refs
    for ref in refs:
        got = api.get(ref)
        assert got.status_code == 200, ref
    assert any(ref.endswith(".js") for ref in refs) and any(ref.endswith(".css") for ref in refs)
    init = next(ref for ref in refs if ref.endswith("docs.js"))
    assert 'data-openapi="/api/v1/openapi.json"' in html and "data-openapi" in api.get(init).text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


@pytest.mark.parametrize("page", ["/", "/accounts"])
def test_navigation_links_the_api_docs(demo_site, page):
    from tests.web.conftest import HTML, login_token

    c = TestClient(demo_site.app, raise_server_exceptions=False, headers=HTML)
    token = login_token(c)
    c.post("/login", data={"username": "admin", "password": demo_site.passwords["admin"], "csrf_token": token},
           follow_redirects=False)
    r = c.get(page)
    assert r.status_code == 200
    assert 'href="/api/docs"' in r.text
