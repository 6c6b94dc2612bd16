"""Ingestion speed: usage events from Parquet and CSV into DuckDB, fresh and as a re-run of
duplicates, against a plain DuckDB load of the same file measured in the same run.

    python -m bench ingest --events 20000000
"""

from __future__ import annotations

import argparse
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bench.common import DATA_DIR, peak_rss_mib, timed, write_results


def make_events(n: int, accounts: int, path_parquet, path_csv) -> None:
    rng = np.random.default_rng(0)
    writer = pq.ParquetWriter(path_parquet, pa.schema([("account_id", pa.string()), ("user_id", pa.string()),
                                                      ("ts", pa.timestamp("us")), ("feature", pa.string()),
                                                      ("quantity", pa.float64())]), compression="zstd")
    chunk = 2_000_000
    acct = np.array([f"A{i:06d}" for i in range(accounts)])
    first = True
    for off in range(0, n, chunk):
        k = min(chunk, n - off)
        ai = np.sort(rng.integers(0, accounts, k))
        ts = np.datetime64("2024-01-01T00:00:00") + (np.arange(off, off + k) * (3 * 365 * 86400 // n)).astype(
            "timedelta64[s]")
        t = pa.table({"account_id": pa.array(acct[ai]),
                      "user_id": pa.array(np.char.add(acct[ai], np.char.add("-u", rng.integers(0, 20, k).astype(str)))),
                      "ts": pa.array(ts.astype("datetime64[us]")),
                      "feature": pa.array(np.array([f"f{j}" for j in range(16)])[rng.integers(0, 16, k)]),
                      "quantity": pa.array(np.ones(k))})
        writer.write_table(t)
        with open(path_csv, "ab" if not first else "wb") as f:
            pacsv.write_csv(t, f, write_options=pacsv.WriteOptions(include_header=first))
        first = False
    writer.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench ingest")
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--accounts", type=int, default=20_000)
    ap.add_argument("--csv", action="store_true", help="also measure CSV (slower to generate)")
    args = ap.parse_args(argv)
    from tenure.config import config_from_dict
    from tenure.ingest.pipeline import ingest_file
    from tenure.warehouse import Warehouse

    work = DATA_DIR / "ingest"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    pq_path, csv_path = work / "events.parquet", work / "events.csv"
    gen_s, _ = timed(lambda: make_events(args.events, args.accounts, pq_path, csv_path))
    config = config_from_dict({"ingest": {"runs_dir": str(work / "runs")}}, base_dir=work, env={})

    def fresh_wh(name):
        wh = Warehouse(f"duckdb:///{work / name}")
        wh.ensure_schema()
        acc = pa.table({"account_id": [f"A{i:06d}" for i in range(args.accounts)],
                        "name": [f"A{i:06d}" for i in range(args.accounts)]})
        from tenure.ingest.pipeline import ingest_table

        ingest_table(wh, config, "accounts", acc, source="bench", file_label="accounts")
        return wh

    results: dict = {"events": args.events, "accounts": args.accounts, "generate_seconds": round(gen_s, 2)}
    wh = fresh_wh("baseline.duckdb")
    base_s, _ = timed(lambda: wh.raw_sql(f"CREATE TABLE raw_copy AS SELECT * FROM read_parquet('{pq_path}')"))
    wh.close()
    results["baseline_duckdb_ctas_seconds"] = round(base_s, 3)
    wh = fresh_wh("parquet.duckdb")
    s, res = timed(lambda: ingest_file(wh, config, "usage_events", pq_path))
    results["parquet_fresh"] = {"seconds": round(s, 3), "events_per_second": round(args.events / s),
                                "inserted": res.inserted, "ratio_vs_baseline": round(s / base_s, 2)}
    s, res = timed(lambda: ingest_file(wh, config, "usage_events", pq_path))
    results["parquet_rerun_all_duplicates"] = {"seconds": round(s, 3), "events_per_second": round(args.events / s),
                                               "inserted": res.inserted, "skipped": res.unchanged}
    results["usage_daily_rows"] = wh.count("usage_daily")
    wh.close()
    if args.csv:
        wh = fresh_wh("csv.duckdb")
        s, res = timed(lambda: ingest_file(wh, config, "usage_events", csv_path))
        results["csv_fresh"] = {"seconds": round(s, 3), "events_per_second": round(args.events / s),
                                "inserted": res.inserted}
        wh.close()
    results["peak_rss_mib"] = peak_rss_mib()
    path = write_results("ingest", results)
    print(f"wrote {path}")
    import json

    print(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0
