"""Health scoring speed: every component for all accounts on one day, read from the incremental
usage_daily rollup, against one hand-written DuckDB query over the raw events computing the same
per-account usage aggregates (active days, events, distinct features over 30 and 90 days).
Also the risk backtest at the same scale.

    python -m bench health --accounts 100000 --events-per-account 1000
"""

from __future__ import annotations

import argparse
import shutil
from datetime import date



from bench.common import DATA_DIR, peak_rss_mib, timed, write_results

NAIVE = """
SELECT account_id,
  COUNT(DISTINCT CAST(ts AS DATE)) FILTER (WHERE ts > TIMESTAMP '{d30}') AS active_days_30,
  COUNT(*) FILTER (WHERE ts > TIMESTAMP '{d30}') AS events_30,
  COUNT(DISTINCT feature) FILTER (WHERE ts > TIMESTAMP '{d30}') AS features_30,
  COUNT(DISTINCT CAST(ts AS DATE)) AS active_days_90, COUNT(*) AS events_90,
  COUNT(DISTINCT feature) AS features_90
FROM usage_events WHERE ts > TIMESTAMP '{d90}' AND ts <= TIMESTAMP '{end}' GROUP BY account_id
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench health")
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--events-per-account", type=int, default=1000)
    ap.add_argument("--backtest", action="store_true", help="also time a risk backtest")
    args = ap.parse_args(argv)
    from bench.metrics import load, make_lines
    from tenure.config import config_from_dict
    from tenure.health.scorecard import score_table
    from tenure.ingest.usage import rebuild_usage_daily
    from tenure.warehouse import Warehouse

    work = DATA_DIR / "health"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config = config_from_dict({}, base_dir=work, env={})
    wh = Warehouse(f"duckdb:///{work / 'bench.duckdb'}")
    lines, accounts = make_lines(args.accounts, 3)
    load(wh, lines, accounts)
    n = args.accounts * args.events_per_account
    gen_s, _ = timed(lambda: wh.raw_sql(f"""
        INSERT INTO usage_events
        SELECT 'A' || lpad(CAST(i % {args.accounts} AS VARCHAR), 6, '0'),
               'u' || CAST(hash(i) % 25 AS VARCHAR),
               TIMESTAMP '2023-11-01' + to_seconds(CAST(hash(i * 7) % (36 * 30 * 86400) AS BIGINT)),
               'f' || CAST(hash(i * 13) % 16 AS VARCHAR), 1.0, 'bench', TIMESTAMP '2026-11-01'
        FROM range({n}) t(i)"""))
    roll_s, _ = timed(lambda: rebuild_usage_daily(wh))
    as_of = date(2026, 9, 30)
    fmt = {"d30": "2026-08-31 23:59:59", "d90": "2026-07-02 23:59:59", "end": "2026-09-30 23:59:59"}
    naive_s, _ = timed(lambda: wh.raw_sql(NAIVE.format(**fmt)), repeat=2)
    score_s, _ = timed(lambda: wh.execute(score_table(wh, config, as_of).count()), repeat=2)
    results = {"accounts": args.accounts, "events": n, "generate_events_seconds": round(gen_s, 1),
               "usage_daily_rebuild_seconds": round(roll_s, 1), "usage_daily_rows": wh.count("usage_daily"),
               "naive_raw_event_query_seconds": round(naive_s, 2),
               "score_all_components_seconds": round(score_s, 2),
               "speedup_vs_naive": round(naive_s / score_s, 2)}
    write_results("health", results)  # keep the scoring figures even if the backtest fails
    if args.backtest:
        from datetime import timedelta

        from tenure.metrics.periods import to_date
        from tenure.predict.risk import backtest

        cutoff = to_date(wh.execute(wh.table("contract_lines").start_date.max())) - timedelta(days=180)
        bt_s, report = timed(lambda: backtest(wh, config, cutoff, 180))
        results["risk_backtest_seconds"] = round(bt_s, 1)
        results["risk_backtest_auc_random_data"] = report["boosted"]["auc"]
    results["peak_rss_mib"] = peak_rss_mib()
    wh.close()
    path = write_results("health", results)
    import json

    print(f"wrote {path}")
    print(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0



