"""Ingest over HTTP: an uploaded file goes through the same validation, quarantine and upsert as
`tenure ingest` (tenure.ingest.pipeline.ingest_file), leaving the same run report; and the log of
runs with a sample of each run's rejected rows.

Raw rows can belong to any account, so uploading and reading runs is for principals whose book
of business is every account (admin, executive; viewers may read runs, not upload)."""

from __future__ import annotations

import re
import uuid
from pathlib import PurePosixPath
from typing import Literal

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile

from tenure.http.auth import Access, Principal, allowed, client_ip
from tenure.http.context import AppContext, get_context
from tenure.http.problems import Problem, redact_paths, server_roots
from tenure.api.routers.common import paginated, plain_rows
from tenure.api.schemas import COMMON_PROBLEMS, IngestRunDetail, IngestRunOut, Paginated, problem_responses
from tenure.schema.facts import INGESTIBLE
from tenure.state import audit
from tenure.state import runs as ingest_runs

router = APIRouter(prefix="/ingest", tags=["ingest"], responses=COMMON_PROBLEMS)

Entity = Literal[INGESTIBLE]  # type: ignore[valid-type]
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


def _user_name(filename: str | None) -> str:
    """The file name the user gave, without any folders."""
    return (filename or "").replace("\\", "/").rsplit("/", 1)[-1][-200:] or "upload"


def _file_only(path: str | None) -> str:
    """A stored file path cut to its name: responses never show where the server keeps files."""
    return PurePosixPath((path or "").replace("\\", "/")).name


def _rejected(ctx: AppContext, run_id: str, limit: int = REJECTED_SAMPLE, shown: str | None = None) -> list[dict]:
    wh = ctx.warehouse()
    qt = wh.table("quarantine")
    expr = qt.filter(qt.run_id == run_id).select("file", "row_number", "column", "value", "reason", "message") \
        .order_by([qt.row_number, qt.column]).limit(limit)
    rows = plain_rows(wh.to_pyarrow(expr).to_pylist())
    for row in rows:
        row["file"] = shown or _file_only(row["file"])
    return rows


def _public_run(request: Request, run: dict) -> dict:
    roots = server_roots(request)
    return {**run, "file": _file_only(run.get("file")),
            **({"error": redact_paths(run["error"], roots)} if run.get("error") else {}),
            **({"warnings": [redact_paths(w, roots) for w in run["warnings"]]} if run.get("warnings") else {})}


@router.post("/{entity}", response_model=IngestRunDetail, status_code=201,
             responses=problem_responses(413), summary="Upload a file to ingest")
async def upload(request: Request, entity: Entity, file: UploadFile = File(description="CSV, Parquet or JSON lines"),
                 strict: bool = Query(False, description="load all or nothing"),
                 acc: Access = Depends(allowed("write")), ctx: AppContext = Depends(get_context)):
    """Validate the file, quarantine bad rows with file/row/column/reason, upsert the good ones by
    natural key; the response is the run summary with a sample of the rejected rows."""
    from starlette.concurrency import run_in_threadpool

    from tenure.ingest.retention import prune_runs

    acc.records("ingest_upload")
    who = acc.who
    name = _safe_name(file.filename)
    await run_in_threadpool(prune_runs, ctx.config)  # uploads and run folders past ingest.retention_days
    max_bytes = int(ctx.config.web.max_upload_mb * (1 << 20))
    folder = ctx.config.runs_dir / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    size = 0
    with path.open("wb") as out:
        while chunk := await file.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                out.close()
                path.unlink(missing_ok=True)
                raise Problem(413, f"uploads are limited to {ctx.config.web.max_upload_mb:g} MB "
                                   "(web.max_upload_mb); use `tenure ingest`")
            out.write(chunk)
    return await run_in_threadpool(_ingest, request, ctx, who, entity, path, strict, _user_name(file.filename))


def _ingest(request: Request, ctx: AppContext, who: Principal, entity: str, path, strict: bool,
            shown: str) -> dict:
    from tenure.ingest.pipeline import ingest_file

    try:
        with ctx.writing() as wh:
            result = ingest_file(wh, ctx.config, entity, path, source="upload", strict=strict)
    except (ValueError, OSError) as err:  # unreadable content (e.g. not really CSV)
        text = str(err).replace(str(path), shown).replace(path.name, shown)
        raise Problem(422, f"could not read {shown}: {text}", kind="invalid-input") from None
    except Exception as err:  # a TenureError names the file: the user's name, not the server's path
        if hasattr(err, "args") and err.args and isinstance(err.args[0], str) and str(path) in err.args[0]:
            err.args = (err.args[0].replace(str(path), shown), *err.args[1:])
        raise
    finally:
        ctx.changed()
    summary = {**_public_run(request, result.to_dict()), "file": shown}
    with ctx.db() as session:
        audit.record(session, who.username, "ingest", entity, summary["run_id"], None,
                     {k: summary[k] for k in ("file", "status", "rows_read", "inserted", "updated", "rejected")},
                     ip=client_ip(request))
    return {**summary, "rejected_rows": _rejected(ctx, summary["run_id"], shown=shown) if summary["rejected"] else []}


@router.get("/runs", response_model=Paginated[IngestRunOut], summary="Ingest runs, newest first")
def runs(request: Request, entity: Entity | None = None,
         status: Literal["running", "loaded", "partial", "rejected", "failed"] | None = None,
         page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500),
         acc: Access = Depends(allowed("read")), ctx: AppContext = Depends(get_context)):
    acc.records("ingest_log")
    items, total = ingest_runs.runs_page(ctx.config, page_size, (page - 1) * page_size, entity, status)
    return paginated([_public_run(request, {k: r[k] for k in RUN_FIELDS}) for r in items], total, page, page_size)


@router.get("/runs/{run_id}", response_model=IngestRunDetail, responses=problem_responses(404))
def run(request: Request, run_id: str = Path(max_length=64), acc: Access = Depends(allowed("read")),
        ctx: AppContext = Depends(get_context)):
    """One run with a sample of its quarantined rows (file, row, column, value, reason)."""
    acc.records("ingest_log")
    r = ingest_runs.get_run(ctx.config, run_id)
    if r is None:
        raise Problem(404, f"no ingest run {run_id!r}")
    item = _public_run(request, {k: r[k] for k in RUN_FIELDS})
    return {**item, "rejected_rows": _rejected(ctx, run_id) if item["rejected"] else []}
