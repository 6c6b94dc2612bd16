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
