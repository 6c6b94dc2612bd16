"""Ingestion: read -> stage -> validate -> quarantine -> load, as one all-or-nothing batch.

A file is staged and validated in a DuckDB engine (tenure.warehouse.staging); rejected rows go
to the quarantine table and to `<runs_dir>/<run_id>/quarantine.csv` beside the run's
`report.json`. How good rows are loaded is the table's load strategy (`Table.load`):

    upsert   by natural key, last row wins; re-running a file changes nothing, a corrected
             file updates rows in place (every table but usage events)
    append   append and de-duplicate: a row whose key is loaded already is skipped
             (usage events, tenure.ingest.usage)

Loading and quarantining happen in one transaction: a batch is visible whole or not at all,
also if the process dies. Every run is recorded by the ingest-run service
(tenure.state.runs): `running` while it loads, `failed` with the error if it raises.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from tenure.config import Config
from tenure.errors import InputError
from tenure.ingest import readers, usage
from tenure.ingest.identity import resolve_identities
from tenure.ingest.checks import (
    file_columns, insert_quarantine, quarantine_rows, rejected_counts, validate_staged, with_file, write_report,
)
from tenure.ingest.validate import check_attribute_names, lit, q
from tenure.schema import INGESTIBLE, TABLES, Table
from tenure.state.runs import IngestRunResult, RunHandle, ingest_run
from tenure.warehouse import Warehouse
from tenure.warehouse.staging import Stage
from tenure.warehouse.writes import upsert

Progress = Callable[[int, int | None, str], None]
IngestResult = IngestRunResult  # what one ingest run did (defined once, by the run service)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_run_id() -> str:
    return _now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def get_entity(entity: str) -> Table:
    if entity not in INGESTIBLE:
        raise InputError(f"unknown entity {entity!r}; one of: {', '.join(INGESTIBLE)}")
    return TABLES[entity]


# ---------------------------------------------------------------------------------------------
# the upsert strategy


def load_by_key(wh: Warehouse, config: Config, table: Table, batches: Iterable[tuple[str, pa.RecordBatch]],
                result: IngestRunResult, *, header: list[str] | None, identity_source: str | None = None,
                progress: Progress | None = None, total_rows: int | None = None) -> pa.Table | None:
    """Stage the whole file, validate it, keep the last row of each key, and upsert the good rows
    (an accounts file's extra columns become account_attributes). Returns the rejected rows."""
    with Stage(wh) as stage:
        raw = None
        for fname, batch in batches:
            raw = stage.temp_from_arrow("raw", with_file(batch, fname), append=raw is not None)
            result.rows_read += batch.num_rows
            if progress:
                progress(batch.num_rows, total_rows, f"reading {table.name}")
        header = header or (list(stage.types(raw)) if raw else [])
        cols = file_columns(table, header, result.file)
        if table.name == "accounts":
            check_attribute_names(result.file, cols.extras)
        elif cols.extras:
            result.warnings.append(f"ignored columns not in {table.name}: {', '.join(cols.extras)}")
        if raw is None:  # an empty file: nothing to do, but a valid run
            result.status = "loaded"
            return None
        has_ref = any(c.references for c in table.columns) and table.name != "accounts"
        parsed, errors = validate_staged(stage, wh, config, table, raw, cols.present, has_ref=has_ref,
                                         identity_source=identity_source)
        result.rejected, result.rejected_by_reason = rejected_counts(stage, errors)
        keys = ", ".join(q(k) for k in table.key)
        good = stage.temp_as("good", f"SELECT p.* FROM {parsed} p WHERE NOT EXISTS (SELECT 1 FROM {errors} e "
                                     f"WHERE e.__file = p.__file AND e.__row = p.__row)")
        n_good = int(stage.scalar(f"SELECT COUNT(*) FROM {good}"))
        deduped = stage.temp_as("dedup", f"SELECT * FROM {good} QUALIFY ROW_NUMBER() OVER (PARTITION BY {keys} "
                                         f"ORDER BY __file DESC, __row DESC) = 1")
        result.duplicates_in_file = n_good - int(stage.scalar(f"SELECT COUNT(*) FROM {deduped}"))
        if result.duplicates_in_file:
            result.warnings.append(f"{result.duplicates_in_file} row(s) repeat a key of a later row; the last one wins")

        data_cols = ", ".join(q(c) for c in table.column_names if c not in ("source", "ingested_at"))
        ingested_at = _now().isoformat(sep=" ")
        lineage = f"{lit(result.source)} AS source, CAST({lit(ingested_at)} AS TIMESTAMP) AS ingested_at"
        blocked = result.strict and result.rejected > 0
        qrows = quarantine_rows(stage, errors, raw, result.run_id, table.name, cols.names)
        attrs = (_attributes_query(raw, deduped, cols.extras, lineage)
                 if table.name == "accounts" and cols.extras else None)
        with wh.transaction():
            insert_quarantine(wh, qrows)
            if not blocked:
                load = stage.to_warehouse("load", f"SELECT {data_cols}, {lineage} FROM {deduped}")
                result.inserted, result.updated, result.unchanged = upsert(wh, table, load)
                if attrs:
                    upsert(wh, TABLES["account_attributes"], stage.to_warehouse("attrs", attrs))
        result.loaded = 0 if blocked else result.inserted + result.updated + result.unchanged
        result.status = "rejected" if blocked else ("partial" if result.rejected else "loaded")
        return qrows


def _attributes_query(raw: str, deduped: str, extras: list[str], lineage: str) -> str:
    """Extra columns of an accounts file as account_attributes rows (one per account and column)."""
    return " UNION ALL ".join(
        f"SELECT d.account_id, {lit(x)} AS name, NULLIF(TRIM(CAST(r.{q(x)} AS VARCHAR)), '') AS value, "
        f"TRY_CAST(NULLIF(TRIM(CAST(r.{q(x)} AS VARCHAR)), '') AS DOUBLE) AS value_number, {lineage} "
        f"FROM {deduped} d JOIN {raw} r ON r.__file = d.__file AND r.__row = d.__row"
        for x in extras
    )


@dataclass(frozen=True)
class Strategy:
    """How rows of a table are loaded: from batches, and optionally straight from a file the
    engine reads itself (`file_ok` says when)."""

    batches: Callable[..., pa.Table | None]
    file: Callable[..., pa.Table | None] | None = None
    file_ok: Callable[[Warehouse, readers.Source], bool] | None = None


STRATEGIES: dict[str, Strategy] = {
    "upsert": Strategy(load_by_key),
    "append": Strategy(usage.load_events, usage.load_parquet, usage.fast_path_ok),
}


# ---------------------------------------------------------------------------------------------
# the run


CHANGED = {"accounts": ("accounts", "account_attributes"),
           "usage_events": ("usage_events", "usage_daily", "usage_features")}


def _run(wh: Warehouse, config: Config, table: Table, load: Callable[[RunHandle, Progress], pa.Table | None], *,
         file_label: str, source: str, strict: bool, run_id: str | None, progress: Progress | None) -> IngestResult:
    """One ingest run of `table`: recorded by the run service, loaded by `load`, reported."""
    wh.ensure_schema()
    result = IngestResult(run_id=run_id or new_run_id(), entity=table.name, file=file_label, source=source,
                          strict=strict)
    with ingest_run(config, result) as run:

        def beat(advance: int, total: int | None, desc: str) -> None:
            run.heartbeat()
            if progress:
                progress(advance, total, desc)

        qrows = load(run, beat)
        write_report(result, config, qrows)
        if result.inserted or result.updated:  # refresh steps reading these tables rerun (tenure.jobs)
            from tenure.jobs.versions import bump

            bump(config, CHANGED.get(result.entity, (result.entity,)))
    return result


# ---------------------------------------------------------------------------------------------
# public API


def ingest_file(
    wh: Warehouse,
    config: Config,
    entity: str,
    path: str | Path,
    *,
    source: str = "file",
    fmt: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> IngestResult | list[IngestResult]:
    """Ingest one canonical file (CSV/Parquet/JSON lines, optionally .gz, or a folder of parts).
    With `fmt` (a vendor format), the file is read by that connector and each entity it yields
    goes through the same validation path; a list of results is returned then."""
    if fmt:
        return ingest_vendor(wh, config, fmt, path, entity=entity, strict=strict, progress=progress)
    table = get_entity(entity)
    src = readers.detect(path)
    header = readers.column_names(src)
    strategy = STRATEGIES[table.load]
    if strategy.file and strategy.file_ok(wh, src):
        def load(run: RunHandle, beat: Progress) -> pa.Table | None:
            return strategy.file(wh, config, table, src, run.result, progress=beat)
    else:
        def load(run: RunHandle, beat: Progress) -> pa.Table | None:
            return strategy.batches(wh, config, table, readers.iter_batches(src, config.ingest.chunk_rows,
                                                                            config.ingest),
                                    run.result, header=header, progress=beat, total_rows=readers.count_rows(src))
    return _run(wh, config, table, load, file_label=src.label, source=source, strict=strict, run_id=None,
                progress=progress)


def ingest_table(
    wh: Warehouse,
    config: Config,
    entity: str,
    data: pa.Table,
    *,
    source: str,
    file_label: str,
    identity_source: str | None = None,
    strict: bool = False,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest an Arrow table of canonical columns (e.g. from a connector) through the same
    validation, quarantine and load path as a file. With `identity_source`, account_id holds
    that source's external ids and is mapped to master accounts first. A connector may carry
    each row's data row in the file (`__row`; several rows may share one, and are then loaded or
    refused together) and a reason to refuse a row (`__error`, reason bad_row)."""
    table = get_entity(entity)
    if data.num_rows and readers.ROW not in data.column_names:  # a connector may give each row its file row
        rows = pa.array(range(1, data.num_rows + 1), pa.int64())
        data = data.append_column(readers.ROW, rows)
    batches = [(file_label, b) for b in data.to_batches(max_chunksize=config.ingest.chunk_rows)]
    header = [c for c in data.column_names if c not in (readers.ROW, readers.ERROR)]

    def load(run: RunHandle, beat: Progress) -> pa.Table | None:
        return STRATEGIES[table.load].batches(wh, config, table, batches, run.result, header=header,
                                              identity_source=identity_source, progress=beat,
                                              total_rows=data.num_rows)

    return _run(wh, config, table, load, file_label=file_label, source=source, strict=strict, run_id=run_id,
                progress=progress)


def ingest_vendor(wh: Warehouse, config: Config, fmt: str, path: str | Path, *, entity: str | None = None,
                  strict: bool = False, progress: Progress | None = None) -> list[IngestResult]:
    """Read a vendor export with its connector and ingest every entity it yields."""
    from tenure.ingest.connectors import CONNECTORS  # vendor connectors load on demand

    if fmt not in CONNECTORS:
        raise InputError(f"unknown format {fmt!r}; one of: {', '.join(sorted(CONNECTORS)) or 'none installed'}")
    out = CONNECTORS[fmt](Path(path))
    if out.identities is not None and out.identity_source:
        resolve_identities(wh, config, out.identity_source, out.identities)
    results = []
    for name, data in out.entities.items():
        if entity and entity not in ("all", name):
            continue
        results.append(ingest_table(wh, config, name, data, source=out.source, file_label=str(path),
                                    identity_source=out.identity_source if name != "accounts" else None,
                                    strict=strict, progress=progress))
    if not results:
        raise InputError(f"{path}: the {fmt} export holds no {entity} rows (it has: {', '.join(out.entities)})")
    return results
