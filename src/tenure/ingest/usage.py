"""Usage events at scale: streamed chunk by chunk in bounded memory, validated in-engine,
de-duplicated against what is already loaded, appended, and rolled up into usage_daily for
exactly the (account, day) pairs the batch touched — so health never rescans raw events.

An event is identified by (account_id, user_id, ts, feature); a repeat, in the same file or
already loaded, is a duplicate and skipped (its quantity is not added again). The whole file is
one transaction: visible whole or not at all."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from tenure.config import Config
from tenure.ingest.validate import build_rules, errors_sql, lit, parsed_select, q
from tenure.schema import TABLES, Table
from tenure.warehouse import Warehouse


def ingest_usage(wh: Warehouse, config: Config, table: Table, batches: Iterable, *, result, progress, total_rows,
                 identity_source, finish, header) -> object:
    from tenure.errors import InputError
    from tenure.ingest.pipeline import _identity_errors, _known_accounts, _now, _quarantine_rows, _Stage, insert_quarantine, with_identity_errors

    stage = _Stage(wh)
    ingested_at = _now().isoformat(sep=" ")
    file_cols = [c for c in (header or []) if c not in ("__row", "__file")]
    missing = [c.name for c in table.columns if c.in_file == "required" and c.name not in file_cols]
    if missing:
        raise InputError(f"{result.file}: missing required column(s) {', '.join(missing)} "
                         f"(the file has: {', '.join(file_cols) or 'no columns'})")
    extras = [c for c in file_cols if c not in table.column_names]
    if extras:
        result.warnings.append(f"ignored columns not in usage_events: {', '.join(extras)}")
    present = set(file_cols) & set(table.column_names)
    keys = ", ".join(q(k) for k in table.key)
    match = " AND ".join(f"e.{q(k)} = l.{q(k)}" for k in table.key)
    cols = ", ".join(q(c) for c in table.column_names)
    data_cols = ", ".join(q(c) for c in table.column_names if c not in ("source", "ingested_at"))
    reasons: dict[str, int] = {}
    rejected_rows: list[pa.Table] = []
    try:
        _known_accounts(stage, wh)
        touched = stage.temp_as("touched", "SELECT NULL::VARCHAR AS account_id, NULL::DATE AS day WHERE FALSE")
        with wh.transaction():
            for fname, batch in batches:
                rb = pa.RecordBatch.from_arrays(
                    [*batch.columns, pa.array([str(fname)] * batch.num_rows, pa.string())],
                    names=[*batch.schema.names, "__file"])
                raw = stage.temp_from_arrow("raw", rb)
                id_errors = _identity_errors(stage, raw, wh, identity_source) if identity_source else None
                parsed = stage.temp_as("parsed", f"SELECT {parsed_select(table, present, stage.types(raw))} FROM {raw}")
                err_sql = errors_sql(build_rules(table, present, True), parsed)
                if id_errors:
                    err_sql = with_identity_errors(id_errors, err_sql)
                errors = stage.temp_as("errors", err_sql)
                n_bad = int(stage.scalar(f"SELECT COUNT(DISTINCT (__file, __row)) FROM {errors}"))
                result.rows_read += batch.num_rows
                if n_bad:
                    result.rejected += n_bad
                    for reason, n in stage.sql(
                            f"SELECT reason, COUNT(DISTINCT (__file, __row)) FROM {errors} GROUP BY reason").fetchall():
                        reasons[reason] = reasons.get(reason, 0) + n
                    qrows = stage.arrow(_quarantine_rows(stage, errors, raw, result.run_id, table.name, file_cols))
                    insert_quarantine(wh, qrows)
                    rejected_rows.append(qrows)
                good = (f"SELECT {data_cols}, {lit(result.source)} AS source, "
                        f"CAST({lit(ingested_at)} AS TIMESTAMP) AS ingested_at FROM {parsed} p "
                        f"WHERE NOT EXISTS (SELECT 1 FROM {errors} x WHERE x.__file = p.__file AND x.__row = p.__row) "
                        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY __row) = 1")
                bounds = stage.sql(f"SELECT MIN(ts), MAX(ts) FROM {parsed}").fetchone()
                if wh.backend == "duckdb":
                    load = stage.temp_as("load", good)
                else:
                    load = stage.name("load")
                    wh.load_temp(load, stage.arrow(good))
                n_good = batch.num_rows - n_bad  # valid rows, repeats included
                if bounds[0] is not None:
                    new_rows = (f"SELECT {cols} FROM {load} l WHERE NOT EXISTS (SELECT 1 FROM usage_events e "
                                f"WHERE e.ts BETWEEN {lit(str(bounds[0]))} AND {lit(str(bounds[1]))} AND {match})")
                    if wh.backend == "duckdb":
                        fresh = stage.temp_as("fresh", new_rows)
                    else:
                        fresh = stage.name("fresh")
                        wh.raw_sql(f"CREATE TEMP TABLE {fresh} AS {new_rows}")
                    n_new = wh.raw_sql(f"SELECT COUNT(*) FROM {fresh}")[0][0]
                    wh.raw_sql(f"INSERT INTO usage_events ({cols}) SELECT {cols} FROM {fresh}")
                    day_pairs = f"SELECT DISTINCT account_id, CAST(ts AS DATE) AS day FROM {fresh}"
                    if wh.backend == "duckdb":
                        stage.sql(f"INSERT INTO {touched} {day_pairs}")
                    else:
                        stage.temp_from_arrow("touched", wh.con.sql(day_pairs).to_pyarrow(), append=True)
                        wh.raw_sql(f"DROP TABLE {fresh}")
                else:
                    n_new = 0
                if wh.backend != "duckdb":
                    wh.raw_sql(f"DROP TABLE {load}")
                result.inserted += int(n_new)
                result.unchanged += int(n_good - n_new)
                if progress:
                    progress(batch.num_rows, total_rows, "loading usage events")
            if result.strict and result.rejected:
                raise _StrictRollback()
            refresh_rollups(wh, stage, touched)
    except _StrictRollback:
        _strict_rolled_back(wh, result, rejected_rows)
    return _conclude(result, reasons, rejected_rows, finish, config, stage)


def _strict_rolled_back(wh: Warehouse, result, rejected_rows: list[pa.Table]) -> None:
    """--strict with rejections: nothing loaded; the rejected rows are still quarantined
    (written again, outside the rolled-back batch)."""
    from tenure.ingest.pipeline import insert_quarantine

    result.inserted = result.unchanged = 0
    result.status = "rejected"
    with wh.transaction():
        for qrows in rejected_rows:
            insert_quarantine(wh, qrows)


def _conclude(result, reasons: dict[str, int], rejected_rows: list[pa.Table], finish, config, stage):
    """Fill in the run summary, write the report and quarantine file, drop staging tables."""
    result.rejected_by_reason = dict(sorted(reasons.items()))
    if result.status != "rejected":
        result.loaded = result.inserted + result.unchanged
        result.status = "partial" if result.rejected else "loaded"
    if result.unchanged:
        result.warnings.append(f"{result.unchanged} duplicate event(s) skipped (already loaded or repeated)")
    finish(result, config, pa.concat_tables(rejected_rows) if rejected_rows else None)
    stage.drop_all()
    return result


PARQUET_TYPES = {"account_id": ("VARCHAR",), "user_id": ("VARCHAR",), "feature": ("VARCHAR",),
                 "ts": ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE"),
                 "quantity": ("DOUBLE", "FLOAT", "BIGINT", "INTEGER")}


def fast_path_ok(wh: Warehouse, source, identity_source) -> bool:
    """Typed Parquet into a DuckDB warehouse: validate and load inside the engine, no Arrow round trip."""
    if wh.backend != "duckdb" or source.fmt != "parquet" or identity_source:
        return False
    files = ", ".join(lit(str(f)) for f in source.files)
    cols = dict(wh.raw_sql(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet([{files}]))"))
    needed = ("account_id", "user_id", "ts", "feature")
    return all(c in cols and cols[c] in PARQUET_TYPES[c] for c in needed) and (
        "quantity" not in cols or cols["quantity"] in PARQUET_TYPES["quantity"])


def ingest_usage_parquet(wh: Warehouse, config: Config, table: Table, source, *, result, progress,
                         finish) -> object:
    """The fast path: each Parquet file is validated and de-duplicated by SQL over read_parquet.
    Rows failing any rule (rare) go through the general path to get their reasons."""
    from tenure.ingest import readers
    from tenure.ingest.pipeline import _now, _Stage

    wh.ensure_schema()
    stage = _Stage(wh)
    ingested_at = _now().isoformat(sep=" ")
    keys = ", ".join(q(k) for k in table.key)
    match = " AND ".join(f"e.{q(k)} = n.{q(k)}" for k in table.key)
    rejected_rows: list[pa.Table] = []
    reasons: dict[str, int] = {}
    total = readers.count_rows(source)
    names = readers.column_names(source)
    qty = "CAST(COALESCE(quantity, 1) AS DOUBLE)" if "quantity" in names else "CAST(1 AS DOUBLE)"
    valid = ("account_id IS NOT NULL AND user_id IS NOT NULL AND ts IS NOT NULL AND feature IS NOT NULL"
             + (" AND (quantity IS NULL OR quantity >= 0)" if "quantity" in names else "")
             + " AND account_id IN (SELECT account_id FROM main.accounts)")
    ts = "CAST(ts AS TIMESTAMP)"
    touched = stage.temp_as("touched", "SELECT NULL::VARCHAR AS account_id, NULL::DATE AS day WHERE FALSE")
    try:
        _load_parquet_files(wh, table, source, result, progress, stage, touched, rejected_rows, reasons, valid, qty,
                            ts, keys, match, ingested_at, total)
    except _StrictRollback:
        _strict_rolled_back(wh, result, rejected_rows)
    return _conclude(result, reasons, rejected_rows, finish, config, stage)


def _load_parquet_files(wh, table, source, result, progress, stage, touched, rejected_rows, reasons, valid, qty, ts,
                        keys, match, ingested_at, total) -> None:
    from tenure.ingest.pipeline import insert_quarantine

    with wh.transaction():
        for f in source.files:
            rel = f"read_parquet({lit(str(f))}, file_row_number = true)"
            n_rows, n_bad, lo, hi = wh.raw_sql(
                f"SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT COALESCE({valid}, FALSE)), MIN({ts}), MAX({ts}) "
                f"FROM {rel}")[0]
            result.rows_read += n_rows
            if n_bad:
                bad = wh.to_pyarrow(wh.con.sql(
                    f"SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS __row FROM {rel} "
                    f"WHERE NOT COALESCE({valid}, FALSE)"))
                qrows, by_reason = _reasons_for(wh, stage, table, f, bad, result)
                insert_quarantine(wh, qrows)
                rejected_rows.append(qrows)
                result.rejected += n_bad
                for k, v in by_reason.items():
                    reasons[k] = reasons.get(k, 0) + v
            if lo is not None:
                inserted = wh.raw_sql(
                    f"INSERT INTO usage_events SELECT n.account_id, n.user_id, n.ts, n.feature, n.quantity, "
                    f"{lit(result.source)}, TIMESTAMP {lit(ingested_at)} FROM ("
                    f"SELECT account_id, user_id, {ts} AS ts, feature, "
                    f"ARG_MIN({qty}, file_row_number) AS quantity FROM {rel} "
                    f"WHERE COALESCE({valid}, FALSE) GROUP BY ALL) n "
                    f"WHERE NOT EXISTS (SELECT 1 FROM usage_events e WHERE e.ts BETWEEN TIMESTAMP {lit(str(lo))} "
                    f"AND TIMESTAMP {lit(str(hi))} AND {match})")[0][0]
                if inserted:
                    stage.sql(f"INSERT INTO {touched} SELECT DISTINCT account_id, CAST(ts AS DATE) FROM usage_events "
                              f"WHERE ingested_at = TIMESTAMP {lit(ingested_at)} AND ts BETWEEN TIMESTAMP "
                              f"{lit(str(lo))} AND TIMESTAMP {lit(str(hi))}")
                result.inserted += int(inserted)
                result.unchanged += int(n_rows - n_bad - inserted)
            if progress:
                progress(n_rows, total, "loading usage events")
        if result.strict and result.rejected:
            raise _StrictRollback()
        if result.inserted:
            refresh_rollups(wh, stage, touched)


def _reasons_for(wh, stage, table, f, bad: pa.Table, result):
    """Run the general rules over the few failing rows to name their reasons."""
    from tenure.ingest.pipeline import _known_accounts, _quarantine_rows

    rb = bad.append_column("__file", pa.array([str(f)] * bad.num_rows, pa.string()))
    raw = stage.temp_from_arrow("badraw", rb)
    _known_accounts(stage, wh)
    present = set(bad.column_names) & set(table.column_names)
    parsed = stage.temp_as("badparsed", f"SELECT {parsed_select(table, present, stage.types(raw))} FROM {raw}")
    errors = stage.temp_as("baderrors", errors_sql(build_rules(table, present, True), parsed))
    by_reason = dict(stage.sql(f"SELECT reason, COUNT(DISTINCT (__file, __row)) FROM {errors} GROUP BY reason")
                     .fetchall())
    cols = [c for c in bad.column_names if c != "__row"]
    return stage.arrow(_quarantine_rows(stage, errors, raw, result.run_id, table.name, cols)), by_reason


class _StrictRollback(Exception):
    pass


def refresh_rollups(wh: Warehouse, stage, touched: str) -> None:
    """Recompute usage_daily for the touched (account_id, day) pairs and register new features.

    Rows are written in day order (here and in rebuild_usage_daily): health reads only the last
    90 days, and with the table laid out by day DuckDB's zone maps (min/max per row group) skip
    every row group outside the window instead of scanning the whole history. New events are
    mostly recent, so appending each batch's days in order keeps the table nearly sorted."""
    if wh.backend == "duckdb":
        pairs = touched
    else:
        pairs = stage.name("pairs")
        wh.load_temp(pairs, stage.arrow(f"SELECT DISTINCT account_id, day FROM {touched}"))
    # new features get the next free bits (63 distinct bits; later features share bit 63)
    wh.raw_sql(
        "INSERT INTO usage_features (feature, bit, first_seen) "
        "SELECT feature, LEAST(63, (SELECT COALESCE(MAX(bit) + 1, 0) FROM usage_features) "
        "+ CAST(ROW_NUMBER() OVER (ORDER BY first_seen, feature) AS BIGINT) - 1), first_seen FROM ("
        f"SELECT e.feature, MIN(e.ts) AS first_seen FROM usage_events e JOIN (SELECT DISTINCT account_id, day FROM {pairs}) p "
        "ON e.account_id = p.account_id AND CAST(e.ts AS DATE) = p.day "
        "WHERE NOT EXISTS (SELECT 1 FROM usage_features f WHERE f.feature = e.feature) GROUP BY e.feature) n"
    )
    wh.raw_sql(
        f"DELETE FROM usage_daily WHERE EXISTS (SELECT 1 FROM {pairs} p "
        f"WHERE p.account_id = usage_daily.account_id AND p.day = usage_daily.day)"
    )
    wh.raw_sql(
        "INSERT INTO usage_daily (account_id, day, events, quantity, active_users, feature_mask) "
        "SELECT e.account_id, CAST(e.ts AS DATE) AS day, COUNT(*) AS events, SUM(e.quantity) AS quantity, "
        "COUNT(DISTINCT e.user_id) AS active_users, BIT_OR(CAST(1 AS BIGINT) << CAST(f.bit AS INTEGER)) AS feature_mask "
        "FROM usage_events e JOIN usage_features f ON f.feature = e.feature "
        f"WHERE EXISTS (SELECT 1 FROM {pairs} p WHERE p.account_id = e.account_id AND p.day = CAST(e.ts AS DATE)) "
        "AND e.ts >= (SELECT CAST(MIN(day) AS TIMESTAMP) FROM " + pairs + ") "
        "GROUP BY e.account_id, CAST(e.ts AS DATE) ORDER BY day"
    )
    if wh.backend != "duckdb":
        wh.raw_sql(f"DROP TABLE {pairs}")


def rebuild_usage_daily(wh: Warehouse) -> int:
    """Rebuild usage_daily from all events (repair or after a manual load); returns its row count."""
    with wh.transaction():
        wh.raw_sql("DELETE FROM usage_daily")
        wh.raw_sql(
            "INSERT INTO usage_features (feature, bit, first_seen) "
            "SELECT feature, LEAST(63, (SELECT COALESCE(MAX(bit) + 1, 0) FROM usage_features) "
            "+ CAST(ROW_NUMBER() OVER (ORDER BY first_seen, feature) AS BIGINT) - 1), first_seen FROM ("
            "SELECT feature, MIN(ts) AS first_seen FROM usage_events e WHERE NOT EXISTS "
            "(SELECT 1 FROM usage_features f WHERE f.feature = e.feature) GROUP BY feature) n"
        )
        wh.raw_sql(
            "INSERT INTO usage_daily (account_id, day, events, quantity, active_users, feature_mask) "
            "SELECT e.account_id, CAST(e.ts AS DATE), COUNT(*), SUM(e.quantity), COUNT(DISTINCT e.user_id), "
            "BIT_OR(CAST(1 AS BIGINT) << CAST(f.bit AS INTEGER)) FROM usage_events e JOIN usage_features f ON f.feature = e.feature "
            "GROUP BY e.account_id, CAST(e.ts AS DATE) ORDER BY 2"
        )
    return wh.count("usage_daily")
