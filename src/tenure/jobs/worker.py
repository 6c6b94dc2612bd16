"""The worker: runs registered jobs when they are due, one process per job at a time.

Stages add work without this package knowing them (the refresh graph's pattern): each stage
that has worker jobs exposes `register_worker_jobs(registry)`, and the composition root
(`tenure.workers`) calls them all. A job is a function `fn(ctx: JobContext) -> dict | None`:

    registry.register_worker_job("deliver-outbox", deliver, every_seconds=0)
    registry.register_worker_job("evaluate-playbooks", evaluate, after_refresh=True)
    registry.register_worker_job("nightly-digest", digest, schedule="0 6 * * 1-5")

`tenure.yaml` may override a job's schedule or disable it (`worker.jobs.<name>`).

Each look (`Worker.run_once`) reads the data version and every job's state in the state DB,
and for each due job takes its lease (tenure.jobs.leases), checks it is still due (another
worker may just have run it), runs it while a thread renews the lease, and records how it
ended, fenced by the lease token. A job that failed is tried again after `RETRY_FAILED_SECONDS`.
A job killed mid-way (`kill -9`) leaves its lease to expire, or to be freed at once by the next
worker on the same host, and runs again: jobs must be idempotent (the outbox's dedupe keys,
the tasks' dedupe keys).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.errors import ConfigError
from tenure.jobs import failpoints
from tenure.jobs.db import session as session_scope
from tenure.jobs.leases import Lease, LeaseLost, acquire, holder_id
from tenure.jobs.schedules import Schedule, due_reason, first_next_run, next_cron, next_wake
from tenure.jobs.versions import read_data_version
from tenure.state.models import WorkerJobState, utcnow

RETRY_FAILED_SECONDS = 60.0


@dataclass
class JobContext:
    """What a worker job gets: the config, why it runs, the data version it sees, and its lease.
    `fence(session)` inside a state-DB transaction makes the transaction fail if another worker
    took the lease over; `check()` raises LeaseLost when renewing failed (stop early)."""

    config: Any
    name: str
    reason: str
    data_version: int
    now: datetime
    lease: Lease
    lost: threading.Event = field(default_factory=threading.Event)

    def fence(self, session: Session) -> None:
        self.lease.check(session)

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost(f"worker job {self.name!r} lost its lease")


@dataclass(frozen=True)
class WorkerJob:
    name: str
    fn: Callable[[JobContext], dict | None]
    schedule: Schedule
    description: str = ""
    enabled: bool = True


class WorkerRegistry:
    """The jobs a worker runs, registered by the stages that own them."""

    def __init__(self) -> None:
        self._jobs: dict[str, WorkerJob] = {}

    def register_worker_job(self, name: str, fn: Callable[[JobContext], dict | None], *,
                            schedule: str | None = None, after_refresh: bool = False,
                            every_seconds: float | None = None, description: str = "") -> WorkerJob:
        """Add a job; at least one of schedule (cron, UTC), after_refresh, every_seconds."""
        if name in self._jobs:
            raise ConfigError(f"worker job {name!r} is registered twice")
        job = WorkerJob(name, fn, Schedule(schedule, after_refresh, every_seconds), description or
                        (fn.__doc__ or "").strip().split("\n")[0])
        self._jobs[name] = job
        return job

    def names(self) -> list[str]:
        return list(self._jobs)

    def jobs(self, config: Any) -> list[WorkerJob]:
        """The jobs with `worker.jobs` overrides from tenure.yaml applied."""
        overrides = dict(getattr(getattr(config, "worker", None), "jobs", {}) or {})
        unknown = sorted(set(overrides) - set(self._jobs))
        if unknown:
            raise ConfigError(f"worker.jobs.{unknown[0]}: no worker job has this name "
                              f"(jobs: {', '.join(sorted(self._jobs)) or 'none'})")
        out = []
        for name, job in self._jobs.items():
            o = overrides.get(name)
            if o is not None:
                s = job.schedule
                sched = Schedule(o.schedule if o.schedule is not None else s.cron,
                                 o.after_refresh if o.after_refresh is not None else s.after_refresh,
                                 o.every_seconds if o.every_seconds is not None else s.every_seconds)
                job = replace(job, schedule=sched, enabled=o.enabled)
            out.append(job)
        return out


@dataclass
class JobOutcome:
    name: str
    reason: str
    status: str  # succeeded | failed | lost
    result: dict | None = None
    error: str | None = None
    token: int | None = None


class Worker:
    """Runs due jobs of `registry`; several Worker processes may run against one state DB."""

    def __init__(self, config: Any, registry: WorkerRegistry, *, holder: str | None = None,
                 on_event: Callable[[str, JobOutcome | str], None] | None = None):
        self.config = config
        self.jobs = registry.jobs(config)
        self.holder = holder or holder_id()
        self.lease_seconds = float(config.worker.lease_seconds)
        self.on_event = on_event or (lambda kind, what: None)

    # -- state ------------------------------------------------------------------------------
    def _states(self, now: datetime) -> dict[str, WorkerJobState]:
        """Every job's state row; creates missing ones (a cron job's first time is its next)."""
        with session_scope(self.config) as session:
            found = {s.name: s for s in session.scalars(select(WorkerJobState))}
            for job in self.jobs:
                if job.name not in found:
                    _insert_state(session, job.name, first_next_run(job.schedule, now))
            if any(j.name not in found for j in self.jobs):
                found = {s.name: s for s in session.scalars(select(WorkerJobState))}
            return found

    def _due(self, job: WorkerJob, state: WorkerJobState | None, now: datetime, version: int) -> str | None:
        if not job.enabled or state is None:
            return None
        if (state.last_status == "failed" and state.last_finished_at is not None
                and now < state.last_finished_at + timedelta(seconds=RETRY_FAILED_SECONDS)):
            return None
        return due_reason(job.schedule, now=now, data_version=version, last_started_at=state.last_started_at,
                          last_data_version=state.last_data_version, next_run_at=state.next_run_at)

    # -- running ----------------------------------------------------------------------------
    def run_once(self, now: datetime | None = None) -> list[JobOutcome]:
        """One look: run every due job whose lease this worker gets. Returns what ran."""
        now = now or utcnow()
        version = read_data_version(self.config)
        states = self._states(now)
        outcomes = []
        for job in self.jobs:
            if self._due(job, states.get(job.name), now, version) is None:
                continue
            lease = acquire(self.config, f"job:{job.name}", self.lease_seconds, holder=self.holder, now=now)
            if lease is None:
                self.on_event("busy", job.name)
                continue
            try:
                # another worker may have run it between our look and our lease: look again
                with session_scope(self.config) as session:
                    state = session.get(WorkerJobState, job.name, populate_existing=True)
                version = read_data_version(self.config)
                reason = self._due(job, state, now, version)
                if reason is not None:
                    outcomes.append(self._run(job, reason, lease, version, now))
            finally:
                lease.release()
        return outcomes

    def _run(self, job: WorkerJob, reason: str, lease: Lease, version: int, now: datetime) -> JobOutcome:
        started = utcnow()
        with session_scope(self.config) as session:
            lease.check(session)
            state = session.get(WorkerJobState, job.name)
            state.last_started_at, state.last_token, state.last_status = max(now, started), lease.token, "running"
        self.on_event("start", f"{job.name} ({reason})")
        ctx = JobContext(self.config, job.name, reason, version, now, lease)
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(lease, ctx, stop), daemon=True,
                                   name=f"lease-{job.name}")
        renewer.start()
        outcome = JobOutcome(job.name, reason, "succeeded", token=lease.token)
        try:
            failpoints.hit(f"job:{job.name}")
            outcome.result = job.fn(ctx) or {}
        except LeaseLost as err:
            outcome.status, outcome.error = "lost", str(err)
        except Exception as err:  # noqa: BLE001 - recorded on the job's state; the worker goes on
            outcome.status, outcome.error = "failed", f"{type(err).__name__}: {err}"
        finally:
            stop.set()
            renewer.join()
        finished = utcnow()
        try:
            with session_scope(self.config) as session:
                lease.check(session)
                state = session.get(WorkerJobState, job.name)
                state.last_finished_at, state.last_status = max(now, finished), outcome.status
                state.last_error, state.last_result = outcome.error, _jsonable(outcome.result)
                state.runs += 1
                if outcome.status == "succeeded":
                    state.last_data_version = version
                if job.schedule.cron is not None and reason == "schedule":
                    state.next_run_at = next_cron(job.schedule.cron, max(now, state.next_run_at or now))
        except LeaseLost as err:
            outcome.status, outcome.error = "lost", str(err)
        self.on_event("end", outcome)
        return outcome

    def _renew(self, lease: Lease, ctx: JobContext, stop: threading.Event) -> None:
        while not stop.wait(self.lease_seconds / 3):
            try:
                lease.renew(self.lease_seconds)
            except LeaseLost:
                ctx.lost.set()
                return
            except Exception:  # noqa: BLE001 - a state DB hiccup: try again at the next third
                continue

    def seconds_to_next(self, now: datetime | None = None) -> float:
        """How long the worker may sleep before a job can be due by the clock (a refresh is seen
        at the next look, at most `worker.poll_seconds` later)."""
        now = now or utcnow()
        poll = float(self.config.worker.poll_seconds)
        states = self._states(now)
        wakes = []
        for job in self.jobs:
            st = states.get(job.name)
            if job.enabled and st is not None:
                w = next_wake(job.schedule, now=now, last_started_at=st.last_started_at, next_run_at=st.next_run_at)
                if w is not None:
                    wakes.append((w - now).total_seconds())
        return max(0.05, min([poll, *wakes]))

    def run_forever(self, stop: threading.Event) -> None:
        """Look, run what is due, sleep until the next job may be due (at most poll_seconds);
        until `stop` is set (SIGTERM/SIGINT in `tenure worker`): the running job finishes first."""
        while not stop.is_set():
            self.run_once()
            stop.wait(self.seconds_to_next())


def _insert_state(session: Session, name: str, next_run_at: datetime | None) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(WorkerJobState).values(name=name, next_run_at=next_run_at, runs=0)
                    .on_conflict_do_nothing(index_elements=["name"]))


def _jsonable(value: Any) -> Any:
    import json

    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))


def job_states(config: Any) -> list[dict[str, Any]]:
    """Every job's last run (for `tenure worker --status` and the Data page)."""
    iso = (lambda v: None if v is None else v.isoformat(timespec="seconds") + "Z")
    with session_scope(config) as session:
        return [{"name": s.name, "last_status": s.last_status, "last_started_at": iso(s.last_started_at),
                 "last_finished_at": iso(s.last_finished_at), "last_error": s.last_error,
                 "last_result": s.last_result, "next_run_at": iso(s.next_run_at), "runs": s.runs,
                 "last_data_version": s.last_data_version}
                for s in session.scalars(select(WorkerJobState).order_by(WorkerJobState.name))]
