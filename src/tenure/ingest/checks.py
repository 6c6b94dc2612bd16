"""What every load strategy does with staged rows: the file's columns against the table
definition, the validation rules (tenure.ingest.validate) and identity mapping as one table of
errors, and the quarantine (warehouse table `quarantine` and the run's quarantine.csv with its
report.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pyarrow as pa

from tenure.config import Config
from tenure.errors import InputError
from tenure.ingest.identity import identity_errors, with_identity_errors
from tenure.ingest.validate import bounds_for, build_rules, errors_sql, lit, parsed_select, q
from tenure.schema import Table
from tenure.state.runs import IngestRunResult
from tenure.warehouse import Warehouse
from tenure.warehouse.staging import Stage
from tenure.warehouse.writes import append

INTERNAL = ("__row", "__file", "__error")
QUARANTINE_CSV = ["file", "row_number", "column", "value", "reason", "message", "raw"]


@dataclass(frozen=True)
class FileColumns:
    """A file's columns seen against its table: all of them, the ones the table does not know
    (`extras`), and the table columns present."""

    names: list[str]
    extras: list[str]
    present: set[str]


def file_columns(table: Table, header: list[str], label: str) -> FileColumns:
    """Check the required columns are there (a file-level error naming them otherwise)."""
    names = [c for c in header if c not in INTERNAL]
    missing = [c.name for c in table.columns if c.in_file == "required" and c.name not in names]
    if missing:
        raise InputError(f"{label}: missing required column(s) {', '.join(missing)} "
                         f"(the file has: {', '.join(names) or 'no columns'})")
    known = set(table.column_names)
    return FileColumns(names, [c for c in names if c not in known], set(names) & known)


def with_file(batch: pa.RecordBatch, fname: str) -> pa.RecordBatch:
    """The batch with a __file column (which file of a folder each row came from)."""
    return pa.RecordBatch.from_arrays([*batch.columns, pa.array([str(fname)] * batch.num_rows, pa.string())],
                                      names=[*batch.schema.names, "__file"])


def validate_staged(stage: Stage, wh: Warehouse, config: Config, table: Table, raw: str, present: set[str], *,
                    has_ref: bool, identity_source: str | None = None, base: str = "") -> tuple[str, str]:
    """Parse the staged rows `raw` and collect every error (one row per row and column at
    fault). Returns the staging tables (parsed, errors)."""
    if has_ref:
        stage.known_accounts()
    id_errors = identity_errors(stage, raw, wh, identity_source) if identity_source else None
    parsed = stage.temp_as(f"{base}parsed", f"SELECT {parsed_select(table, present, stage.types(raw))} FROM {raw}")
    err_sql = errors_sql(build_rules(table, present, has_ref, bounds_for(wh, config, table)), parsed)
    if id_errors:
        err_sql = with_identity_errors(id_errors, err_sql)
    return parsed, stage.temp_as(f"{base}errors", err_sql)


def rejected_counts(stage: Stage, errors: str) -> tuple[int, dict[str, int]]:
    """Rows rejected, and rows per reason."""
    n = int(stage.scalar(f"SELECT COUNT(DISTINCT (__file, __row)) FROM {errors}"))
    if not n:
        return 0, {}
    by_reason = stage.sql(f"SELECT reason, COUNT(DISTINCT (__file, __row)) FROM {errors} GROUP BY reason "
                          "ORDER BY reason").fetchall()
    return n, dict(by_reason)


def quarantine_rows(stage: Stage, errors: str, raw: str, run_id: str, entity: str, file_cols: list[str]) -> pa.Table:
    """The quarantine rows of the errors: one per row and column, with the whole row as JSON."""
    pack = ", ".join(f"{q(c)} := CAST(r.{q(c)} AS VARCHAR)" for c in file_cols) or "x := NULL"
    return stage.arrow(
        f"SELECT {lit(run_id)} AS run_id, {lit(entity)} AS entity, e.__file AS file, e.__row AS row_number, "
        f"e.\"column\", e.value, e.reason, e.message, CAST(to_json(struct_pack({pack})) AS VARCHAR) AS raw, "
        f"CAST(now() AS TIMESTAMP) AS quarantined_at "
        f"FROM {errors} e JOIN {raw} r ON r.__file = e.__file AND r.__row = e.__row "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY e.__file, e.__row, e.\"column\" ORDER BY e.reason) = 1"
    )


def insert_quarantine(wh: Warehouse, qrows: pa.Table | None) -> None:
    """Append rejected rows to the warehouse quarantine table (inside the caller's transaction)."""
    if qrows is not None and qrows.num_rows:
        append(wh, "quarantine", qrows)


def write_report(result: IngestRunResult, config: Config, qrows: pa.Table | None) -> None:
    """The run's report.json, and quarantine.csv when rows were rejected, in runs_dir/<run_id>/."""
    result.finished_at = result.finished_at or datetime.now(timezone.utc).replace(tzinfo=None).isoformat(
        timespec="seconds")
    run_dir = config.runs_dir / result.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    if qrows is not None and qrows.num_rows:
        import pyarrow.csv as pacsv

        qpath = run_dir / "quarantine.csv"
        ordered = qrows.select(QUARANTINE_CSV).sort_by([("file", "ascending"), ("row_number", "ascending")])
        pacsv.write_csv(ordered, qpath)
        result.quarantine_path = str(qpath)
    report = run_dir / "report.json"
    result.report_path = str(report)
    report.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
