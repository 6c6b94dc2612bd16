"""Web page fixtures: browser-like clients on the shared demo site, each with its own cookie jar
(the shared `api` client must never hold a session cookie), and account ids per book of business."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

HTML = {"accept": "text/html,application/xhtml+xml"}


def login_token(client: TestClient) -> str:
    page = client.get("/login", headers=HTML)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def csrf_of(html: str) -> str:
    """The session's CSRF token from any page (the logout form carries it)."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def client(demo_site):
    """A fresh client with its own cookies (no lifespan: the shared app context stays open)."""
    return TestClient(demo_site.app, raise_server_exceptions=False, headers=HTML)


def _login_to(site):
    def do(username: str, client: TestClient | None = None, **kw) -> TestClient:
        c = client or TestClient(site.app, raise_server_exceptions=False, headers=HTML, **kw)
        token = login_token(c)
        r = c.post("/login", data={"username": username, "password": site.passwords[username],
                                   "csrf_token": token, "next": "/"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        return c

    return do


@pytest.fixture
def login(demo_site):
    """login(username, client=None) -> a client holding that user's session cookie (shared site:
    read only)."""
    return _login_to(demo_site)


@pytest.fixture
def writable_login(writable_site):
    """login(username, client=None) on this test's own copy of the demo (`writable_site`), for
    pages that write (notes, forms)."""
    return _login_to(writable_site)
