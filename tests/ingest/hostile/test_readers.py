"""The readers stream: many small blocks give the same rows, row numbers and errors as one."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from tenure.ingest import readers


def _rows(batches) -> dict[int, tuple]:
    t = pa.Table.from_batches(list(batches))
    out = {}
    for r in t.to_pylist():
        out[r[readers.ROW]] = (r.get("id"), r[readers.ERROR])
    return out


def test_json_lines_stream_in_blocks_with_line_numbers_and_bad_lines(tmp_path: Path):
    lines = []
    for i in range(1, 2001):
        if i % 97 == 0:
            lines.append('{"id": "broken')
        elif i % 89 == 0:
            lines.append("")
        else:
            lines.append(json.dumps({"id": f"x{i}", "n": i}))
    path = tmp_path / "f.jsonl"
    path.write_text("\n".join(lines) + "\n")
    small = list(readers._jsonl_batches(path, readers.Limits(), block_bytes=2048))
    assert len(small) > 20  # streamed in many blocks, not read whole
    whole = _rows(readers._jsonl_batches(path, readers.Limits()))
    assert _rows(small) == whole
    for i in range(1, 2001):
        if i % 97 == 0:
            assert whole[i][0] is None and "not a flat JSON object" in whole[i][1]
        elif i % 89 == 0:
            assert i not in whole  # a blank line is no row
        else:
            assert whole[i] == (f"x{i}", None)


def test_csv_ragged_rows_keep_every_row_number_across_blocks(tmp_path: Path):
    rows = ["id,a,b"]
    for i in range(1, 3001):
        rows.append(f"x{i},1" if i % 101 == 0 else f'x{i},"multi\nline",{i}' if i % 53 == 0 else f"x{i},1,2")
    path = tmp_path / "f.csv"
    path.write_text("\n".join(rows) + "\n")
    small = list(readers._csv_batches(path, readers.Limits(), block_bytes=4096))
    assert len(small) > 10
    got = _rows(small)
    assert got == _rows(readers._csv_batches(path, readers.Limits()))
    assert sorted(got) == list(range(1, 3001))
    for i in range(1, 3001):
        if i % 101 == 0:
            assert got[i][0] is None and "has 2 values but the header has 3 columns" in got[i][1]
        else:
            assert got[i] == (f"x{i}", None)


def test_folder_batches_come_in_the_first_files_column_order(tmp_path: Path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "1.csv").write_text("id,a,b\nx1,1,2\n")
    (tmp_path / "d" / "2.csv").write_text("b;id;a\n20;x2;10\n")
    src = readers.detect(tmp_path / "d")
    assert readers.column_names(src) == ["id", "a", "b"]
    got = [b.to_pylist() for _, b in readers.iter_batches(src)]
    assert [r[0]["a"] for r in got] == ["1", "10"] and [r[0]["b"] for r in got] == ["2", "20"]
