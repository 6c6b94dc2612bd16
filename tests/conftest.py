"""Shared fixtures: real engines only (DuckDB, SQLite, the PostgreSQL server on 127.0.0.1:5432)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sites import SiteFingerprint, built_once, check_unchanged, copy_site

PG_ADMIN_URL = os.environ.get("TENURE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


PG_AVAILABLE = _pg_available()


def _require_pg() -> None:
    if not PG_AVAILABLE:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; CI must run it")
        pytest.skip("PostgreSQL is not reachable")


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (name) on the local server, dropped afterwards."""
    _require_pg()
    import psycopg

    name = f"tenure_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """Warehouse URL (Ibis) of a fresh PostgreSQL database."""
    return f"postgres://postgres@127.0.0.1:5432/{pg_database}"


@pytest.fixture
def pg_state_url(pg_database: str) -> str:
    """State DB URL (SQLAlchemy) of a fresh PostgreSQL database."""
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_database}"


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty warehouse URL on each engine: DuckDB file and PostgreSQL."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def warehouse(warehouse_url: str):
    """A Warehouse with every table created, on DuckDB and on PostgreSQL."""
    from tenure.warehouse import Warehouse

    wh = Warehouse(warehouse_url)
    wh.ensure_schema()
    try:
        yield wh
    finally:
        wh.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh state DB URL: SQLite file and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("pg_state_url")


@pytest.fixture
def tmp_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder with a default tenure.yaml, as the current directory."""
    from tenure.config import write_default_config

    write_default_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TENURE_CONFIG", raising=False)
    monkeypatch.delenv("TENURE_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("TENURE_STATE_URL", raising=False)
    return tmp_path


# -- the web app and API: one demo company, built once per test run -----------------------------

DEMO = {"accounts": 240, "months": 24, "seed": 11}
DEMO_TOKEN_SCOPES = ["read", "write", "admin"]


def _build_demo(folder: Path) -> None:
    """The demo company (DuckDB + SQLite) with an API token per demo user, closed, in folder/site;
    what the fixtures hand out (passwords, tokens, the demo's summary) in folder/meta.pickle."""
    import pickle
    import secrets as pysecrets

    from tenure.config import load_config
    from tenure.demo import run_demo
    from tenure.state import tokens
    from tenure.state.db import dispose_all, session_scope
    from tenure.web.login import SECRET_FILE

    site = folder / "site"
    summary = run_demo(site, quiet=True, **DEMO)
    config = load_config(site / "tenure.yaml")
    passwords = {u["username"]: u["password"] for u in summary["users"]}
    secrets = {}
    with session_scope(config) as session:
        for username in passwords:
            _, secrets[username] = tokens.create_token(session, username, "tests", DEMO_TOKEN_SCOPES)
        # admin's token narrowed to the read scope, and a revoked one (the API's permission tests)
        _, special = tokens.create_token(session, "admin", "tests-readonly", ["read"])
        revoked_row, revoked = tokens.create_token(session, "admin", "tests-revoked", DEMO_TOKEN_SCOPES)
        session.flush()
        tokens.revoke(session, revoked_row.id)
    special_tokens = {"readonly": special, "revoked": revoked}
    dispose_all()  # closed: the SQLite file holds everything (no WAL left) before workers copy it
    # the signing key the pages create on first use: made now, so no test creates it in a copy
    secret = site / SECRET_FILE
    secret.write_text(pysecrets.token_urlsafe(48))
    secret.chmod(0o600)
    (folder / "meta.pickle").write_bytes(pickle.dumps({"passwords": passwords, "tokens": secrets,
                                                      "special_tokens": special_tokens, "summary": summary}))


def _open_site(built: Path, target: Path):
    """A copy of the built demo at target with its own app: namespace dir, config, passwords
    {username: password}, tokens {username: secret}, special_tokens {"readonly", "revoked":
    admin's tokens with the read scope only and revoked}, app, summary."""
    import pickle
    from types import SimpleNamespace

    from tenure.config import load_config
    from tenure.serve import create_app

    copy_site(built / "site", target)
    meta = pickle.loads((built / "meta.pickle").read_bytes())
    config = load_config(target / "tenure.yaml")
    return SimpleNamespace(dir=target, config=config, passwords=meta["passwords"], tokens=meta["tokens"],
                           special_tokens=meta["special_tokens"], app=create_app(config), summary=meta["summary"])


@pytest.fixture(scope="session")
def demo_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo company built once per test run (shared by xdist workers; never open it: copy)."""
    return built_once(tmp_path_factory, "demo-{accounts}-{months}-{seed}".format(**DEMO), _build_demo)


@pytest.fixture(scope="session")
def demo_site(demo_built: Path, tmp_path_factory: pytest.TempPathFactory):
    """The shared, READ-ONLY demo company (240 accounts, 24 months; DuckDB + SQLite) with the demo
    users (one per role) and an API token per user. Returns a namespace: dir, config, passwords
    {username: password}, tokens {username: secret}, app (one FastAPI app, shared), summary.
    A test that changes it fails (see pytest_runtest_call below): writers use `writable_site`."""
    ns = _open_site(demo_built, tmp_path_factory.mktemp("site"))
    yield ns
    ns.app.state.ctx.close()


@contextlib.contextmanager
def _writable(built: Path, target: Path):
    from fastapi.testclient import TestClient

    ns = _open_site(built, target)
    ns.auth = lambda username: {"Authorization": f"Bearer {ns.tokens[username]}"}
    try:
        with TestClient(ns.app, raise_server_exceptions=False) as client:
            ns.api = client
            yield ns
    finally:
        ns.app.state.ctx.close()


@pytest.fixture
def writable_site(demo_built: Path, tmp_path: Path):
    """This test's own copy of the demo company, to change at will: the demo_site namespace plus
    api (a TestClient, lifespan started) and auth(username) -> Bearer headers."""
    with _writable(demo_built, tmp_path / "site") as ns:
        yield ns


@pytest.fixture(scope="module")
def module_site(demo_built: Path, tmp_path_factory: pytest.TempPathFactory):
    """Like writable_site, one copy for all the tests of a module (they see each other's writes):
    for modules with many small writing cases, such as the permission matrix."""
    with _writable(demo_built, tmp_path_factory.mktemp("module-site")) as ns:
        yield ns


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order for xdist (--dist loadscope hands out modules in this order): one module that needs
    the demo company first, so one worker builds it while the others run every module that does
    not need it; the other demo modules last, when the build is there to copy; in each group the
    modules with a test marked slow first. Module order only: tests keep their order inside a module."""
    modules: dict[str, bool] = {}
    slow: set[str] = set()
    for item in items:
        module = item.nodeid.split("::")[0]
        modules[module] = modules.get(module, False) or "demo_built" in getattr(item, "fixturenames", ())
        if item.get_closest_marker("slow") is not None:
            slow.add(module)
    first = next((m for m, demo in modules.items() if demo), None)
    rank = {m: 0 if m == first else (2 if demo else 1) for m, demo in modules.items()}
    # within each group the modules with slow tests go first: a long module handed out last keeps
    # one worker busy while the others have finished
    items.sort(key=lambda item: (rank[item.nodeid.split("::")[0]], item.nodeid.split("::")[0] not in slow))


_SITE_BEFORE = pytest.StashKey[tuple]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """The guard, part 1: a test that uses the shared demo_site (directly or through api, auth,
    books, login...) has the site's fingerprint taken once its fixtures are set up."""
    site = (getattr(item, "funcargs", None) or {}).get("demo_site")
    if site is not None:
        item.stash[_SITE_BEFORE] = (site, SiteFingerprint.of(site.config, site.dir))
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem):
    """The guard, part 2: after the test and its fixtures' teardown, the shared site must be as
    it was; otherwise the test errors, naming what it changed (tests/sites.py)."""
    result = yield
    taken = item.stash.get(_SITE_BEFORE, None)
    if taken is not None:
        site, before = taken
        check_unchanged(item.nodeid, before, SiteFingerprint.of(site.config, site.dir))
    return result


@pytest.fixture(scope="session")
def api(demo_site):
    """A TestClient on the demo site (no credentials; pass headers=auth(user))."""
    from fastapi.testclient import TestClient

    with TestClient(demo_site.app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def auth(demo_site):
    """auth(username) -> headers with that user's API token (read, write, admin scopes; the
    user's role still limits what it may do)."""
    return lambda username: {"Authorization": f"Bearer {demo_site.tokens[username]}"}


@pytest.fixture(scope="session")
def books(demo_site) -> dict[str, list[str]]:
    """{owner: [customer account ids, biggest ARR first]} for csm01..csm03, from the account summary."""
    from tenure.portfolio.accounts import AccountFilter, list_accounts

    wh = demo_site.app.state.ctx.warehouse()
    out = {}
    for owner in ("csm01", "csm02", "csm03"):
        out[owner] = [r["account_id"] for r in list_accounts(wh, AccountFilter(owners=[owner]), page_size=500).rows]
        assert out[owner], f"the demo gives {owner} no customers"
    return out
