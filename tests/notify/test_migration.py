"""Migration 0008 (outbox, suppressions, leases, job state) goes up, down and up again on SQLite and
PostgreSQL, and its tables match the ORM models."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from tenure.state.db import _alembic_config, current_revision, make_engine, upgrade
from tenure.state.models import Base

TABLES = ("outbox_messages", "notify_suppressions", "worker_leases", "worker_job_state")


def _downgrade(url: str, revision: str) -> None:
    with make_engine(url).begin() as connection:
        cfg = _alembic_config(url)
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def _tables(url: str) -> set[str]:
    return set(inspect(make_engine(url)).get_table_names())


def test_migration_0008_up_down_up_and_matches_the_models(state_url: str):
    upgrade(state_url, "0008")
    assert set(TABLES) <= _tables(state_url)
    columns = {t: {c["name"] for c in inspect(make_engine(state_url)).get_columns(t)} for t in TABLES}
    assert columns == {t: set(Base.metadata.tables[t].columns.keys()) for t in TABLES}
    _downgrade(state_url, "0007")
    assert current_revision(state_url) == "0007" and not set(TABLES) & _tables(state_url)
    upgrade(state_url, "0008")
    assert set(TABLES) <= _tables(state_url)
