"""Metric speed: the 36-month monthly ARR bridge and GRR/NRR by segment through tenure's Ibis
expressions, against a hand-written DuckDB SQL bridge over the same lines in the same run;
plus PostgreSQL and Spark at a smaller scale.

    python -m bench metrics --accounts 100000 [--small 5000] [--engines duckdb,postgres,spark]
"""

from __future__ import annotations

import argparse
import shutil
from datetime import date, datetime

import numpy as np
import pyarrow as pa

from bench.common import DATA_DIR, peak_rss_mib, timed, write_results

HAND_SQL = """
WITH p AS (
  SELECT CAST(range AS DATE) AS first_day,
         CAST(range + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS last_day,
         CAST(range - INTERVAL 1 DAY AS DATE) AS opening_day
  FROM range(DATE '{first}', DATE '{stop}', INTERVAL 1 MONTH)),
o AS (SELECT p.first_day, l.account_id, SUM(l.arr) AS arr FROM contract_lines l JOIN p
      ON l.start_date <= p.opening_day AND (l.end_date IS NULL OR l.end_date >= p.opening_day) GROUP BY ALL),
c AS (SELECT p.first_day, l.account_id, SUM(l.arr) AS arr FROM contract_lines l JOIN p
      ON l.start_date <= p.last_day AND (l.end_date IS NULL OR l.end_date >= p.last_day) GROUP BY ALL),
pr AS (SELECT p.first_day, l.account_id FROM contract_lines l JOIN p ON l.start_date < p.first_day
       WHERE l.arr > 0 GROUP BY ALL),
m AS (SELECT COALESCE(o.first_day, c.first_day) AS first_day, COALESCE(o.account_id, c.account_id) AS account_id,
             COALESCE(o.arr, 0) AS o, COALESCE(c.arr, 0) AS c
      FROM o FULL JOIN c ON o.first_day = c.first_day AND o.account_id = c.account_id)
SELECT m.first_day, SUM(o) AS opening,
  SUM(CASE WHEN o = 0 AND c > 0 AND pr.account_id IS NULL THEN c ELSE 0 END) AS new,
  SUM(CASE WHEN o = 0 AND c > 0 AND pr.account_id IS NOT NULL THEN c ELSE 0 END) AS reactivation,
  SUM(CASE WHEN o > 0 AND c > o THEN c - o ELSE 0 END) AS expansion,
  SUM(CASE WHEN o > 0 AND c > 0 AND c < o THEN o - c ELSE 0 END) AS contraction,
  SUM(CASE WHEN o > 0 AND c = 0 THEN o ELSE 0 END) AS churn, SUM(c) AS closing
FROM m LEFT JOIN pr ON pr.first_day = m.first_day AND pr.account_id = m.account_id
GROUP BY m.first_day ORDER BY m.first_day
"""


def make_lines(accounts: int, lines_per_account: int, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    n = accounts * lines_per_account
    acct = np.array([f"A{i:06d}" for i in range(accounts)])
    ai = rng.integers(0, accounts, n)
    start = np.datetime64("2020-01-01") + rng.integers(0, 6 * 365, n).astype("timedelta64[D]")
    dur = rng.integers(30, 3 * 365, n).astype("timedelta64[D]")
    open_end = rng.random(n) < 0.3
    end = np.where(open_end, np.datetime64("NaT"), start + dur)
    now = datetime(2026, 11, 1)
    lines = pa.table({
        "line_id": pa.array([f"L{i:08d}" for i in range(n)]), "account_id": pa.array(acct[ai]),
        "product": pa.array(np.where(rng.random(n) < 0.8, "core", "addon")), "plan": pa.nulls(n, pa.string()),
        "start_date": pa.array(start), "end_date": pa.array(end.astype("datetime64[D]")),
        "arr": pa.array(np.round(rng.lognormal(8, 1, n), 2)).cast(pa.decimal128(18, 2)),
        "currency": pa.array(np.full(n, "USD")), "quantity": pa.nulls(n, pa.int64()),
        "billing_period": pa.nulls(n, pa.string()), "auto_renew": pa.nulls(n, pa.bool_()),
        "source": pa.array(np.full(n, "bench")), "ingested_at": pa.array(np.full(n, now, dtype="datetime64[us]")),
    })
    segs = np.array(["Enterprise", "Mid-Market", "SMB"])[rng.choice(3, accounts, p=[0.1, 0.3, 0.6])]
    accounts_t = pa.table({"account_id": pa.array(acct), "name": pa.array(acct), "segment": pa.array(segs)})
    return lines, accounts_t


def load(wh, lines: pa.Table, accounts: pa.Table) -> None:
    from tenure.schema import TABLES

    wh.ensure_schema()
    n = accounts.num_rows
    cols = {c: accounts[c] if c in accounts.column_names else pa.nulls(n, pa.string())
            for c in TABLES["accounts"].column_names}
    cols["created_at"] = pa.nulls(n, pa.timestamp("us"))
    cols["source"] = pa.array(["bench"] * n)
    cols["ingested_at"] = pa.array([datetime(2026, 11, 1)] * n, pa.timestamp("us"))
    acc = pa.table(cols)
    if wh.backend == "pyspark":
        for t in ("contract_lines", "accounts"):
            wh.drop_table(t)
        wh.ensure_schema()
        wh.insert("accounts", acc)
        wh.insert("contract_lines", lines)
        return
    wh.load_temp("__acc", acc)
    wh.raw_sql("INSERT INTO accounts SELECT * FROM __acc")
    wh.load_temp("__lines", lines)
    wh.raw_sql("INSERT INTO contract_lines SELECT * FROM __lines")


def tenure_bridge(wh, config):
    from tenure.metrics.bridge import bridge
    from tenure.metrics.compute import compute
    from tenure.metrics.periods import monthly

    months = monthly(date(2023, 11, 1), date(2026, 10, 31))
    series = wh.execute(bridge(wh, config, months))
    grr = compute(wh, config, "grr", "2025-11..2026-10", ["segment"])
    nrr = compute(wh, config, "nrr", "2025-11..2026-10", ["segment"])
    return series, grr, nrr


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench metrics")
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--lines-per-account", type=int, default=10)
    ap.add_argument("--small", type=int, default=5_000, help="accounts for PostgreSQL and Spark")
    ap.add_argument("--engines", default="duckdb,postgres,spark")
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/tenure_bench")
    args = ap.parse_args(argv)
    from tenure.config import config_from_dict
    from tenure.warehouse import Warehouse

    work = DATA_DIR / "metrics"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config = config_from_dict({}, base_dir=work, env={})
    results: dict = {"accounts": args.accounts, "lines": args.accounts * args.lines_per_account, "months": 36}
    lines, accounts = make_lines(args.accounts, args.lines_per_account)
    wh = Warehouse(f"duckdb:///{work / 'bench.duckdb'}")
    load(wh, lines, accounts)
    hand_s, hand = timed(lambda: wh.raw_sql(HAND_SQL.format(first="2023-11-01", stop="2026-11-01")), repeat=3)
    ours_s, (series, _, _) = timed(lambda: tenure_bridge(wh, config), repeat=3)
    bridge_only_s, _ = timed(lambda: wh.execute(__import__("tenure.metrics.bridge", fromlist=["bridge"]).bridge(
        wh, config, __import__("tenure.metrics.periods", fromlist=["monthly"]).monthly(date(2023, 11, 1),
                                                                                     date(2026, 10, 31)))), repeat=3)
    same = [float(r[7]) for r in hand] == [float(x) for x in series["closing"]]
    results["duckdb"] = {"hand_sql_bridge_seconds": round(hand_s, 3), "tenure_bridge_seconds": round(bridge_only_s, 3),
                         "tenure_bridge_plus_grr_nrr_by_segment_seconds": round(ours_s, 3),
                         "ratio_bridge_vs_hand_sql": round(bridge_only_s / hand_s, 2),
                         "closing_arr_matches_hand_sql": same}
    wh.close()
    small_lines, small_accounts = make_lines(args.small, args.lines_per_account, seed=1)
    engines = args.engines.split(",")
    if "postgres" in engines:
        import psycopg

        name = args.pg.rsplit("/", 1)[1]
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{name}"')
        pg = Warehouse(args.pg)
        load(pg, small_lines, small_accounts)
        s, _ = timed(lambda: tenure_bridge(pg, config))
        results["postgres"] = {"accounts": args.small, "tenure_bridge_plus_grr_nrr_seconds": round(s, 3)}
        pg.close()
    if "spark" in engines:
        sp = Warehouse("pyspark://local")
        load(sp, small_lines, small_accounts)
        s, _ = timed(lambda: tenure_bridge(sp, config))
        results["spark"] = {"accounts": args.small, "tenure_bridge_plus_grr_nrr_seconds": round(s, 3)}
    dk = Warehouse(f"duckdb:///{work / 'small.duckdb'}")
    load(dk, small_lines, small_accounts)
    s, _ = timed(lambda: tenure_bridge(dk, config))
    results["duckdb_small"] = {"accounts": args.small, "tenure_bridge_plus_grr_nrr_seconds": round(s, 3)}
    dk.close()
    results["peak_rss_mib"] = peak_rss_mib()
    path = write_results("metrics", results)
    import json

    print(f"wrote {path}")
    print(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0
