"""Portfolio snapshots: churn-risk predictions and the one-row-per-account summary the web app,
the API and the cockpit read (written by tenure.predict.risk and tenure.portfolio.summary)."""

from __future__ import annotations

from tenure.schema.health import BANDS
from tenure.schema.model import Column as C
from tenure.schema.model import Table

RISK_SCORES = Table(
    "risk_scores",
    "Each customer's predicted churn probability on each scoring day, with its top drivers.",
    (
        C("account_id", "string", "master account id", nullable=False),
        C("as_of", "date", "scoring day", nullable=False),
        C("horizon_days", "int", "churn (or contraction) within this many days", nullable=False),
        C("probability", "float", "calibrated churn probability 0-1", nullable=False, min=0, max=1),
        C("drivers", "string", "top drivers as JSON: [{feature, value, effect}]"),
        C("model", "string", "which model produced it (boosted or logistic) and when it was trained"),
    ),
    key=("account_id", "as_of"),
    kind="snapshot",
)

ACCOUNT_SUMMARY = Table(
    "account_summary",
    "One row per account: who it is, ARR, health, risk and renewal as of the last refresh "
    "(`tenure refresh`). The portfolio, cockpit, renewals pages and the accounts API read it.",
    (
        C("account_id", "string", "master account id", nullable=False),
        C("name", "string", "company name"),
        C("domain", "string", "primary domain"),
        C("segment", "string", "segment"),
        C("region", "string", "region"),
        C("industry", "string", "industry"),
        C("tier", "string", "touch tier"),
        C("owner", "string", "owning CSM (accounts.owner)", personal=True),
        C("owner_name", "string", "the owning CSM's name (accounts.owner_name)", personal=True),
        C("status", "string", "customer (ARR > 0), churned (had ARR, now none) or prospect", nullable=False,
          enum=("customer", "churned", "prospect")),
        C("arr", "money", "ARR on the as-of day, reporting currency", nullable=False),
        C("arr_change_90", "money", "ARR now minus ARR 90 days earlier, reporting currency"),
        C("customer_since", "date", "first day with ARR"),
        C("score", "float", "health score 0-100 on the as-of day"),
        C("band", "string", "health band", enum=BANDS),
        C("score_change_30", "float", "score now minus score 30 days earlier"),
        C("band_30", "string", "band 30 days earlier", enum=BANDS),
        C("risk", "float", "churn probability within horizon_days (risk_scores)", min=0, max=1),
        C("risk_drivers", "string", "top churn-risk drivers as JSON"),
        C("renewal_date", "date", "next renewal on or after the as-of day: a term's end, or the anniversary of "
          "a yearly term without one (tenure.metrics.renewals)"),
        C("days_to_renewal", "int", "days from the as-of day to renewal_date"),
        C("renewal_arr", "money", "ARR on lines renewing on renewal_date, reporting currency"),
        C("renewal_term", "string", "when there is no renewal date: the rolling term (monthly or quarterly)",
          enum=("monthly", "quarterly")),
        C("open_renewal_stage", "string", "stage of the open renewal opportunity, if any"),
        C("as_of", "date", "the day this row describes", nullable=False),
    ),
    key=("account_id",),
    kind="snapshot",
)

BAND_RENEWAL = Table(
    "band_renewal",
    "Renewal probability per health band, from the scorecard validation on the customer's own "
    "history (tenure.health.validate), stored by `tenure refresh` for the renewals page.",
    (
        C("band", "string", "health band", nullable=False, enum=BANDS),
        C("accounts", "int", "account-dates of this band in the validation", nullable=False),
        C("churn_rate", "float", "share that churned within horizon_days", min=0, max=1),
        C("renewal_probability", "float", "1 - churn_rate", min=0, max=1),
        C("horizon_days", "int", "validation horizon", nullable=False),
        C("as_of", "date", "the refresh day this was computed on", nullable=False),
    ),
    key=("band",),
    kind="snapshot",
)

BAND_HISTORY = Table(
    "band_history",
    "Accounts and ARR per health band on each health snapshot day, by the account's current owner "
    "(so book-of-business scoping applies); written by `tenure refresh` from health_scores.",
    (
        C("as_of", "date", "health snapshot day", nullable=False),
        C("owner", "string", "accounts.owner now (empty when unowned)", personal=True),
        C("band", "string", "health band", nullable=False, enum=BANDS),
        C("accounts", "int", "accounts in the band", nullable=False),
        C("arr", "money", "their ARR on that day, reporting currency", nullable=False),
    ),
    key=("as_of", "owner", "band"),
    kind="snapshot",
)

PORTFOLIO_TABLES: tuple[Table, ...] = (RISK_SCORES, ACCOUNT_SUMMARY, BAND_RENEWAL, BAND_HISTORY)
