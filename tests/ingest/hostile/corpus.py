"""The hostile corpus: files a careless or hostile sender might hand to `tenure ingest`, each with
what must happen. Small files are written from the bytes here; large ones (sizes, gzip bombs)
are generated at test time by a function of the target folder.

Every case expects one of:
  Err(pattern)           a file-level InputError whose message names the file and matches the
                         pattern; nothing of the file is loaded;
  Rows(loaded, rejected) the rows with keys in `loaded` are stored with exactly the values the
                         file said (`values`: key -> {column: value}); the rejected rows are
                         quarantined as (row, column, reason), each naming the file.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

LINES = "line_id,account_id,product,start_date,end_date,arr,currency,quantity"


@dataclass(frozen=True)
class Err:
    pattern: str


@dataclass(frozen=True)
class Rows:
    loaded: frozenset[str] | int  # the keys stored, or (for big files) how many rows
    rejected: frozenset[tuple[int, str, str]] = frozenset()
    values: dict[str, dict] = field(default_factory=dict)
    warning: str = ""  # text one of the run's warnings must hold (what was not loaded as sent)


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    entity: str
    files: dict[str, bytes] | Callable[[Path], Path]  # name -> content (a folder when several), or a writer
    expect: Err | Rows
    config: dict = field(default_factory=dict)


def rows(loaded=(), rejected=(), values=None, warning: str = "") -> Rows:
    return Rows(loaded if isinstance(loaded, int) else frozenset(loaded), frozenset(rejected), values or {}, warning)


def _csv(header: str, *lines: str, enc: str = "utf-8", nl: str = "\n") -> bytes:
    return (nl.join([header, *lines]) + nl).encode(enc)


def _lines(*lines: str, **kw) -> bytes:
    return _csv(LINES, *lines, **kw)


def _parquet(data: dict, schema: pa.Schema | None = None) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table(data, schema=schema), buf)
    return buf.getvalue()


def _line_row(i: int, arr: str = "100", **over) -> str:
    d = {"line_id": f"L{i}", "account_id": "A1", "product": "core", "start_date": "2024-01-01", "end_date": "",
         "arr": arr, "currency": "USD", "quantity": "1"} | over
    return ",".join(d[c] for c in LINES.split(","))


GOOD = _line_row(1)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9)


# --- generated (large) files ---------------------------------------------------------------------


def _bomb(ratio_only: bool) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "bomb.csv.gz"
        with gzip.open(path, "wb", compresslevel=9) as f:
            f.write(f"{LINES}\n".encode())
            block = b"L1,A1,core,2024-01-01,,100,USD,1\n" * 100_000  # 3.4 MB
            for _ in range(24 if ratio_only else 1):  # past the 64 MB after which the ratio counts
                f.write(block)
            if not ratio_only:
                f.write(b"L2,A1,core,2024-01-01,,100,USD," + b"7" * (12 << 20) + b"\n")
        return path
    return write


def _jsonl_bomb(folder: Path) -> Path:
    path = folder / "bomb.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write((_json(1) + "\n").encode() * 40_000)  # ~5 MB of the same line
    return path


def _many_rows(folder: Path) -> Path:
    n = 150_000
    path = folder / "many.csv"
    with open(path, "w") as f:
        f.write(LINES + "\n")
        f.writelines(f"M{i},A{i % 3 + 1},core,2024-01-01,,{i % 1000},USD,1\n" for i in range(n))
        f.write("M-bad,A1,core,2024-01-01,,-1,USD,1\n")
    return path


def _long_value(folder: Path) -> Path:
    path = folder / "long.csv"
    path.write_text(_lines(_line_row(1, product="p" * (3 << 20)), _line_row(2)).decode())
    return path


def _wide(folder: Path) -> Path:
    path = folder / "wide.csv"
    extra = ",".join(f"x{i}" for i in range(2000))
    path.write_text(f"{LINES},{extra}\n{GOOD}," + ",".join("v" for _ in range(2000)) + "\n")
    return path


def _latin1_late(folder: Path) -> Path:
    path = folder / "late.csv"
    body = [_line_row(i) for i in range(1, 3000)] + [_line_row(3000, product="caf\xe9")]
    path.write_bytes(_lines(*body, enc="latin-1"))
    return path


def _truncated_parquet(folder: Path) -> Path:
    data = _parquet({"line_id": ["L1"] * 1000, "account_id": ["A1"] * 1000, "arr": [1.0] * 1000})
    path = folder / "cut.parquet"
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupt_gzip(folder: Path) -> Path:
    data = _gzip(_lines(GOOD))
    path = folder / "corrupt.csv.gz"
    path.write_bytes(data[:10] + b"\x00" * 20 + data[30:])
    return path


JSON_GOOD = ('{"line_id": "L1", "account_id": "A1", "product": "core", "start_date": "2024-01-01", '
             '"end_date": null, "arr": 100, "currency": "USD"}')


def _json(i: int, **over) -> str:
    import json

    d = {"line_id": f"L{i}", "account_id": "A1", "product": "core", "start_date": "2024-01-01", "end_date": None,
         "arr": 100, "currency": "USD"} | over
    return json.dumps(d)


def _jsonl(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# --- the corpus ------------------------------------------------------------------------------------

CL = "contract_lines"
L1 = {"L1"}
CASES: list[Case] = [
    # encodings
    Case("enc-latin1-header", "encodings", CL, {"f.csv": _lines(_line_row(1, product="caf\xe9"), enc="latin-1")},
         Err(r"not UTF-8 text .*save the file as UTF-8")),
    Case("enc-latin1-late", "encodings", CL, _latin1_late, Err(r"not UTF-8 text after data row")),
    Case("enc-utf16", "encodings", CL, {"f.csv": b"\xff\xfe" + _lines(GOOD).decode().encode("utf-16-le")},
         Err(r"UTF-16 text; save it as UTF-8")),
    Case("enc-utf8-bom", "encodings", CL, {"f.csv": b"\xef\xbb\xbf" + _lines(GOOD)}, rows(L1)),
    Case("enc-crlf", "encodings", CL, {"f.csv": _lines(GOOD, _line_row(2), nl="\r\n")}, rows({"L1", "L2"})),
    Case("enc-cr-only", "encodings", CL, {"f.csv": _lines(GOOD, _line_row(2, arr="-1"), nl="\r")},
         rows(L1, {(2, "arr", "range")})),
    Case("enc-multibyte-kept", "encodings", CL, {"f.csv": _lines(_line_row(1, product="Zürich 東京 🚀"))},
         rows(L1, values={"L1": {"product": "Zürich 東京 🚀"}})),
    Case("enc-zero-width-in-header", "encodings", CL, {"f.csv": _csv(LINES.replace("arr", "arr\u200b"), GOOD)},
         Err(r"missing required column\(s\) arr")),
    Case("enc-json-invalid-utf8", "encodings", CL,
         {"f.jsonl": _jsonl(_json(1), _json(2)).replace(b'"L2"', b'"L\xff2"')},
         Err(r"not UTF-8 text \(byte 1\d\d")),
    Case("enc-nul-byte", "encodings", CL, {"f.csv": _lines(GOOD, _line_row(2, product="a\x00b"))},
         rows({"L1", "L2"}, values={"L2": {"product": "a\x00b"}})),
    # shapes
    Case("shape-empty-file", "shapes", CL, {"f.csv": b""}, Err(r"the file is empty")),
    Case("shape-only-whitespace", "shapes", CL, {"f.csv": b"\n \n\n"}, Err(r"the file is empty")),
    Case("shape-header-only", "shapes", CL, {"f.csv": _csv(LINES)}, rows()),
    Case("shape-short-row", "shapes", CL, {"f.csv": _lines(GOOD, "L2,A1,core", _line_row(3))},
         rows({"L1", "L3"}, {(2, "", "bad_row")})),
    Case("shape-long-row", "shapes", CL, {"f.csv": _lines(GOOD, _line_row(2) + ",extra", _line_row(3))},
         rows({"L1", "L3"}, {(2, "", "bad_row")})),
    Case("shape-unquoted-comma", "shapes", CL, {"f.csv": _lines(_line_row(1, arr="1,200"), _line_row(2))},
         rows({"L2"}, {(1, "", "bad_row")})),
    Case("shape-quoted-newline-value", "shapes", CL, {"f.csv": _lines('L1,A1,"core\nplus",2024-01-01,,5,USD,1',
                                                                        _line_row(2, arr="-1"))},
         rows(L1, {(2, "arr", "range")}, values={"L1": {"product": "core\nplus"}})),
    Case("shape-quoted-newline-header", "shapes", CL, {"f.csv": b'line_id,"acc\nount_id",product\nL1,A1,x\n'},
         Err(r"header column 2 .*holds a line break")),
    Case("shape-duplicate-header", "shapes", CL, {"f.csv": _csv(LINES + ",arr", GOOD + ",5")},
         Err(r"duplicate column names in the header: arr")),
    Case("shape-trailing-delimiter-header", "shapes", CL, {"f.csv": _csv(LINES + ",", GOOD + ",")},
         Err(r"header column 9 has no name")),
    Case("shape-blank-lines", "shapes", CL, {"f.csv": _lines(GOOD, "", _line_row(2), "", "")},
         rows({"L1", "L2"})),
    Case("shape-unclosed-quote", "shapes", CL, {"f.csv": _lines(GOOD, 'L2,A1,"core,2024-01-01,,5,USD,1',
                                                                 _line_row(3))},
         rows(L1, {(2, "", "bad_row")})),  # the unclosed quote swallows row 3: one bad row, its text kept
    Case("shape-tab-delimited", "shapes", CL, {"f.tsv": _csv(LINES.replace(",", "\t"), GOOD.replace(",", "\t"))},
         rows(L1, values={"L1": {"arr": 100}})),
    Case("shape-pipe-delimited", "shapes", CL, {"f.csv": _csv(LINES.replace(",", "|"), GOOD.replace(",", "|"),
                                                              _line_row(2, arr="-3").replace(",", "|"))},
         rows(L1, {(2, "arr", "range")})),
    Case("shape-json-array", "shapes", CL, {"f.json": ("[" + _json(1) + "]\n").encode()},
         Err(r"line 1 is not a JSON object")),
    Case("shape-json-nested", "shapes", CL, {"f.jsonl": _jsonl(_json(1), _json(2, product={"a": 1}))},
         rows(L1, {(2, "", "bad_row")})),
    Case("shape-json-extra-key", "shapes", CL, {"f.jsonl": _jsonl(_json(1), _json(2, surprise=1))},
         rows(L1, {(2, "", "bad_row")})),
    Case("shape-json-scalar-line", "shapes", CL, {"f.jsonl": _jsonl(_json(1), "42", _json(3))},
         rows({"L1", "L3"}, {(2, "", "bad_row")})),
    Case("shape-json-truncated-last", "shapes", CL, {"f.jsonl": _jsonl(_json(1), _json(2))[:-20]},
         rows(L1, {(2, "", "bad_row")})),
    Case("shape-json-missing-key", "shapes", CL, {"f.jsonl": _jsonl(_json(1), _json(2).replace('"arr": 100, ', ""))},
         rows(L1, {(2, "arr", "required")})),
    Case("shape-json-long-first-line", "shapes", CL, {"f.jsonl": _jsonl(_json(1, product="p" * 200_000), _json(2))},
         rows({"L1", "L2"})),
    Case("shape-json-bom", "shapes", CL, {"f.jsonl": b"\xef\xbb\xbf" + _jsonl(_json(1))}, rows(L1)),
    Case("shape-json-pretty-printed", "shapes", CL, {"f.json": (JSON_GOOD.replace(", ", ",\n  ") + "\n").encode()},
         Err(r"line 1 is not JSON")),
    # column orders
    Case("order-csv-folder", "orders", CL, {"p1.csv": _lines(GOOD), "p2.csv": _csv(
        "quantity,arr,currency,end_date,start_date,product,account_id,line_id", "9,250,USD,,2024-01-01,core,A2,L2")},
         rows({"L1", "L2"}, values={"L2": {"arr": 250, "quantity": 9}})),
    Case("order-csv-folder-delimiters", "orders", CL, {"p1.csv": _lines(GOOD), "p2.csv": _csv(
        "arr;line_id;account_id;product;start_date;end_date;currency;quantity", "300;L2;A1;core;2024-01-01;;USD;4")},
         rows({"L1", "L2"}, values={"L2": {"arr": 300, "quantity": 4}})),
    Case("order-parquet-folder", "orders", CL, {
        "p1.parquet": _parquet({"line_id": ["L1"], "account_id": ["A1"], "product": ["core"],
                                "start_date": ["2024-01-01"], "end_date": [None], "arr": [10.0], "currency": ["USD"],
                                "quantity": [1]}),
        "p2.parquet": _parquet({"quantity": [3], "arr": [20.0], "currency": ["USD"], "end_date": [None],
                                "start_date": ["2024-01-01"], "product": ["core"], "account_id": ["A1"],
                                "line_id": ["L2"]})},
         rows({"L1", "L2"}, values={"L2": {"arr": 20, "quantity": 3}})),
    Case("order-json-keys-per-line", "orders", CL, {"f.jsonl": _jsonl(
        _json(1), '{"arr": 7, "currency": "USD", "end_date": null, "start_date": "2024-01-01", "product": "core", '
                  '"account_id": "A1", "line_id": "L2"}')},
         rows({"L1", "L2"}, values={"L2": {"arr": 7}})),
    Case("order-jsonl-folder", "orders", CL, {"p1.jsonl": _jsonl(_json(1)), "p2.jsonl": _jsonl(
        '{"currency": "USD", "arr": 55, "line_id": "L2", "account_id": "A2", "product": "core", '
        '"start_date": "2024-01-01", "end_date": null}')}, rows({"L1", "L2"}, values={"L2": {"arr": 55}})),
    Case("order-folder-extra-column", "orders", CL, {"p1.csv": _lines(GOOD), "p2.csv": _csv(LINES + ",plan",
                                                                                           _line_row(2) + ",gold")},
         Err(r"p2\.csv: its columns differ .*extra plan")),
    Case("order-folder-missing-column", "orders", CL, {"p1.csv": _lines(GOOD), "p2.csv": _csv(
        LINES.replace(",quantity", ""), "L2,A1,core,2024-01-01,,5,USD")},
         Err(r"p2\.csv: its columns differ .*missing quantity")),
    Case("order-folder-mixed-formats", "orders", CL, {"p1.csv": _lines(GOOD), "p2.jsonl": _jsonl(_json(2))},
         Err(r"the folder mixes formats")),
    Case("order-header-case", "orders", CL, {"f.csv": _csv(LINES.replace("account_id", "Account_ID"), GOOD)},
         Err(r"missing required column\(s\) account_id")),
    Case("order-header-spaces", "orders", CL, {"f.csv": _csv(LINES.replace(",arr,", ", arr ,"), GOOD)}, rows(L1)),
    # types
    Case("type-thousands-separator", "types", CL, {"f.csv": _lines('L1,A1,core,2024-01-01,,"1,234.50",USD,1')},
         rows((), {(1, "arr", "bad_number")})),
    Case("type-currency-symbol", "types", CL, {"f.csv": _lines(_line_row(1, arr="$100"))},
         rows((), {(1, "arr", "bad_number")})),
    Case("type-text-nan", "types", CL, {"f.csv": _lines(_line_row(1, arr="NaN"), _line_row(2, arr="Infinity"))},
         rows((), {(1, "arr", "bad_number"), (2, "arr", "bad_number")})),
    Case("type-overflow", "types", CL, {"f.csv": _lines(_line_row(1, arr="1e400"), _line_row(2, arr="1e20"))},
         rows((), {(1, "arr", "bad_number"), (2, "arr", "bad_number")})),
    Case("type-fractional-int", "types", CL, {"f.csv": _lines(_line_row(1, quantity="2.5"), _line_row(2, quantity="3.0"))},
         rows({"L2"}, {(1, "quantity", "bad_integer")}, values={"L2": {"quantity": 3}})),
    Case("type-bad-bool", "types", CL, {"f.csv": _csv(LINES + ",auto_renew", GOOD + ",maybe")},
         rows((), {(1, "auto_renew", "bad_bool")})),
    Case("type-day-first-date", "types", CL, {"f.csv": _lines(_line_row(1, start_date="30/01/2024"))},
         rows((), {(1, "start_date", "bad_date")})),
    Case("type-impossible-day", "types", CL, {"f.csv": _lines(_line_row(1, start_date="2024-02-30"))},
         rows((), {(1, "start_date", "bad_date")})),
    Case("type-bad-currency", "types", CL, {"f.csv": _lines(_line_row(1, currency="US"), _line_row(2, currency="usd"))},
         rows({"L2"}, {(1, "currency", "bad_currency")}, values={"L2": {"currency": "USD"}})),
    Case("type-enum", "types", CL, {"f.csv": _csv(LINES + ",billing_period", GOOD + ",weekly")},
         rows((), {(1, "billing_period", "enum")})),
    Case("type-bad-timestamp", "types", "tickets", {"f.csv": _csv("ticket_id,account_id,opened_at",
                                                                   "T1,A1,yesterday", "T2,A1,2024-01-01T10:00:00+02:00")},
         rows({"T2"}, {(1, "opened_at", "bad_timestamp")})),
    Case("type-parquet-string-arr", "types", CL, {"f.parquet": _parquet({
        "line_id": ["L1", "L2"], "account_id": ["A1", "A1"], "product": ["core", "core"],
        "start_date": ["2024-01-01", "2024-01-01"], "end_date": [None, None], "arr": ["abc", "12.5"],
        "currency": ["USD", "USD"]})}, rows({"L2"}, {(1, "arr", "bad_number")}, values={"L2": {"arr": 12.5}})),
    Case("type-parquet-nan-money", "types", CL, {"f.parquet": _parquet({
        "line_id": ["L1", "L2"], "account_id": ["A1", "A1"], "product": ["core", "core"],
        "start_date": ["2024-01-01", "2024-01-01"], "end_date": [None, None], "arr": [float("nan"), float("inf")],
        "currency": ["USD", "USD"]})}, rows((), {(1, "arr", "bad_number"), (2, "arr", "bad_number")})),
    Case("type-parquet-nan-usage", "types", "usage_events", {"f.parquet": _parquet({
        "account_id": ["A1", "A1"], "user_id": ["u1", "u2"], "feature": ["f", "f"],
        "ts": pa.array([1_700_000_000_000] * 2, pa.timestamp("ms")), "quantity": [float("nan"), -float("inf")]})},
         rows((), {(1, "quantity", "bad_number"), (2, "quantity", "bad_number")})),
    Case("type-csv-nan-usage", "types", "usage_events", {"f.csv": _csv(
        "account_id,user_id,ts,feature,quantity", "A1,u1,2024-01-01T00:00:00Z,f,nan", "A1,u2,2024-01-01T00:00:00Z,f,inf")},
         rows((), {(1, "quantity", "bad_number"), (2, "quantity", "bad_number")})),
    # ranges
    Case("range-negative-arr", "ranges", CL, {"f.csv": _lines(_line_row(1, arr="-0.01"))},
         rows((), {(1, "arr", "range")})),
    Case("range-negative-quantity", "ranges", CL, {"f.csv": _lines(_line_row(1, quantity="-1"))},
         rows((), {(1, "quantity", "range")})),
    Case("range-csat", "ranges", "tickets", {"f.csv": _csv("ticket_id,account_id,opened_at,csat",
                                                            "T1,A1,2024-01-01,6", "T2,A1,2024-01-01,0")},
         rows((), {(1, "csat", "range"), (2, "csat", "range")})),
    Case("range-far-future", "ranges", CL, {"f.csv": _lines(_line_row(1, start_date="9999-12-31"))},
         rows((), {(1, "start_date", "date_range")})),
    Case("range-year-zero", "ranges", CL, {"f.csv": _lines(_line_row(1, start_date="0000-01-01"))},
         rows((), {(1, "start_date", "date_range")})),
    Case("range-before-1970", "ranges", CL, {"f.csv": _lines(_line_row(1, start_date="1969-12-31"))},
         rows((), {(1, "start_date", "date_range")})),
    Case("range-five-digit-year", "ranges", CL, {"f.csv": _lines(_line_row(1, end_date="10000-01-01"))},
         rows((), {(1, "end_date", "date_range")})),
    Case("range-end-before-start", "ranges", CL, {"f.csv": _lines(_line_row(1, end_date="2023-12-31"))},
         rows((), {(1, "end_date", "end_not_before_start")})),
    Case("range-ticket-far-future", "ranges", "tickets", {"f.csv": _csv("ticket_id,account_id,opened_at",
                                                                         "T1,A1,9999-12-31T23:59:59Z")},
         rows((), {(1, "opened_at", "date_range")})),
    Case("range-month", "ranges", "spend", {"f.csv": _csv("period,segment,amount,currency", "1900-01,SMB,1,USD",
                                                          "2024-01,SMB,1,USD")},
         rows(1, {(1, "period", "date_range")})),
    Case("range-parquet-dates", "ranges", CL, {"f.parquet": _parquet({
        "line_id": ["L1", "L2"], "account_id": ["A1", "A1"], "product": ["core", "core"],
        "start_date": pa.array([0, 2_932_896], pa.date32()), "end_date": pa.array([None, None], pa.date32()),
        "arr": [1.0, 1.0], "currency": ["USD", "USD"]})}, rows(L1, {(2, "start_date", "date_range")})),
    Case("range-usage-1900", "ranges", "usage_events", {"f.parquet": _parquet({
        "account_id": ["A1", "A1"], "user_id": ["u1", "u1"], "feature": ["f", "f"],
        "ts": pa.array([1_700_000_000_000, -2_208_988_800_000], pa.timestamp("ms")), "quantity": [1.0, 1.0]})},
         rows(1, {(2, "ts", "date_range")})),
    # references
    Case("ref-unknown-account", "references", CL, {"f.csv": _lines(GOOD, _line_row(2, account_id="ZZ"))},
         rows(L1, {(2, "account_id", "unknown_account")})),
    Case("ref-account-case", "references", CL, {"f.csv": _lines(_line_row(1, account_id="a1"))},
         rows((), {(1, "account_id", "unknown_account")})),
    Case("ref-empty-account", "references", CL, {"f.csv": _lines(_line_row(1, account_id=""))},
         rows((), {(1, "account_id", "required")})),
    Case("ref-unknown-currency", "references", CL, {"f.csv": _lines(GOOD, _line_row(2, currency="XYZ"),
                                                                     _line_row(3, currency="eur"))},
         rows({"L1", "L3"}, {(2, "currency", "no_fx_rate")}, values={"L3": {"currency": "EUR"}})),
    Case("ref-repeated-key", "references", CL, {"f.csv": _lines(_line_row(1, arr="10"), _line_row(1, arr="20"))},
         rows(L1, values={"L1": {"arr": 20}}, warning="the last one wins")),
    Case("ref-contact-unknown-account", "references", "contacts", {"f.csv": _csv("contact_id,account_id",
                                                                                 "C1,A1", "C2,NOPE")},
         rows({"C1"}, {(2, "account_id", "unknown_account")})),
    Case("ref-reserved-attribute", "references", "accounts", {"f.csv": _csv("account_id,name,kind", "A9,Nine,x")},
         Err(r"column\(s\) kind cannot become custom account attributes")),
    Case("ref-reserved-attribute-period", "references", "accounts",
         {"f.csv": _csv("account_id,name,period,opening", "A9,Nine,x,y")},
         Err(r"column\(s\) opening, period cannot become")),
    # sizes and containers
    Case("size-gzip-bomb-ratio", "sizes", CL, _bomb(ratio_only=True), Err(r"ingest\.max_unzip_ratio"),
         config={"max_unzip_ratio": 20, "max_unzipped_mb": 1000}),
    Case("size-gzip-over-max", "sizes", CL, _bomb(ratio_only=False), Err(r"ingest\.max_unzipped_mb"),
         config={"max_unzipped_mb": 4}),
    Case("size-gzip-corrupt", "sizes", CL, _corrupt_gzip, Err(r"corrupt\.csv\.gz")),
    Case("size-gzip-ok", "sizes", CL, {"f.csv.gz": _gzip(_lines(GOOD))}, rows(L1)),
    Case("size-gzip-jsonl-ok", "sizes", CL, {"f.jsonl.gz": _gzip(_jsonl(_json(1), _json(2, arr=-1)))},
         rows(L1, {(2, "arr", "range")})),
    Case("size-gzip-jsonl-bomb", "sizes", CL, _jsonl_bomb, Err(r"bomb\.jsonl\.gz: .*ingest\.max_unzipped_mb"),
         config={"max_unzipped_mb": 2}),
    Case("size-many-rows", "sizes", CL, _many_rows, rows(150_000, {(150_001, "arr", "range")})),
    Case("size-long-value", "sizes", CL, _long_value, rows({"L1", "L2"})),
    Case("size-wide", "sizes", CL, _wide, rows(L1, warning="ignored columns not in contract_lines: x0, x1")),
    Case("size-parquet-text", "sizes", CL, {"f.parquet": _lines(GOOD)}, Err(r"not a readable Parquet file")),
    Case("size-parquet-truncated", "sizes", CL, _truncated_parquet, Err(r"cut\.parquet: not a readable Parquet")),
    Case("size-parquet-gz", "sizes", CL, {"f.parquet.gz": _gzip(b"x")}, Err(r"do not gzip it")),
    Case("size-parquet-empty", "sizes", CL, {"f.parquet": _parquet({
        "line_id": pa.array([], pa.string()), "account_id": pa.array([], pa.string()),
        "product": pa.array([], pa.string()), "start_date": pa.array([], pa.string()),
        "end_date": pa.array([], pa.string()), "arr": pa.array([], pa.float64()),
        "currency": pa.array([], pa.string())})}, rows()),
    Case("size-parquet-nested", "sizes", CL, {"f.parquet": _parquet({
        "line_id": ["L1"], "account_id": ["A1"], "product": [{"a": 1}], "start_date": ["2024-01-01"],
        "end_date": [None], "arr": [1.0], "currency": ["USD"]})}, Err(r"column product is nested")),
    Case("size-unknown-extension", "sizes", CL, {"f.xlsx": b"PK\x03\x04"}, Err(r"unknown file type")),
]
