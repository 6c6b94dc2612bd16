"""Shared fixtures: real engines only (DuckDB, SQLite, the PostgreSQL server on 127.0.0.1:5432)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

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


# -- the web app and API: one demo company, loaded once per test session ------------------------

@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory):
    """A small demo company loaded through the real path (DuckDB + SQLite) with the demo users
    (one per role) and an API token per user. Returns a namespace: dir, config, passwords
    {username: password}, tokens {username: secret}, app (one FastAPI app, shared)."""
    from types import SimpleNamespace

    from tenure.serve import create_app
    from tenure.config import load_config
    from tenure.demo import run_demo
    from tenure.state import tokens
    from tenure.state.db import session_scope

    folder = tmp_path_factory.mktemp("site")
    summary = run_demo(folder, accounts=240, months=24, seed=11, quiet=True)
    config = load_config(folder / "tenure.yaml")
    passwords = {u["username"]: u["password"] for u in summary["users"]}
    secrets = {}
    with session_scope(config) as session:
        for username in passwords:
            _, secrets[username] = tokens.create_token(session, username, "tests", ["read", "write", "admin"])
    app = create_app(config)
    ns = SimpleNamespace(dir=folder, config=config, passwords=passwords, tokens=secrets, app=app, summary=summary)
    yield ns
    app.state.ctx.close()


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
