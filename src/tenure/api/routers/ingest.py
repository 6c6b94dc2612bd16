"""Ingest over HTTP: an uploaded file goes through the same validation, quarantine and upsert as
`tenure ingest` (tenure.ingest.pipeline.ingest_file), leaving the same run report; and the log of
runs with a sample of each run's rejected rows.

Raw rows can belong to any account, so uploading and reading runs is for principals whose book
of business is every account (admin, executive; viewers may read runs, not upload)."""

from __future__ import annotations

import re
import uuid
from typing import Literal

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile

from tenure.http.auth import Access, Principal, allowed, client_ip
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem
from tenure.api.routers.common import paginated, plain_rows
from tenure.api.schemas import COMMON_PROBLEMS, IngestRunDetail, IngestRunOut, Paginated, problem_responses
from tenure.schema.facts import INGESTIBLE
from tenure.state import audit
from tenure.state import runs as ingest_runs

router = APIRouter(prefix="/ingest", tags=["ingest"], responses=COMMON_PROBLEMS)

Entity = Literal[INGESTIBLE]  # type: ignore[valid-type]
MAX_UPLOAD_BYTES = 1 << 30
CHUNK = 1 << 20
SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")
REJECTED_SAMPLE = 100
RUN_FIELDS = tuple(IngestRunOut.model_fields)


def _safe_name(filename: str | None) -> str:
    """The upload's base name with only safe characters (the reader picks the format by suffix)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).lstrip("._")
    base = name[:-3] if name.lower().endswith(".gz") else name
    if not base.lower().endswith(SUFFIXES):
        raise Problem(422, f"file {filename!r}: unknown file type (expected .csv, .tsv, .parquet, .jsonl/.ndjson, "
                           "optionally .gz)", kind="invalid-input")
    return name[-120:]


def _rejected(ctx: AppContext, run_id: str, limit: int = REJECTED_SAMPLE) -> list[dict]:
    wh = ctx.warehouse()
    qt = wh.table("quarantine")
    expr = qt.filter(qt.run_id == run_id).select("file", "row_number", "column", "value", "reason", "message") \
        .order_by([qt.row_number, qt.column]).limit(limit)
    return plain_rows(wh.to_pyarrow(expr).to_pylist())


@router.post("/{entity}", response_model=IngestRunDetail, status_code=201,
             responses=problem_responses(413), summary="Upload a file to ingest")
async def upload(request: Request, entity: Entity, file: UploadFile = File(description="CSV, Parquet or JSON lines"),
                 strict: bool = Query(False, description="load all or nothing"),
                 acc: Access = Depends(allowed("write")), ctx: AppContext = Depends(get_context)):
    """Validate the file, quarantine bad rows with file/row/column/reason, upsert the good ones by
    natural key; the response is the run summary with a sample of the rejected rows."""
    from starlette.concurrency import run_in_threadpool

    acc.records("ingest_upload")
    who = acc.who
    name = _safe_name(file.filename)
    folder = ctx.config.runs_dir / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    size = 0
    with path.open("wb") as out:
        while chunk := await file.read(CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                out.close()
                path.unlink(missing_ok=True)
                raise Problem(413, f"uploads are limited to {MAX_UPLOAD_BYTES >> 20} MiB; use `tenure ingest`")
            out.write(chunk)
    return await run_in_threadpool(_ingest, request, ctx, who, entity, path, strict)


def _ingest(request: Request, ctx: AppContext, who: Principal, entity: str, path, strict: bool) -> dict:
    from tenure.ingest.pipeline import ingest_file

    try:
        with ctx.writing() as wh:
            result = ingest_file(wh, ctx.config, entity, path, source="upload", strict=strict)
    except (ValueError, OSError) as err:  # unreadable content (e.g. not really CSV)
        raise Problem(422, f"could not read {path.name}: {err}", kind="invalid-input") from None
    finally:
        ctx.changed()
    summary = result.to_dict()
    with ctx.db() as session:
        audit.record(session, who.username, "ingest", entity, summary["run_id"], None,
                     {k: summary[k] for k in ("file", "status", "rows_read", "inserted", "updated", "rejected")},
                     ip=client_ip(request))
    return {**summary, "rejected_rows": _rejected(ctx, summary["run_id"]) if summary["rejected"] else []}


@router.get("/runs", response_model=Paginated[IngestRunOut], summary="Ingest runs, newest first")
def runs(entity: Entity | None = None,
         status: Literal["running", "loaded", "partial", "rejected", "failed"] | None = None,
         page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500),
         acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    acc.records("ingest_log")
    items, total = ingest_runs.runs_page(ctx.config, page_size, (page - 1) * page_size, entity, status)
    return paginated([{k: r[k] for k in RUN_FIELDS} for r in items], total, page, page_size)


@router.get("/runs/{run_id}", response_model=IngestRunDetail, responses=problem_responses(404))
def run(run_id: str = Path(max_length=64), acc: Access = Depends(allowed("read")),
        ctx: AppContext = Depends(get_context)):
    """One run with a sample of its quarantined rows (file, row, column, value, reason)."""
    acc.records("ingest_log")
    r = ingest_runs.get_run(ctx.config, run_id)
    if r is None:
        raise Problem(404, f"no ingest run {run_id!r}")
    item = {k: r[k] for k in RUN_FIELDS}
    return {**item, "rejected_rows": _rejected(ctx, run_id) if item["rejected"] else []}
