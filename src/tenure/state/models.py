"""State DB tables: what tenure itself creates and people edit (SQLAlchemy 2, typed)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


ROLES = ("admin", "executive", "manager", "csm", "viewer")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    email: Mapped[str | None] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    csm_key: Mapped[str | None] = mapped_column(String(100), doc="the value in accounts.owner for this user")
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False, doc="sha256 of the secret")
    scopes: Mapped[str] = mapped_column(String(100), nullable=False, default="read")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditLog(Base):
    __tablename__ = "audit_log"
    # the login throttle counts recent failures per user name and per client address
    __table_args__ = (Index("ix_audit_log_action_entity_at", "action", "entity_id", "at"),
                      Index("ix_audit_log_action_ip_at", "action", "ip", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(50), nullable=False)
    entity: Mapped[str] = mapped_column(String(50), nullable=False)
    entity_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))


class IngestRun(Base):
    __tablename__ = "ingest_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity: Mapped[str] = mapped_column(String(50), nullable=False)
    file: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(50), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    started_at: Mapped[str | None] = mapped_column(String(32))
    finished_at: Mapped[str | None] = mapped_column(String(32))
    rows_read: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    loaded: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    inserted: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    updated: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    unchanged: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    rejected: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    rejected_by_reason: Mapped[dict | None] = mapped_column(JSON)
    report_path: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer, doc="process running it (a running row whose process is gone failed)")
    host: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[str | None] = mapped_column(String(32), doc="last sign of life of a running run (UTC)")
    error: Mapped[str | None] = mapped_column(Text, doc="why a failed run failed")


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class WebSession(Base):
    """A browser login. The cookie holds a random secret; only its SHA-256 is stored, so a leaked
    state DB does not leak live sessions. Logging out or disabling the user ends it."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False, doc="sha256 of the cookie")
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False, doc="form token bound to this session")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class TableVersion(Base):
    """A warehouse table's version: bumped by every write to it (ingest, refresh steps)."""

    __tablename__ = "table_versions"

    table_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class DataVersion(Base):
    """One row (id=1): the global data version every process reads to drop stale cache entries."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class JobRun(Base):
    """One run of the refresh graph (queued, running, succeeded or failed)."""

    __tablename__ = "job_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    trigger: Mapped[str] = mapped_column(String(20), nullable=False)
    force: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    as_of: Mapped[str | None] = mapped_column(String(10))
    known_at: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    steps_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    steps_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    steps_run: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    steps_skipped: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class JobStep(Base):
    """One step of one run: ran, skipped (inputs unchanged) or failed, with its timing."""

    __tablename__ = "job_steps"
    __table_args__ = (UniqueConstraint("run_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("job_runs.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(255))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    seconds: Mapped[float | None] = mapped_column(Float)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class StepFingerprint(Base):
    """The inputs fingerprint of a step's last successful run: equal fingerprint, nothing to do."""

    __tablename__ = "step_fingerprints"

    step_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    inputs: Mapped[dict | None] = mapped_column(JSON)
    run_id: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


# -- tasks (CTAs): migration 0007, service tenure.playbooks.tasks --------------------------------

TASK_STATES = ("open", "in_progress", "done", "skipped", "snoozed")
TASK_OPEN_STATES = ("open", "in_progress", "snoozed")  # still owed work (snoozed: until snoozed_until)


class Task(Base):
    """A call to action on one account (optionally one contact): made by a person or a playbook.
    `dedupe_key` is unique, so re-evaluating a trigger never makes a second task for it."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_owner_state", "owner", "state"), Index("ix_tasks_state_due", "state", "due_at"),
                      Index("ix_tasks_playbook", "playbook"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    contact_id: Mapped[str | None] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(30), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    priority: Mapped[str] = mapped_column(String(20), nullable=False, default="normal")
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    owner: Mapped[str | None] = mapped_column(String(100), doc="a CSM's accounts.owner value or a user name")
    queue: Mapped[str | None] = mapped_column(String(100), doc="a named queue, for tasks without an owner")
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    sla_due_at: Mapped[datetime | None] = mapped_column(DateTime, doc="created_at + the priority's SLA")
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(50))
    checklist: Mapped[list | None] = mapped_column(JSON, doc="[{item, done}]")
    playbook: Mapped[str | None] = mapped_column(String(100))
    playbook_version: Mapped[int | None] = mapped_column(Integer)
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    close_reason: Mapped[str | None] = mapped_column(String(255))


class TaskComment(Base):
    """A comment on a task (a note on what was done)."""

    __tablename__ = "task_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, index=True)
    author: Mapped[str] = mapped_column(String(100), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


# -- the outbox, suppressions and worker leases (migration 0008; tenure.notify, tenure.jobs.leases) ------

OUTBOX_STATUSES = ("pending", "held_for_review", "sent", "dead", "suppressed")


class OutboxMessage(Base):
    """One email or webhook to deliver, written in the same transaction as what it announces.

    Delivery is at least once: the worker sends, then marks the row sent; a crash between the two
    sends it again with the same `idempotency_key` (an email's Message-ID, a webhook's
    Idempotency-Key header), so the receiver can tell it is the same message."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), nullable=False, doc="email or webhook")
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True, nullable=False,
                                            doc="the occurrence this message is for: enqueued once")
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False,
                                                 doc="derived from dedupe_key; the Message-ID / Idempotency-Key")
    category: Mapped[str | None] = mapped_column(String(50), doc="unsubscribe category (emails)")
    recipient: Mapped[str | None] = mapped_column(String(320), doc="email address, lower case (emails)")
    recipient_tz: Mapped[str | None] = mapped_column(String(64), doc="IANA time zone for the send window")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    released_by: Mapped[str | None] = mapped_column(String(100), doc="who released a held email")
    released_at: Mapped[datetime | None] = mapped_column(DateTime)


class Suppression(Base):
    """An address that gets no automated email: in every category ('*') or in one."""

    __tablename__ = "notify_suppressions"
    __table_args__ = (UniqueConstraint("address", "category"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), nullable=False, doc="lower case")
    category: Mapped[str] = mapped_column(String(50), nullable=False, default="*")
    reason: Mapped[str] = mapped_column(String(100), nullable=False, default="unsubscribed")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class WorkerLease(Base):
    """Who may run a worker job until `expires_at`. `token` goes up by one at every acquisition
    (the fencing token): a holder whose token is no longer current has lost the lease."""

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(255), doc="host:pid:random of the holding process")
    token: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    acquired_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class WorkerJobState(Base):
    """When a worker job last ran, how it ended, the data version it saw and when it runs next."""

    __tablename__ = "worker_job_state"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_result: Mapped[dict | None] = mapped_column(JSON)
    last_data_version: Mapped[int | None] = mapped_column(Integer)
    last_token: Mapped[int | None] = mapped_column(Integer)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    runs: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


# -- playbooks: versions, runs, occurrences, enrolments, steps done (migration 0009; tenure.playbooks) ------

PLAYBOOK_STATUSES = ("draft", "active", "paused", "retired")


class PlaybookVersion(Base):
    """One version of a playbook: a new one each time its file's content (all but its status)
    changes. Tasks record the version that made them."""

    __tablename__ = "playbook_versions"
    __table_args__ = (UniqueConstraint("name", "version"), UniqueConstraint("name", "content_hash"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    spec: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class PlaybookState(Base):
    """A playbook's lifecycle as tenure last applied it: status and current version."""

    __tablename__ = "playbook_state"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)


class PlaybookRun(Base):
    """One evaluation of the active playbooks (or of one, or a dry run), with what it did."""

    __tablename__ = "playbook_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    trigger: Mapped[str] = mapped_column(String(30), nullable=False, doc="cli, worker, manual, demo")
    status: Mapped[str] = mapped_column(String(20), nullable=False, doc="running, done, capped, failed")
    result: Mapped[dict | None] = mapped_column(JSON)


class PlaybookOccurrence(Base):
    """One trigger occurrence (the dedupe key is unique: it fires once), what became of it
    (started, cooldown, holdout, capped-out runs write nothing) and when a state trigger cleared."""

    __tablename__ = "playbook_occurrences"
    __table_args__ = (Index("ix_playbook_occurrences_open", "playbook", "trigger_id", "cleared_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    playbook: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    trigger_id: Mapped[str] = mapped_column(String(100), nullable=False)
    trigger_type: Mapped[str] = mapped_column(String(50), nullable=False)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    contact_id: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    occurrence_key: Mapped[str] = mapped_column(String(200), nullable=False)
    occurred_on: Mapped[date | None] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str | None] = mapped_column(Text)
    clears: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, doc="a state trigger")
    outcome: Mapped[str] = mapped_column(String(20), nullable=False, doc="started, holdout, cooldown")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("playbook_runs.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime)


class PlaybookEnrolment(Base):
    """An account (or contact) going through a playbook's steps. `arm` is the experiment
    assignment, recorded when it is made: a holdout takes no actions but is measured."""

    __tablename__ = "playbook_enrolments"
    __table_args__ = (Index("ix_playbook_enrolments_live", "playbook", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    playbook: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    contact_id: Mapped[str | None] = mapped_column(String(100))
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("playbook_occurrences.id"))
    arm: Mapped[str] = mapped_column(String(20), nullable=False, default="treatment", doc="treatment or holdout")
    started_by: Mapped[str] = mapped_column(String(100), nullable=False, doc="trigger, or the user who started it")
    status: Mapped[str] = mapped_column(String(20), nullable=False,
                                        doc="active, waiting, completed, exited, closed, holdout")
    step: Mapped[str | None] = mapped_column(String(100), doc="path of the next step ('2', '1.then.0')")
    wait_until: Mapped[datetime | None] = mapped_column(DateTime)
    wait_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    started_on: Mapped[date] = mapped_column(Date, nullable=False, doc="the as-of day it started (for experiments)")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    exit_reason: Mapped[str | None] = mapped_column(String(255))


class PlaybookStepRun(Base):
    """A step an enrolment has done and what it made (task ids, outbox ids); escalations record
    their level and the task whose SLA moves them on."""

    __tablename__ = "playbook_step_runs"
    __table_args__ = (UniqueConstraint("enrolment_id", "step", "level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("playbook_enrolments.id"), nullable=False, index=True)
    step: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(50), nullable=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    task_id: Mapped[int | None] = mapped_column(Integer, index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    result: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class AccountField(Base):
    """A field or tag set on an account by a playbook (or a person): name -> value."""

    __tablename__ = "account_fields"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, doc="a field, or tag:<name>")
    value: Mapped[str] = mapped_column(Text, nullable=False, default="")
    source: Mapped[str] = mapped_column(String(150), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class SurveyEnrolment(Base):
    """A contact enrolled in a survey program by a playbook; the voice-of-the-customer stage sends it."""

    __tablename__ = "survey_enrolments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program: Mapped[str] = mapped_column(String(100), nullable=False)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    contact_id: Mapped[str | None] = mapped_column(String(100))
    playbook: Mapped[str | None] = mapped_column(String(100))
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


# -- renewal forecast calls (migration 0006; tenure.state.renewal_calls) --------------------------

RENEWAL_CATEGORIES = ("commit", "best_case", "at_risk")


class RenewalCall(Base):
    """A CSM's (or its manager's) forecast call on one renewal: commit, best case or at risk (NULL:
    not set), an optional amount override in the reporting currency, and the next step. One row per
    (account, renewal_key); every change is also in the audit log (entity "renewal_call")."""

    __tablename__ = "renewal_calls"
    __table_args__ = (UniqueConstraint("account_id", "renewal_key", name="uq_renewal_calls_account_renewal"),
                      Index("ix_renewal_calls_renewal_date", "renewal_date"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False)
    renewal_key: Mapped[str] = mapped_column(String(20), nullable=False,
                                             doc="the renewal date YYYY-MM-DD, or the rolling term (monthly)")
    renewal_date: Mapped[date | None] = mapped_column(Date)
    category: Mapped[str | None] = mapped_column(String(20), doc="commit, best_case, at_risk; NULL = not set")
    amount_override: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), doc="expected renewal ARR if not the model's")
    currency: Mapped[str | None] = mapped_column(String(3), doc="currency of amount_override (reporting currency)")
    next_step: Mapped[str | None] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(100), nullable=False, doc="username of who set it last")
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


# -- success plans (migration 0010; tenure.playbooks.success_plans) ------------------------------------

SUCCESS_PLAN_STATUSES = ("active", "achieved", "abandoned")
OBJECTIVE_STATUSES = ("open", "achieved", "dropped")


class SuccessPlan(Base):
    """A success plan on one account beyond onboarding: objectives and the tasks toward them."""

    __tablename__ = "success_plans"
    __table_args__ = (Index("ix_success_plans_account_status", "account_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    template: Mapped[str | None] = mapped_column(String(100), doc="the tenure.yaml template it was made from")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active")
    owner: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class SuccessObjective(Base):
    """An objective of a success plan."""

    __tablename__ = "success_objectives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("success_plans.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    target_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    achieved_at: Mapped[datetime | None] = mapped_column(DateTime)


class SuccessPlanTask(Base):
    """A task of a success plan, under an objective, with the plan tasks it waits for."""

    __tablename__ = "success_plan_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("success_plans.id"), nullable=False, index=True)
    objective_id: Mapped[int | None] = mapped_column(ForeignKey("success_objectives.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, unique=True)
    step_key: Mapped[str | None] = mapped_column(String(100), doc="the template's task key")
    depends_on: Mapped[list | None] = mapped_column(JSON, doc="task ids that must be done or skipped first")


# -- surveys: invitations, responses and the public page's rate counters (migration 0011;
#    tenure.voc.send, tenure.voc.responses) ---------------------------------------------------------

class SurveyInvitation(Base):
    """One survey invitation: who was asked, by which program and channel, and whether they
    answered. `invitation_id` is random (128 bits) and the public token signs it with its expiry
    (tenure.voc.tokens); single use is this row's `answered_at`. Reaches the warehouse's
    survey_invitations through the ingest path when `synced_at` is older than `changed_at`."""

    __tablename__ = "voc_invitations"
    __table_args__ = (Index("ix_voc_invitations_contact_sent", "contact_id", "sent_at"),
                      Index("ix_voc_invitations_program_status", "program", "status"),
                      Index("ix_voc_invitations_sync", "synced_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True, nullable=False,
                                            doc="the occurrence (program, contact, period or trigger): sent once")
    program: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, doc="nps, csat or ces")
    channel: Mapped[str] = mapped_column(String(10), nullable=False, doc="email or link")
    account_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    contact_id: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320), doc="where the invitation and its reminder go")
    locale: Mapped[str | None] = mapped_column(String(35), doc="the text's locale (BCP 47)")
    trigger: Mapped[str] = mapped_column(String(120), nullable=False, doc="relationship, playbook:<name> or link")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="sent",
                                        doc="sent, answered, expired or suppressed")
    sent_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    changed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime, doc="last written to the warehouse")


class SurveyResponse(Base):
    """One answer to a survey (score, then an optional comment), recorded by the public page
    (tenure.voc.responses). Reaches the warehouse's survey_responses through the ingest path."""

    __tablename__ = "voc_responses"
    __table_args__ = (Index("ix_voc_responses_program", "program", "responded_at"),
                      Index("ix_voc_responses_sync", "synced_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    invitation_id: Mapped[str | None] = mapped_column(String(64), unique=True,
                                                      doc="the invitation answered (none: a share link)")
    program: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    touchpoint: Mapped[str | None] = mapped_column(String(100))
    account_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    contact_id: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    commented_at: Mapped[datetime | None] = mapped_column(DateTime)
    changed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime)


class SurveyRateHit(Base):
    """Requests to the public survey page per key (a client address or a token) and minute
    window: the rate limit shared by every server process on the state DB."""

    __tablename__ = "voc_rate_hits"
    __table_args__ = (UniqueConstraint("key", "window_start", name="uq_voc_rate_hits_key_window"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), nullable=False)
    window_start: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    hits: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


# -- advocacy (migration 0012; tenure.voc.advocacy) ---------------------------------------------------

REFERENCE_STATUSES = ("requested", "accepted", "declined", "completed", "withdrawn")
REFERENCE_OPEN_STATUSES = ("requested", "accepted")
REFERENCE_COUNTED_STATUSES = ("requested", "accepted", "declined", "completed")  # asks the fatigue ledger counts
REFERRAL_STATUSES = ("new", "qualified", "won", "lost")


class ReferenceLedger(Base):
    """The fatigue ledger's row per contact: its last ask and how many there were. A new reference
    request updates this row first, so two requests for one contact are counted one after the other."""

    __tablename__ = "reference_ledger"

    contact_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False)
    asks: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_asked_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class ReferenceRequest(Base):
    """A request for a customer reference: which team and user asked, for which opportunity or
    prospect, which contact, and where it stands."""

    __tablename__ = "reference_requests"
    __table_args__ = (Index("ix_reference_requests_contact_at", "contact_id", "requested_at"),
                      Index("ix_reference_requests_account", "account_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(100), nullable=False)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False)
    team: Mapped[str] = mapped_column(String(100), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(100), nullable=False)
    opportunity_id: Mapped[str | None] = mapped_column(String(100))
    prospect: Mapped[str | None] = mapped_column(String(255))
    purpose: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="requested")
    note: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class CaseStudy(Base):
    """A case study in the pipeline (stages from tenure.yaml advocacy.case_study_stages)."""

    __tablename__ = "case_studies"
    __table_args__ = (Index("ix_case_studies_account", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False)
    contact_id: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    stage: Mapped[str] = mapped_column(String(50), nullable=False)
    owner: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    stage_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False, doc="entered its stage")
    published_at: Mapped[datetime | None] = mapped_column(DateTime)


class CaseStudyMove(Base):
    """A case study's move from one stage to another (also in the audit log)."""

    __tablename__ = "case_study_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_study_id: Mapped[int] = mapped_column(ForeignKey("case_studies.id"), nullable=False, index=True)
    from_stage: Mapped[str | None] = mapped_column(String(50))
    to_stage: Mapped[str] = mapped_column(String(50), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Referral(Base):
    """A company a customer referred; once it is a customer, its account id (its ARR comes from
    tenure.metrics.arr)."""

    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("account_id", "company_key", name="uq_referrals_account_company"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True, doc="the referring account")
    contact_id: Mapped[str | None] = mapped_column(String(100), doc="the referring contact")
    company: Mapped[str] = mapped_column(String(255), nullable=False)
    company_key: Mapped[str] = mapped_column(String(255), nullable=False, doc="company, lower case, spaces squeezed")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="new")
    referred_account_id: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class AdvisoryMember(Base):
    """A contact's term on an advisory board; active while the day is inside the term."""

    __tablename__ = "advisory_members"
    __table_args__ = (UniqueConstraint("board", "contact_id", "term_start", name="uq_advisory_members_term"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    board: Mapped[str] = mapped_column(String(100), nullable=False)
    contact_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    account_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    term_start: Mapped[date] = mapped_column(Date, nullable=False)
    term_end: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


# -- voice of the customer: curated topics, manual tags, sentiment corrections (migration 0013;
#    tenure.voc.topics, tenure.voc.corrections) -------------------------------------------------------

TOPIC_TAG_ACTIONS = ("tag", "untag")


class VocTopic(Base):
    """A topic analysts curate: a keyword query (AND/OR/NOT, "phrases") under an optional parent.
    A text in a child topic is in its parent too. Every change is in the audit log (entity "voc_topic")."""

    __tablename__ = "voc_topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    query: Mapped[str] = mapped_column(Text, nullable=False, default="", doc="keyword query; empty: manual tags only")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("voc_topics.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class VocTopicTag(Base):
    """A person's decision on one text and one topic: "tag" (in the topic whatever its keywords say)
    or "untag" (never in it, even when its keywords match). The latest decision is the row."""

    __tablename__ = "voc_topic_tags"
    __table_args__ = (UniqueConstraint("topic_id", "text_id", name="uq_voc_topic_tags_topic_text"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("voc_topics.id", ondelete="CASCADE"), nullable=False)
    text_id: Mapped[str] = mapped_column(String(200), nullable=False, index=True,
                                         doc="a corpus text id, e.g. survey:R1 (tenure.voc.corpus)")
    action: Mapped[str] = mapped_column(String(10), nullable=False, doc="tag or untag")
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class SentimentCorrection(Base):
    """A person's sentiment for one text, overriding the model's wherever sentiment is read
    (tenure.voc.corrections.effective). The model's label and score when it was made are kept
    for the agreement report. Every change is in the audit log (entity "sentiment_correction")."""

    __tablename__ = "voc_sentiment_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text_id: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    label: Mapped[str] = mapped_column(String(10), nullable=False, doc="negative, neutral or positive")
    score: Mapped[float | None] = mapped_column(Float, doc="the person's score in [-1, 1] (empty: from the label)")
    model_label: Mapped[str | None] = mapped_column(String(10), doc="the model's label when corrected")
    model_score: Mapped[float | None] = mapped_column(Float, doc="the model's score when corrected")
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
