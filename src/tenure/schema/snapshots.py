"""Computed snapshot tables (written by metrics; later health and risk)."""

from __future__ import annotations

from tenure.schema.model import Column as C
from tenure.schema.model import Table

ARR_MONTHLY = Table(
    "arr_monthly",
    "ARR of each account on each month's last day, in the reporting currency (metrics.materialize).",
    (
        C("month", "month", "calendar month", nullable=False),
        C("account_id", "string", "master account id", nullable=False),
        C("arr", "money", "ARR on the month's last day, reporting currency", nullable=False),
    ),
    key=("month", "account_id"),
    kind="snapshot",
)

ARR_MOVEMENTS = Table(
    "arr_movements",
    "Each account's ARR-bridge movement in each month (metrics.materialize).",
    (
        C("month", "month", "calendar month", nullable=False),
        C("account_id", "string", "master account id", nullable=False),
        C("opening", "money", "ARR on the day before the month", nullable=False),
        C("closing", "money", "ARR on the month's last day", nullable=False),
        C("new", "money", "new ARR", nullable=False),
        C("reactivation", "money", "reactivated ARR", nullable=False),
        C("expansion", "money", "expansion ARR", nullable=False),
        C("contraction", "money", "contraction ARR", nullable=False),
        C("churn", "money", "churned ARR", nullable=False),
        C("kind", "string", "new, reactivation, expansion, contraction, churn, retained or none", nullable=False),
    ),
    key=("month", "account_id"),
    kind="snapshot",
)

SNAPSHOT_STATE = Table(
    "snapshot_state",
    "Watermarks of materialized snapshots: the newest input change already reflected.",
    (
        C("snapshot", "string", "snapshot name", nullable=False),
        C("watermark", "timestamp", "newest ingested_at of the inputs reflected", nullable=False),
        C("first_month", "month", "first month covered", nullable=False),
        C("last_month", "month", "last month covered", nullable=False),
    ),
    key=("snapshot",),
    kind="snapshot",
)

SNAPSHOT_TABLES: tuple[Table, ...] = (ARR_MONTHLY, ARR_MOVEMENTS, SNAPSHOT_STATE)
