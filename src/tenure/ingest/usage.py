"""Usage events: the "append and de-duplicate" load strategy (tables with load="append").

Events are streamed chunk by chunk in bounded memory, validated in-engine, de-duplicated
against what is already loaded, appended, and rolled up into usage_daily for exactly the
(account, day) pairs the batch touched, so health never rescans raw events.

An event is identified by its key (account_id, user_id, ts, feature); a repeat, in the same
file or already loaded, is a duplicate and skipped (its quantity is not added again). The
whole file is one transaction: visible whole or not at all."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

import pyarrow as pa

from tenure.config import Config
from tenure.ingest import readers
from tenure.ingest.checks import (
    file_columns, insert_quarantine, quarantine_rows, rejected_counts, validate_staged, with_file,
)
from tenure.ingest.validate import bounds_for, lit, q, usage_fast_checks
from tenure.schema import Table
from tenure.state.runs import IngestRunResult
from tenure.warehouse import Warehouse
from tenure.warehouse.sql import literal
from tenure.warehouse.staging import Stage
from tenure.warehouse.writes import Keys, append, append_new, replace_partition

DAILY = ("account_id", "day", "events", "quantity", "active_users", "feature_mask")
NO_PAIRS = "SELECT NULL::VARCHAR AS account_id, NULL::DATE AS day WHERE FALSE"


class _StrictRollback(Exception):
    pass


def _ingested_at() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")


def load_events(wh: Warehouse, config: Config, table: Table, batches: Iterable, result: IngestRunResult, *,
                header: list[str] | None, identity_source: str | None = None, progress=None,
                total_rows: int | None = None) -> pa.Table | None:
    """Validate and append each batch, skipping events already there; returns the rejected rows."""
    cols = file_columns(table, header or [], result.file)
    if cols.extras:
        result.warnings.append(f"ignored columns not in {table.name}: {', '.join(cols.extras)}")
    ingested_at = _ingested_at()
    keys = ", ".join(q(k) for k in table.key)
    data_cols = ", ".join(q(c) for c in table.column_names if c not in ("source", "ingested_at"))
    tally = _Tally(wh, table, result)
    with Stage(wh) as stage:
        touched = stage.temp_as("touched", NO_PAIRS)
        try:
            with wh.transaction():
                for fname, batch in batches:
                    raw = stage.temp_from_arrow("raw", with_file(batch, fname))
                    parsed, errors = validate_staged(stage, wh, config, table, raw, cols.present, has_ref=True,
                                                     identity_source=identity_source)
                    n_bad, by_reason = rejected_counts(stage, errors)
                    result.rows_read += batch.num_rows
                    if n_bad:
                        tally.reject(quarantine_rows(stage, errors, raw, result.run_id, table.name, cols.names),
                                     n_bad, by_reason)
                    good = stage.temp_as(
                        "good", f"SELECT {data_cols}, {lit(result.source)} AS source, "
                        f"CAST({lit(ingested_at)} AS TIMESTAMP) AS ingested_at FROM {parsed} p "
                        f"WHERE NOT EXISTS (SELECT 1 FROM {errors} x WHERE x.__file = p.__file AND x.__row = p.__row) "
                        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY __row) = 1")
                    tally.load(stage, good, touched, batch.num_rows - n_bad)
                    if progress:
                        progress(batch.num_rows, total_rows, "loading usage events")
                if result.strict and result.rejected:
                    raise _StrictRollback()
                refresh_rollups(wh, stage, touched)
        except _StrictRollback:
            tally.rolled_back()
    return tally.conclude()


class _Tally:
    """A run's batches so far: rows rejected (quarantined as they come), appended and skipped."""

    def __init__(self, wh: Warehouse, table: Table, result: IngestRunResult):
        self.wh, self.table, self.result = wh, table, result
        self.reasons: dict[str, int] = {}
        self.rejected: list[pa.Table] = []

    def reject(self, qrows: pa.Table, n_bad: int, by_reason: dict[str, int]) -> None:
        insert_quarantine(self.wh, qrows)
        self.rejected.append(qrows)
        self.result.rejected += n_bad
        for reason, n in by_reason.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + n

    def load(self, stage: Stage, good: str, touched: str, n_valid: int) -> None:
        """Append the staged valid events `good` (unique by key) not loaded yet; `n_valid` counts
        the valid rows, repeats included."""
        self.counted(_append_new(self.wh, stage, self.table, good, touched), n_valid)

    def counted(self, n_new: int, n_valid: int) -> None:
        self.result.inserted += n_new
        self.result.unchanged += n_valid - n_new

    def rolled_back(self) -> None:
        """--strict with rejections: nothing loaded; the rejected rows are still quarantined
        (written again, outside the rolled-back batch)."""
        self.result.inserted = self.result.unchanged = 0
        self.result.status = "rejected"
        with self.wh.transaction():
            for qrows in self.rejected:
                insert_quarantine(self.wh, qrows)

    def conclude(self) -> pa.Table | None:
        """Fill in the run summary; returns the rejected rows."""
        result = self.result
        result.rejected_by_reason = dict(sorted(self.reasons.items()))
        if result.status != "rejected":
            result.loaded = result.inserted + result.unchanged
            result.status = "partial" if result.rejected else "loaded"
        if result.unchanged:
            result.warnings.append(f"{result.unchanged} duplicate event(s) skipped (already loaded or repeated)")
        return pa.concat_tables(self.rejected) if self.rejected else None


def _append_new(wh: Warehouse, stage: Stage, table: Table, good: str, touched: str) -> int:
    """Append the staged events `good` (unique by key) not loaded yet; note their days."""
    lo, hi = stage.sql(f"SELECT MIN(ts), MAX(ts) FROM {good}").fetchone()
    if lo is None:
        return 0
    load = stage.share(good)
    n_new = append_new(wh, table, load, within=("ts", lo, hi))
    stage.drop_warehouse_temp(load)
    if n_new:  # the batch's days are recomputed (a day of repeats only gives the same rollup)
        stage.sql(f"INSERT INTO {touched} SELECT DISTINCT account_id, CAST(ts AS DATE) FROM {good}")
    return n_new


PARQUET_TYPES = {"account_id": ("VARCHAR",), "user_id": ("VARCHAR",), "feature": ("VARCHAR",),
                 "ts": ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE"),
                 "quantity": ("DOUBLE", "FLOAT", "BIGINT", "INTEGER")}


def fast_path_ok(wh: Warehouse, source: readers.Source, identity_source: str | None = None) -> bool:
    """Typed Parquet into a DuckDB warehouse: validate and load inside the engine, no Arrow round trip."""
    if wh.backend != "duckdb" or source.fmt != "parquet" or identity_source:
        return False
    files = ", ".join(lit(str(f)) for f in source.files)
    cols = dict(wh.raw_sql(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet([{files}]))"))
    needed = ("account_id", "user_id", "ts", "feature")
    return all(c in cols and cols[c] in PARQUET_TYPES[c] for c in needed) and (
        "quantity" not in cols or cols["quantity"] in PARQUET_TYPES["quantity"])


def load_parquet(wh: Warehouse, config: Config, table: Table, source: readers.Source, result: IngestRunResult, *,
                 progress=None) -> pa.Table | None:
    """The fast path: each Parquet file is validated and de-duplicated by SQL over read_parquet.
    Rows failing any rule (rare) go through the general rules to get their reasons."""
    ingested_at = _ingested_at()
    tally = _Tally(wh, table, result)
    total = readers.count_rows(source)
    names = readers.column_names(source)
    qty = "CAST(COALESCE(quantity, 1) AS DOUBLE)" if "quantity" in names else "CAST(1 AS DOUBLE)"
    valid = ("account_id IS NOT NULL AND user_id IS NOT NULL AND ts IS NOT NULL AND feature IS NOT NULL"
             + (" AND (quantity IS NULL OR quantity >= 0)" if "quantity" in names else "")
             + " AND account_id IN (SELECT account_id FROM main.accounts)"
             + usage_fast_checks(names, bounds_for(wh, config, table)))
    ts = "CAST(ts AS TIMESTAMP)"
    with Stage(wh) as stage:
        touched = stage.temp_as("touched", NO_PAIRS)
        try:
            with wh.transaction():
                for f in source.files:
                    rel = f"read_parquet({lit(str(f))}, file_row_number = true)"
                    n_rows, n_bad, lo, hi = wh.raw_sql(
                        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT COALESCE({valid}, FALSE)), MIN({ts}), "
                        f"MAX({ts}) FROM {rel}")[0]
                    result.rows_read += n_rows
                    if n_bad:
                        bad = wh.to_pyarrow(wh.con.sql(
                            f"SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS __row FROM {rel} "
                            f"WHERE NOT COALESCE({valid}, FALSE)"))
                        qrows, by_reason = _reasons_for(wh, config, stage, table, f, bad, result)
                        tally.reject(qrows, n_bad, by_reason)
                    if lo is not None:  # read, de-duplicated and appended by the engine in one pass
                        good = (f"(SELECT account_id, user_id, {ts} AS ts, feature, "
                                f"ARG_MIN({qty}, file_row_number) AS quantity, {lit(result.source)} AS source, "
                                f"TIMESTAMP {lit(ingested_at)} AS ingested_at FROM {rel} "
                                f"WHERE COALESCE({valid}, FALSE) GROUP BY ALL)")
                        n_new = append_new(wh, table, good, within=("ts", lo, hi))
                        if n_new:
                            stage.sql(f"INSERT INTO {touched} SELECT DISTINCT account_id, CAST(ts AS DATE) "
                                      f"FROM usage_events WHERE ingested_at = TIMESTAMP {lit(ingested_at)} "
                                      f"AND ts BETWEEN {literal(lo)} AND {literal(hi)}")
                        tally.counted(n_new, n_rows - n_bad)
                    if progress:
                        progress(n_rows, total, "loading usage events")
                if result.strict and result.rejected:
                    raise _StrictRollback()
                if result.inserted:
                    refresh_rollups(wh, stage, touched)
        except _StrictRollback:
            tally.rolled_back()
    return tally.conclude()


def _reasons_for(wh: Warehouse, config: Config, stage: Stage, table: Table, f, bad: pa.Table,
                 result: IngestRunResult) -> tuple[pa.Table, dict[str, int]]:
    """Run the general rules over the few failing rows to name their reasons."""
    raw = stage.temp_from_arrow("badraw", bad.append_column("__file", pa.array([str(f)] * bad.num_rows, pa.string())))
    present = set(bad.column_names) & set(table.column_names)
    _, errors = validate_staged(stage, wh, config, table, raw, present, has_ref=True, base="bad")
    _, by_reason = rejected_counts(stage, errors)
    cols = [c for c in bad.column_names if c != "__row"]
    return quarantine_rows(stage, errors, raw, result.run_id, table.name, cols), by_reason


def _new_features(pairs: str | None) -> str:
    """Features first seen in the events (of the given (account_id, day) pairs), with the next
    free bits (63 distinct bits; later features share bit 63)."""
    events = "usage_events e"
    if pairs:
        events += (f" JOIN (SELECT DISTINCT account_id, day FROM {pairs}) p "
                   "ON e.account_id = p.account_id AND CAST(e.ts AS DATE) = p.day")
    return ("SELECT feature, LEAST(63, (SELECT COALESCE(MAX(bit) + 1, 0) FROM usage_features) "
            "+ CAST(ROW_NUMBER() OVER (ORDER BY first_seen, feature) AS BIGINT) - 1) AS bit, first_seen FROM ("
            f"SELECT e.feature, MIN(e.ts) AS first_seen FROM {events} "
            "WHERE NOT EXISTS (SELECT 1 FROM usage_features f WHERE f.feature = e.feature) GROUP BY e.feature) n")


def _daily(pairs: str | None) -> str:
    """usage_daily rows computed from the events (of the given pairs), in day order."""
    where = ""
    if pairs:
        where = (f"WHERE EXISTS (SELECT 1 FROM {pairs} p WHERE p.account_id = e.account_id "
                 f"AND p.day = CAST(e.ts AS DATE)) AND e.ts >= (SELECT CAST(MIN(day) AS TIMESTAMP) FROM {pairs}) ")
    return ("SELECT e.account_id, CAST(e.ts AS DATE) AS day, COUNT(*) AS events, SUM(e.quantity) AS quantity, "
            "COUNT(DISTINCT e.user_id) AS active_users, "
            "BIT_OR(CAST(1 AS BIGINT) << CAST(f.bit AS INTEGER)) AS feature_mask "
            f"FROM usage_events e JOIN usage_features f ON f.feature = e.feature {where}"
            "GROUP BY e.account_id, CAST(e.ts AS DATE) ORDER BY day")


def refresh_rollups(wh: Warehouse, stage: Stage, touched: str) -> None:
    """Recompute usage_daily for the touched (account_id, day) pairs and register new features.

    Rows are written in day order (here and in rebuild_usage_daily): health reads only the last
    90 days, and with the table laid out by day DuckDB's zone maps (min/max per row group) skip
    every row group outside the window instead of scanning the whole history. New events are
    mostly recent, so appending each batch's days in order keeps the table nearly sorted."""
    pairs = stage.to_warehouse("pairs", f"SELECT DISTINCT account_id, day FROM {touched}")
    with wh.transaction():
        append(wh, "usage_features", _new_features(pairs), ("feature", "bit", "first_seen"))
        replace_partition(wh, "usage_daily", _daily(pairs), Keys(pairs, ("account_id", "day")), DAILY)
    stage.drop_warehouse_temp(pairs)


def rebuild_usage_daily(wh: Warehouse) -> int:
    """Rebuild usage_daily from all events (repair or after a manual load); returns its row count."""
    with wh.transaction():
        append(wh, "usage_features", _new_features(None), ("feature", "bit", "first_seen"))
        replace_partition(wh, "usage_daily", _daily(None), None, DAILY)
    return wh.count("usage_daily")
