"""The outbox on the Data page: counts by status and dead letters with their last error."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tenure.jobs.db import session
from tenure.notify import outbox
from tenure.notify.deliver import deliver_due
from tenure.web.render import ENV
from tests.notify.conftest import make_config
from tests.web.conftest import HTML, login_token


def test_the_outbox_partial_lists_dead_letters_escaped(tmp_path: Path):
    cfg = make_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}", max_attempts=1, eml_dir="mail", send_window=None)
    with session(cfg) as s:
        outbox.enqueue(s, channel="webhook", payload={"url": "http://127.0.0.1:9/<x>", "body": {}}, dedupe_key="d")
        outbox.enqueue(s, channel="email", payload={"to": "a@x.example", "subject": "s", "text": "t"}, dedupe_key="e")
    deliver_due(cfg)
    html = ENV.get_template("_outbox.html").render(outbox=outbox.panel(cfg))
    assert "pending 0 · held for review 0 · sent 1 · dead 1 · suppressed 0" in html
    assert "Dead letters (1)" in html and "tenure outbox replay ID" in html
    assert "cannot reach 127.0.0.1:9" in html and "/<x>" not in html and "/&lt;x&gt;" in html


def test_the_data_page_shows_the_outbox_with_its_dead_letters(tmp_path: Path):
    """A real project (empty warehouse, one admin) served by the real app: /data includes the panel."""
    from tenure.config import load_config
    from tenure.serve import create_app
    from tenure.state.db import session_scope
    from tenure.state.users import create_user
    from tenure.warehouse import Warehouse

    (tmp_path / "tenure.yaml").write_text("warehouse: {url: duckdb:///w.duckdb}\nstate: {url: sqlite:///s.db}\n"
                                          "notify: {max_attempts: 1, send_window: null}\n")
    config = load_config(tmp_path / "tenure.yaml")
    wh = Warehouse(config.warehouse_url)
    wh.ensure_schema()
    with session_scope(config) as s:
        create_user(s, "admin", "a-long-password-1", "admin")
    with session(config) as s:
        outbox.enqueue(s, channel="webhook", payload={"url": "http://127.0.0.1:9/hook", "body": {}}, dedupe_key="d")
    deliver_due(config)
    app = create_app(config, warehouse=wh)
    try:
        c = TestClient(app, raise_server_exceptions=False, headers=HTML)
        r = c.post("/login", data={"username": "admin", "password": "a-long-password-1",
                                   "csrf_token": login_token(c), "next": "/"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        page = c.get("/data")
        assert page.status_code == 200, page.text[-500:]
        assert 'id="outbox-title"' in page.text and "Dead letters (1)" in page.text
        assert "cannot reach 127.0.0.1:9" in page.text
    finally:
        app.state.ctx.close()
