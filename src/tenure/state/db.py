"""State DB engine, sessions and migrations (Alembic, shipped inside the package)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
_engines: dict[str, Engine] = {}


def _url(config_or_url: Any) -> str:
    return config_or_url if isinstance(config_or_url, str) else config_or_url.state_url


def make_engine(config_or_url: Any) -> Engine:
    url = _url(config_or_url)
    if url not in _engines:
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True)
        if engine.dialect.name == "sqlite":
            @event.listens_for(engine, "connect")
            def _fk_on(dbapi_con, _record):  # noqa: ANN001
                dbapi_con.execute("PRAGMA foreign_keys=ON")
                # the server, a worker and commands share the file: readers don't block the writer
                # (WAL), and a writer waits up to 10 s for another instead of failing at once
                dbapi_con.execute("PRAGMA busy_timeout=10000")
                dbapi_con.execute("PRAGMA journal_mode=WAL")
        _engines[url] = engine
    return _engines[url]


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def _alembic_config(url: str):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(config_or_url: Any, revision: str = "heads") -> str | None:
    """Apply migrations up to `revision` (idempotent; by default every head, so branches that
    several features add side by side all apply); returns the current revision."""
    from alembic import command

    url = _url(config_or_url)
    engine = make_engine(url)
    with engine.begin() as connection:
        cfg = _alembic_config(url)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    return current_revision(url)


def current_revision(config_or_url: Any) -> str | None:
    """The revision the database is at ("a+b" when two migration branches are both applied)."""
    from alembic.runtime.migration import MigrationContext

    with make_engine(_url(config_or_url)).connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return "+".join(sorted(heads)) or None


def head_revision() -> str | None:
    """The newest revision shipped ("a+b" while two branches have not been merged)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_heads()
    return "+".join(sorted(heads)) or None


def ensure_current(config_or_url: Any) -> None:
    """Bring the state DB to the latest schema (tenure upgrades its own embedded state DB
    automatically; `tenure db upgrade` does the same explicitly)."""
    if current_revision(config_or_url) != head_revision():
        upgrade(config_or_url)


@contextlib.contextmanager
def session_scope(config_or_url: Any) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    ensure_current(config_or_url)
    with transactional(sessionmaker(make_engine(config_or_url), expire_on_commit=False)) as session:
        yield session


@contextlib.contextmanager
def transactional(factory: sessionmaker) -> Iterator[Session]:
    """A session from `factory`, committed on success, rolled back on error, always closed."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def table_names(config_or_url: Any) -> list[str]:
    return sorted(inspect(make_engine(config_or_url)).get_table_names())
