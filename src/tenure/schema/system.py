"""Tables tenure maintains itself in the warehouse: identity map, quarantine, usage rollups."""

from __future__ import annotations

from tenure.schema.model import Column as C
from tenure.schema.model import Table

ACCOUNT_IDENTITIES = Table(
    "account_identities",
    "Master account id <- (source, external_id): how a record from each source system maps to one "
    "master account, and by which rule. Ambiguous matches are stored with status 'ambiguous' and "
    "never merged silently.",
    (
        C("source", "string", "source system, e.g. salesforce, stripe, zendesk, segment", nullable=False),
        C("external_id", "string", "the record's id in that source", nullable=False),
        C("account_id", "string", "master account id (empty while ambiguous or unmatched)"),
        C("domain", "string", "domain seen on the source record"),
        C("name", "string", "name seen on the source record"),
        C("rule", "string", "how it matched: external_id, domain, email_domain, name, manual, new",
          enum=("external_id", "domain", "email_domain", "name", "manual", "new")),
        C("status", "string", "matched, ambiguous or unmatched", nullable=False,
          enum=("matched", "ambiguous", "unmatched")),
        C("candidates", "string", "comma-separated candidate account ids when ambiguous"),
        C("resolved_at", "timestamp", "when the mapping was last decided (UTC)", nullable=False),
    ),
    key=("source", "external_id"),
    kind="system",
)

QUARANTINE = Table(
    "quarantine",
    "Rows rejected by ingestion, with the reason; nothing a user sent is lost.",
    (
        C("run_id", "string", "ingest run that rejected the row", nullable=False),
        C("entity", "string", "target table", nullable=False),
        C("file", "string", "source file", nullable=False),
        C("row_number", "int", "1-based data row number in the file (header excluded)", nullable=False),
        C("column", "string", "offending column (empty for row-level reasons)"),
        C("value", "string", "offending value as text", personal=True),
        C("reason", "string", "reason code, e.g. bad_date, required, enum, range, unknown_account", nullable=False),
        C("message", "string", "the reason in words", nullable=False),
        C("raw", "string", "the whole row as JSON", nullable=False, personal=True),
        C("quarantined_at", "timestamp", "when (UTC)", nullable=False),
    ),
    key=("run_id", "row_number", "column"),
    kind="system",
)

USAGE_DAILY = Table(
    "usage_daily",
    "Per-account daily usage rollup, maintained incrementally as events arrive, so health never "
    "rescans raw events. feature_mask has bit usage_features.bit set for each feature used that day.",
    (
        C("account_id", "string", "master account id", nullable=False),
        C("day", "date", "UTC day", nullable=False, event_time=True),
        C("events", "int", "events that day", nullable=False),
        C("quantity", "float", "sum of event quantity that day", nullable=False),
        C("active_users", "int", "distinct users active that day", nullable=False),
        C("feature_mask", "int", "bit set of features used that day (see usage_features)", nullable=False),
    ),
    key=("account_id", "day"),
    kind="system",
)

USAGE_FEATURES = Table(
    "usage_features",
    "Catalog of usage features seen, each with the bit it owns in usage_daily.feature_mask "
    "(the first 63 features get bits 0-62; later ones share bit 63).",
    (
        C("feature", "string", "feature name", nullable=False),
        C("bit", "int", "bit index 0-63", nullable=False),
        C("first_seen", "timestamp", "first event time seen", nullable=False),
    ),
    key=("feature",),
    kind="system",
)

SYSTEM_TABLES: tuple[Table, ...] = (ACCOUNT_IDENTITIES, QUARANTINE, USAGE_DAILY, USAGE_FEATURES)
