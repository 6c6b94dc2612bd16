"""Health snapshots (written by tenure.health.history)."""

from __future__ import annotations

from tenure.schema.model import Column as C
from tenure.schema.model import Table

HEALTH_SCORES = Table(
    "health_scores",
    "Each customer's health score on each snapshot day.",
    (
        C("account_id", "string", "master account id", nullable=False),
        C("as_of", "date", "snapshot day", nullable=False),
        C("segment", "string", "segment on that day"),
        C("score", "float", "health score 0-100 (empty when no component had data)"),
        C("band", "string", "green, yellow or red", enum=("green", "yellow", "red")),
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
