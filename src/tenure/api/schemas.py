"""The REST API's payloads (pydantic), so the OpenAPI schema says exactly what each endpoint
takes and returns. Money is in the reporting currency, per year for ARR; ratios are 0-1."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

T = TypeVar("T")

# the stores keep naive UTC timestamps; the API says so (RFC 3339 needs the offset)
UtcDateTime = Annotated[datetime, AfterValidator(lambda d: d if d.tzinfo else d.replace(tzinfo=timezone.utc))]

Band = Literal["green", "yellow", "red", "onboarding"]
USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]{1,100}$"


class Paginated(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(ge=0, description="matching rows over all pages")
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
    pages: int = Field(ge=1)


# -- accounts --------------------------------------------------------------------------------------

class RiskDriver(BaseModel):
    model_config = ConfigDict(extra="allow")
    feature: str | None = None
    value: Any = None
    effect: float | None = None


class AccountRow(BaseModel):
    """One account as of the last refresh (`account_summary`)."""

    account_id: str
    name: str | None = None
    domain: str | None = None
    segment: str | None = None
    region: str | None = None
    industry: str | None = None
    tier: str | None = None
    owner: str | None = None
    status: str | None = Field(None, description="customer, churned or prospect (None before a refresh)")
    arr: float | None = Field(None, description="ARR on the as-of day, reporting currency")
    arr_change_90: float | None = None
    customer_since: date | None = None
    score: float | None = Field(None, description="health score 0-100")
    band: str | None = None
    score_change_30: float | None = None
    band_30: str | None = None
    risk: float | None = Field(None, description="churn probability within the model's horizon")
    risk_drivers: list[RiskDriver] = []
    renewal_date: date | None = None
    days_to_renewal: int | None = None
    renewal_arr: float | None = None
    open_renewal_stage: str | None = None
    as_of: date | None = None


class Contact(BaseModel):
    contact_id: str
    name: str | None = None
    email: str | None = None
    title: str | None = None
    role: str | None = None
    active_from: date | UtcDateTime | None = None
    active_to: date | UtcDateTime | None = None
    timezone: str | None = Field(None, description="IANA time zone, e.g. Europe/Berlin (emails arrive within its "
                                 "send window)")
    locale: str | None = Field(None, description="BCP 47 language tag, e.g. de-DE")


class AccountDetail(AccountRow):
    contacts: list[Contact] = []
    attributes: dict[str, Any] = {}


class TimelineItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    at: UtcDateTime | date | None
    kind: str
    id: str | None = None
    title: str
    detail: str = ""
    value: float | None = None
    tag: str | None = None


class UsageDay(BaseModel):
    day: date
    events: float
    active_users: int


class HealthComponent(BaseModel):
    model_config = ConfigDict(extra="allow")
    component: str | None = None
    feature: str | None = None
    value: float | None = None
    points: float | None = None
    weight: float | None = None
    contribution: float | None = None


class HealthPoint(BaseModel):
    as_of: date
    score: float | None = None
    band: str | None = None
    components: list[HealthComponent] = []


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=5000, description="the note's text")


class NoteOut(BaseModel):
    id: int
    account_id: str
    body: str
    author: str
    created_at: UtcDateTime


# -- metrics ---------------------------------------------------------------------------------------

class MetricInfo(BaseModel):
    name: str
    description: str
    unit: str
    formula: str
    source: str
    direction: str
    grain: str
    dimensions: str
    trailing_12: bool


class MetricRow(BaseModel):
    metric: str
    period: str
    measured_over: str
    group: dict[str, Any]
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    unit: str
    target: Any = None
    status: str | None = None
    # survey scores (nps, csat, ces, survey_response_rate): what the value depends on, shown beside it
    window: str | None = Field(None, description="survey scores: the days whose answers count")
    weighting: str | None = Field(None, description="survey scores: response, contact, account, arr or invitation")
    n: int | None = Field(None, description="survey scores: respondents (accounts under account/arr weighting)")
    responses: int | None = None
    se: float | None = None
    ci_low: float | None = Field(None, description="survey scores: 95% confidence interval, low end")
    ci_high: float | None = None
    ci_method: str | None = None


class MetricResult(BaseModel):
    metric: str
    period: str
    by: list[str]
    rows: list[MetricRow]


class BridgeResult(BaseModel):
    period: str
    by: list[str]
    rows: list[dict[str, Any]] = Field(description="per group: opening, new, reactivation, expansion, contraction, "
                                                   "churn, closing and logo counts")


class CohortRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    cohort: str
    months_since: int
    accounts: int
    active_accounts: int
    arr: float | None = None
    logo_retention: float | None = None
    revenue_retention: float | None = None


class ExplainResult(BaseModel):
    metric: str
    period: str
    measured_over: str
    where: dict[str, str]
    numerator: float | None
    denominator: float | None = None
    total_accounts: int
    accounts: list[dict[str, Any]]


# -- health and risk -------------------------------------------------------------------------------

class HealthScoreRow(BaseModel):
    account_id: str
    name: str | None = None
    owner: str | None = None
    segment: str | None = None
    arr: float | None = None
    score: float | None = None
    band: str | None = None
    score_change_30: float | None = None
    band_30: str | None = None
    as_of: date | None = None


class HealthExplanation(BaseModel):
    account_id: str
    as_of: date
    score: float | None
    band: str | None
    components: list[HealthComponent]
    history: list[HealthPoint]


class Signal(BaseModel):
    model_config = ConfigDict(extra="allow")
    account_id: str
    name: str | None = None
    owner: str | None = None
    arr: float | None = None
    band: str | None = None
    signal: str
    severity: str | None = None
    detail: str = ""
    at: date | None = None


class RiskPrediction(BaseModel):
    account_id: str
    name: str | None = None
    owner: str | None = None
    segment: str | None = None
    arr: float | None = None
    risk: float
    arr_at_risk: float | None = Field(None, description="ARR x risk")
    band: str | None = None
    renewal_date: date | None = None
    drivers: list[RiskDriver] = []
    as_of: date | None = None


class BacktestIn(BaseModel):
    cutoff: date = Field(description="train on what was known before this day, judge on what happened after")
    horizon: int = Field(180, ge=30, le=730, description="days after the cutoff in which a churn counts")


class BacktestReport(BaseModel):
    model_config = ConfigDict(extra="allow")
    cutoff: str
    horizon_days: int
    trained_on: list[str]
    train_accounts: int
    logistic: dict[str, Any]
    boosted: dict[str, Any]


# -- ingest ----------------------------------------------------------------------------------------

class RejectedRow(BaseModel):
    file: str
    row_number: int
    column: str | None = None
    value: str | None = None
    reason: str
    message: str


class IngestRunOut(BaseModel):
    run_id: str
    entity: str
    file: str
    source: str
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    rows_read: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] | None = None
    error: str | None = Field(None, description="why a failed run failed")


class IngestRunDetail(IngestRunOut):
    warnings: list[str] = []
    rejected_rows: list[RejectedRow] = Field([], description="a sample of the quarantined rows, first rows first")


# -- admin -----------------------------------------------------------------------------------------

class Me(BaseModel):
    username: str
    full_name: str | None
    role: str
    permissions: list[str]
    scope: Literal["all", "owners"]
    owners: list[str] | None = Field(description="accounts.owner values in the book of business (None = all)")
    via: str


class UserOut(BaseModel):
    id: int
    username: str
    email: str | None = None
    full_name: str | None = None
    role: str
    manager_id: int | None = None
    csm_key: str | None = None
    active: bool


class UserIn(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    role: Literal["admin", "executive", "manager", "csm", "viewer"]
    password: str | None = Field(None, min_length=8, max_length=200, description="generated when omitted")
    email: str | None = Field(None, max_length=255)
    full_name: str | None = Field(None, max_length=255)
    manager: str | None = Field(None, pattern=USERNAME_PATTERN)
    csm_key: str | None = Field(None, max_length=100)


class UserCreated(UserOut):
    password: str | None = Field(None, description="the generated password, shown once")


class TokenOut(BaseModel):
    id: int
    user: str
    name: str
    scopes: str
    created_at: UtcDateTime
    expires_at: UtcDateTime | None = None
    revoked_at: UtcDateTime | None = None
    last_used_at: UtcDateTime | None = None


class TokenIn(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Literal["read", "write", "admin"]] = Field(["read"], min_length=1, max_length=3)
    expires_days: int | None = Field(None, ge=1, le=3650)


class TokenCreated(TokenOut):
    secret: str = Field(description="the token, shown once; send it as 'Authorization: Bearer <secret>'")


class AuditEntry(BaseModel):
    id: int
    at: UtcDateTime
    actor: str
    action: str
    entity: str
    entity_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    ip: str | None = None


# -- errors ----------------------------------------------------------------------------------------

class ProblemDetails(BaseModel):
    """RFC 9457 problem details (media type application/problem+json)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses, as problem details."""
    names = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden (role, token scope, or an account "
             "outside the caller's book of business)", 404: "Not found", 409: "Conflict", 413: "Payload too large",
             422: "Invalid input", 500: "Internal error", 503: "Unavailable"}
    return {c: {"model": ProblemDetails, "description": names.get(c, "Error"),
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}}
            for c in codes}


# 413: every request passes the body-size limit (tenure.http.limits) before anything else
COMMON_PROBLEMS = problem_responses(400, 401, 403, 413, 422, 500)


class RefreshResult(BaseModel):
    as_of: date | None = Field(description="the day the snapshots describe (latest data); null with no data")
    accounts: int = Field(description="rows written to the account summary")
    seconds: float = Field(description="wall time of the refresh")
    steps: dict[str, float] = Field(default_factory=dict, description="seconds per step")
