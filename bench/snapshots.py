"""What it costs several processes to share the embedded DuckDB warehouse through published
read-only snapshots (tenure.warehouse.processes), on a real project's warehouse file.

    python -m bench snapshots --dir demo [--label 2000] [--repeat 3]
    python -m bench snapshots --accounts 2000            # builds the demo into bench/data first

Works on a copy of the project's tenure.duckdb (the project is not touched) and measures:

  publish_*        copying the checkpointed main file to a new snapshot, four ways: tenure's
                   copy (reflink where the file system shares extents, else a kernel copy,
                   then fsync), shutil.copyfile (no fsync), `cp --reflink=auto`, and DuckDB's
                   ATTACH + COPY FROM DATABASE (a rewrite into a fresh file)
  publish_cycle    a whole write session on the copy: lock, open, one small write, CHECKPOINT,
                   close, publish, switch the pointer
  idle_writer      a write session that changes nothing (nothing is published)
  reader_open      opening the newest snapshot read-only and running a first query
  pointer_stat_us  the per-request check a server makes (one stat of the pointer)
  storage          main file + the snapshots kept (the current one and the one before it)

Results: bench/results/snapshots-LABEL.json.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import DATA_DIR, write_results

MIB = 1024 * 1024


def _times(fn, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return {"best_s": round(min(runs), 3), "median_s": round(statistics.median(runs), 3), "runs": len(runs)}


def _build(accounts: int, months: int) -> Path:
    folder = DATA_DIR / f"snapshots-{accounts}"
    if not (folder / "tenure.duckdb").exists():
        subprocess.run([sys.executable, "-m", "tenure.cli", "demo", "--dir", str(folder), "--accounts",
                        str(accounts), "--months", str(months)], check=True)
    return folder


def measure(project: Path, repeat: int) -> dict:
    import duckdb

    from tenure.warehouse import connect
    from tenure.warehouse.connection import open_reader
    from tenure.warehouse.processes import Snapshots, WriteLock, copy_file

    source = project / "tenure.duckdb"
    work = Path(tempfile.mkdtemp(prefix="tenure-bench-snapshots-", dir=str(project.parent)))
    try:
        main = work / "tenure.duckdb"
        shutil.copyfile(source, main)
        wal = source.with_name(source.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, main.with_name(main.name + ".wal"))
        con = duckdb.connect(str(main))
        con.execute("CHECKPOINT")
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        rows = sum(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
        con.close()
        size = main.stat().st_size
        out: dict = {"main_file_mib": round(size / MIB, 1), "tables": len(tables), "rows": rows}

        target = work / "copy.duckdb"

        def ours():
            target.unlink(missing_ok=True)
            out["copy_method"] = copy_file(main, target)

        def plain():
            target.unlink(missing_ok=True)
            shutil.copyfile(main, target)

        def cp_reflink():
            target.unlink(missing_ok=True)
            subprocess.run(["cp", "--reflink=auto", str(main), str(target)], check=True)

        def duckdb_copy():
            target.unlink(missing_ok=True)
            c = duckdb.connect(str(main))
            c.execute(f"ATTACH '{target}' AS snap")
            c.execute("COPY FROM DATABASE tenure TO snap")
            c.close()
            out["duckdb_copy_file_mib"] = round(target.stat().st_size / MIB, 1)

        out["publish_tenure_copy_fsync"] = _times(ours, repeat)
        out["publish_shutil_copyfile"] = _times(plain, repeat)
        out["publish_cp_reflink_auto"] = _times(cp_reflink, repeat)
        out["publish_duckdb_copy_from_database"] = _times(duckdb_copy, max(1, repeat - 1))
        for p in work.glob("copy.duckdb*"):
            p.unlink()
        out["publish_mib_per_s"] = round(size / MIB / out["publish_tenure_copy_fsync"]["best_s"], 1)

        url = f"duckdb://{main}"
        reader = connect(url, write=False)  # the first publish
        reader.close()

        def cycle():
            wh = connect(url, write=True, command="bench")
            wh.raw_sql("CREATE TABLE IF NOT EXISTS bench_marks (t TIMESTAMP)")
            wh.raw_sql("INSERT INTO bench_marks VALUES (now())")
            wh.close()

        def idle():
            connect(url, write=True, command="bench").close()

        snapshots = Snapshots(main)
        seq = snapshots.current().seq
        out["publish_cycle"] = _times(cycle, repeat)
        assert snapshots.current().seq == seq + repeat
        out["idle_writer"] = _times(idle, repeat)
        assert snapshots.current().seq == seq + repeat  # nothing changed, nothing published

        def read_open():
            wh = open_reader(main)
            wh.raw_sql("SELECT count(*) FROM accounts")
            wh.close()

        out["reader_open"] = _times(read_open, repeat)
        n = 100_000
        t0 = time.perf_counter()
        for _ in range(n):
            snapshots.token()
        out["pointer_stat_us"] = round((time.perf_counter() - t0) / n * 1e6, 2)
        kept = sorted(snapshots.dir.glob("*.duckdb"))
        kept_bytes = sum(p.stat().st_size for p in kept)
        out["storage"] = {"main_mib": round(main.stat().st_size / MIB, 1), "snapshots_kept": len(kept),
                          "snapshots_mib": round(kept_bytes / MIB, 1),
                          "total_vs_main": round((main.stat().st_size + kept_bytes) / main.stat().st_size, 2)}
        lock = WriteLock(main, command="bench")
        t0 = time.perf_counter()
        for _ in range(100):
            lock.acquire(wait=0).release()
        out["lock_acquire_release_ms"] = round((time.perf_counter() - t0) / 100 * 1000, 3)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench snapshots")
    ap.add_argument("--dir", type=Path, help="a project folder holding tenure.duckdb")
    ap.add_argument("--accounts", type=int, default=2000, help="build the demo at this size when --dir is not given")
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--label", help="results name suffix (default: the account count)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    project = args.dir or _build(args.accounts, args.months)
    result = measure(project.resolve(), args.repeat)
    label = args.label or str(args.accounts)
    path = write_results(f"snapshots-{label}", {"project": project.name, **result})
    print(path.read_text())
    return 0
