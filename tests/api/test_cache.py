"""The shared result cache: LRU bound, expiry, data-version keys and single flight."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from tenure.http.cache import LRUCache, cached


def test_lru_evicts_the_least_recently_used():
    c = LRUCache(max_entries=2)
    c.get_or_compute("a", lambda: 1)
    c.get_or_compute("b", lambda: 2)
    c.get_or_compute("a", lambda: 0)  # touch a
    c.get_or_compute("c", lambda: 3)
    assert len(c) == 2
    assert c.get_or_compute("a", lambda: "recomputed") == 1
    assert c.get_or_compute("b", lambda: "recomputed") == "recomputed"


def test_entries_expire():
    c = LRUCache(ttl=0.0)
    c.get_or_compute("k", lambda: 1)
    assert c.get_or_compute("k", lambda: 2) == 2


def test_errors_are_not_cached():
    c = LRUCache()

    def boom():
        raise ValueError("no")

    for _ in range(2):
        try:
            c.get_or_compute("k", boom)
        except ValueError:
            pass
    assert c.get_or_compute("k", lambda: "fine") == "fine"


def test_a_new_data_version_is_a_new_key():
    ctx = SimpleNamespace(data_version=0)
    assert cached(ctx, ("x",), lambda: "old") == "old"
    assert cached(ctx, ("x",), lambda: "new") == "old"
    ctx.data_version = 1
    assert cached(ctx, ("x",), lambda: "new") == "new"


def test_concurrent_callers_compute_once():
    c = LRUCache()
    calls = []
    gate = threading.Event()

    def slow():
        calls.append(1)
        gate.wait(5)
        return "value"

    results = []
    threads = [threading.Thread(target=lambda: results.append(c.get_or_compute("k", slow))) for _ in range(8)]
    for t in threads:
        t.start()
    while not calls:
        time.sleep(0.001)
    gate.set()
    for t in threads:
        t.join(5)
    assert results == ["value"] * 8 and len(calls) == 1
