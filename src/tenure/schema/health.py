"""Health snapshots (written by tenure.health.history)."""

from __future__ import annotations

from tenure.schema.model import Column as C
from tenure.schema.model import Table

# Health bands, best first. "onboarding" is the band of an account still onboarding
# (tenure.health.onboarding): scored on onboarding progress, never red for lack of history.
BANDS = ("green", "yellow", "red", "onboarding")

HEALTH_SCORES = Table(
    "health_scores",
    "Each customer's health score on each snapshot day.",
    (
        C("account_id", "string", "master account id", nullable=False),
        C("as_of", "date", "snapshot day", nullable=False),
        C("segment", "string", "segment on that day"),
        C("score", "float", "health score 0-100 (empty when no component had data)"),
        C("band", "string", "green, yellow or red; onboarding while the account onboards", enum=BANDS),
    ),
    key=("account_id", "as_of"),
    kind="snapshot",
)

HEALTH_COMPONENTS = Table(
    "health_components",
    "Each component of each snapshot score: raw value, points, weight used and contribution.",
    (
        C("account_id", "string", "master account id", nullable=False),
        C("as_of", "date", "snapshot day", nullable=False),
        C("component", "string", "component name", nullable=False),
        C("feature", "string", "the feature measured", nullable=False),
        C("value", "float", "raw feature value (empty when missing)"),
        C("points", "float", "points 0-100 (empty when missing)"),
        C("weight", "float", "weight used (0 when reweighted away)", nullable=False),
        C("contribution", "float", "points x weight / total weight used", nullable=False),
    ),
    key=("account_id", "as_of", "component"),
    kind="snapshot",
)

HEALTH_TABLES: tuple[Table, ...] = (HEALTH_SCORES, HEALTH_COMPONENTS)

HEALTH_SIGNALS = Table(
    "health_signals",
    "Early-warning signals as dated events; playbooks trigger on them.",
    (
        C("account_id", "string", "master account id", nullable=False),
        C("signal", "string", "what happened", nullable=False,
          enum=("usage_decline", "sponsor_left", "support_spike", "overdue_invoice", "detractor",
                "renewal_without_opportunity", "missed_cadence", "sponsor_missing", "onboarding_behind",
                "onboarding_stuck")),
        C("at", "date", "when it happened (or was detected, for state-based signals)", nullable=False),
        C("severity", "string", "low, medium or high", nullable=False, enum=("low", "medium", "high")),
        C("detail", "string", "what in words", nullable=False),
    ),
    key=("account_id", "signal", "at"),
    kind="snapshot",
)

HEALTH_TABLES = HEALTH_TABLES + (HEALTH_SIGNALS,)
