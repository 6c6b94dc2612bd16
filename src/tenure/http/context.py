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
from tenure.warehouse import Warehouse
from tenure.warehouse.readers import SharedWarehouse


@dataclass
class AppContext:
    config: Config
    root: Warehouse
    sessions: sessionmaker
    local_changes: int = 0  # changes this process noticed itself (see data_version)
    _local: threading.local = field(default_factory=threading.local)
    _all: list[Warehouse] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    shared: SharedWarehouse | None = None  # snapshots of the embedded DuckDB file, per-thread cursors
    _seen_generation: int = 0

    @classmethod
    def open(cls, config: Config, warehouse: Warehouse | None = None) -> AppContext:
        from tenure.state.db import ensure_current, make_engine

        ensure_current(config)
        shared = SharedWarehouse.for_config(config, fixed=warehouse)
        return cls(config=config, root=shared.root, sessions=sessionmaker(make_engine(config), expire_on_commit=False),
                   shared=shared)

    def follow(self) -> None:
        """Per request: read the newest published warehouse snapshot (a stat; the server sees
        a CLI's or a worker's refresh without a restart), dropping cached reads when it changed."""
        if self.shared is not None and self.shared.generation != self._seen_generation:
            self._seen_generation = self.shared.generation
            self.root = self.shared.root
            self.changed()

    @contextlib.contextmanager
    def writing(self, wait: float | None = None) -> Iterator[Warehouse]:
        """A warehouse write session (an upload, a refresh): on the embedded DuckDB file it holds
        the project write lock (waiting up to `wait` seconds for another writer, default 15, then
        a WarehouseError: 503 saying who writes) and publishes on exit; cached reads are stale
        afterwards. A background run that may wait longer passes its own `wait` (math.inf: as
        long as it takes)."""
        try:
            with self.shared.writing(wait) as wh:
                yield wh
        finally:
            self.changed()

    def warehouse(self) -> Warehouse:
        """This thread's warehouse connection (DuckDB cursors run concurrently)."""
        if self.shared is not None:
            return self.shared.warehouse()
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
        if self.shared is not None:
            self.shared.close()
            return
        for wh in self._all:
            if wh is not self.root and wh.backend == "postgres":
                wh.close()
        self.root.close()


def get_context(request: Request) -> AppContext:
    ctx = request.app.state.ctx
    ctx.follow()
    return ctx
