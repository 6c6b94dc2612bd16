"""Option (a) for processes sharing the embedded warehouse, measured: DuckLake with a SQLite
catalog against a plain DuckDB file, on tenure's write pattern (a transaction that deletes one
slice of a snapshot table and appends it again) with other processes reading meanwhile.

DuckLake is not a dependency of tenure: run this with a Python that has `duckdb==1.4.4`,
`duckdb-ext-ducklake` and `duckdb-ext-sqlite` (the extension packages are built for that one
DuckDB version; nothing is downloaded at run time), from the repository root:

    python -m venv /tmp/lake && /tmp/lake/bin/pip install duckdb==1.4.4 duckdb-ext-ducklake duckdb-ext-sqlite
    /tmp/lake/bin/python -m bench ducklake [--rows 200000] [--writes 20] [--readers 2]

Results: bench/results/ducklake.json. The choice it informed is in docs/operations.md.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import write_results


def _extensions() -> str:
    import duckdb

    found = glob.glob(os.path.join(os.path.dirname(duckdb.__file__), "..", "duckdb_ext", "extensions",
                                   f"v{duckdb.__version__}", "*"))
    if not found:
        raise SystemExit(f"no duckdb-ext-* packages for DuckDB {duckdb.__version__}: see this module's docstring")
    return found[0]


def _connect(kind: str, folder: Path):
    import duckdb

    if kind == "plain":
        return duckdb.connect(str(folder / "plain.duckdb"))
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    ext = _extensions()
    con.execute(f"LOAD '{ext}/sqlite_scanner.duckdb_extension'")
    con.execute(f"LOAD '{ext}/ducklake.duckdb_extension'")
    con.execute(f"ATTACH 'ducklake:sqlite:{folder}/catalog.sqlite' AS lake (DATA_PATH '{folder}/data/')")
    con.execute("USE lake")
    return con


def _write(con, i: int, rows: int) -> None:
    day = i % 7
    con.execute("BEGIN")
    con.execute(f"DELETE FROM scores WHERE day = {day}")
    con.execute(f"INSERT INTO scores SELECT range, {day}, random() FROM range({day}, {rows}, 7)")
    con.execute("COMMIT")


def _reader(kind: str, folder: Path, seconds: float) -> dict:
    con = _connect(kind, folder)
    times, errors, until = [], [], time.monotonic() + seconds
    while time.monotonic() < until:
        t0 = time.perf_counter()
        try:
            con.execute("SELECT count(*), sum(v) FROM scores").fetchone()
        except Exception as err:  # noqa: BLE001 - counted, that is the measurement
            errors.append(str(err).splitlines()[0][:160])
        times.append(time.perf_counter() - t0)
    return {"queries": len(times), "median_ms": round(statistics.median(times) * 1000, 1), "errors": len(errors),
            "error_sample": errors[:1]}


def measure(rows: int, writes: int, readers: int) -> dict:
    import duckdb

    folder = Path(tempfile.mkdtemp(prefix="tenure-bench-ducklake-"))
    out: dict = {"duckdb": duckdb.__version__, "rows": rows, "writes": writes, "readers": readers}
    try:
        for kind in ("plain", "ducklake"):
            con = _connect(kind, folder)
            con.execute(f"CREATE TABLE scores AS SELECT range AS account, (range % 7)::INT AS day, random() AS v "
                        f"FROM range({rows})")
            res: dict = {}
            con.execute("CREATE TABLE probe AS SELECT 1 AS a")  # the feature probes stay off `scores`
            for stmt, name in (("CREATE INDEX probe_a ON probe(a)", "index"),
                               ("CREATE TABLE keyed (a INTEGER PRIMARY KEY)", "primary_key")):
                try:
                    con.execute(stmt)
                    res[f"supports_{name}"] = True
                except Exception as err:  # noqa: BLE001
                    res[f"supports_{name}"] = str(err).splitlines()[0][:120]
            alone = []
            for _ in range(10):
                t0 = time.perf_counter()
                con.execute("SELECT count(*), sum(v) FROM scores").fetchone()
                alone.append(time.perf_counter() - t0)
            res["read_alone_median_ms"] = round(statistics.median(alone) * 1000, 1)
            procs = []
            if kind == "ducklake":  # a plain file cannot be read by another process while one writes
                con.close()
                procs = [subprocess.Popen([sys.executable, "-m", "bench.ducklake", "--reader", str(folder)],
                                          stdout=subprocess.PIPE, text=True) for _ in range(readers)]
                time.sleep(1)
                con = _connect(kind, folder)
            times = []
            for i in range(writes):
                t0 = time.perf_counter()
                _write(con, i, rows)
                times.append(time.perf_counter() - t0)
            res["write_median_s"] = round(statistics.median(times), 3)
            res["write_max_s"] = round(max(times), 3)
            if procs:
                res["concurrent_readers"] = [json.loads(p.communicate()[0]) for p in procs]
                res["parquet_files_after_writes"] = len(glob.glob(f"{folder}/data/**/*.parquet", recursive=True))
            con.close()
            out[kind] = res
        out["write_ratio"] = round(out["ducklake"]["write_median_s"] / out["plain"]["write_median_s"], 1)
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench ducklake")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--writes", type=int, default=20)
    ap.add_argument("--readers", type=int, default=2)
    ap.add_argument("--reader", type=Path, help=argparse.SUPPRESS)  # internal: be one reader process
    args = ap.parse_args(argv)
    if args.reader:
        print(json.dumps(_reader("ducklake", args.reader, seconds=20)))
        return 0
    path = write_results("ducklake", measure(args.rows, args.writes, args.readers))
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
