"""Login against an attacker: failures are throttled per user name and per client address (state
in the state DB's audit log, so every server process sees it), a locked account answers like a
wrong password plus Retry-After, every failure path does the same password-hashing work, and the
pre-login form token is signed with the secret key. Pages answer bad parameters with 422, never 500.
The tests create users and lock names and addresses, so each has its own copy of the demo (`writable_site`)."""

from __future__ import annotations

import re
import secrets

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import HTML, login_token


def _client(writable_site, ip: str) -> TestClient:
    return TestClient(writable_site.app, raise_server_exceptions=False, headers=HTML, client=(ip, 40000))


def _new_user(writable_site, role: str = "viewer") -> tuple[str, str]:
    from tenure.state.db import session_scope
    from tenure.state.users import create_user

    username, password = f"lh-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    with session_scope(writable_site.config) as session:
        create_user(session, username, password, role)
    return username, password


def _try(c: TestClient, username: str, password: str):
    token = login_token(c)
    return c.post("/login", data={"username": username, "password": password, "csrf_token": token},
                  follow_redirects=False)


def _audit(writable_site, username: str):
    from sqlalchemy import select

    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog

    with session_scope(writable_site.config) as session:
        return [(a.action, a.after) for a in session.scalars(
            select(AuditLog).where(AuditLog.entity_id == username).order_by(AuditLog.id))]


def test_wrong_passwords_lock_the_user_name_even_for_the_right_password(writable_site):
    username, password = _new_user(writable_site)
    limit = writable_site.config.web.login_max_failures
    for i in range(limit):  # each from a different address: the per-user limit is what trips
        r = _try(_client(writable_site, f"203.0.113.{i + 1}"), username, "wrong-password")
        assert r.status_code == 401 and "Retry-After" not in r.headers
    c = _client(writable_site, "203.0.113.99")
    r = _try(c, username, password)
    assert r.status_code == 401 and "Wrong username or password." in r.text
    assert int(r.headers["Retry-After"]) >= 1
    assert "tenure_session=" not in r.headers.get("set-cookie", "")
    actions = _audit(writable_site, username)
    assert [a for a, _ in actions].count("login_failed") == limit + 1
    assert actions[-1][1] and actions[-1][1].get("locked") is True
    # another user from the same address is not affected
    other, other_password = _new_user(writable_site)
    assert _try(c, other, other_password).status_code == 303


def test_a_locked_unknown_name_answers_like_a_locked_real_one(writable_site):
    limit = writable_site.config.web.login_max_failures
    ghost = f"ghost-{secrets.token_hex(4)}"
    for i in range(limit):
        _try(_client(writable_site, f"198.18.0.{i + 1}"), ghost, "x")
    r = _try(_client(writable_site, "198.18.0.200"), ghost, "x")
    assert r.status_code == 401 and "Retry-After" in r.headers


def test_the_lockout_ends_after_its_time(writable_site):
    from tenure.state.db import session_scope
    from tenure.state.login_throttle import lockout

    username, _ = _new_user(writable_site)
    config = writable_site.config
    for i in range(config.web.login_max_failures):
        _try(_client(writable_site, f"192.0.2.{i + 1}"), username, "nope")
    from datetime import datetime, timedelta

    with session_scope(config) as session:
        now = datetime.utcnow()
        wait = lockout(session, config, username, "192.0.2.250", now=now)
        assert wait is not None and 0 < wait <= config.web.login_lockout_seconds
        assert lockout(session, config, username, "192.0.2.250",
                       now=now + timedelta(seconds=config.web.login_lockout_seconds + 1)) is None


def test_many_failures_from_one_address_lock_that_address(writable_site):
    ip = "100.64.7.7"
    limit = writable_site.config.web.login_ip_max_failures
    for i in range(limit):
        r = _try(_client(writable_site, ip), f"spray-{i}-{secrets.token_hex(3)}", "Summer2026!")
        assert r.status_code == 401
    username, password = _new_user(writable_site)
    r = _try(_client(writable_site, ip), username, password)
    assert r.status_code == 401 and "Retry-After" in r.headers
    assert _try(_client(writable_site, "100.64.7.8"), username, password).status_code == 303


@pytest.fixture
def hash_calls(monkeypatch):
    from argon2 import PasswordHasher

    calls = []
    original = PasswordHasher.verify

    def counting(self, hash, password):
        calls.append(1)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


def test_every_failure_path_does_the_same_hashing_work(writable_site, hash_calls):
    from tenure.state.db import session_scope
    from tenure.state.users import disable

    real, _ = _new_user(writable_site)
    disabled, _ = _new_user(writable_site)
    with session_scope(writable_site.config) as session:
        disable(session, disabled)
    cases = [(real, ""), (real, "wrong"), (f"nobody-{secrets.token_hex(3)}", ""),
             (f"nobody-{secrets.token_hex(3)}", "wrong"), (disabled, "wrong"), ("", "")]
    counts = []
    for i, (username, password) in enumerate(cases):
        c = _client(writable_site, f"172.31.9.{i + 1}")
        token = login_token(c)
        hash_calls.clear()
        r = c.post("/login", data={"username": username, "password": password, "csrf_token": token},
                   follow_redirects=False)
        assert r.status_code == 401
        counts.append(len(hash_calls))
    assert counts == [1] * len(cases), counts


def test_the_pre_login_token_is_signed_by_the_server(writable_site):
    username, password = _new_user(writable_site)
    c = _client(writable_site, "172.30.1.1")
    forged = "attacker-chosen-value"
    c.cookies.set("tenure_login_csrf", forged, domain="testserver.local", path="/login")
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": forged},
               headers={"cookie": f"tenure_login_csrf={forged}"}, follow_redirects=False)
    assert r.status_code == 403 and "tenure_session=" not in r.headers.get("set-cookie", "")
    # a real token still works, and a tampered one does not
    token = login_token(c)
    assert "." in token
    nonce, sig = token.rsplit(".", 1)
    bad = f"{nonce}.{'A' * len(sig)}"
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": bad},
               headers={"cookie": f"tenure_login_csrf={bad}"}, follow_redirects=False)
    assert r.status_code == 403
    c2 = _client(writable_site, "172.30.1.2")
    assert _try(c2, username, password).status_code == 303


@pytest.mark.parametrize("url", ["/?period=0000-01", "/?period=9999-13", "/?period=nonsense",
                                 "/?period=0000-Q1", "/?period=0000"])
def test_bad_page_parameters_get_a_friendly_422(login, url):
    c = login("cco")
    r = c.get(url)
    assert r.status_code in (400, 422), (url, r.status_code)
    assert "text/html" in r.headers["content-type"] and "period" in r.text
    assert not re.search(r"Traceback|unexpected error", r.text)
