"""Peak memory of ingesting a large JSON-lines file of usage events (issue 10: 9 M rows peaked at
4.6 GB because the reader parsed the whole file at once).

    python -m bench ingest_jsonl [--lines 2000000] [--src DIR] [--label after] [--memory-limit 1GB]

Writes N lines of usage events to bench/data/usage_N.jsonl (kept for re-runs), then in a fresh
child process per measurement: (1) only reads the file through tenure's reader, (2) ingests it
into a new DuckDB warehouse. Reports the child's peak RSS (ru_maxrss) and wall time. `--src`
points the child at another source tree (e.g. an export of an older commit) to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import DATA_DIR, write_results

READ_ONLY = """
import resource, sys
from tenure.ingest import readers
src = readers.detect(sys.argv[1])
n = 0
for _, b in readers.iter_batches(src, 2_000_000):
    n += b.num_rows
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

INGEST = """
import resource, sys
from pathlib import Path
from tenure.config import config_from_dict
from tenure.ingest.pipeline import ingest_file
from tenure.warehouse import Warehouse
tmp = Path(sys.argv[2])
config = config_from_dict({"ingest": {"runs_dir": str(tmp / "runs")}}, base_dir=tmp, env={})
wh = Warehouse(f"duckdb:///{tmp / 'w.duckdb'}", memory_limit=sys.argv[3] if len(sys.argv) > 3 else None)
wh.ensure_schema()
(tmp / "accounts.csv").write_text("account_id,name\\n" + "".join(f"A{i},n{i}\\n" for i in range(1000)))
ingest_file(wh, config, "accounts", tmp / "accounts.csv")
res = ingest_file(wh, config, "usage_events", sys.argv[1])
res = res[0] if isinstance(res, list) else res
print(res.inserted, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _data(lines: int) -> Path:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"usage_{lines}.jsonl"
    if path.exists():
        return path
    tmp = path.with_suffix(".part")
    with open(tmp, "w") as f:
        step = 100_000
        for start in range(0, lines, step):
            f.writelines(
                f'{{"account_id": "A{i % 1000}", "user_id": "u{i % 7919}", '
                f'"ts": "2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i // 60 % 60:02d}Z", '
                f'"feature": "feature_{i % 40}", "quantity": {1 + i % 5}}}\n'
                for i in range(start, min(lines, start + step)))
    tmp.rename(path)
    return path


def _child(script: str, args: list[str], src: str | None) -> tuple[int, float, float]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    count, rss_kib = out.stdout.split()[-2:]
    return int(count), round(int(rss_kib) / 1024, 1), round(wall, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench ingest_jsonl")
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--src", help="source tree to import tenure from (default: this checkout)")
    ap.add_argument("--label", default="after")
    ap.add_argument("--skip-ingest", action="store_true", help="measure the reader only")
    ap.add_argument("--memory-limit", default="1GB", help="DuckDB memory_limit of the warehouse (warehouse.memory_limit)")
    args = ap.parse_args(argv)
    path = _data(args.lines)
    result: dict = {"lines": args.lines, "file_mib": round(path.stat().st_size / 2**20, 1), "label": args.label}
    n, rss, wall = _child(READ_ONLY, [str(path)], args.src)
    result["read_only"] = {"rows": n, "peak_rss_mib": rss, "seconds": wall}
    print(json.dumps(result["read_only"]))
    if not args.skip_ingest:
        with tempfile.TemporaryDirectory() as tmp:
            n, rss, wall = _child(INGEST, [str(path), tmp, args.memory_limit], args.src)
        result["ingest"] = {"inserted": n, "peak_rss_mib": rss, "seconds": wall, "duckdb_memory_limit": args.memory_limit}
        print(json.dumps(result["ingest"]))
    out = write_results(f"ingest_jsonl_{args.label}", result)
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
