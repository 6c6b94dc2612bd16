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
        # nothing loaded; the rejected rows are still quarantined (outside the rolled-back batch)
        result.inserted = result.unchanged = 0
        result.status = "rejected"
        with wh.transaction():
            for qrows in rejected_rows:
                insert_quarantine(wh, qrows)
    result.rejected_by_reason = dict(sorted(reasons.items()))
    result.duplicates_in_file = 0
    if result.status != "rejected":
        result.loaded = result.inserted + result.unchanged
        result.status = "partial" if result.rejected else "loaded"
    if result.unchanged:
        result.warnings.append(f"{result.unchanged} duplicate event(s) skipped (already loaded or repeated)")
    finish(result, config, pa.concat_tables(rejected_rows) if rejected_rows else None)
    stage.drop_all()
    return result


class _StrictRollback(Exception):
    pass


def refresh_rollups(wh: Warehouse, stage, touched: str) -> None:
    """Recompute usage_daily for the touched (account_id, day) pairs and register new features."""
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
        "GROUP BY e.account_id, CAST(e.ts AS DATE)"
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
            "GROUP BY e.account_id, CAST(e.ts AS DATE)"
        )
    return wh.count("usage_daily")
