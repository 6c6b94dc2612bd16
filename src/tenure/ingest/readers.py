"""Readers: CSV (any common dialect, UTF-8 with or without BOM), Parquet (a file or a folder of
part files) and JSON lines, each optionally gzip-compressed. They stream Arrow record batches
in file order with a `__row` column (1-based data row number, header excluded) and an `__error`
column (why a row could not be read, else null), so memory is bounded and every rejected row can
be named by its row number.

The files of a folder are combined by column name, never by position: every file must have the
same set of columns (in any order); a file that differs is a file-level error naming it.

CSV and JSON values are read as text so that validation sees exactly what the file said;
Parquet keeps its types (validation casts them), except a column whose type differs between the
files of a folder, which is read as text in all of them.

Rows that cannot be read are not fatal: a CSV row with more or fewer values than the header, or
a JSON line that is not a flat JSON object, becomes a row whose `__error` says why; validation
quarantines it under reason `bad_row` with its row number, and the other rows load.

Gzip input is decompressed through a cap (`ingest.max_unzipped_mb`, `ingest.max_unzip_ratio`), so
a small file that expands without bound (a "gzip bomb") is stopped with a clear error."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from tenure.errors import InputError

ROW = "__row"
ERROR = "__error"

# Defaults when the caller passes no settings (the config's ingest section overrides them).
MAX_UNZIPPED_MB = 20_480
MAX_UNZIP_RATIO = 200
RATIO_FLOOR_BYTES = 64 << 20  # the ratio cap applies once this much has been decompressed
JSON_BLOCK_BYTES = 16 << 20
TEXT_KEPT = 2000  # characters of an unreadable row kept in its quarantine message


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


@dataclass(frozen=True)
class Limits:
    """Caps on decompression: total size and ratio (decompressed / compressed bytes)."""

    max_unzipped_bytes: int = MAX_UNZIPPED_MB << 20
    max_ratio: float = MAX_UNZIP_RATIO
    ratio_floor_bytes: int = RATIO_FLOOR_BYTES

    @classmethod
    def of(cls, settings: Any) -> Limits:
        """From the config's ingest section (or anything with the same attributes), else defaults."""
        if settings is None:
            return cls()
        if isinstance(settings, Limits):
            return settings
        mb = getattr(settings, "max_unzipped_mb", MAX_UNZIPPED_MB)
        ratio = getattr(settings, "max_unzip_ratio", MAX_UNZIP_RATIO)
        return cls(int(mb * (1 << 20)), float(ratio), min(RATIO_FLOOR_BYTES, int(mb * (1 << 20))))


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
        if compressed:
            raise InputError(f"{path}: Parquet is compressed inside the file; do not gzip it (remove the .gz)")
    elif base.endswith((".jsonl", ".ndjson", ".json")):
        fmt = "jsonl"
    else:
        raise InputError(f"{path}: unknown file type (expected .csv, .tsv, .parquet, .jsonl/.ndjson, optionally .gz)")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (not even a header)")
    return Source(path, fmt, [path], compressed)


# ---------------------------------------------------------------------------------------------
# bounded decompression


class _CappedGunzip(io.RawIOBase):
    """A gzip file read through a cap on the decompressed size and the compression ratio."""

    def __init__(self, path: Path, limits: Limits):
        self.path = path
        self.limits = limits
        self.compressed = max(path.stat().st_size, 1)
        self.raw = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.gz = gzip.GzipFile(fileobj=self.raw, mode="rb")
        self.out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        try:
            data = self.gz.read(len(b))
        except (OSError, EOFError, zlib.error) as err:
            raise InputError(f"{self.path}: not a readable gzip file ({err})") from None
        n = len(data)
        b[:n] = data
        self.out += n
        lim = self.limits
        if self.out > lim.max_unzipped_bytes:
            raise InputError(
                f"{self.path}: decompresses to more than {lim.max_unzipped_bytes >> 20} MB "
                f"(setting ingest.max_unzipped_mb); nothing was loaded. Split the file or raise the limit")
        if self.out > lim.ratio_floor_bytes and self.out > lim.max_ratio * self.compressed:
            raise InputError(
                f"{self.path}: expands more than {lim.max_ratio:g} times when decompressed "
                f"(setting ingest.max_unzip_ratio), which looks like a gzip bomb; nothing was loaded")
        return n

    def close(self) -> None:
        try:
            self.gz.close()
            self.raw.close()
        finally:
            super().close()


def _open_binary(path: Path, limits: Limits) -> io.BufferedReader | Any:
    if path.name.lower().endswith(".gz"):
        return io.BufferedReader(_CappedGunzip(path, limits), buffer_size=1 << 20)
    return open(path, "rb")  # noqa: SIM115 - the caller closes it


def _open_text_head(path: Path, nbytes: int = 65536) -> str:
    with _open_binary(path, Limits()) as f:
        head = f.read(nbytes)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: the file is UTF-16 text; save it as UTF-8")
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start > len(head) - 4:  # a multi-byte character cut by the sample
            return head[: err.start].decode("utf-8")
        raise InputError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason}); save the file as UTF-8") from None


# ---------------------------------------------------------------------------------------------
# CSV


def sniff_delimiter(path: Path) -> str:
    """The delimiter of a CSV file: comma, semicolon, tab or pipe, from its first lines."""
    sample = _open_text_head(path)
    lines = sample.splitlines()
    if not lines or not sample.strip():
        raise InputError(f"{path}: the file is empty (not even a header)")
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0]
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)  # type: ignore[arg-type]
        return best if counts[best] else ","


def _csv_header(path: Path) -> tuple[str, list[str]]:
    delimiter = sniff_delimiter(path)
    try:
        header = next(csv.reader(io.StringIO(_open_text_head(path), newline=""), delimiter=delimiter))
    except (StopIteration, csv.Error) as err:
        raise InputError(f"{path}: cannot read the header row ({err})") from None
    names = [h.strip() for h in header]
    return delimiter, check_header(path, names)


def check_header(path: Path | str, names: list[str]) -> list[str]:
    """Column names must be non-empty, unique and on one line."""
    for i, n in enumerate(names, 1):
        if "\n" in n or "\r" in n:
            raise InputError(f"{path}: header column {i} ({n[:40]!r}) holds a line break; "
                             "column names must be on the first line")
        if not n:
            raise InputError(f"{path}: header column {i} has no name (a stray delimiter at the end of the "
                             "header?); name every column")
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"{path}: duplicate column names in the header: {', '.join(dupes)}")
    return names


def _row_numbers(start: int, n: int, skipped: list[int]) -> np.ndarray:
    """The data row numbers of n rows read from `start` on, leaving out rows that were skipped."""
    if not skipped:
        return np.arange(start, start + n, dtype=np.int64)
    cand = np.arange(start, start + n + len(skipped), dtype=np.int64)
    return cand[~np.isin(cand, np.asarray(skipped, dtype=np.int64))][:n]


def _error_batch(names: list[str], rows: list[int], errors: list[str]) -> pa.RecordBatch:
    n = len(rows)
    cols = [pa.nulls(n, pa.string()) for _ in names]
    return pa.RecordBatch.from_arrays([*cols, pa.array(errors, pa.string()), pa.array(rows, pa.int64())],
                                      names=[*names, ERROR, ROW])


def _csv_batches(path: Path, limits: Limits, block_bytes: int = 1 << 24) -> Iterator[pa.RecordBatch]:
    delimiter, names = _csv_header(path)
    bad: list[tuple[int, str]] = []  # (data row, message) of rows the parser skipped

    def invalid(row: Any) -> str:
        number = (row.number - 1) if row.number is not None else None
        if number is None:
            return "error"
        text = row.text if len(row.text) <= TEXT_KEPT else row.text[:TEXT_KEPT - 3] + "..."
        lines = row.text.count("\n") + 1
        why = (f"an unclosed quote? the row runs over {lines} lines" if lines > 1
               else "a stray delimiter or an unclosed quote?")
        bad.append((number, f"the row has {row.actual_columns} values but the header has "
                            f"{row.expected_columns} columns ({why}): {text}"))
        return "skip"

    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False
    )
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=invalid)
    read = pacsv.ReadOptions(block_size=block_bytes, column_names=names, skip_rows=1, use_threads=False)
    next_row = 1
    done = 0
    with _open_binary(path, limits) as stream:
        try:
            reader = pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                skipped = [r for r, _ in bad[done:]]
                rows = _row_numbers(next_row, batch.num_rows, skipped)
                # rows skipped before the last row of this batch are reported now
                upto = int(rows[-1])
                now = [(r, m) for r, m in bad[done:] if r <= upto]
                done += len(now)
                next_row = upto + 1
                yield pa.RecordBatch.from_arrays(
                    [*batch.columns, pa.nulls(batch.num_rows, pa.string()), pa.array(rows)],
                    names=[*names, ERROR, ROW])
                if now:
                    yield _error_batch(names, [r for r, _ in now], [m for _, m in now])
        except pa.ArrowInvalid as err:
            msg = str(err)
            if "UTF8" in msg or "UTF-8" in msg:
                raise InputError(f"{path}: not UTF-8 text after data row {next_row - 1}; "
                                 "save the file as UTF-8") from None
            raise InputError(f"{path}: cannot parse as CSV after data row {next_row - 1}: {msg}") from None
    if bad[done:]:
        yield _error_batch(names, [r for r, _ in bad[done:]], [m for _, m in bad[done:]])


# ---------------------------------------------------------------------------------------------
# JSON lines


def _first_line(path: Path, limit: int = JSON_BLOCK_BYTES) -> bytes | None:
    """The first non-blank line (at most `limit` bytes), read whole however long it is."""
    with _open_binary(path, Limits()) as f:
        while True:
            line = f.readline(limit)
            if not line:
                return None
            if line.strip():
                return line


def _jsonl_header(path: Path) -> list[str]:
    _open_text_head(path)  # encoding checks (UTF-16, not UTF-8) with their clear messages
    raw = _first_line(path)
    if raw is None:
        raise InputError(f"{path}: the file is empty (no JSON lines)")
    first = raw.decode("utf-8", "replace").lstrip("\ufeff")
    try:
        obj = json.loads(first)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: line 1 is not JSON ({err.msg}); the first line must be a JSON object "
                         "naming the columns") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path}: line 1 is not a JSON object; each line must be one flat object")
    return check_header(path, [str(k) for k in obj])


def _line_blocks(stream: Any, block_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(first line number, bytes of whole lines) in blocks of about block_bytes."""
    line = 1
    rest = b""
    while True:
        chunk = stream.read(block_bytes)
        if not chunk:
            break
        data = rest + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        block, rest = data[: cut + 1], data[cut + 1:]
        yield line, block
        line += block.count(b"\n")
    if rest.strip():
        yield line, rest + b"\n"


_NOT_BLANK = np.ones(256, dtype=bool)
_NOT_BLANK[[9, 10, 13, 32]] = False  # tab, newline, CR, space


def _spans(block: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end offsets and line numbers (0-based within the block) of the non-blank lines
    of a block of whole lines (it ends with a newline). Memory: a few bytes per byte of block."""
    buf = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    if not len(ends):
        return ends, ends, ends
    starts = np.concatenate([np.zeros(1, dtype=ends.dtype), ends[:-1] + 1])
    # a line is blank when it holds only spaces, tabs and CR. Most lines start with another byte;
    # only lines starting with a blank one are scanned whole (any other byte in [start, next start))
    filled = _NOT_BLANK[buf[starts]]
    if not filled.all():
        other = (buf > 32) | ((buf < 32) & (buf != 9) & (buf != 10) & (buf != 13))
        filled |= np.logical_or.reduceat(other, starts)
    idx = np.flatnonzero(filled)
    return starts[idx], ends[idx], idx


def _parse_json(data: bytes, parallel: bool = False) -> pa.Table:
    """Parse whole lines; `parallel` splits them into 1 MB blocks parsed on Arrow's threads (a
    line longer than a block, or types that differ between blocks, then fail: parse whole)."""
    size = (1 << 20) if parallel else max(len(data), 1 << 20)
    return pajson.read_json(io.BytesIO(data), read_options=pajson.ReadOptions(use_threads=True, block_size=size))


def _parse_lines(block: bytes, starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, int, pa.Table | str]]:
    """Parse lines [lo, hi) of a block; a part that fails is halved until each bad line is alone.
    Returns (lo, hi, table or error message) parts in order."""
    out: list[tuple[int, int, pa.Table | str]] = []
    todo = [(0, len(starts))]
    while todo:
        lo, hi = todo.pop()
        data = block[int(starts[lo]): int(ends[hi - 1]) + 1]
        try:
            t = _parse_json(data)
            if t.num_rows != hi - lo:
                raise pa.ArrowInvalid(f"{t.num_rows} objects on {hi - lo} lines")
            out.append((lo, hi, t))
        except pa.ArrowInvalid as err:
            if hi - lo == 1:
                out.append((lo, hi, str(err).split("\n")[0]))
            else:
                mid = (lo + hi) // 2
                todo.append((mid, hi))
                todo.append((lo, mid))
    out.sort(key=lambda p: p[0])
    return out


def _conform_json(path: Path, t: pa.Table, names: list[str]) -> tuple[list[pa.Array], pa.Array]:
    """The table's columns as text in header order, and an error per row (null when fine):
    a key not in the header or a nested value makes the row unreadable."""
    n = t.num_rows
    err = pa.nulls(n, pa.string())
    cols = []
    for name in names:
        if name not in t.column_names:
            cols.append(pa.nulls(n, pa.string()))
            continue
        col = t.column(name).combine_chunks() if isinstance(t.column(name), pa.ChunkedArray) else t.column(name)
        if pa.types.is_nested(col.type):
            nested = pc.is_valid(col)
            err = pc.if_else(pc.and_(nested, pc.is_null(err)),
                                     pa.scalar(f"{name} holds a nested JSON value; canonical rows are flat "
                                               "(use a connector --format)"), err)
            cols.append(pa.nulls(n, pa.string()))
        elif pa.types.is_null(col.type):
            cols.append(pa.nulls(n, pa.string()))
        else:
            cols.append(col.cast(pa.string()))
    for extra in (c for c in t.column_names if c not in names):
        has = pc.is_valid(t.column(extra).combine_chunks())
        err = pc.if_else(pc.and_(has, pc.is_null(err)),
                                 pa.scalar(f"key {extra!r} is not a column of the first line; every line must "
                                           "have the first line's keys"), err)
    return cols, err


def _jsonl_batches(path: Path, limits: Limits, block_bytes: int = JSON_BLOCK_BYTES) -> Iterator[pa.RecordBatch]:
    """JSON lines in blocks of whole lines: memory is bounded by the block size, not the file.
    A line that is not a JSON object is kept as a row with its error; its neighbours load."""
    names = _jsonl_header(path)
    with _open_binary(path, limits) as stream:
        for line0, block in _line_blocks(stream, block_bytes):
            starts, ends, idx = _spans(block)
            if not len(starts):
                continue
            lines = (line0 + idx).astype(np.int64)
            try:
                try:
                    t = _parse_json(block, parallel=True)
                except pa.ArrowInvalid:
                    t = _parse_json(block)
                parts = [(0, len(starts), t)] if t.num_rows == len(starts) else _parse_lines(block, starts, ends)
            except pa.ArrowInvalid:
                parts = _parse_lines(block, starts, ends)
            for lo, hi, part in parts:
                rows = pa.array(lines[lo:hi])
                if isinstance(part, str):
                    text = block[int(starts[lo]): int(ends[lo])].decode("utf-8", "replace").strip()
                    text = text if len(text) <= TEXT_KEPT else text[:TEXT_KEPT - 3] + "..."
                    yield _error_batch(names, [int(lines[lo])], [f"the line is not a flat JSON object ({part}): {text}"])
                    continue
                cols, err = _conform_json(path, part, names)
                yield pa.RecordBatch.from_arrays([*cols, err, rows], names=[*names, ERROR, ROW])


# ---------------------------------------------------------------------------------------------
# Parquet


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except Exception as err:  # ArrowInvalid, OSError: not Parquet, truncated, ...
        raise InputError(f"{path}: not a readable Parquet file ({str(err).splitlines()[0]})") from None


def _parquet_schema(path: Path) -> pa.Schema:
    schema = _parquet_file(path).schema_arrow
    check_header(path, list(schema.names))
    for field in schema:
        if pa.types.is_nested(field.type):
            raise InputError(f"{path}: column {field.name} is nested ({field.type}); canonical columns are flat")
    return schema


def _parquet_batches(path: Path, names: list[str], text: set[str], chunk_rows: int) -> Iterator[pa.RecordBatch]:
    pf = _parquet_file(path)
    row = 1
    try:
        for batch in pf.iter_batches(batch_size=chunk_rows, columns=names):
            cols = [batch.column(n).cast(pa.string()) if n in text else batch.column(n) for n in names]
            yield pa.RecordBatch.from_arrays(
                [*cols, pa.nulls(batch.num_rows, pa.string()),
                 pa.array(np.arange(row, row + batch.num_rows, dtype=np.int64))],
                names=[*names, ERROR, ROW])
            row += batch.num_rows
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(f"{path}: cannot read Parquet data after row {row - 1} "
                         f"({str(err).splitlines()[0]})") from None


# ---------------------------------------------------------------------------------------------
# the public API


def _file_columns(source: Source, f: Path) -> list[str]:
    if source.fmt == "parquet":
        return list(_parquet_schema(f).names)
    if source.fmt == "csv":
        return _csv_header(f)[1]
    return _jsonl_header(f)


def column_names(source: Source) -> list[str]:
    """The columns of the source (its first file), checking that every other file of a folder
    has the same set of columns, in any order; a file that differs is rejected, naming it."""
    first = source.files[0]
    names = _file_columns(source, first)
    for f in source.files[1:]:
        other = _file_columns(source, f)
        if set(other) != set(names):
            missing = [n for n in names if n not in other]
            extra = [n for n in other if n not in names]
            detail = "; ".join(p for p in (f"missing {', '.join(missing)}" if missing else "",
                                           f"extra {', '.join(extra)}" if extra else "") if p)
            raise InputError(f"{f}: its columns differ from those of {first.name} ({detail}); every file of "
                             "a folder must have the same columns (in any order). Nothing was loaded")
    return names


def _text_columns(source: Source, names: list[str]) -> set[str]:
    """Parquet columns whose type differs between the files of a folder: read as text."""
    if source.fmt != "parquet" or len(source.files) < 2:
        return set()
    schemas = [_parquet_schema(f) for f in source.files]
    return {n for n in names if len({str(s.field(n).type) for s in schemas}) > 1}


def iter_batches(source: Source, chunk_rows: int = 2_000_000, limits: Any = None
                 ) -> Iterator[tuple[Path, pa.RecordBatch]]:
    """(file, batch) in file order; every batch has the columns of `column_names(source)` in that
    order (matched by name in each file), then `__error` and `__row`. Row numbers restart at 1
    for each file. `limits`: the config's ingest section (gzip caps), else the defaults."""
    lim = Limits.of(limits)
    names = column_names(source)
    text = _text_columns(source, names)
    for f in source.files:
        if source.fmt == "csv":
            own = _csv_header(f)[1]
            it = (b.select([*names, ERROR, ROW]) if own != names else b for b in _csv_batches(f, lim))
        elif source.fmt == "parquet":
            it = _parquet_batches(f, names, text, chunk_rows)
        else:
            own = _jsonl_header(f)
            it = (b.select([*names, ERROR, ROW]) if own != names else b for b in _jsonl_batches(f, lim))
        for batch in it:
            if batch.num_rows == 0:
                continue
            for off in range(0, batch.num_rows, chunk_rows):  # re-chunk to bounded size
                yield f, batch.slice(off, chunk_rows)


def count_rows(source: Source) -> int | None:
    """Row count when cheap to know (Parquet metadata), for progress bars."""
    if source.fmt == "parquet":
        return sum(_parquet_file(f).metadata.num_rows for f in source.files)
    return None
