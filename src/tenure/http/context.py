"""What one `tenure serve` process holds: the config, the warehouse (a cursor per worker thread)
and the state DB's session factory. Routers and pages reach them through `get_context`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from tenure.config import Config
from tenure.warehouse import Warehouse, connect


@dataclass
class AppContext:
    config: Config
    root: Warehouse
    sessions: sessionmaker
    local_changes: int = 0  # changes this process noticed itself (see data_version)
    _local: threading.local = field(default_factory=threading.local)
    _all: list[Warehouse] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, config: Config, warehouse: Warehouse | None = None) -> AppContext:
        from tenure.state.db import ensure_current, make_engine

        ensure_current(config)
        root = warehouse or connect(config=config)
        root.ensure_schema()
        return cls(config=config, root=root, sessions=sessionmaker(make_engine(config), expire_on_commit=False))

    def warehouse(self) -> Warehouse:
        """This thread's warehouse connection (DuckDB cursors run concurrently)."""
        wh = getattr(self._local, "wh", None)
        if wh is None:
            wh = self.root.cursor()
            self._local.wh = wh
            with self._lock:
                self._all.append(wh)
        return wh

    @contextlib.contextmanager
    def db(self) -> Iterator[Session]:
        """A state-DB session committed on success, rolled back on error."""
        from tenure.state.db import transactional

        with transactional(self.sessions) as session:
            yield session

    @property
    def data_version(self) -> tuple[int, int]:
        """What caches key on: the state DB's data version, which every process's writes bump
        (tenure.jobs.versions; read at most once a second), and this process's own changes."""
        from tenure.jobs.versions import data_version

        return data_version(self.config), self.local_changes

    def changed(self) -> None:
        """The warehouse changed (an ingest or a refresh): cached reads are stale."""
        with self._lock:
            self.local_changes += 1

    def close(self) -> None:
        for wh in self._all:
            if wh is not self.root and wh.backend == "postgres":
                wh.close()
        self.root.close()


def get_context(request: Request) -> AppContext:
    return request.app.state.ctx
