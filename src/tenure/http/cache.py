"""One small, thread-safe LRU for expensive read results (metrics, validations, backtests),
keyed by the app's data version plus the call's arguments, so an ingest or refresh makes every
cached answer stale at once. The data version lives in the state DB (tenure.jobs.versions):
every write bumps it, in whichever process (`tenure refresh` or `tenure ingest` in a terminal,
a worker), and the server reads it at most once a second. The API routers and the pages share
the cache through `cached(ctx, key, fn)`.

Concurrent callers of the same missing key wait for one computation instead of each running
it (a metric at 100,000 accounts takes seconds; 50 clients asking at once must not run it 50
times). Entries also expire after `ttl` seconds, a backstop for writes that bypass tenure.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 512
TTL_SECONDS = 600.0


class LRUCache:
    """A bounded mapping of key -> (stored at, value) with single-flight computation."""

    def __init__(self, max_entries: int = MAX_ENTRIES, ttl: float = TTL_SECONDS):
        self.max_entries, self.ttl = max_entries, ttl
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, threading.Lock] = {}
        self.hits = self.misses = 0

    def _get(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                self._data.move_to_end(key)
                self.hits += 1
                return True, hit[1]
            return False, None

    def get_or_compute(self, key: Hashable, fn: Callable[[], T]) -> T:
        found, value = self._get(key)
        if found:
            return value
        with self._lock:
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:
            found, value = self._get(key)  # another thread may have computed it meanwhile
            if found:
                return value
            try:
                value = fn()
                with self._lock:
                    self.misses += 1
                    self._data[key] = (time.monotonic(), value)
                    self._data.move_to_end(key)
                    while len(self._data) > self.max_entries:
                        self._data.popitem(last=False)
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


_cache = LRUCache()


def cached(ctx, key: tuple, fn: Callable[[], T]) -> T:
    """fn() memoized per (this app context, its data version, key). Errors are not cached.
    Callers must not mutate the returned value."""
    return _cache.get_or_compute((id(ctx), ctx.data_version, *key), fn)


def shared_cache() -> LRUCache:
    return _cache
