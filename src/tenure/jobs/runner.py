"""Run the refresh graph: every step in dependency order, skipping a step whose inputs did not
change since it last succeeded.

A step's inputs fingerprint is a SHA-256 over its code version, the as-of day (and known-at
instant), the versions of the tables it reads and the hashes of the config sections it reads.
The fingerprint of its last successful run is kept in the state DB (`step_fingerprints`) with
the versions its own outputs had right after it wrote them. The step is skipped when both are
unchanged: equal inputs, and nobody else wrote its outputs since. After a step runs, the
versions of the tables it writes (and the data version) go up, so the steps reading them run
too. `force=True` runs every step.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from tenure.jobs import runs, versions
from tenure.jobs.graph import Graph, Step, StepContext
from tenure.jobs.db import session as session_scope
from tenure.state.models import StepFingerprint, utcnow

# progress(step name, steps done, steps total, status): status is running, skipped, succeeded or failed
Progress = Callable[[str, int, int, str], None]


def config_hash(config: Any, section: str) -> str:
    """SHA-256 of one config section as JSON (keys sorted): equal hash, same settings."""
    dumped = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
    value = dumped.get(section)
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def step_inputs(step: Step, config: Any, as_of: date, known_at: datetime | None,
                tables: dict[str, int]) -> dict[str, Any]:
    """What a step's result depends on, as a JSON-able mapping."""
    return {"code": step.version, "as_of": as_of.isoformat(),
            "known_at": None if known_at is None else known_at.isoformat(),
            "tables": {t: tables.get(t, 0) for t in sorted(step.tables_read)},
            "config": {s: config_hash(config, s) for s in sorted(step.config_read)}}


def fingerprint(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def changed_inputs(before: dict[str, Any] | None, now: dict[str, Any]) -> frozenset[str] | None:
    """Names of the inputs that differ ("table:<name>", "config.<section>", "code", "as_of",
    "known_at"); None when there is nothing to compare with."""
    if not before:
        return None
    out = {k for k in ("code", "as_of", "known_at") if before.get(k) != now.get(k)}
    for kind, prefix in (("tables", "table:"), ("config", "config.")):
        old, new = before.get(kind) or {}, now.get(kind) or {}
        out |= {prefix + k for k in set(old) | set(new) if old.get(k) != new.get(k)}
    return frozenset(out)


def _stored(config: Any) -> dict[str, StepFingerprint]:
    from sqlalchemy import select

    with session_scope(config) as session:
        return {f.step_name: f for f in session.scalars(select(StepFingerprint))}


def _remember(config: Any, step: Step, fp: str, inputs: dict, outputs: dict[str, int], run_id: str) -> None:
    with session_scope(config) as session:
        row = session.get(StepFingerprint, step.name)
        if row is None:
            row = StepFingerprint(step_name=step.name)
            session.add(row)
        row.fingerprint, row.run_id, row.updated_at = fp, run_id, utcnow()
        row.inputs = {**inputs, "outputs": outputs}


class _Heartbeat:
    """Writes the run's heartbeat from a daemon thread while a long step works."""

    def __init__(self, config: Any, run_id: str, every: float):
        self.config, self.run_id, self.every = config, run_id, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"refresh-heartbeat-{run_id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                runs.heartbeat(self.config, self.run_id)
            except Exception:  # noqa: BLE001 - a missed beat is retried; the run itself reports errors
                pass

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def run_graph(graph: Graph, wh: Any, config: Any, *, as_of: date | None = None, known_at: datetime | None = None,
              force: bool = False, progress: Progress | None = None, trigger: str = "cli",
              run_id: str | None = None, params: dict[str, Any] | None = None,
              resolve_as_of: Callable[[Any], date | None] | None = None) -> dict[str, Any]:
    """Run the graph once; returns the run summary (as `tenure refresh --json` prints it).

    as_of: the snapshot day; None means `resolve_as_of(wh)` (the one "as of" rule,
    tenure.warehouse.asof.latest_event_day). run_id: a run queued by `runs.create` (the API
    queues, then runs here in a background thread); None creates one. A failing step stops the
    run: the run and the step are marked failed with the error, and the error is raised again.
    """
    from tenure.warehouse.asof import latest_event_day

    order = graph.order()
    if run_id is None:
        run_id = runs.create(config, trigger=trigger, as_of=None if as_of is None else as_of.isoformat(),
                             known_at=None if known_at is None else known_at.isoformat(), force=force,
                             steps_total=len(order))
    names = [s.name for s in order]
    report = progress or (lambda *a: None)
    try:
        day = as_of if as_of is not None else (resolve_as_of or latest_event_day)(wh)
    except BaseException as err:
        runs.start(config, run_id, steps=names, as_of=None)
        runs.finish(config, run_id, error=f"{type(err).__name__}: {err}")
        raise
    runs.start(config, run_id, steps=names, as_of=None if day is None else day.isoformat())
    started = time.perf_counter()
    current: str | None = None
    try:
        with _Heartbeat(config, run_id, runs.HEARTBEAT_SECONDS):
            stored = _stored(config)
            for i, step in enumerate(order):
                current = step.name
                if day is None:  # no events yet: nothing to snapshot
                    runs.step_finished(config, run_id, step.name, "skipped", reason="no event data yet")
                    report(step.name, i + 1, len(order), "skipped")
                    continue
                tables = versions.table_versions(config, [*step.tables_read, *step.writes])
                inputs = step_inputs(step, config, day, known_at, tables)
                fp = fingerprint(inputs)
                prev = stored.get(step.name)
                outputs_now = {t: tables.get(t, 0) for t in sorted(step.writes)}
                left = (prev.inputs or {}).get("outputs") if prev is not None else None
                if not force and prev is not None and prev.fingerprint == fp and left == outputs_now:
                    runs.step_finished(config, run_id, step.name, "skipped", reason="inputs unchanged",
                                       fingerprint=fp)
                    report(step.name, i + 1, len(order), "skipped")
                    continue
                changed = None if force or prev is None else changed_inputs(prev.inputs, inputs)
                if changed is not None and left != outputs_now:
                    changed = changed | {"outputs"}
                reason = ("forced" if force else "first run" if prev is None
                          else "changed: " + ", ".join(sorted(changed or ())))[:255]
                runs.step_started(config, run_id, step.name, fp, reason)
                report(step.name, i, len(order), "running")
                t0 = time.perf_counter()
                ctx = StepContext(wh=wh, config=config, as_of=day, known_at=known_at,
                                  progress=lambda text, _n=step.name, _i=i: report(f"{_n}: {text}", _i,
                                                                                   len(order), "running"),
                                  changed=changed, params=dict(params or {}), run_id=run_id)
                result = step.run(ctx) or {}
                seconds = time.perf_counter() - t0
                after = versions.bump(config, step.writes) if step.writes else {}
                _remember(config, step, fp, inputs, {t: after.get(t, 0) for t in sorted(step.writes)}, run_id)
                runs.step_finished(config, run_id, step.name, "succeeded", seconds=seconds,
                                   result=json.loads(json.dumps(result, default=str)))
                report(step.name, i + 1, len(order), "succeeded")
            current = None
    except BaseException as err:
        message = f"{type(err).__name__}: {err}" if not str(err) else str(err)
        if current is not None:
            runs.step_finished(config, run_id, current, "failed", error=message[:4000])
            report(current, len(order), len(order), "failed")
        runs.finish(config, run_id, error=(f"step {current}: " if current else "") + message[:4000])
        raise
    runs.finish(config, run_id)
    summary = runs.get(config, run_id) or {}
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary
