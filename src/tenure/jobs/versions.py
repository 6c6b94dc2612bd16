"""Table versions and the global data version, kept in the state DB so every process (the
server, a worker, CLI commands) sees the same ones.

Every write to a warehouse table bumps that table's version (ingest bumps the fact table it
loaded; the refresh runner bumps what each step wrote) and, in the same state-DB transaction,
the one global data version. Refresh steps compare the versions of their inputs with the ones
they last ran on; caches key on the data version, so a refresh in another process makes them
stale within `MAX_AGE_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tenure.jobs.db import session as session_scope
from tenure.jobs.db import state_url as _url
from tenure.state.models import DataVersion, TableVersion, utcnow

MAX_AGE_SECONDS = 1.0  # how stale a cached read of the data version may be

_seen: dict[str, tuple[float, int]] = {}  # state url -> (monotonic time read, version)
_seen_lock = threading.Lock()


def lock_data_version(session: Session) -> DataVersion:
    """The data-version row, write-locked for the rest of the transaction (a no-op UPDATE takes
    SQLite's write lock and PostgreSQL's row lock), so writers queue behind each other."""
    for _ in range(3):
        if session.execute(update(DataVersion).where(DataVersion.id == 1)
                           .values(version=DataVersion.version)).rowcount:
            return session.get(DataVersion, 1, populate_existing=True)
        try:
            with session.begin_nested():
                session.add(DataVersion(id=1, version=0, updated_at=utcnow()))
        except IntegrityError:  # another process created it first
            continue
    raise RuntimeError("cannot create the data_version row in the state DB")


def bump_in(session: Session, tables: Iterable[str]) -> dict[str, int]:
    """Bump `tables` and the data version inside an open state-DB session; returns the new
    versions of the tables (the data version under key "*")."""
    names = sorted(set(tables))
    row = lock_data_version(session)
    now = utcnow()
    out: dict[str, int] = {}
    existing = {t.table_name: t for t in session.scalars(select(TableVersion)
                                                          .where(TableVersion.table_name.in_(names)))}
    for name in names:
        tv = existing.get(name)
        if tv is None:
            tv = TableVersion(table_name=name, version=0, updated_at=now)
            session.add(tv)
        tv.version += 1
        tv.updated_at = now
        out[name] = tv.version
    row.version += 1
    row.updated_at = now
    out["*"] = row.version
    return out


def bump(config_or_url: Any, tables: Iterable[str]) -> dict[str, int]:
    """Record that `tables` were written: each table's version and the data version go up by
    one (one transaction). Returns the new versions (the data version under "*")."""
    url = _url(config_or_url)
    with session_scope(url) as session:
        out = bump_in(session, tables)
    with _seen_lock:
        _seen[url] = (time.monotonic(), out["*"])
    return out


def table_versions(config_or_url: Any, tables: Iterable[str] | None = None) -> dict[str, int]:
    """{table: version} (0 for a table never written through tenure)."""
    names = None if tables is None else sorted(set(tables))
    with session_scope(_url(config_or_url)) as session:
        q = select(TableVersion.table_name, TableVersion.version)
        if names is not None:
            q = q.where(TableVersion.table_name.in_(names))
        found = dict(session.execute(q).all())
    return found if names is None else {n: int(found.get(n, 0)) for n in names}


def read_data_version(config_or_url: Any) -> int:
    """The data version as stored now (one indexed read)."""
    url = _url(config_or_url)
    with session_scope(url) as session:
        value = session.scalar(select(DataVersion.version).where(DataVersion.id == 1))
    value = int(value or 0)
    with _seen_lock:
        _seen[url] = (time.monotonic(), value)
    return value


def data_version(config_or_url: Any, max_age: float | None = None) -> int:
    """The data version, read from the state DB at most once per `max_age` seconds (default
    MAX_AGE_SECONDS) per process."""
    url = _url(config_or_url)
    max_age = MAX_AGE_SECONDS if max_age is None else max_age
    with _seen_lock:
        hit = _seen.get(url)
    if hit is not None and time.monotonic() - hit[0] < max_age:
        return hit[1]
    return read_data_version(url)
