"""One test per ingestion finding of issue 10 ("Holes at the boundary") and issue 9's date range;
each failed on the code before the fix."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenure.config import config_from_dict
from tenure.errors import InputError
from tenure.ingest.pipeline import ingest_file

from .conftest import one, quarantined

LINES = "line_id,account_id,product,start_date,end_date,arr,currency,quantity"


def _lines(wh) -> dict[str, dict]:
    t = wh.execute(wh.table("contract_lines"))
    return {r["line_id"]: r for r in t.to_dict("records")}


# --- folders combine by name --------------------------------------------------------------------


def test_csv_folder_with_columns_in_another_order_combines_by_name(wh, config, tmp_path: Path):
    folder = tmp_path / "lines"
    folder.mkdir()
    (folder / "part-1.csv").write_text(f"{LINES}\nL1,A1,core,2024-01-01,,1000,USD,5\n")
    (folder / "part-2.csv").write_text("line_id,account_id,product,start_date,end_date,quantity,currency,arr\n"
                                       "L2,A2,core,2024-01-01,,7,USD,2000\n")
    res = one(ingest_file(wh, config, "contract_lines", folder))
    assert (res.inserted, res.rejected) == (2, 0)
    got = _lines(wh)
    assert (float(got["L1"]["arr"]), got["L1"]["quantity"]) == (1000.0, 5)
    assert (float(got["L2"]["arr"]), got["L2"]["quantity"]) == (2000.0, 7)


def test_parquet_folder_with_columns_in_another_order_combines_by_name(wh, config, tmp_path: Path):
    folder = tmp_path / "lines"
    folder.mkdir()
    base = {"line_id": ["L1"], "account_id": ["A1"], "product": ["core"], "start_date": ["2024-01-01"],
            "end_date": [None], "arr": [1000.0], "currency": ["USD"], "quantity": [5]}
    pq.write_table(pa.table(base), folder / "part-1.parquet")
    swapped = {k: base[k] for k in ["quantity", "arr", "line_id", "currency", "account_id", "product",
                                    "start_date", "end_date"]}
    swapped = {**swapped, "line_id": ["L2"], "quantity": [7], "arr": [2000.0]}
    pq.write_table(pa.table(swapped), folder / "part-2.parquet")
    res = one(ingest_file(wh, config, "contract_lines", folder))
    assert (res.inserted, res.rejected) == (2, 0)
    got = _lines(wh)
    assert (float(got["L2"]["arr"]), got["L2"]["quantity"]) == (2000.0, 7)


def test_parquet_folder_whose_types_differ_between_files_reads_them_as_text(wh, config, tmp_path: Path):
    folder = tmp_path / "lines"
    folder.mkdir()
    row = {"line_id": ["L1"], "account_id": ["A1"], "product": ["core"], "start_date": ["2024-01-01"],
           "end_date": ["2024-12-31"], "arr": [1000], "currency": ["USD"]}
    pq.write_table(pa.table(row), folder / "a.parquet")
    pq.write_table(pa.table({**row, "line_id": ["L2"], "arr": [20.25]}), folder / "b.parquet")
    res = one(ingest_file(wh, config, "contract_lines", folder))
    assert (res.inserted, res.rejected) == (2, 0)
    assert float(_lines(wh)["L2"]["arr"]) == 20.25


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_folder_file_with_other_columns_is_rejected_naming_it(wh, config, tmp_path: Path, fmt):
    folder = tmp_path / "lines"
    folder.mkdir()
    a = {"line_id": ["L1"], "account_id": ["A1"], "product": ["core"], "start_date": ["2024-01-01"],
         "end_date": [""], "arr": ["10"], "currency": ["USD"]}
    b = {**{k: v for k, v in a.items() if k != "end_date"}, "line_id": ["L2"], "seats": ["3"]}
    for name, data in (("part-1", a), ("part-2", b)):
        if fmt == "csv":
            (folder / f"{name}.csv").write_text(",".join(data) + "\n" + ",".join(v[0] for v in data.values()) + "\n")
        else:
            pq.write_table(pa.table(data), folder / f"{name}.parquet")
    with pytest.raises(InputError, match=rf"part-2\.{fmt}: its columns differ .*missing end_date.*extra seats"):
        ingest_file(wh, config, "contract_lines", folder)
    assert wh.count("contract_lines") == 0


# --- impossible dates ---------------------------------------------------------------------------


def test_impossible_dates_are_rejected_with_row_and_reason(wh, config, tmp_path: Path):
    path = tmp_path / "lines.csv"
    path.write_text(f"{LINES}\n"
                    "L1,A1,core,2024-01-01,,100,USD,1\n"
                    "L2,A1,core,9999-12-31,,100,USD,1\n"
                    "L3,A1,core,0000-01-01,,100,USD,1\n"
                    "L4,A1,core,2024-01-01,9999-12-31,100,USD,1\n"
                    "L5,A1,core,1969-12-31,,100,USD,1\n"
                    "L6,A1,core,2100-12-31,,100,USD,1\n")
    res = one(ingest_file(wh, config, "contract_lines", path))
    assert (res.inserted, res.rejected) == (2, 4)
    assert res.rejected_by_reason == {"date_range": 4}
    rows = {(r["row_number"], r["column"]): r for r in quarantined(res)}
    assert set(rows) == {("2", "start_date"), ("3", "start_date"), ("4", "end_date"), ("5", "start_date")}
    assert "9999-12-31 is outside the accepted dates 1970-01-01 to 2100-12-31" in rows[("2", "start_date")]["message"]
    assert rows[("3", "start_date")]["value"] == "0000-01-01"
    assert set(_lines(wh)) == {"L1", "L6"}


def test_timestamps_out_of_range_are_rejected_on_every_path(wh, config, tmp_path: Path):
    tickets = tmp_path / "t.csv"
    tickets.write_text("ticket_id,account_id,opened_at\nT1,A1,2024-01-01T10:00:00Z\nT2,A1,9999-12-31T00:00:00Z\n"
                       "T3,A1,0000-01-01T00:00:00Z\n")
    res = one(ingest_file(wh, config, "tickets", tickets))
    assert (res.inserted, res.rejected_by_reason) == (1, {"date_range": 2})
    events = {"account_id": ["A1", "A1", "A1"], "user_id": ["u", "u", "u"], "feature": ["f", "f", "f"],
              "ts": pa.array([1_700_000_000_000, 253_402_214_400_000 - 1, -62_000_000_000_000], pa.timestamp("ms")),
              "quantity": [1.0, 1.0, 1.0]}
    pq.write_table(pa.table(events), tmp_path / "events.parquet")  # the typed fast path
    res = one(ingest_file(wh, config, "usage_events", tmp_path / "events.parquet"))
    assert (res.inserted, res.rejected, res.rejected_by_reason) == (1, 2, {"date_range": 2})
    assert sorted(r["row_number"] for r in quarantined(res)) == ["2", "3"]
    (tmp_path / "events.csv").write_text("account_id,user_id,ts,feature\nA2,u,2024-01-01T00:00:00Z,f\n"
                                         "A2,u,2101-01-01T00:00:00Z,f\n")
    res = one(ingest_file(wh, config, "usage_events", tmp_path / "events.csv"))
    assert (res.inserted, res.rejected_by_reason) == (1, {"date_range": 1})


def test_the_date_range_is_configurable(wh, tmp_path: Path):
    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs"), "min_date": "2020-01-01",
                                          "max_date": "2030-12-31"}}, base_dir=tmp_path, env={})
    path = tmp_path / "lines.csv"
    path.write_text(f"{LINES}\nL1,A1,core,2019-12-31,,1,USD,1\nL2,A1,core,2020-01-01,2031-01-01,1,USD,1\n"
                    "L3,A1,core,2020-01-01,2030-12-31,1,USD,1\n")
    res = one(ingest_file(wh, config, "contract_lines", path))
    assert (res.inserted, res.rejected) == (1, 2)
    assert {r["column"] for r in quarantined(res)} == {"start_date", "end_date"}
    assert all("2020-01-01 to 2030-12-31" in r["message"] for r in quarantined(res))


# --- unknown currencies ---------------------------------------------------------------------------


def test_a_line_in_a_currency_without_fx_rate_is_rejected(wh, config, tmp_path: Path):
    path = tmp_path / "lines.csv"
    path.write_text(f"{LINES}\nL1,A1,core,2024-01-01,,100,EUR,1\nL2,A1,core,2024-01-01,,20,XYZ,1\n"
                    "L3,A1,core,2024-01-01,,30,usd,1\n")
    res = one(ingest_file(wh, config, "contract_lines", path))
    assert (res.inserted, res.rejected_by_reason) == (2, {"no_fx_rate": 1})
    (row,) = quarantined(res)
    assert (row["row_number"], row["column"], row["value"]) == ("2", "currency", "XYZ")
    assert "XYZ has no fx rate to USD" in row["message"] and "fx" in row["message"]
    assert set(_lines(wh)) == {"L1", "L3"}


# --- Parquet numbers ----------------------------------------------------------------------------


def test_typed_parquet_usage_rejects_nan_and_infinity(wh, config, tmp_path: Path):
    n = 4
    events = pa.table({"account_id": ["A1"] * n, "user_id": ["u1", "u2", "u3", "u4"], "feature": ["f"] * n,
                       "ts": pa.array([1_700_000_000_000] * n, pa.timestamp("ms")),
                       "quantity": [2.0, math.nan, math.inf, -math.inf]})
    pq.write_table(events, tmp_path / "events.parquet")
    res = one(ingest_file(wh, config, "usage_events", tmp_path / "events.parquet"))
    assert (res.inserted, res.rejected, res.rejected_by_reason) == (1, 3, {"bad_number": 3})
    assert sorted((r["row_number"], r["column"]) for r in quarantined(res)) == [
        ("2", "quantity"), ("3", "quantity"), ("4", "quantity")]
    daily = wh.execute(wh.table("usage_daily"))
    assert daily["quantity"].tolist() == [2.0]


def test_typed_parquet_money_and_integers_reject_nan_and_infinity(wh, config, tmp_path: Path):
    lines = pa.table({"line_id": ["L1", "L2", "L3"], "account_id": ["A1"] * 3, "product": ["core"] * 3,
                      "start_date": ["2024-01-01"] * 3, "end_date": [None] * 3,
                      "arr": [100.0, math.nan, 5.0], "currency": ["USD"] * 3, "quantity": [1.0, 2.0, math.inf]})
    pq.write_table(lines, tmp_path / "lines.parquet")
    res = one(ingest_file(wh, config, "contract_lines", tmp_path / "lines.parquet"))
    assert (res.inserted, res.rejected) == (1, 2)
    assert sorted((r["row_number"], r["column"], r["reason"]) for r in quarantined(res)) == [
        ("2", "arr", "bad_number"), ("3", "quantity", "bad_integer")]


# --- file and header errors ---------------------------------------------------------------------


@pytest.mark.parametrize("entity", ["contract_lines", "usage_events"])
def test_a_text_file_named_parquet_is_a_clear_input_error(wh, config, tmp_path: Path, entity):
    path = tmp_path / "not.parquet"
    path.write_text("line_id,account_id\nL1,A1\n")
    with pytest.raises(InputError, match=r"not\.parquet: not a readable Parquet file"):
        ingest_file(wh, config, entity, path)


def test_one_bad_json_line_is_quarantined_and_the_rest_loads(wh, config, tmp_path: Path):
    path = tmp_path / "lines.jsonl"
    path.write_text(
        '{"line_id": "L1", "account_id": "A1", "product": "core", "start_date": "2024-01-01", "end_date": null,'
        ' "arr": 100, "currency": "USD"}\n'
        '{"line_id": "L2", "account_id": "A1", "product": "core", "start_date": "2024-01-01", "arr": 1\n'
        '\n'
        '{"line_id": "L3", "account_id": "A1", "product": "core", "start_date": "2024-01-01", "end_date": null,'
        ' "arr": "-5", "currency": "USD"}\n'
        '{"line_id": "L4", "account_id": "A1", "product": "core", "start_date": "2024-01-01", "end_date": null,'
        ' "arr": 7, "currency": "USD"}\n')
    res = one(ingest_file(wh, config, "contract_lines", path))
    assert (res.inserted, res.rejected, res.rejected_by_reason) == (2, 2, {"bad_row": 1, "range": 1})
    rows = sorted((r["row_number"], r["column"], r["reason"]) for r in quarantined(res))
    assert rows == [("2", "", "bad_row"), ("4", "arr", "range")]  # line numbers; the blank line 3 is skipped
    assert set(_lines(wh)) == {"L1", "L4"}


def test_ragged_csv_rows_are_quarantined_with_their_row_numbers(wh, config, tmp_path: Path):
    path = tmp_path / "lines.csv"
    path.write_text(f"{LINES}\n"
                    "L1,A1,core,2024-01-01,,100,USD,1\n"
                    "L2,A1,core,2024-01-01,,1,234.50,USD,1\n"
                    '"L3",A1,"core\nplus",2024-01-01,,5,USD\n'
                    "L4,A1,core,2024-01-01,,-1,USD,1\n"
                    "L5,A1,core,2024-01-01,,7,USD,1\n")
    res = one(ingest_file(wh, config, "contract_lines", path))
    rows = sorted((r["row_number"], r["column"], r["reason"]) for r in quarantined(res))
    assert rows == [("2", "", "bad_row"), ("3", "", "bad_row"), ("4", "arr", "range")]
    msgs = [r["message"] for r in quarantined(res) if r["reason"] == "bad_row"]
    assert any("has 9 values but the header has 8 columns" in m for m in msgs)
    assert set(_lines(wh)) == {"L1", "L5"}


def test_a_quoted_newline_in_the_header_is_a_clear_error(wh, config, tmp_path: Path):
    path = tmp_path / "lines.csv"
    path.write_text('line_id,"account\n_id",product\nL1,A1,core\n')
    with pytest.raises(InputError, match=r"lines\.csv: header column 2 .* holds a line break"):
        ingest_file(wh, config, "contract_lines", path)


def test_a_gzip_bomb_is_stopped_with_a_clear_error(wh, tmp_path: Path):
    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs"), "max_unzipped_mb": 8,
                                          "max_unzip_ratio": 50}}, base_dir=tmp_path, env={})
    path = tmp_path / "lines.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(f"{LINES}\n".encode())
        f.write(b"L1,A1,core,2024-01-01,,100,USD," + b"0" * (40 << 20) + b"\n")
    assert path.stat().st_size < 200_000
    with pytest.raises(InputError, match=r"lines\.csv\.gz: .*(ingest\.max_unzip_ratio|ingest\.max_unzipped_mb)"):
        ingest_file(wh, config, "contract_lines", path)
    assert wh.count("contract_lines") == 0


# --- reserved attribute names -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["period", "opening", "kind"])
def test_reserved_attribute_names_are_rejected(wh, config, tmp_path: Path, name):
    path = tmp_path / "acc.csv"
    path.write_text(f"account_id,name,{name},employees\nA9,Nine,x,10\n")
    with pytest.raises(InputError, match=rf"acc\.csv: column\(s\) {name} cannot become custom account attributes"):
        ingest_file(wh, config, "accounts", path)
    assert wh.execute(wh.table("accounts").filter(lambda t: t.account_id == "A9")).empty


def test_an_attribute_with_a_reserved_name_already_stored_is_not_a_dimension(wh, config):
    """Attributes loaded before names were reserved: `by=period` is a clear InputError, not a 500,
    and `by=kind` no longer groups by the wrong column."""
    from tenure.metrics.bridge import check_dimensions, dimensions

    for name in ("period", "kind", "tier_name"):
        wh.raw_sql("INSERT INTO account_attributes (account_id, name, value, value_number, source, ingested_at) "
                   f"VALUES ('A1', '{name}', 'x', NULL, 'file', TIMESTAMP '2024-01-01')")
    dims = dimensions(wh)
    assert "tier_name" in dims and "period" not in dims and "kind" not in dims
    for name in ("period", "kind"):
        with pytest.raises(InputError, match=f"unknown dimension.*{name}"):
            check_dimensions(wh, [name])

