"""The in-app widget in a real browser (Playwright on Debian's Chromium): a customer's product page
on one origin (http://localhost:PORT, a tiny static server) embeds /embed/survey.js from tenure on
another (http://127.0.0.1:PORT). The widget asks, the user clicks a score and sends a comment,
and the answer is in the state DB with channel inapp. The page makes no request to any third
origin and logs no error. The same page on an origin the program does not list shows nothing
and writes nothing (the browser's CORS check and tenure's 403)."""

from __future__ import annotations

import contextlib
import http.server
import threading

import pytest
import yaml
from sqlalchemy import func, select

from tests.voc.conftest import survey_built  # noqa: F401  (fixtures)
from tests.voc.test_inapp import PROGRAM, SECRET
from tests.web.test_browser import TIMEOUT_MS, Watch, _free_port, _serve, _shot, browser  # noqa: F401

pytestmark = pytest.mark.browser


@contextlib.contextmanager
def _product(html: str, port: int | None = None):
    """The customer's product: one page at http://localhost:PORT/."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port or _free_port()), _handler(html))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _page(tenure: str, user: str) -> str:
    from tenure.voc.inapp import user_hash

    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Product</title></head>'
            f'<body><h1>Product</h1><script src="{tenure}/embed/survey.js" async data-program="app-nps" '
            f'data-user="{user}" data-user-hash="{user_hash(SECRET, user)}" data-first-seen="2020-01-01" '
            f'data-sessions="12"></script></body></html>')


def test_widget_asks_and_answers_across_origins(survey_built, tmp_path, monkeypatch, browser):  # noqa: F811
    from tenure.config import load_config
    from tenure.serve import create_app
    from tenure.state.db import session_scope
    from tenure.state.models import SurveyInvitation, SurveyResponse
    from tests.sites import copy_site

    copy_site(survey_built, tmp_path / "p")
    path = tmp_path / "p" / "tenure.yaml"
    data = yaml.safe_load(path.read_text())
    listed_port = _free_port()
    data["surveys"]["programs"].append({**PROGRAM, "inapp": {**PROGRAM["inapp"],
                                                            "origins": [f"http://localhost:{listed_port}"]}})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("TENURE_TEST_INAPP_SECRET", SECRET)
    config = load_config(path)
    app = create_app(config)
    try:
        with _serve(app) as tenure:
            # an origin the program does not list: nothing shown, nothing written
            with _product(_page(tenure, "c3")) as other:
                context = browser.new_context()
                page = context.new_page()
                uncaught: list[str] = []
                page.on("pageerror", lambda e: uncaught.append(str(e)))
                page.goto(other + "/", timeout=TIMEOUT_MS)
                page.wait_for_load_state("networkidle")
                assert page.get_by_role("dialog").count() == 0
                assert uncaught == []  # the refusal is quiet: the product's page is not disturbed
                context.close()
            with session_scope(config) as s:
                assert s.scalar(select(func.count()).select_from(SurveyInvitation)) == 0
            # the listed origin: ask, score, comment
            with _product(_page(tenure, "c2"), listed_port) as host:
                context = browser.new_context(viewport={"width": 375, "height": 740})
                page = context.new_page()
                watch = Watch(page, host)
                page.goto(host + "/", timeout=TIMEOUT_MS)
                dialog = page.get_by_role("dialog")
                dialog.wait_for(timeout=TIMEOUT_MS)
                assert dialog.get_by_text("How likely are you to recommend").is_visible()
                _shot(page, "inapp-asked")
                dialog.get_by_role("button", name="3", exact=True).click()
                dialog.get_by_text("Thank you for your answer.").wait_for(timeout=TIMEOUT_MS)
                dialog.get_by_label("What is the main reason for your score?").fill("<b>slow</b> reports")
                _shot(page, "inapp-scored")
                dialog.get_by_role("button", name="Send").click()
                dialog.wait_for(state="detached", timeout=TIMEOUT_MS)
                # every request went to the product or to tenure, none elsewhere; no console error
                watch.requests = [u for u in watch.requests if not u.startswith(tenure + "/")]
                watch.check()
                context.close()
    finally:
        app.state.ctx.close()
    with session_scope(config) as s:
        [r] = s.scalars(select(SurveyResponse)).all()
        assert (r.contact_id, r.channel, r.score, r.comment) == ("c2", "inapp", 3, "<b>slow</b> reports")


def _handler(html: str):
    body = html.encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Page
