"""Ingestion: read -> validate -> quarantine -> upsert, as one all-or-nothing batch.

A file is staged and validated in a DuckDB engine (the warehouse's own when it is DuckDB), good
rows are upserted by natural key, rejected rows go to the quarantine table and to
`<runs_dir>/<run_id>/quarantine.csv` beside the run's `report.json`. Loading and quarantining
happen in one transaction: a batch is visible whole or not at all, also if the process dies.
Re-running the same file changes nothing; a corrected file updates rows in place.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from tenure.config import Config
from tenure.errors import InputError
from tenure.ingest import readers
from tenure.ingest.validate import build_rules, errors_sql, lit, parsed_select, q
from tenure.schema import INGESTIBLE, TABLES, Table
from tenure.warehouse import Warehouse
from tenure.warehouse.versions import record_versions

Progress = Callable[[int, int | None, str], None]


@dataclass
class IngestResult:
    """What one ingest run did; `to_dict()` is the `--json` summary."""

    run_id: str
    entity: str
    file: str
    source: str
    status: str = "running"  # loaded | partial | rejected | failed
    rows_read: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates_in_file: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    report_path: str | None = None
    quarantine_path: str | None = None
    strict: bool = False
    started_at: str = ""
    finished_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def exit_code(self) -> int:
        if self.status in ("rejected", "failed"):
            return 2
        return 1 if self.rejected else 0


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_run_id() -> str:
    return _now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def get_entity(entity: str) -> Table:
    if entity not in INGESTIBLE:
        raise InputError(f"unknown entity {entity!r}; one of: {', '.join(INGESTIBLE)}")
    return TABLES[entity]


# ---------------------------------------------------------------------------------------------
# staging helpers (DuckDB SQL in the staging engine)


class _Stage:
    """Temp tables of one run in the staging engine, named uniquely so runs never collide."""

    def __init__(self, wh: Warehouse):
        self.wh = wh
        self.con = wh.staging_engine()
        self.tag = uuid.uuid4().hex[:8]
        self.created: list[str] = []

    def name(self, base: str) -> str:
        return f"__{base}_{self.tag}"

    def sql(self, query: str, params: list | None = None):
        return self.con.execute(query, params) if params else self.con.execute(query)

    def temp_from_arrow(self, base: str, data: pa.Table | pa.RecordBatch, append: bool = False) -> str:
        name = self.name(base)
        self.con.register("__tenure_in", data)
        try:
            if append:
                self.con.execute(f"INSERT INTO {name} SELECT * FROM __tenure_in")
            else:
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM __tenure_in")
                self.created.append(name)
        finally:
            self.con.unregister("__tenure_in")
        return name

    def temp_as(self, base: str, query: str) -> str:
        name = self.name(base)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")
        self.created.append(name)
        return name

    def scalar(self, query: str) -> Any:
        return self.con.execute(query).fetchone()[0]

    def arrow(self, query: str) -> pa.Table:
        res = self.con.execute(query)
        return res.to_arrow_table() if hasattr(res, "to_arrow_table") else res.fetch_arrow_table()

    def types(self, table: str) -> dict[str, str]:
        return {r[0]: r[1] for r in self.con.execute(f"DESCRIBE {table}").fetchall()}

    def drop_all(self) -> None:
        for name in reversed(self.created):
            try:
                self.con.execute(f"DROP TABLE IF EXISTS {name}")
            except Exception:
                pass
        self.created.clear()


def _known_accounts(stage: _Stage, wh: Warehouse) -> None:
    """Make __known_accounts available in the staging engine."""
    if wh.backend == "duckdb":
        stage.con.execute("CREATE OR REPLACE TEMP VIEW __known_accounts AS SELECT account_id FROM main.accounts")
    else:
        ids = wh.to_pyarrow(wh.table("accounts").select("account_id"))
        stage.con.register("__tenure_ids", ids)
        stage.con.execute("CREATE OR REPLACE TEMP TABLE __known_accounts AS SELECT * FROM __tenure_ids")
        stage.con.unregister("__tenure_ids")


# ---------------------------------------------------------------------------------------------
# loading into the warehouse


def _key_match(table: Table, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{q(k)} = {right}.{q(k)}" for k in table.key)


def _data_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.name not in ("source", "ingested_at")]


def upsert(wh: Warehouse, table: Table, load: str) -> tuple[int, int, int]:
    """Upsert the warehouse temp table `load` (all columns of `table`) into `table` by its key.
    Rows whose data columns are unchanged are left alone (ingested_at too). Must run inside a
    transaction. Returns (inserted, updated, unchanged)."""
    record_versions(wh, table, load)  # versions of mutable facts, before the rows change
    t = q(table.name)
    match = _key_match(table, "t", "l")
    data_cols = _data_columns(table)
    changed = " OR ".join(f"t.{q(c)} IS DISTINCT FROM l.{q(c)}" for c in data_cols if c not in table.key) or "FALSE"
    total = wh.raw_sql(f"SELECT COUNT(*) FROM {load}")[0][0]
    inserted = wh.raw_sql(f"SELECT COUNT(*) FROM {load} l WHERE NOT EXISTS (SELECT 1 FROM {t} t WHERE {match})")[0][0]
    updated = wh.raw_sql(f"SELECT COUNT(*) FROM {load} l JOIN {t} t ON {match} WHERE {changed}")[0][0]
    if updated:
        sets = ", ".join(f"{q(c)} = l.{q(c)}" for c in table.column_names if c not in table.key)
        match_upd = " AND ".join(f"{t}.{q(k)} = l.{q(k)}" for k in table.key)
        changed_upd = " OR ".join(
            f"{t}.{q(c)} IS DISTINCT FROM l.{q(c)}" for c in data_cols if c not in table.key) or "FALSE"
        wh.raw_sql(f"UPDATE {t} SET {sets} FROM {load} l WHERE {match_upd} AND ({changed_upd})")
    if inserted:
        cols = ", ".join(q(c) for c in table.column_names)
        wh.raw_sql(f"INSERT INTO {t} ({cols}) SELECT {cols} FROM {load} l "
                   f"WHERE NOT EXISTS (SELECT 1 FROM {t} t WHERE {match})")
    return int(inserted), int(updated), int(total - inserted - updated)


def _to_warehouse_temp(stage: _Stage, wh: Warehouse, query: str, base: str) -> str:
    """Materialize a staging query as a temp table the warehouse session can read."""
    if wh.backend == "duckdb":
        return stage.temp_as(base, query)
    name = stage.name(base)
    wh.load_temp(name, stage.arrow(query))
    return name


def _drop_wh_temp(wh: Warehouse, name: str) -> None:
    if wh.backend != "duckdb":
        wh.raw_sql(f"DROP TABLE IF EXISTS {name}")


# ---------------------------------------------------------------------------------------------
# the run


def _finish(result: IngestResult, config: Config, qrows: pa.Table | None) -> None:
    """Write the run report and quarantine file, and log the run in the state DB."""
    run_dir = config.runs_dir / result.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    if qrows is not None and qrows.num_rows:
        import pyarrow.csv as pacsv

        qpath = run_dir / "quarantine.csv"
        cols = ["file", "row_number", "column", "value", "reason", "message", "raw"]
        pacsv.write_csv(qrows.select(cols).sort_by([("file", "ascending"), ("row_number", "ascending")]), qpath)
        result.quarantine_path = str(qpath)
    result.finished_at = _now().isoformat(timespec="seconds")
    report = run_dir / "report.json"
    result.report_path = str(report)
    report.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    try:
        from tenure.state import runs as state_runs
    except ImportError:
        return
    try:
        state_runs.record_run(config, result.to_dict())
    except Exception as err:  # the warehouse load stands; the run log is best effort
        result.warnings.append(f"could not record the run in the state DB: {err}")
        report.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")


def insert_quarantine(wh: Warehouse, qrows: pa.Table) -> None:
    """Append rejected rows to the warehouse quarantine table (inside the caller's transaction)."""
    if not qrows.num_rows:
        return
    name = f"__q_{uuid.uuid4().hex[:8]}"
    wh.load_temp(name, qrows)
    qcols = ", ".join(q(c) for c in TABLES["quarantine"].column_names)
    wh.raw_sql(f"INSERT INTO quarantine ({qcols}) SELECT {qcols} FROM {name}")
    wh.raw_sql(f"DROP TABLE {name}")


def _quarantine_rows(stage: _Stage, errors: str, raw: str, run_id: str, entity: str, file_cols: list[str]) -> str:
    pack = ", ".join(f"{q(c)} := CAST(r.{q(c)} AS VARCHAR)" for c in file_cols) or "x := NULL"
    return (
        f"SELECT {lit(run_id)} AS run_id, {lit(entity)} AS entity, e.__file AS file, e.__row AS row_number, "
        f"e.\"column\", e.value, e.reason, e.message, CAST(to_json(struct_pack({pack})) AS VARCHAR) AS raw, "
        f"CAST(now() AS TIMESTAMP) AS quarantined_at "
        f"FROM {errors} e JOIN {raw} r ON r.__file = e.__file AND r.__row = e.__row "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY e.__file, e.__row, e.\"column\" ORDER BY e.reason) = 1"
    )


def _identity_errors(stage: _Stage, raw: str, wh: Warehouse, identity_source: str) -> str:
    """Map account_id of a vendor's rows to master ids through account_identities; return SQL of
    errors for rows that stay unmatched or ambiguous."""
    ids = wh.to_pyarrow(
        wh.table("account_identities").filter(lambda t: t.source == identity_source)
        .select("external_id", "account_id", "status", "candidates")
    )
    idmap = stage.temp_from_arrow("idmap", ids)
    stage.sql(f"ALTER TABLE {raw} ADD COLUMN __external_account VARCHAR")
    stage.sql(f"UPDATE {raw} SET __external_account = CAST(account_id AS VARCHAR)")
    stage.sql(
        f"UPDATE {raw} SET account_id = m.account_id FROM {idmap} m "
        f"WHERE m.external_id = {raw}.__external_account AND m.status = 'matched'"
    )
    src = lit(identity_source)
    return (
        f"SELECT r.__file, r.__row, 'account_id' AS \"column\", r.__external_account AS value, "
        f"CASE WHEN m.status = 'ambiguous' THEN 'ambiguous_account' ELSE 'unresolved_account' END AS reason, "
        f"CASE WHEN m.status = 'ambiguous' THEN {src} || ' account ' || r.__external_account "
        f"|| ' matches several master accounts: ' || COALESCE(m.candidates, '') "
        f"ELSE {src} || ' account ' || COALESCE(r.__external_account, '(empty)') "
        f"|| ' is not matched to a master account' END AS message "
        f"FROM {raw} r LEFT JOIN {idmap} m ON m.external_id = r.__external_account "
        f"WHERE m.status IS DISTINCT FROM 'matched'"
    )


def with_identity_errors(id_errors: str, err_sql: str) -> str:
    """Identity errors plus rule errors, without the unknown_account that an unmapped vendor id
    would also raise (the identity reason is the one a person can act on)."""
    return (f"WITH ide AS ({id_errors}), rule AS ({err_sql}) SELECT * FROM ide UNION ALL SELECT * FROM rule r "
            f"WHERE NOT (r.reason = 'unknown_account' AND EXISTS (SELECT 1 FROM ide i "
            f"WHERE i.__file = r.__file AND i.__row = r.__row))")


def _ingest(
    wh: Warehouse,
    config: Config,
    table: Table,
    batches: Iterable[tuple[str, pa.RecordBatch]],
    *,
    file_label: str,
    source: str,
    strict: bool,
    identity_source: str | None = None,
    run_id: str | None = None,
    progress: Progress | None = None,
    total_rows: int | None = None,
    header: list[str] | None = None,
) -> IngestResult:
    wh.ensure_schema()
    result = IngestResult(run_id=run_id or new_run_id(), entity=table.name, file=file_label, source=source,
                          strict=strict, started_at=_now().isoformat(timespec="seconds"))
    if table.name == "usage_events":
        from tenure.ingest.usage import ingest_usage

        return ingest_usage(wh, config, table, batches, result=result, progress=progress, total_rows=total_rows,
                            identity_source=identity_source, finish=_finish, header=header)

    stage = _Stage(wh)
    try:
        raw = None
        for fname, batch in batches:
            rb = pa.RecordBatch.from_arrays([*batch.columns, pa.array([str(fname)] * batch.num_rows, pa.string())],
                                            names=[*batch.schema.names, "__file"])
            raw = stage.temp_from_arrow("raw", rb, append=raw is not None)
            result.rows_read += batch.num_rows
            if progress:
                progress(batch.num_rows, total_rows, f"reading {table.name}")
        if raw is None:  # an empty file: nothing to do, but a valid run
            header = header or []
        file_cols = [c for c in (header or (list(stage.types(raw)) if raw else [])) if c not in ("__row", "__file")]
        missing = [c.name for c in table.columns if c.in_file == "required" and c.name not in file_cols]
        if missing:
            raise InputError(f"{file_label}: missing required column(s) {', '.join(missing)} "
                             f"(the file has: {', '.join(file_cols) or 'no columns'})")
        known = set(table.column_names)
        extras = [c for c in file_cols if c not in known]
        if extras and table.name != "accounts":
            result.warnings.append(f"ignored columns not in {table.name}: {', '.join(extras)}")
        if raw is None:
            result.status = "loaded"
            _finish(result, config, None)
            return result
        present = set(file_cols) & known
        has_ref = any(c.references for c in table.columns) and table.name != "accounts"
        if has_ref:
            _known_accounts(stage, wh)
        id_errors = _identity_errors(stage, raw, wh, identity_source) if identity_source else None
        types = stage.types(raw)
        parsed = stage.temp_as("parsed", f"SELECT {parsed_select(table, present, types)} FROM {raw}")
        rules = build_rules(table, present, has_ref)
        err_sql = errors_sql(rules, parsed)
        if id_errors:
            err_sql = with_identity_errors(id_errors, err_sql)
        errors = stage.temp_as("errors", err_sql)
        result.rejected = int(stage.scalar(f"SELECT COUNT(DISTINCT (__file, __row)) FROM {errors}"))
        result.rejected_by_reason = dict(
            stage.sql(f"SELECT reason, COUNT(DISTINCT (__file, __row)) FROM {errors} GROUP BY reason ORDER BY reason")
            .fetchall())
        keys = ", ".join(q(k) for k in table.key)
        good = stage.temp_as(
            "good",
            f"SELECT p.* FROM {parsed} p WHERE NOT EXISTS (SELECT 1 FROM {errors} e "
            f"WHERE e.__file = p.__file AND e.__row = p.__row)",
        )
        n_good = int(stage.scalar(f"SELECT COUNT(*) FROM {good}"))
        deduped = stage.temp_as(
            "dedup",
            f"SELECT * FROM {good} QUALIFY ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY __file DESC, __row DESC) = 1",
        )
        result.duplicates_in_file = n_good - int(stage.scalar(f"SELECT COUNT(*) FROM {deduped}"))
        if result.duplicates_in_file:
            result.warnings.append(f"{result.duplicates_in_file} row(s) repeat a key of a later row; the last one wins")

        cols = ", ".join(f"{q(c)}" for c in table.column_names if c not in ("source", "ingested_at"))
        ingested_at = _now().isoformat(sep=" ")
        load_query = (f"SELECT {cols}, {lit(source)} AS source, CAST({lit(ingested_at)} AS TIMESTAMP) AS ingested_at "
                      f"FROM {deduped}")
        blocked = strict and result.rejected > 0
        qrows = stage.arrow(_quarantine_rows(stage, errors, raw, result.run_id, table.name, file_cols))
        attr_query = _attributes_query(raw, deduped, extras, source, ingested_at) if table.name == "accounts" else None
        with wh.transaction():
            insert_quarantine(wh, qrows)
            if not blocked:
                load = _to_warehouse_temp(stage, wh, load_query, "load")
                result.inserted, result.updated, result.unchanged = upsert(wh, table, load)
                _drop_wh_temp(wh, load)
                if attr_query:
                    attrs = _to_warehouse_temp(stage, wh, attr_query, "attrs")
                    upsert(wh, TABLES["account_attributes"], attrs)
                    _drop_wh_temp(wh, attrs)
        result.loaded = 0 if blocked else result.inserted + result.updated + result.unchanged
        result.status = "rejected" if blocked else ("partial" if result.rejected else "loaded")
        _finish(result, config, qrows)
        return result
    finally:
        stage.drop_all()


def _attributes_query(raw: str, deduped: str, extras: list[str], source: str, ingested_at: str) -> str | None:
    """Extra columns of an accounts file as account_attributes rows (one per account and column)."""
    if not extras:
        return None
    parts = [
        f"SELECT d.account_id, {lit(x)} AS name, NULLIF(TRIM(CAST(r.{q(x)} AS VARCHAR)), '') AS value, "
        f"TRY_CAST(NULLIF(TRIM(CAST(r.{q(x)} AS VARCHAR)), '') AS DOUBLE) AS value_number, "
        f"{lit(source)} AS source, CAST({lit(ingested_at)} AS TIMESTAMP) AS ingested_at "
        f"FROM {deduped} d JOIN {raw} r ON r.__file = d.__file AND r.__row = d.__row"
        for x in extras
    ]
    return " UNION ALL ".join(parts)


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
    if table.name == "usage_events":
        from tenure.ingest.usage import fast_path_ok, ingest_usage_parquet

        if fast_path_ok(wh, src, None):
            result = IngestResult(run_id=new_run_id(), entity=table.name, file=src.label, source=source,
                                  strict=strict, started_at=_now().isoformat(timespec="seconds"))
            return ingest_usage_parquet(wh, config, table, src, result=result, progress=progress, finish=_finish)
    return _ingest(
        wh, config, table, readers.iter_batches(src, config.ingest.chunk_rows),
        file_label=src.label, source=source, strict=strict, progress=progress,
        total_rows=readers.count_rows(src), header=header,
    )


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
    validation, quarantine and upsert path as a file. With `identity_source`, account_id holds
    that source's external ids and is mapped to master accounts first."""
    table = get_entity(entity)
    if data.num_rows:
        rows = pa.array(range(1, data.num_rows + 1), pa.int64())
        data = data.append_column(readers.ROW, rows)
    batches = [(file_label, b) for b in data.to_batches(max_chunksize=config.ingest.chunk_rows)]
    return _ingest(wh, config, table, batches, file_label=file_label, source=source, strict=strict,
                   identity_source=identity_source, run_id=run_id, progress=progress, total_rows=data.num_rows,
                   header=[c for c in data.column_names if c != readers.ROW])


def ingest_vendor(wh: Warehouse, config: Config, fmt: str, path: str | Path, *, entity: str | None = None,
                  strict: bool = False, progress: Progress | None = None) -> list[IngestResult]:
    """Read a vendor export with its connector and ingest every entity it yields."""
    from tenure.ingest.connectors import CONNECTORS
    from tenure.ingest.identity import resolve_identities

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
