"""The warehouse of a long-running process (`tenure serve`, the worker): a read connection per
thread on the newest published snapshot, reopened when a writer publishes, and short write
sessions under the project write lock (tenure.warehouse.processes explains the files)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from tenure.warehouse.connection import Warehouse, catch_up, duckdb_path, open_reader, open_writer
from tenure.warehouse.processes import Snapshots, file_stamp

CATCH_UP_SECONDS = 2.0  # how often a reader checks for writes nobody published


class SharedWarehouse:
    """Per-thread warehouse connections for a server or worker process.

    On a DuckDB file: `warehouse()` costs one stat of the snapshot pointer per call and reopens
    the newest snapshot when it changed, so every process sees a refresh without a restart;
    `version` says which snapshot is read (caches key on it); `writing()` opens the main file
    under the project write lock and publishes on exit. On PostgreSQL, Spark, in-memory DuckDB or
    a connection handed in (`fixed`), reads and writes share that connection's cursors and
    `version` never changes: the engine keeps its own consistency."""

    def __init__(self, url: str | None = None, *, fixed: Warehouse | None = None, command: str = "serve",
                 write_wait: float = 15.0, **options: Any):
        self.command = command
        self.write_wait = write_wait
        self.options = options
        self.path = None if fixed is not None or url is None else duckdb_path(url) or None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._generation = 0
        self._retired: list[list[Warehouse]] = []  # connections of earlier snapshots, closed later
        self._cursors: list[Warehouse] = []
        if self.path is None:
            self.snapshots = None
            self.root = fixed if fixed is not None else Warehouse(url or "duckdb://:memory:", **options)
            if not self.root.read_only:  # (a snapshot handed in is as its writer left it)
                self.root.ensure_schema()
            self._token = None
        else:
            self.snapshots = Snapshots(self.path)
            catch_up(self.path, command=command, wait=0, **options)  # bring the schema up to date, unless a writer is busy
            self._token = self.snapshots.token()  # before opening: a publish in between reopens, never is missed
            self.root = open_reader(self.path, command=command, **options)
            self._checked_stamp = file_stamp(self.snapshots.main)
            self._checked_at = time.monotonic()

    @classmethod
    def for_config(cls, config: Any, *, fixed: Warehouse | None = None, command: str = "serve") -> SharedWarehouse:
        return cls(config.warehouse_url, fixed=fixed, command=command, threads=config.warehouse.threads,
                   memory_limit=config.warehouse.memory_limit)

    @property
    def generation(self) -> int:
        """Bumped each time this process reopens a newer snapshot (after following the pointer)."""
        self._follow()
        return self._generation

    @property
    def shared(self) -> bool:
        """True when this is a published-snapshot reader of a DuckDB file."""
        return self.snapshots is not None

    @property
    def version(self) -> int:
        """The snapshot read now (its sequence number; 0 when not sharing a DuckDB file)."""
        self._follow()
        if self.snapshots is None:
            return 0
        cur = self.snapshots.current()
        return cur.seq if cur else 0

    def warehouse(self) -> Warehouse:
        """This thread's connection on the newest snapshot (DuckDB cursors run concurrently)."""
        self._follow()
        local = self._local
        if getattr(local, "generation", None) != self._generation or getattr(local, "wh", None) is None:
            with self._lock:
                wh = self.root.cursor()
                self._cursors.append(wh)
                local.wh, local.generation = wh, self._generation
        return local.wh

    def _follow(self) -> None:
        """Reopen when the pointer changed (one stat); every CATCH_UP_SECONDS, publish writes
        that a writer left unpublished if nobody is writing."""
        if self.snapshots is None:
            return
        token = self.snapshots.token()
        if token == self._token:
            now = time.monotonic()
            if now - self._checked_at < CATCH_UP_SECONDS:
                return
            self._checked_at = now
            stamp = file_stamp(self.snapshots.main)
            if stamp == self._checked_stamp or not self.snapshots.stale():
                self._checked_stamp = stamp
                return
            self._checked_stamp = stamp
            if not catch_up(self.path, command=self.command, wait=0, **self.options):
                return
            token = self.snapshots.token()
        with self._lock:
            if token == self._token:
                return
            new_root = open_reader(self.path, command=self.command, **self.options)
            old = [self.root, *self._cursors]
            self.root, self._cursors = new_root, []
            self._token = token  # as read before opening: a publish since then is followed next time
            self._generation += 1
            self._retired.append(old)
            while len(self._retired) > 1:  # keep the previous snapshot for requests still running
                for wh in self._retired.pop(0):
                    wh.close()

    @contextlib.contextmanager
    def writing(self, wait: float | None = None) -> Iterator[Warehouse]:
        """A write session: on a DuckDB file, the main file under the project write lock (waiting
        up to `wait` seconds, default `write_wait`, then a WarehouseError saying who writes and to
        retry), published on exit and read by this process at once."""
        if self.snapshots is None:
            yield self.warehouse()
            return
        wh = open_writer(self.path, command=self.command, wait=self.write_wait if wait is None else wait,
                         **self.options)
        try:
            yield wh
        finally:
            wh.close()
            self._follow()

    def close(self) -> None:
        with self._lock:
            for group in [*self._retired, [*self._cursors, self.root]]:
                for wh in group:
                    if wh is self.root or wh.backend != "pyspark":
                        wh.close()
            self._retired, self._cursors = [], []
