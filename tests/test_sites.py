"""The test sites: the shared demo company is built once and copied, a writing test gets its own
copy, and the guard fails a test that changes the shared one (tests/sites.py, tests/conftest.py)."""

from __future__ import annotations

import textwrap

import pytest

from tests.sites import SharedSiteChanged, SiteFingerprint, check_unchanged

pytest_plugins = ["pytester"]

V1 = "/api/v1"


def _fingerprint(site) -> SiteFingerprint:
    return SiteFingerprint.of(site.config, site.dir)


def test_reading_and_logging_in_leave_the_fingerprint_alone(writable_site):
    site = writable_site
    before = _fingerprint(site)
    assert site.api.get(f"{V1}/accounts", headers=site.auth("admin")).status_code == 200  # token last used
    page = site.api.get("/login", headers={"accept": "text/html"})
    assert page.status_code == 200
    check_unchanged("a reader", before, _fingerprint(site))  # does not raise


def test_a_note_is_a_change_the_guard_names(writable_site, books):
    site = writable_site
    before = _fingerprint(site)
    r = site.api.post(f"{V1}/accounts/{books['csm01'][0]}/notes", json={"body": "guard me"},
                      headers=site.auth("csm01"))
    assert r.status_code == 201, r.text
    with pytest.raises(SharedSiteChanged) as caught:
        check_unchanged("tests/x.py::test_writer", before, _fingerprint(site))
    message = str(caught.value)
    assert "tests/x.py::test_writer changed the shared demo_site" in message
    assert "state table notes" in message and "writable_site" in message


def test_a_warehouse_write_is_a_change(writable_site):
    site = writable_site
    before = _fingerprint(site)
    csv = b"activity_id,account_id,kind,at,with_exec\nGUARD-1,NO-SUCH,call,2025-01-01T10:00:00Z,false\n"
    r = site.api.post(f"{V1}/ingest/activities", files={"file": ("a.csv", csv, "text/csv")},
                      headers=site.auth("admin"))
    assert r.status_code < 500, r.text
    changed = before.changes(_fingerprint(site))
    assert any(line.startswith("state table ingest_runs") for line in changed), changed


def test_copies_are_independent(writable_site, demo_site, books):
    """A writable copy's note never shows on the shared site (which the guard checks around this
    very test: it would fail it otherwise)."""
    acc = books["csm01"][0]
    r = writable_site.api.post(f"{V1}/accounts/{acc}/notes", json={"body": "only in my copy"},
                               headers=writable_site.auth("csm01"))
    assert r.status_code == 201
    assert writable_site.dir != demo_site.dir
    with demo_site.app.state.ctx.db() as s:
        from sqlalchemy import func, select

        from tenure.state.models import Note

        assert s.scalar(select(func.count()).select_from(Note).where(Note.body == "only in my copy")) == 0


def test_the_guard_fails_a_test_that_writes_to_the_shared_site(pytester: pytest.Pytester):
    """End to end through pytest: the hooks in tests/conftest.py, around a tiny stand-in demo_site
    (an upgraded SQLite state DB), errors the writer and passes the reader."""
    pytester.makeconftest(textwrap.dedent("""
        from types import SimpleNamespace

        import pytest

        from tests.conftest import pytest_runtest_call, pytest_runtest_teardown  # the guard under test


        @pytest.fixture(scope="session")
        def demo_site(tmp_path_factory):
            from tenure.config import load_config, write_default_config
            from tenure.state.db import upgrade

            folder = tmp_path_factory.mktemp("tiny")
            write_default_config(folder)
            config = load_config(folder / "tenure.yaml")
            upgrade(config)
            return SimpleNamespace(config=config, dir=folder)
    """))
    pytester.makepyfile(test_guarded=textwrap.dedent("""
        def test_reader(demo_site):
            from tenure.state.db import session_scope
            from tenure.state.models import User
            with session_scope(demo_site.config) as s:
                assert s.query(User).count() == 0


        def test_writer(demo_site):
            from tenure.state.db import session_scope
            from tenure.state.users import create_user
            with session_scope(demo_site.config) as s:
                create_user(s, "sneaky", "a-long-enough-password", "viewer")
    """))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=2, errors=1)  # the writer passes its own asserts, then errors at teardown
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_writer*",
                                 "*test_writer changed the shared demo_site*state table users*"])
