"""Refresh runs in a background thread of a long-running process (the API server): the request
queues a run and returns its id at once; the thread runs it; `runs.get` shows its progress.

One run at a time, across processes: `submit` raises RunConflict (with the active run's id)
while a run is queued or running anywhere on the same state DB.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

from tenure.jobs import runs
from tenure.jobs.graph import Graph
from tenure.jobs.runner import run_graph


class BackgroundRefresh:
    """Runs the graph in a daemon thread per run. `writing()` is a context manager giving the
    thread a warehouse write session (the server's: it takes the project write lock and publishes
    a new snapshot for readers on exit); `done()` is called after each run (e.g. to drop caches)."""

    def __init__(self, config: Any, graph_factory: Callable[[], Graph],
                 writing: Callable[[], AbstractContextManager], done: Callable[[], None] = lambda: None):
        self.config, self.graph_factory, self.writing, self.done = config, graph_factory, writing, done
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, *, as_of: date | None = None, force: bool = False, trigger: str = "api",
               params: dict | None = None) -> str:
        """Queue a run and start it; returns its id. RunConflict when one is queued or running."""
        with self._lock:
            graph = self.graph_factory()
            run_id = runs.create(self.config, trigger=trigger, as_of=None if as_of is None else as_of.isoformat(),
                                 force=force, steps_total=len(graph))
            self._thread = threading.Thread(target=self._run, args=(graph, run_id, as_of, force, params),
                                            name=f"refresh-{run_id}", daemon=True)
            self._thread.start()
            return run_id

    def _run(self, graph: Graph, run_id: str, as_of: date | None, force: bool, params: dict | None) -> None:
        try:
            with self.writing() as wh:
                run_graph(graph, wh, self.config, as_of=as_of, force=force, run_id=run_id, params=params)
        except BaseException as err:  # noqa: BLE001 - the run records it; the thread must not die noisily
            current = runs.get(self.config, run_id)
            if current is not None and current["status"] in runs.ACTIVE:  # failed before the graph started
                runs.abandon(self.config, run_id, f"{type(err).__name__}: {err}")
        finally:
            self.done()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current run's thread (tests, shutdown); True when none is running."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True
