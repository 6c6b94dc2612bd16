"""Readers: CSV (any common dialect, UTF-8 with or without BOM), Parquet (a file or a folder of
part files) and JSON lines, each optionally gzip-compressed. They stream Arrow record batches
in file order with a `__row` column (1-based data row number, header excluded), so memory is
bounded and every rejected row can be named by its row number.

CSV and JSON values are read as text so that validation sees exactly what the file said;
Parquet keeps its types (validation casts them)."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from tenure.errors import InputError

ROW = "__row"


@dataclass
class Source:
    """A file (or folder of part files) to read, with its detected format."""

    path: Path
    fmt: str  # csv | parquet | jsonl
    files: list[Path]
    compressed: bool

    @property
    def label(self) -> str:
        return str(self.path)


def detect(path: str | Path) -> Source:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
        if not files:
            raise InputError(f"{path}: the folder holds no data files")
        kinds = {detect(f).fmt for f in files}
        if len(kinds) != 1:
            raise InputError(f"{path}: the folder mixes formats ({', '.join(sorted(kinds))})")
        return Source(path, kinds.pop(), files, any(f.suffix == ".gz" for f in files))
    name = path.name.lower()
    compressed = name.endswith(".gz")
    base = name[:-3] if compressed else name
    if base.endswith((".csv", ".tsv", ".txt")):
        fmt = "csv"
    elif base.endswith((".parquet", ".pq")):
        fmt = "parquet"
    elif base.endswith((".jsonl", ".ndjson", ".json")):
        fmt = "jsonl"
    else:
        raise InputError(f"{path}: unknown file type (expected .csv, .tsv, .parquet, .jsonl/.ndjson, optionally .gz)")
    return Source(path, fmt, [path], compressed)


def _open_text_head(path: Path, nbytes: int = 65536) -> str:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:  # type: ignore[operator]
        head = f.read(nbytes)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start > len(head) - 4:  # a multi-byte character cut by the sample
            return head[: err.start].decode("utf-8")
        raise InputError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason})") from None


def sniff_delimiter(path: Path) -> str:
    """The delimiter of a CSV file: comma, semicolon, tab or pipe, from its first lines."""
    sample = _open_text_head(path)
    lines = sample.splitlines()
    if not lines:
        raise InputError(f"{path}: the file is empty")
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0]
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)  # type: ignore[arg-type]
        return best if counts[best] else ","


def _with_rows(batch: pa.RecordBatch, start: int) -> pa.RecordBatch:
    rows = pa.array(np.arange(start, start + batch.num_rows, dtype=np.int64))
    return pa.RecordBatch.from_arrays([*batch.columns, rows], names=[*batch.schema.names, ROW])


def _csv_batches(path: Path, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    delimiter = sniff_delimiter(path)
    header = next(csv.reader(io.StringIO(_open_text_head(path).splitlines()[0]), delimiter=delimiter))
    names = [h.strip() for h in header]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"{path}: duplicate column names in the header: {', '.join(dupes)}")
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False
    )
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    read = pacsv.ReadOptions(block_size=1 << 24, column_names=names, skip_rows=1)
    try:
        reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        for batch in reader:
            yield batch
    except pa.ArrowInvalid as err:
        raise InputError(f"{path}: cannot parse as CSV: {err}") from None


def _jsonl_batches(path: Path) -> Iterator[pa.RecordBatch]:
    try:
        table = pajson.read_json(path, read_options=pajson.ReadOptions(block_size=1 << 24))
    except pa.ArrowInvalid as err:
        raise InputError(f"{path}: cannot parse as JSON lines: {err}") from None
    cols = []
    for col in table.columns:
        if pa.types.is_nested(col.type):
            raise InputError(f"{path}: nested JSON values are not canonical rows (use a connector --format)")
        cols.append(col.cast(pa.string()))
    yield from pa.table(cols, names=table.column_names).to_batches()


def _parquet_batches(path: Path, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    try:
        pf = pq.ParquetFile(path)
    except Exception as err:
        raise InputError(f"{path}: not a readable Parquet file: {err}") from None
    yield from pf.iter_batches(batch_size=chunk_rows)


def iter_batches(source: Source, chunk_rows: int = 2_000_000) -> Iterator[tuple[Path, pa.RecordBatch]]:
    """(file, batch with __row) in file order; row numbers restart at 1 for each file."""
    for f in source.files:
        row = 1
        if source.fmt == "csv":
            it = _csv_batches(f, chunk_rows)
        elif source.fmt == "parquet":
            it = _parquet_batches(f, chunk_rows)
        else:
            it = _jsonl_batches(f)
        for batch in it:
            if batch.num_rows == 0:
                continue
            # re-chunk to bounded size
            for off in range(0, batch.num_rows, chunk_rows):
                part = batch.slice(off, chunk_rows)
                yield f, _with_rows(part, row)
                row += part.num_rows


def column_names(source: Source) -> list[str]:
    """The columns of the first file, without reading the data."""
    f = source.files[0]
    if source.fmt == "parquet":
        return list(pq.ParquetFile(f).schema_arrow.names)
    if source.fmt == "csv":
        delimiter = sniff_delimiter(f)
        return [h.strip() for h in next(csv.reader(io.StringIO(_open_text_head(f).splitlines()[0]), delimiter=delimiter))]
    first = _open_text_head(f).splitlines()
    import json

    try:
        return list(json.loads(first[0]).keys()) if first else []
    except (json.JSONDecodeError, AttributeError):
        raise InputError(f"{f}: line 1 is not a JSON object") from None


def count_rows(source: Source) -> int | None:
    """Row count when cheap to know (Parquet metadata), for progress bars."""
    if source.fmt == "parquet":
        return sum(pq.ParquetFile(f).metadata.num_rows for f in source.files)
    return None
