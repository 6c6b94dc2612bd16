"""tenure.yaml: the one configuration file, validated with pydantic.

Configuration is code: RevOps reviews changes to store URLs, segments, metric targets and
scorecards in a pull request. Secrets and store URLs can be overridden by environment
variables so the same file works on a laptop, in CI and in production:

    TENURE_WAREHOUSE_URL   warehouse URL (duckdb:///file.duckdb, postgres://..., pyspark://local)
    TENURE_STATE_URL       state DB URL (sqlite:///file.db, postgresql+psycopg://...)
    TENURE_SECRET_KEY      signs session cookies and CSRF tokens

Relative DuckDB and SQLite paths are resolved against the folder holding tenure.yaml.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tenure.errors import ConfigError


def _repeated(names: list[str]) -> list[str]:
    """The names listed more than once, in the order they first appear."""
    return list(dict.fromkeys(n for n in names if names.count(n) > 1))

CONFIG_FILENAME = "tenure.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class WarehouseSettings(_Strict):
    url: str = Field("duckdb:///tenure.duckdb", description="Ibis connection URL of the warehouse")
    threads: int | None = Field(None, ge=1, description="engine threads (DuckDB); default: all cores")
    memory_limit: str | None = Field(None, description="engine memory limit (DuckDB), e.g. '8GB'")


class StateSettings(_Strict):
    url: str = Field("sqlite:///tenure_state.db", description="SQLAlchemy URL of the state DB")


class IdentitySettings(_Strict):
    match_on: list[Literal["external_id", "domain", "email_domain", "name"]] = Field(
        default_factory=lambda: ["external_id", "domain", "email_domain"],
        description="rules tried in order to map a source record to a master account",
    )
    ignore_domains: list[str] = Field(
        default_factory=lambda: ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com"],
        description="free-mail domains that never identify a company",
    )


class IngestSettings(_Strict):
    chunk_rows: int = Field(2_000_000, ge=1_000, description="rows per chunk when streaming large files")
    runs_dir: str = Field("runs", description="folder for run reports and quarantine files")
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    min_date: date = Field(date(1970, 1, 1), description="earliest date, month or timestamp accepted at ingest")
    max_date: date = Field(date(2100, 12, 31), description="latest date, month or timestamp accepted at ingest")
    max_unzipped_mb: float = Field(20_480, gt=0, description="largest decompressed size of one .gz file (MB)")
    max_unzip_ratio: float = Field(200, gt=1, description="largest decompressed/compressed ratio of a .gz file")
    retention_days: int | None = Field(
        30, ge=1, description="uploaded files, quarantine files and run folders older than this many days are "
        "deleted when a new ingest runs (and by `tenure runs prune`); null keeps them forever")


class WebSettings(_Strict):
    """Limits of `tenure serve` (the pages and the REST API)."""

    max_json_mb: float = Field(10, gt=0, description="largest request body other than an upload (MB)")
    max_upload_mb: float = Field(1024, gt=0, description="largest file upload to /api/v1/ingest (MB)")
    max_login_kb: float = Field(16, gt=0, description="largest login form body (KB; the login form is public)")
    login_max_failures: int = Field(5, ge=1, description="failed logins of one user name before it is locked")
    login_ip_max_failures: int = Field(20, ge=1, description="failed logins from one address before it is locked")
    login_window_minutes: float = Field(15, gt=0, description="failures older than this are forgotten")
    login_lockout_seconds: float = Field(
        60, gt=0, description="first lockout; it doubles with each further failure, up to login_window_minutes")
    trust_forwarded_proto: bool = Field(
        False, description="trust X-Forwarded-Proto from a reverse proxy (for HSTS and secure cookies)")
    hsts_max_age: int = Field(31_536_000, ge=0, description="Strict-Transport-Security max-age on https")
    public_url: str | None = Field(
        None, pattern=r"^https?://[^\s?#]+$", description="the address people reach `tenure serve` at, e.g. "
        "https://tenure.example.com: links in emails point there (the unsubscribe page, when "
        "notify.unsubscribe_url is not set)")


class Target(_Strict):
    metric: str = Field(..., description="metric name from the registry, e.g. nrr")
    op: Literal[">=", "<=", ">", "<"] = ">="
    value: float
    grain: Literal["month", "quarter", "year"] = Field(
        "year", description="the period length the target is set for: a value is compared only with a target of "
        "its own grain, or with the equivalent at its grain (labelled) for compounding rates such as GRR")
    where: dict[str, str] = Field(default_factory=dict, description="group filter, e.g. {segment: Enterprise}")


class SurveyMetricSettings(_Strict):
    """How nps, csat and ces aggregate (docs/metrics.md "Survey scores"); shown next to every value."""

    window_days: int | None = Field(
        None, ge=1,
        description="responses counted: null = those answered within the period; N = the N days ending on the "
                    "period's last day",
    )
    weighting: Literal["response", "contact", "account", "arr"] = Field(
        "response",
        description="response: every answer counts once; contact: each contact's latest answer in the window; "
                    "account: each account weighs 1, split over its contacts' latest answers; arr: as account, "
                    "weighted by the account's ARR on the window's last day",
    )
    csat_satisfied_min: int = Field(4, ge=1, le=5, description="CSAT answers at or above this (1-5) are satisfied")
    bootstrap_resamples: int = Field(2000, ge=100, le=100_000, description="resamples for account/arr intervals")
    bootstrap_seed: int = Field(0, description="seed of the bootstrap (same data, same interval)")


class MetricsSettings(_Strict):
    reactivation_window_days: int | None = Field(
        None,
        ge=0,
        description=(
            "an account returning within this many days of its churn counts as reactivation; "
            "later returns count as new. null = any return is reactivation"
        ),
    )
    ltv_zero_churn: Literal["null", "cap"] = Field(
        "null", description="CLV when churn is zero: null (undefined) or cap at max_lifetime_years"
    )
    max_lifetime_years: float = Field(10.0, gt=0, description="lifetime cap used when ltv_zero_churn=cap")
    first_value_milestone: str = Field("first_value", description="milestone that marks time-to-value")
    targets: list[Target] = Field(default_factory=list)
    surveys: SurveyMetricSettings = Field(default_factory=SurveyMetricSettings)


# -- operating model and tasks (docs/playbooks.md "Operating model", "Tasks") ---------------------

TouchLevel = Literal["high", "mid", "tech"]


class Capacity(_Strict):
    """What one CSM can carry when every account it owns has this touch level."""

    max_accounts: int = Field(..., ge=1, description="accounts one CSM can serve at this touch level")
    max_arr: float = Field(..., gt=0, description="ARR one CSM can carry at this touch level (reporting currency)")


class Cadence(_Strict):
    """A touch every so many days: the last `activities` row of `kind` must be at most `every_days` old."""

    kind: Literal["meeting", "ebr", "qbr", "call", "email", "onsite", "training", "other"] = Field(
        ..., description="the activities.kind that counts as this touch")
    every_days: int = Field(..., ge=1, le=3660, description="a touch is missed when the last one is older than this")
    with_exec: bool = Field(False, description="only activities with a customer executive count")


class EngagementMatch(_Strict):
    """Which accounts an engagement model serves: every listed condition must hold (empty = any)."""

    segment: list[str] = Field(default_factory=list, description="accounts.segment values")
    tier: list[str] = Field(default_factory=list, description="accounts.tier values")


class EngagementModel(_Strict):
    """How one group of accounts is served."""

    name: str = Field(..., min_length=1, max_length=50, description="shown on pages and in signals")
    match: EngagementMatch = Field(default_factory=EngagementMatch)
    touch: TouchLevel = Field(..., description="high, mid or tech touch: sets the capacity an account takes")
    cadences: list[Cadence] = Field(default_factory=list, description="touches owed; a missed one is a signal")
    exec_sponsor_required: bool = Field(False, description="an active executive-sponsor contact is required")


class Team(_Strict):
    """A manager's team of CSMs (the values in accounts.owner)."""

    manager: str = Field(..., min_length=1, description="the manager's user name (or csm key)")
    members: list[str] = Field(..., min_length=1, description="CSMs in the team (accounts.owner values)")
    segments: list[str] = Field(default_factory=list, description="segments the team serves (rebalancing moves an "
                                "account only to a CSM serving its segment); empty: those its CSMs own accounts in")


class OperatingModel(_Strict):
    """Engagement models, capacity by touch level and teams. Engagement models are tried in order;
    the first whose `match` holds serves the account, else `default_touch` with no cadence."""

    engagement_models: list[EngagementModel] = Field(default_factory=list)
    default_touch: TouchLevel = Field("tech", description="touch level of an account no model matches")
    capacity: dict[TouchLevel, Capacity] = Field(
        default_factory=lambda: {"high": Capacity(max_accounts=25, max_arr=5_000_000),
                                 "mid": Capacity(max_accounts=75, max_arr=4_000_000),
                                 "tech": Capacity(max_accounts=400, max_arr=3_000_000)},
        description="capacity of one CSM per touch level")
    teams: dict[str, Team] = Field(default_factory=dict, description="team name -> manager and members")

    @field_validator("engagement_models")
    @classmethod
    def _unique_names(cls, v: list[EngagementModel]) -> list[EngagementModel]:
        dup = sorted(_repeated([m.name for m in v]))
        if dup:
            raise ValueError(f"engagement model names must be unique: {', '.join(dup)} repeated")
        return v

    @field_validator("teams")
    @classmethod
    def _one_team_each(cls, v: dict[str, Team]) -> dict[str, Team]:
        seen: dict[str, str] = {}
        for name, team in v.items():
            for m in team.members:
                if m in seen:
                    raise ValueError(f"CSM {m!r} is in two teams ({seen[m]} and {name}); a CSM has one team")
                seen[m] = name
        return v

    def team_of(self, csm: str) -> str | None:
        return next((name for name, t in self.teams.items() if csm in t.members), None)


class TaskType(_Strict):
    """A kind of task (CTA) with its reasons and default due time."""

    reasons: list[str] = Field(default_factory=list, description="allowed reasons (empty = any text)")
    due_days: float = Field(7, gt=0, description="due this many days after creation when no due time is given")


class TaskSettings(_Strict):
    """Task (CTA) vocabulary: types, priorities with their SLA, and outcome codes."""

    types: dict[str, TaskType] = Field(default_factory=lambda: {
        "risk": TaskType(reasons=["health_red", "risk_high", "signal", "missed_cadence", "sponsor_left"], due_days=3),
        "renewal": TaskType(reasons=["t120", "t90", "t60", "t30"], due_days=14),
        "expansion": TaskType(reasons=["usage_growth", "seat_limit"], due_days=14),
        "onboarding": TaskType(reasons=["milestone_overdue", "kickoff"], due_days=7),
        "lifecycle": TaskType(reasons=[], due_days=7)}, description="task type -> reasons and due days")
    priorities: dict[str, float] = Field(
        default_factory=lambda: {"urgent": 4, "high": 24, "normal": 72, "low": 168},
        description="priority -> SLA in hours (the task breaches its SLA that long after creation)")
    outcomes: list[str] = Field(default_factory=lambda: [
        "resolved", "saved", "renewed", "expanded", "no_response", "not_needed", "churned", "other"],
        description="outcome codes a done or skipped task may record")
    max_bulk: int = Field(1000, ge=1, description="most tasks one bulk action may change")


# -- the outbox and the worker (docs/operations.md "The worker and the outbox") -----------------------

class SmtpSettings(_Strict):
    """An SMTP server. The password comes from the environment variable named in password_env."""

    host: str = Field(..., min_length=1, description="SMTP server host name")
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = Field("starttls", description="how the connection is encrypted")
    username: str | None = Field(None, description="login user name (none: no login)")
    password_env: str = Field("TENURE_SMTP_PASSWORD", description="environment variable holding the password")
    timeout_seconds: float = Field(30, gt=0)


class SendWindow(_Strict):
    """When automated emails may arrive, in the recipient's own time zone."""

    start: str = Field("08:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, inclusive")
    end: str = Field("18:00", pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$", description="HH:MM, exclusive")
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], min_length=1)

    @field_validator("end")
    @classmethod
    def _after_start(cls, v: str, info) -> str:  # noqa: ANN001
        start = info.data.get("start")
        if start is not None and v <= start:
            raise ValueError(f"end ({v}) must be later than start ({start})")
        return v


class NotifySettings(_Strict):
    """How the outbox delivers emails and webhooks."""

    smtp: SmtpSettings | None = Field(None, description="SMTP server; none: emails are written as .eml files")
    eml_dir: str = Field("outbox", description="folder for .eml files when no SMTP server is configured")
    from_address: str = Field("tenure@localhost", description="the address automated emails come from")
    from_name: str = Field("tenure", description="display name when the email has no CSM")
    send_as: Literal["reply_to", "from"] = Field(
        "reply_to", description="reply_to: From is '<CSM> via <from_name>' <from_address> and Reply-To the CSM; "
        "from: From is the CSM's own address (the SMTP server must allow it)")
    default_timezone: str = Field("UTC", description="recipient time zone when none is known (IANA name)")
    send_window: SendWindow | None = Field(default_factory=SendWindow,
                                           description="when emails may arrive; null: any time")
    unsubscribe_url: str | None = Field(None, description="base URL of the unsubscribe page (a signed token is "
                                        "appended); with unsubscribe_mailto, the List-Unsubscribe header")
    unsubscribe_mailto: str | None = Field(None, description="address that receives unsubscribe requests")
    webhook_secret_env: str = Field("TENURE_WEBHOOK_SECRET", description="environment variable holding the "
                                    "HMAC-SHA256 key of webhook signatures (default: the secret key)")
    webhook_timeout_seconds: float = Field(10, gt=0)
    max_attempts: int = Field(8, ge=1, description="failed attempts before a message is a dead letter")
    retry_base_seconds: float = Field(60, gt=0, description="wait after the first failure; doubles each time")
    retry_max_seconds: float = Field(21_600, gt=0, description="longest wait between attempts")
    batch_size: int = Field(500, ge=1, description="messages one delivery pass claims at a time")
    mark_every: int = Field(1, ge=1, description="sent messages marked sent per state-DB transaction: more is "
                            "faster, and a crash then sends up to that many again (same Message-ID)")

    @field_validator("default_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return v


class WorkerJobSettings(_Strict):
    """Overrides of one registered worker job."""

    schedule: str | None = Field(None, description="cron expression (5 fields, UTC), e.g. '0 6 * * *'")
    after_refresh: bool | None = Field(None, description="run when the data version changes")
    every_seconds: float | None = Field(None, gt=0, description="run this often")
    enabled: bool = True

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None:
            from croniter import croniter

            if not croniter.is_valid(v):
                raise ValueError(f"{v!r} is not a cron expression (minute hour day month weekday, e.g. '0 6 * * 1-5')")
        return v


class WorkerSettings(_Strict):
    """`tenure worker`: the jobs it runs and its leases."""

    poll_seconds: float = Field(5, gt=0, description="longest sleep between looks for due jobs")
    lease_seconds: float = Field(60, ge=1, description="a job's lease lasts this long and is renewed at a third")
    jobs: dict[str, WorkerJobSettings] = Field(default_factory=dict,
                                               description="job name -> schedule overrides (`tenure worker --list`)")


class PlaybookSettings(_Strict):
    """Playbooks (docs/playbooks.md "Playbooks"): one YAML file per playbook in `folder`."""

    folder: str = Field("playbooks", description="folder of playbook files (*.yaml), relative to tenure.yaml")
    evaluate_after_refresh: bool = Field(True, description="the worker runs the active playbooks after each refresh")


CONDITION_KINDS = ("milestone", "active_users", "active_days", "events", "feature", "activity")


class DoneWhen(_Strict):
    """A milestone that completes itself from data (docs/onboarding.md "Data conditions"): exactly one
    condition, evaluated in the warehouse for every account at once, from the contract start on.
    The milestone is done on the first day the condition holds."""

    milestone: str | None = Field(None, description="the milestones fact of this name is completed (another name "
                                                    "than the plan milestone's own, e.g. an imported 'go_live')")
    active_users: int | None = Field(None, ge=1, description="a day with at least this many active users "
                                                             "(usage_daily.active_users)")
    active_days: int | None = Field(None, ge=1, description="at least this many days with any usage")
    events: int | None = Field(None, ge=1, description="at least this many usage events in total")
    feature: str | None = Field(None, min_length=1, description="this feature used at least once, e.g. report_run "
                                                                "for 'first report run' (usage_features)")
    activity: str | None = Field(None, min_length=1, description="an activity of this kind, e.g. training or "
                                                                 "meeting (activities.kind)")

    @field_validator("activity")
    @classmethod
    def _kind(cls, v: str | None) -> str | None:
        kinds = ("meeting", "ebr", "qbr", "call", "email", "onsite", "training", "other")
        if v is not None and v not in kinds:
            raise ValueError(f"unknown activity kind {v!r}; kinds are {', '.join(kinds)}")
        return v

    def model_post_init(self, __context: Any) -> None:
        given = [k for k in CONDITION_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one condition of {', '.join(CONDITION_KINDS)} (got "
                             f"{', '.join(given) or 'none'})")

    @property
    def kind(self) -> str:
        return next(k for k in CONDITION_KINDS if getattr(self, k) is not None)

    @property
    def value(self) -> Any:
        return getattr(self, self.kind)


class PlanMilestone(_Strict):
    """One milestone of an onboarding plan."""

    name: str = Field(..., min_length=1, max_length=100,
                      description="milestone name; a milestones fact of this name completes it")
    due_days: int = Field(..., ge=0, le=3650, description="due this many days after the contract start")
    required: bool = Field(True, description="required milestones decide on track / behind / stuck; optional "
                                             "ones are shown and counted but never make an account late")
    done_when: DoneWhen | None = Field(None, description="also done when this data condition holds")


class OnboardingPlan(_Strict):
    """The milestones an account of the plan's segments works through while it onboards."""

    name: str = Field(..., min_length=1, max_length=100, description="plan name shown on the onboarding page")
    segments: list[str] = Field(default_factory=list, description="segments it applies to; empty: every segment "
                                                                  "without a plan of its own")
    milestones: list[PlanMilestone] = Field(..., min_length=1, description="milestones, in order")

    @field_validator("milestones")
    @classmethod
    def _unique(cls, v: list[PlanMilestone]) -> list[PlanMilestone]:
        dup = sorted(_repeated([m.name for m in v]))
        if dup:
            raise ValueError(f"milestone {dup[0]!r} is listed twice")
        return v


class OnboardingPlans(_Strict):
    """Onboarding plans per segment (docs/onboarding.md). Which accounts are onboarding is decided once,
    by `health.onboarding` (tenure.health.onboarding); a plan says what they should have done by when."""

    plans: list[OnboardingPlan] = Field(default_factory=list, description="plans; each segment in at most one")
    behind_after_days: int = Field(0, ge=0, description="behind: a required milestone overdue by more than this "
                                                        "many days")
    stuck_after_days: int = Field(30, ge=1, description="stuck: a required milestone overdue by more than this "
                                                        "many days")

    def model_post_init(self, __context: Any) -> None:
        seen: dict[str, str] = {}
        defaults = [p.name for p in self.plans if not p.segments]
        if len(defaults) > 1:
            raise ValueError(f"plans {defaults[0]!r} and {defaults[1]!r} both have no segments; only one may be "
                             "the default plan")
        dup = _repeated([p.name for p in self.plans])
        if dup:
            raise ValueError(f"plan {dup[0]!r} is listed twice")
        for p in self.plans:
            for seg in p.segments:
                if seg in seen:
                    raise ValueError(f"segment {seg!r} is in plans {seen[seg]!r} and {p.name!r}; give it one plan")
                seen[seg] = p.name
        if self.stuck_after_days <= self.behind_after_days:
            raise ValueError("stuck_after_days must be more than behind_after_days")

    def plan_for(self, segment: str | None) -> OnboardingPlan | None:
        """The plan of a segment: the one listing it, else the default plan (no segments), else None."""
        for p in self.plans:
            if segment in p.segments:
                return p
        return next((p for p in self.plans if not p.segments), None)


class SuccessTaskTemplate(_Strict):
    """One task of a success plan template; created as a task (tenure.playbooks.tasks) when the plan starts."""

    key: str = Field(..., pattern=r"^[a-z0-9_-]{1,50}$", description="names the task inside the template "
                                                                      "(depends_on refers to it)")
    title: str = Field(..., min_length=1, max_length=255, description="the task's title")
    type: str = Field("lifecycle", description="task type (tenure.yaml tasks.types)")
    reason: str | None = Field(None, description="task reason (one of the type's reasons)")
    priority: str = Field("normal", description="task priority (tenure.yaml tasks.priorities)")
    due_days: int = Field(14, ge=0, le=3650, description="due this many days after the plan starts")
    depends_on: list[str] = Field(default_factory=list, description="keys of tasks that must be done (or "
                                                                    "skipped) first; until then it is blocked")


class SuccessObjectiveTemplate(_Strict):
    """One objective of a success plan template (what the customer wants to achieve)."""

    title: str = Field(..., min_length=1, max_length=255, description="the objective, in the customer's words")
    due_days: int | None = Field(None, ge=0, le=3650, description="target date: this many days after the start")
    tasks: list[SuccessTaskTemplate] = Field(default_factory=list, description="the work toward it")


class SuccessPlanTemplate(_Strict):
    """A success plan template (docs/onboarding.md "Success plans")."""

    title: str = Field(..., min_length=1, max_length=255, description="the plan's title")
    description: str = Field("", description="a sentence for the CSM")
    objectives: list[SuccessObjectiveTemplate] = Field(..., min_length=1, description="objectives, in order")

    def model_post_init(self, __context: Any) -> None:
        keys = [t.key for o in self.objectives for t in o.tasks]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"task key {dup[0]!r} is used twice")
        deps = {t.key: t.depends_on for o in self.objectives for t in o.tasks}
        for key, on in deps.items():
            unknown = [d for d in on if d not in deps]
            if unknown:
                raise ValueError(f"task {key!r} depends on unknown task {unknown[0]!r}; tasks are {', '.join(deps)}")
        state: dict[str, int] = {}  # 1: visiting, 2: done

        def visit(k: str, path: list[str]) -> None:
            if state.get(k) == 2:
                return
            if state.get(k) == 1:
                raise ValueError("tasks depend on each other in a circle: " + " -> ".join([*path, k]))
            state[k] = 1
            for d in deps[k]:
                visit(d, [*path, k])
            state[k] = 2

        for k in deps:
            visit(k, [])


class SuccessPlanSettings(_Strict):
    """Success plans for accounts beyond onboarding: templates a CSM starts a plan from."""

    templates: dict[str, SuccessPlanTemplate] = Field(default_factory=dict, description="template name -> template")


class AdvocacySettings(_Strict):
    """Advocacy (docs/voc.md "Advocacy"): who is a reference candidate, the fatigue ledger's cap on
    reference requests per contact, the case-study stages and the advisory boards."""

    request_cap: int = Field(2, ge=1, le=100, description="reference requests per contact, across teams, in "
                                                            "cap_days (the fatigue ledger refuses one more)")
    cap_days: int = Field(90, ge=1, le=3650, description="the fatigue ledger's window, in days")
    cooldown_days: int = Field(30, ge=0, le=3650, description="a contact asked this recently is not a candidate")
    promoter_max_age_days: int = Field(365, ge=1, le=3650,
                                       description="a candidate's latest NPS answer (9-10) is at most this old")
    healthy_bands: list[str] = Field(default_factory=lambda: ["green"], min_length=1,
                                     description="health bands that count as healthy")
    first_term_days: int = Field(365, ge=1, le=3650,
                                 description="a customer this long (its first contract line started this many "
                                             "days ago and it still has ARR) is past its first renewal")
    case_study_stages: list[str] = Field(
        default_factory=lambda: ["identified", "approved", "interviewing", "drafting", "customer_review",
                                 "published"],
        min_length=2, description="case-study pipeline stages in order (the last is published; 'dropped' ends one)")
    boards: list[str] = Field(default_factory=list,
                              description="advisory boards a contact may join (empty: any name)")

    @field_validator("case_study_stages")
    @classmethod
    def _stages(cls, v: list[str]) -> list[str]:
        twice = _repeated(v)
        if twice or "dropped" in v:
            raise ValueError(f"case-study stages must be distinct and not 'dropped' (it ends a case study): "
                             f"{', '.join(twice) or 'dropped'}")
        return v


# -- survey programs (docs/voc.md "Surveys"; tenure.voc.programs) -------------------------------

SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
# The one definition of a survey answer's side (Reichheld 2003, Bain & Company: NPS promoters 9-10,
# passives 7-8, detractors 0-6; CSAT satisfied from metrics.surveys.csat_satisfied_min), used by the
# metrics, health signals, playbook triggers, the webhook, the loop, validation and advocacy.
NPS_PROMOTER_MIN = 9
NPS_DETRACTOR_MAX = 6
LOW_SCORE_MAX = {"nps": NPS_DETRACTOR_MAX, "csat": 2, "ces": 3}  # an answer this low needs a follow-up


def survey_category(kind: str, score: int, csat_satisfied_min: int = 4) -> str:
    """promoter/passive/detractor (NPS), satisfied/unsatisfied (CSAT), easy/neutral/difficult (CES)."""
    if kind == "nps":
        return "promoter" if score >= NPS_PROMOTER_MIN else "detractor" if score <= NPS_DETRACTOR_MAX else "passive"
    if kind == "csat":
        return "satisfied" if score >= csat_satisfied_min else "unsatisfied"
    return "difficult" if score <= LOW_SCORE_MAX["ces"] else "neutral" if score == LOW_SCORE_MAX["ces"] + 1 else "easy"


class SurveyText(_Strict):
    """What one locale's respondents read. `{account}` and `{project}` are filled in."""

    question: str = Field(..., min_length=1, description="the score question, e.g. How likely are you to "
                          "recommend {project} to a friend or colleague?")
    follow_up: str = Field("What is the main reason for your score?", min_length=1,
                           description="the optional comment's question, shown after the score")
    subject: str | None = Field(None, description="the email's subject (default: the question)")
    intro: str = Field("", description="a sentence above the score links in the email")
    low_label: str | None = Field(None, description="label of the lowest score (default by kind)")
    high_label: str | None = Field(None, description="label of the highest score (default by kind)")
    thanks: str = Field("Thank you for your answer.", min_length=1, description="shown after the score")


class SurveyAudience(_Strict):
    """Who a program asks: active contacts with an email address, of these roles, at accounts of
    these segments and tiers (empty: any)."""

    roles: list[str] = Field(default_factory=lambda: ["exec_sponsor", "champion", "user"])
    segments: list[str] = Field(default_factory=list)
    tiers: list[str] = Field(default_factory=list)
    statuses: list[str] = Field(default_factory=lambda: ["customer"],
                                description="account statuses asked (account_summary.status)")


class SurveyTrigger(_Strict):
    """relationship: every contact of the audience every `every_days` days (`tenure voc send`, the
    worker's survey-send job); transactional: only when a playbook's `send_survey` action (or
    `enrol_survey`) asks, e.g. after a ticket is resolved or a milestone is reached."""

    type: Literal["relationship", "transactional"] = "relationship"
    every_days: int = Field(90, ge=1, description="relationship: days between two asks of one contact by this "
                            "program")


class SurveyInApp(_Strict):
    """The in-app / web channel of a program (docs/voc.md "In-app channel"; tenure.voc.inapp):
    which sites may embed /embed/survey.js, who is asked, and the identity-verification secret."""

    origins: list[str] = Field(..., min_length=1, description="origins allowed to call the embed API (CORS), "
                               "e.g. https://app.example.com (scheme://host[:port], no path)")
    secret_env: str = Field(..., pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="the environment variable "
                            "holding this program's identity-verification secret (the product signs each user id "
                            "with it: HMAC-SHA256, hex)")
    min_user_age_days: int = Field(14, ge=0, description="ask only users first seen at least this many days ago")
    min_sessions: int = Field(3, ge=0, description="ask only users with at least this many sessions")
    days_between_asks: int = Field(90, ge=1, description="ask one user at most once in this many days (an ask "
                                   "counts whether answered or dismissed)")

    @field_validator("origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        import re

        bad = [o for o in v if not re.fullmatch(r"https?://[^/\s?#]+", o.strip())]
        if bad:
            raise ValueError(f"origins must be scheme://host[:port] with no path or trailing slash: {', '.join(bad)}")
        return [o.strip().lower() for o in v]


class SurveyProgram(_Strict):
    name: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="the program's id: lower case "
                      "letters, digits, - and _; the survey_id of its invitations and responses")
    kind: Literal["nps", "csat", "ces"]
    title: str | None = Field(None, description="what lists show (default: the name)")
    status: Literal["active", "paused"] = "active"
    touchpoint: str = Field("relationship", description="the responses' touchpoint, e.g. relationship, support, "
                            "onboarding")
    default_locale: str = Field("en", description="the text used for a contact whose locale has none")
    text: dict[str, SurveyText] = Field(..., min_length=1, description="locale (BCP 47: en, de, pt-BR) -> text; "
                                        "a contact's locale is matched exactly, then by language")
    channels: list[Literal["email", "link", "inapp"]] = Field(default_factory=lambda: ["email"], min_length=1,
                                                              description="email invitations; link: a share link "
                                                              "per account (`tenure voc link`); inapp: the "
                                                              "embedded widget (settings in `inapp`)")
    inapp: SurveyInApp | None = Field(None, description="the in-app channel's settings (needed when channels "
                                      "lists inapp)")
    audience: SurveyAudience = Field(default_factory=SurveyAudience)
    trigger: SurveyTrigger = Field(default_factory=SurveyTrigger)
    reminder_days: float | None = Field(3, gt=0, description="one reminder this many days after the invitation "
                                        "if not answered; null: none")
    expiry_days: float = Field(14, gt=0, description="an invitation's link works this many days")
    webhook_url: str | None = Field(None, pattern=r"^https?://", description="POST every response here "
                                    "(HMAC-signed; default: surveys.webhook_url)")
    max_per_run: int | None = Field(None, ge=1, description="at most this many invitations per send run")

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        return v.strip()

    def model_post_init(self, _ctx: Any) -> None:
        if self.default_locale not in self.text:
            raise ValueError(f"program {self.name!r}: text has no entry for default_locale {self.default_locale!r} "
                             f"(it has {', '.join(self.text)})")
        if "inapp" in self.channels and self.inapp is None:
            raise ValueError(f"program {self.name!r}: channels lists inapp but there is no `inapp:` block "
                             "(origins, secret_env)")


class SurveyRateLimit(_Strict):
    """The public response page's rate limit (shared by every server process, in the state DB)."""

    per_address: int = Field(60, ge=1, description="requests from one client address per window")
    per_token: int = Field(20, ge=1, description="requests with one link's token per window")
    window_minutes: float = Field(10, gt=0)


class SurveySettings(_Strict):
    """Survey programs and their shared rules (docs/voc.md "Surveys")."""

    programs: list[SurveyProgram] = Field(default_factory=list)
    throttle_days: int = Field(30, ge=0, description="no contact is asked by any program more than once in this "
                               "many days (0: no throttle)")
    webhook_url: str | None = Field(None, pattern=r"^https?://", description="POST every response of every program "
                                    "here (HMAC-signed, through the outbox)")
    comment_minutes: float = Field(60, gt=0, description="how long after the score the comment form accepts a "
                                   "comment")
    max_comment_chars: int = Field(5000, ge=1)
    rate_limit: SurveyRateLimit = Field(default_factory=SurveyRateLimit)

    @field_validator("programs")
    @classmethod
    def _unique(cls, v: list[SurveyProgram]) -> list[SurveyProgram]:
        dup = _repeated([p.name for p in v])
        if dup:
            raise ValueError(f"program names must be unique: {', '.join(dup)} listed twice")
        return v

    def program(self, name: str) -> SurveyProgram | None:
        return next((p for p in self.programs if p.name == name), None)


# -- custom surveys (docs/voc.md "Custom surveys and imports"; tenure.voc.custom) ----------------

CUSTOM_QUESTION_TYPES = ("single", "multi", "rating", "ranking", "text")
END_OF_SURVEY = "end"


class AnswerCondition(_Strict):
    """A test on the answer to one earlier question. Give one test (or at_least and at_most
    together): `equals` an option (single) or a number (rating); `any_of` options (single: the
    option is one of them; multi/ranking: at least one of them was chosen); `at_least` /
    `at_most` a rating; `answered` true or false. An unanswered or hidden question matches only
    `answered: false`."""

    question: str = Field(..., min_length=1, description="the id of an earlier question")
    equals: str | float | None = Field(None, description="the answer is this option or this rating")
    any_of: list[str] | None = Field(None, min_length=1, description="the answer is, or includes, one of these")
    at_least: float | None = Field(None, description="a rating of at least this")
    at_most: float | None = Field(None, description="a rating of at most this")
    answered: bool | None = Field(None, description="the question was answered (true) or not (false)")

    def model_post_init(self, _ctx: Any) -> None:
        tests = [k for k in ("equals", "any_of", "answered") if getattr(self, k) is not None]
        ranged = self.at_least is not None or self.at_most is not None
        if len(tests) + ranged != 1:
            given = ", ".join(tests + (["at_least/at_most"] if ranged else [])) or "none"
            raise ValueError(f"condition on {self.question!r}: give exactly one of equals, any_of, answered, or "
                             f"at_least/at_most (got {given})")


class SkipRule(_Strict):
    """After the question is answered: when the condition holds, jump to `to` (a later question's
    id, or `end`); the questions in between are not asked."""

    when: AnswerCondition = Field(..., description="a condition on this question's answer (or an earlier one)")
    to: str = Field(..., min_length=1, description="a later question's id, or 'end' to finish the survey")


class CustomQuestion(_Strict):
    """One question of a custom survey."""

    id: str = Field(..., pattern=r"^[a-z][a-z0-9_]{0,62}$", description="the question's id: lower case letters, "
                    "digits and _; the question_id of its answers")
    type: Literal["single", "multi", "rating", "ranking", "text"] = Field(
        ..., description="single or multi(ple) choice, rating on a scale, ranking of options, free text")
    text: str = Field(..., min_length=1, max_length=500, description="the question as asked")
    help: str = Field("", max_length=500, description="a line under the question")
    options: list[str] = Field(default_factory=list, description="the options (single, multi, ranking)")
    scale_min: int = Field(1, ge=0, le=100, description="rating: the lowest value")
    scale_max: int = Field(5, ge=1, le=100, description="rating: the highest value")
    low_label: str | None = Field(None, description="rating: what the lowest value means, e.g. Not at all")
    high_label: str | None = Field(None, description="rating: what the highest value means, e.g. Completely")
    max_choices: int | None = Field(None, ge=1, description="multi: at most this many options")
    max_length: int = Field(2000, ge=1, le=20000, description="text: at most this many characters")
    required: bool = Field(True, description="the question must be answered when it is asked")
    page: str | None = Field(None, description="questions next to each other with the same page name are asked on "
                                               "one page; a question without one has a page of its own")
    show_if: list[AnswerCondition] = Field(default_factory=list, description="ask the question only when all of "
                                           "these hold (conditions on questions of earlier pages)")
    skip_to: list[SkipRule] = Field(default_factory=list, description="after it is answered, the first rule that "
                                    "holds jumps ahead")

    def model_post_init(self, _ctx: Any) -> None:
        if self.type in ("single", "multi", "ranking"):
            if len(self.options) < 2:
                raise ValueError(f"question {self.id!r} ({self.type}) needs at least two options")
            dup = _repeated([o.strip().lower() for o in self.options])
            if dup:
                raise ValueError(f"question {self.id!r}: option {dup[0]!r} is listed twice")
        elif self.options:
            raise ValueError(f"question {self.id!r} ({self.type}) takes no options")
        if self.type == "rating" and self.scale_max <= self.scale_min:
            raise ValueError(f"question {self.id!r}: scale_max ({self.scale_max}) must be above scale_min "
                             f"({self.scale_min})")
        if self.max_choices is not None and self.type != "multi":
            raise ValueError(f"question {self.id!r}: max_choices applies to multi questions only")


class CustomSurvey(_Strict):
    """A custom survey (exit, onboarding, research): several questions, with branching."""

    title: str = Field(..., min_length=1, max_length=200, description="shown at the top of every page")
    purpose: Literal["exit", "onboarding", "research", "other"] = Field("research", description="what it is for")
    status: Literal["active", "paused"] = Field("active", description="a paused survey's page says so")
    intro: str = Field("", max_length=2000, description="shown above the first page")
    thanks: str = Field("Thank you for your answers.", min_length=1, description="shown after the last page")
    expiry_days: float = Field(30, gt=0, description="a link to it works this many days")
    questions: list[CustomQuestion] = Field(..., min_length=1, description="the questions, in order")

    def model_post_init(self, _ctx: Any) -> None:
        ids = [q.id for q in self.questions]
        dup = _repeated(ids)
        if dup:
            raise ValueError(f"question id {dup[0]!r} is listed twice")
        pages: list[str | None] = []
        page_of: dict[str, int] = {}
        for i, q in enumerate(self.questions):
            if not pages or q.page is None or q.page != self.questions[i - 1].page:
                if q.page is not None and q.page in pages:
                    raise ValueError(f"question {q.id!r}: page {q.page!r} is used again after other pages; "
                                     "list a page's questions next to each other")
                pages.append(q.page)
            page_of[q.id] = len(pages) - 1
        by_id = {q.id: q for q in self.questions}
        for i, q in enumerate(self.questions):
            for c in q.show_if:
                ref = by_id.get(c.question)
                if ref is None or page_of[c.question] >= page_of[q.id]:
                    raise ValueError(f"question {q.id!r}: show_if refers to {c.question!r}, which is not a question "
                                     "of an earlier page")
                _check_condition(ref, c, f"question {q.id!r} show_if")
            for r in q.skip_to:
                ref = by_id.get(r.when.question)
                if ref is None or ids.index(r.when.question) > i:
                    raise ValueError(f"question {q.id!r}: skip_to tests {r.when.question!r}, which is not this or "
                                     "an earlier question")
                _check_condition(ref, r.when, f"question {q.id!r} skip_to")
                if r.to != END_OF_SURVEY and (r.to not in by_id or page_of[r.to] <= page_of[q.id]):
                    raise ValueError(f"question {q.id!r}: skip_to target {r.to!r} is not a question of a later "
                                     "page (or 'end')")


def _check_condition(q: CustomQuestion, c: AnswerCondition, where: str) -> None:
    """A condition's values must be possible answers of the question it tests."""
    lowered = {o.strip().lower() for o in q.options}
    if c.any_of is not None:
        if q.type not in ("single", "multi", "ranking"):
            raise ValueError(f"{where}: any_of needs a choice question ({q.id!r} is {q.type})")
        bad = [o for o in c.any_of if o.strip().lower() not in lowered]
        if bad:
            raise ValueError(f"{where}: {bad[0]!r} is not an option of {q.id!r} ({', '.join(q.options)})")
    if c.equals is not None:
        if q.type == "rating":
            if isinstance(c.equals, str) or not q.scale_min <= c.equals <= q.scale_max:
                raise ValueError(f"{where}: equals {c.equals!r} is not on {q.id!r}'s scale "
                                 f"{q.scale_min}-{q.scale_max}")
        elif q.type == "single":
            if str(c.equals).strip().lower() not in lowered:
                raise ValueError(f"{where}: {c.equals!r} is not an option of {q.id!r} ({', '.join(q.options)})")
        else:
            raise ValueError(f"{where}: equals needs a single-choice or rating question ({q.id!r} is {q.type})")
    if (c.at_least is not None or c.at_most is not None) and q.type != "rating":
        raise ValueError(f"{where}: at_least/at_most need a rating question ({q.id!r} is {q.type})")


class ChurnCategory(_Strict):
    """One category of the churn-reason taxonomy: what it means, and how to recognise it."""

    description: str = Field(..., min_length=1, description="what the category means, in words")
    keywords: list[str] = Field(default_factory=list, description="words or phrases that put a text in it "
                                                                  "(case-insensitive, whole words)")
    examples: list[str] = Field(default_factory=list, description="example sentences: a text with no keyword goes "
                                                                  "to the category whose examples it is most like")


def _default_churn_categories() -> dict[str, ChurnCategory]:
    c = ChurnCategory
    return {
        "price": c(description="the price, or its increase, is too high for the value",
                   keywords=["price", "pricing", "expensive", "too costly", "price increase", "not worth",
                             "cheaper", "overpriced"],
                   examples=["Not worth the price for us.", "The renewal quote was far too expensive."]),
        "budget": c(description="a budget cut or spending freeze at the customer",
                    keywords=["budget", "spending freeze", "cost cutting", "cutbacks", "layoffs", "funding"],
                    examples=["Our budget was cut this year.", "Finance froze all new software spend."]),
        "product_gap": c(description="missing features or capabilities the customer needs",
                         keywords=["missing feature", "missing features", "product gap", "lacks", "does not support",
                                   "doesn't support", "no support for", "limitation", "roadmap"],
                         examples=["Missing features we need.", "The product cannot do what our process requires."]),
        "poor_adoption": c(description="low usage: the team never adopted the product",
                           keywords=["adoption", "not using", "low usage", "never used", "hard to use", "shelfware",
                                     "did not adopt"],
                           examples=["Hard to use, adoption is poor.", "Nobody on the team logs in any more."]),
        "champion_left": c(description="the champion or sponsor left or changed role",
                           keywords=["champion left", "sponsor left", "left the company", "new leadership", "reorg",
                                     "champion"],
                           examples=["Our champion left the company.", "The new VP does not know the product."]),
        "competitor": c(description="moved to a competitor or an alternative",
                        keywords=["competitor", "alternative", "alternatives", "switched to", "moving to",
                                  "went with", "in-house"],
                        examples=["We switched to a competitor.", "Considering alternatives that fit better."]),
        "support": c(description="a poor support or service experience",
                     keywords=["support is slow", "slow support", "bad support", "unresponsive", "no response",
                               "support"],
                     examples=["Support took weeks to answer.", "Nobody replied to our tickets."]),
        "reliability": c(description="bugs, outages and performance problems",
                         keywords=["bug", "bugs", "outage", "crash", "crashing", "downtime", "broken", "unreliable",
                                   "too slow"],
                         examples=["Too many bugs.", "The dashboard keeps crashing."]),
        "business_change": c(description="acquired, merged, closed or changed business model",
                             keywords=["acquired", "acquisition", "merger", "bankrupt", "out of business",
                                       "shut down"],
                             examples=["We were acquired by a company that uses another tool."]),
    }


class ChurnTaxonomy(_Strict):
    """The churn-reason taxonomy (docs/voc.md "Topics, requests and churn reasons"): churn_reasons rows
    and churn comments are classified into these categories (keywords first, then the nearest
    category by meaning), or into `other`."""

    categories: dict[str, ChurnCategory] = Field(default_factory=_default_churn_categories,
                                                 description="category name -> description, keywords, examples")
    other: str = Field("other", min_length=1, description="the bucket for texts that fit no category")
    min_similarity: float = Field(0.35, ge=0, le=1, description="a text with no keyword joins the nearest category "
                                                                "only when its cosine similarity is at least this")
    comment_touchpoints: list[str] = Field(
        default_factory=lambda: ["exit", "churn", "cancellation", "offboarding"],
        description="survey touchpoints whose comments are churn comments")
    comment_days_before_churn: int = Field(
        90, ge=0, le=3650, description="a churned account's comments this many days before its churn date are "
                                       "churn comments too")

    @field_validator("categories")
    @classmethod
    def _some(cls, v: dict[str, ChurnCategory]) -> dict[str, ChurnCategory]:
        if not v:
            raise ValueError("list at least one category")
        return v


class Config(_Strict):
    """The whole of tenure.yaml."""

    project: str = Field("tenure", description="a name shown on pages and reports")
    reporting_currency: str = Field("USD", min_length=3, max_length=3)
    segments: list[str] = Field(
        default_factory=lambda: ["Enterprise", "Mid-Market", "SMB"], description="known segments, in display order"
    )
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    health: dict[str, Any] = Field(default_factory=dict, description="scorecards (see docs/health.md)")
    risk: dict[str, Any] = Field(default_factory=dict, description="churn-risk model settings")
    operating_model: OperatingModel = Field(default_factory=OperatingModel,
                                            description="engagement models, capacity, teams (docs/playbooks.md)")
    tasks: TaskSettings = Field(default_factory=TaskSettings, description="task types, priorities, outcomes")
    playbooks: PlaybookSettings = Field(default_factory=PlaybookSettings, description="playbook files")
    onboarding_plans: OnboardingPlans = Field(default_factory=OnboardingPlans,
                                              description="onboarding plans per segment (docs/onboarding.md)")
    success_plans: SuccessPlanSettings = Field(default_factory=SuccessPlanSettings,
                                               description="success plan templates (docs/onboarding.md)")
    notify: NotifySettings = Field(default_factory=NotifySettings, description="email and webhook delivery")
    worker: WorkerSettings = Field(default_factory=WorkerSettings, description="`tenure worker` schedules and leases")
    advocacy: AdvocacySettings = Field(default_factory=AdvocacySettings,
                                       description="reference candidates, the fatigue ledger, case studies (docs/voc.md)")
    surveys: SurveySettings = Field(default_factory=SurveySettings, description="survey programs (docs/voc.md)")
    custom_surveys: dict[str, CustomSurvey] = Field(default_factory=dict, description="custom survey id -> its questions and branching (docs/voc.md, Custom surveys and imports)")
    churn_taxonomy: ChurnTaxonomy = Field(default_factory=ChurnTaxonomy,
                                          description="churn-reason categories (docs/voc.md)")
    secret_key: str | None = Field(None, description="prefer the TENURE_SECRET_KEY environment variable")

    base_dir: Path = Field(default_factory=Path.cwd, exclude=True, description="folder holding tenure.yaml")

    @field_validator("reporting_currency")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    @property
    def title(self) -> str:
        """What pages, the API docs and the serve banner call this installation: "tenure", or
        "tenure — Acme" when the project has a name of its own."""
        name = (self.project or "").strip()
        return "tenure" if name.lower() in ("", "tenure") else f"tenure — {name}"

    def resolve_path(self, p: str | Path) -> Path:
        p = Path(p)
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def warehouse_url(self) -> str:
        return _resolve_file_url(self.warehouse.url, self.base_dir, ("duckdb:///",))

    @property
    def state_url(self) -> str:
        return _resolve_file_url(self.state.url, self.base_dir, ("sqlite:///",))

    @property
    def runs_dir(self) -> Path:
        return self.resolve_path(self.ingest.runs_dir)


def _resolve_file_url(url: str, base: Path, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if url.startswith(prefix):
            rest = url[len(prefix):]
            if rest in ("", ":memory:") or rest.startswith("/"):
                return url
            return prefix + str((base / rest).resolve())
    return url


ENV_OVERRIDES = {
    "TENURE_WAREHOUSE_URL": ("warehouse", "url"),
    "TENURE_STATE_URL": ("state", "url"),
    "TENURE_SECRET_KEY": ("secret_key",),
}


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        else:
            value = e.get("input")
            shown = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
            lines.append(f"  {key}: {e['msg']}{shown}")
    return "\n".join(lines)


def config_from_dict(data: dict[str, Any], base_dir: Path | None = None, source: str = "config",
                     env: dict[str, str] | None = None) -> Config:
    """Validate a config mapping, apply environment overrides, and return a Config."""
    data = dict(data or {})
    env = os.environ if env is None else env
    for var, path in ENV_OVERRIDES.items():
        if env.get(var):
            node = data
            for part in path[:-1]:
                node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else node
            node[path[-1]] = env[var]
    try:
        cfg = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source)) from None
    cfg.base_dir = (base_dir or Path.cwd()).resolve()
    return cfg


def find_config(start: Path | None = None) -> Path | None:
    """The nearest tenure.yaml in start or its parents, or TENURE_CONFIG if set."""
    if os.environ.get("TENURE_CONFIG"):
        return Path(os.environ["TENURE_CONFIG"])
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: str | Path | None = None) -> Config:
    """Load tenure.yaml (explicit path, TENURE_CONFIG, or the nearest one); defaults if none exists."""
    if path is None:
        path = find_config()
        if path is None:
            return config_from_dict({}, base_dir=Path.cwd(), source="defaults")
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_FILENAME
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file (run `tenure init` to create one)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    return config_from_dict(data, base_dir=path.parent, source=str(path))


DEFAULT_CONFIG_YAML = """\
# tenure.yaml: tenure's one configuration file. Review changes to it like code.
# Every key is optional; the values below are the defaults.
# Environment variables override: TENURE_WAREHOUSE_URL, TENURE_STATE_URL, TENURE_SECRET_KEY.

project: tenure
reporting_currency: USD          # all money is converted to this through the fx table

segments: [Enterprise, Mid-Market, SMB]

warehouse:
  # Customer facts and computed snapshots, through Ibis. Relative paths are under this folder.
  #   duckdb:///tenure.duckdb                         (embedded default)
  #   postgres://user@127.0.0.1:5432/tenure           (PostgreSQL)
  url: duckdb:///tenure.duckdb

state:
  # What tenure itself creates (users, tokens, audit log, ingest runs), through SQLAlchemy.
  #   sqlite:///tenure_state.db                       (embedded default)
  #   postgresql+psycopg://user@127.0.0.1:5432/tenure (PostgreSQL)
  url: sqlite:///tenure_state.db

ingest:
  chunk_rows: 2000000            # rows per chunk when streaming large files (bounded memory)
  runs_dir: runs                 # run reports and quarantine files
  min_date: 1970-01-01           # dates, months and timestamps outside this range are rejected
  max_date: 2100-12-31
  max_unzipped_mb: 20480         # a .gz file decompressing to more is rejected
  max_unzip_ratio: 200           # ... or expanding more than this many times (a gzip bomb)
  retention_days: 30             # uploads, quarantine files and run folders older than this are deleted
  identity:
    match_on: [external_id, domain, email_domain]
    ignore_domains: [gmail.com, yahoo.com, outlook.com, hotmail.com, icloud.com]

web:
  max_json_mb: 10                # request bodies larger than this get 413 before they are read
  max_upload_mb: 1024            # file uploads to /api/v1/ingest
  login_max_failures: 5          # failed logins of one user name within the window lock it ...
  login_ip_max_failures: 20      # ... and of one client address
  login_window_minutes: 15
  login_lockout_seconds: 60      # doubles with each further failure
  trust_forwarded_proto: false   # behind a TLS-terminating proxy that sets X-Forwarded-Proto: true
  # public_url: https://tenure.example.com   # where people reach `tenure serve`: emails' unsubscribe links

metrics:
  reactivation_window_days: null # null: any return after churn is reactivation; e.g. 90 like Maxio
  ltv_zero_churn: "null"         # CLV when churn is zero: "null" (undefined) or "cap"
  max_lifetime_years: 10
  first_value_milestone: first_value
  targets:
    - {metric: nrr, op: ">=", value: 1.10, grain: year, where: {segment: Enterprise}}
    - {metric: grr, op: ">=", value: 0.90, grain: year}

tasks:
  # the task (CTA) vocabulary (docs/playbooks.md "Tasks")
  types:                         # type -> allowed reasons (empty: any) and days until due
    risk: {reasons: [health_red, risk_high, signal, missed_cadence, sponsor_left], due_days: 3}
    renewal: {reasons: [t120, t90, t60, t30], due_days: 14}
    expansion: {reasons: [usage_growth, seat_limit], due_days: 14}
    onboarding: {reasons: [milestone_overdue, kickoff], due_days: 7}
    lifecycle: {reasons: [], due_days: 7}
  priorities: {urgent: 4, high: 24, normal: 72, low: 168}   # SLA in hours
  outcomes: [resolved, saved, renewed, expanded, no_response, not_needed, churned, other]
  max_bulk: 1000                 # most tasks one bulk action changes

# operating_model:               # engagement models and cadences, CSM capacity by touch level, teams
#   ...                          # (docs/playbooks.md "Operating model"; `tenure demo` writes an example)

# surveys:                       # NPS/CSAT/CES programs, sent and answered by tenure (docs/voc.md "Surveys")
#   throttle_days: 30            # no contact asked by any program more than once in 30 days
#   programs:                    # `tenure demo` writes an example; `tenure voc programs` lists them
#     - {name: relationship-nps, kind: nps, trigger: {type: relationship, every_days: 90},
#        text: {en: {question: "How likely are you to recommend {project} to a colleague?"}}}

# custom_surveys:                # several questions with branching (docs/voc.md "Custom surveys and imports")
#   exit:
#     title: Why are you leaving?
#     purpose: exit                # exit | onboarding | research | other
#     questions:
#       - {id: reason, type: single, text: "Main reason?", options: [Price, Product, Other]}
#       - {id: missing, type: multi, text: "What was missing?", options: [Reports, API, SSO],
#          show_if: [{question: reason, equals: Product}]}
#       - {id: comments, type: text, text: "Anything else?", required: false}

notify:
  # how the outbox delivers emails and webhooks (docs/operations.md "The worker and the outbox")
  # smtp: {host: smtp.example.com, port: 587, security: starttls, username: tenure}  # password: TENURE_SMTP_PASSWORD
  eml_dir: outbox                # without smtp, emails are written here as .eml files
  from_address: tenure@localhost
  from_name: tenure
  send_as: reply_to              # From "<CSM> via tenure", Reply-To the CSM; or "from": the CSM's own address
  default_timezone: UTC          # recipients without a known time zone
  send_window: {start: "08:00", end: "18:00", days: [mon, tue, wed, thu, fri]}  # recipient's local time
  max_attempts: 8                # then a dead letter (tenure outbox list --dead; tenure outbox replay ID)
  retry_base_seconds: 60         # doubles after each failed attempt ...
  retry_max_seconds: 21600       # ... up to 6 hours

worker:
  poll_seconds: 5                # `tenure worker` looks for due jobs at least this often
  lease_seconds: 60              # one worker runs a job at a time; a dead worker's lease expires
  jobs: {}                       # overrides, e.g. {deliver-outbox: {every_seconds: 10}}

churn_taxonomy:
  # why customers leave (docs/voc.md "Topics, requests and churn reasons"): churn_reasons rows and
  # churn comments go to the category with the most keyword hits, else to the one whose examples
  # they are most like (cosine >= min_similarity), else to `other`
  other: other
  min_similarity: 0.35
  comment_touchpoints: [exit, churn, cancellation, offboarding]   # survey touchpoints that are churn comments
  comment_days_before_churn: 90  # ... and a churned account's comments this many days before it churned
  categories:
    price:
      description: the price, or its increase, is too high for the value
      keywords: [price, pricing, expensive, too costly, price increase, not worth, cheaper, overpriced]
      examples: ["Not worth the price for us.", "The renewal quote was far too expensive."]
    budget:
      description: a budget cut or spending freeze at the customer
      keywords: [budget, spending freeze, cost cutting, cutbacks, layoffs, funding]
      examples: ["Our budget was cut this year.", "Finance froze all new software spend."]
    product_gap:
      description: missing features or capabilities the customer needs
      keywords: [missing feature, missing features, product gap, lacks, does not support, "doesn't support",
                 no support for, limitation, roadmap]
      examples: ["Missing features we need.", "The product cannot do what our process requires."]
    poor_adoption:
      description: "low usage: the team never adopted the product"
      keywords: [adoption, not using, low usage, never used, hard to use, shelfware, did not adopt]
      examples: ["Hard to use, adoption is poor.", "Nobody on the team logs in any more."]
    champion_left:
      description: the champion or sponsor left or changed role
      keywords: [champion left, sponsor left, left the company, new leadership, reorg, champion]
      examples: ["Our champion left the company.", "The new VP does not know the product."]
    competitor:
      description: moved to a competitor or an alternative
      keywords: [competitor, alternative, alternatives, switched to, moving to, went with, in-house]
      examples: ["We switched to a competitor.", "Considering alternatives that fit better."]
    support:
      description: a poor support or service experience
      keywords: [support is slow, slow support, bad support, unresponsive, no response, support]
      examples: ["Support took weeks to answer.", "Nobody replied to our tickets."]
    reliability:
      description: bugs, outages and performance problems
      keywords: [bug, bugs, outage, crash, crashing, downtime, broken, unreliable, too slow]
      examples: ["Too many bugs.", "The dashboard keeps crashing."]
    business_change:
      description: acquired, merged, closed or changed business model
      keywords: [acquired, acquisition, merger, bankrupt, out of business, shut down]
      examples: ["We were acquired by a company that uses another tool."]
"""


def write_default_config(folder: Path, overwrite: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / CONFIG_FILENAME
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} already exists (use --force to overwrite)")
    target.write_text(DEFAULT_CONFIG_YAML, encoding="utf-8")
    return target
