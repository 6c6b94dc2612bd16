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
    ap.add_argument("--backtest", action="store_true",
                    help="also time a risk backtest on a simulated company of the same number of accounts")
    ap.add_argument("--backtest-only", action="store_true", help="only the risk backtest (keeps the other figures)")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse bench/data/health from an earlier --keep run (skips generating events)")
    ap.add_argument("--months", type=int, default=36, help="months of history of the simulated company (--backtest)")
    ap.add_argument("--keep", action="store_true", help="keep bench/data/health for a later --reuse")
    args = ap.parse_args(argv)
    if args.backtest_only:
        results = {"risk_backtest": company_backtest(args.accounts, args.months, args.reuse, args.keep)}
        results["risk_backtest"]["peak_rss_mib"] = peak_rss_mib()
        _merge_write(results)
        return 0
    from bench.metrics import load, make_lines
    from tenure.config import config_from_dict
    from tenure.health.scorecard import score_table
    from tenure.ingest.usage import rebuild_usage_daily
    from tenure.warehouse import Warehouse

    work = DATA_DIR / "health"
    n = args.accounts * args.events_per_account
    reuse = args.reuse and (work / "bench.duckdb").exists()
    if not reuse:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    config = config_from_dict({}, base_dir=work, env={})
    wh = Warehouse(f"duckdb:///{work / 'bench.duckdb'}")
    if reuse:
        if wh.count("usage_events") != n or wh.count("accounts") != args.accounts:
            raise SystemExit(f"{work} holds another size; run without --reuse")
        gen_s = None
    else:
        lines, accounts = make_lines(args.accounts, 3)
        load(wh, lines, accounts)
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
    # every column of every account's score fetched, as the naive query fetches its rows
    score_s, scored = timed(lambda: wh.to_pyarrow(score_table(wh, config, as_of)), repeat=2)
    results = {"accounts": args.accounts, "events": n, "generate_events_seconds": None if gen_s is None else round(gen_s, 1),
               "usage_daily_rebuild_seconds": round(roll_s, 1), "usage_daily_rows": wh.count("usage_daily"),
               "naive_raw_event_query_seconds": round(naive_s, 2),
               "score_all_components_seconds": round(score_s, 2), "scored_accounts": scored.num_rows,
               "speedup_vs_naive": round(naive_s / score_s, 2)}
    write_results("health", results)  # keep the scoring figures even if the backtest fails
    if args.backtest:
        results["risk_backtest"] = company_backtest(args.accounts, args.months, args.reuse, args.keep)
    results["peak_rss_mib"] = peak_rss_mib()
    wh.close()
    path = write_results("health", results)
    import json

    print(f"wrote {path}")
    print(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0





def _merge_write(results: dict) -> None:
    """Write results into bench/results/health.json, keeping figures of the other part."""
    import json

    from bench.common import RESULTS_DIR

    path = RESULTS_DIR / "health.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    old = {k: v for k, v in old.items() if k not in ("benchmark", "measured_at", "machine")}
    write_results("health", {**old, **results})
    print(json.dumps(results, indent=2))


COMPANY_FILES = ("accounts", "fx", "contacts", "contract_lines", "invoices", "tickets", "survey_responses",
                 "opportunities", "activities", "milestones", "churn_reasons", "spend", "costs")


def company_backtest(accounts: int, months: int, reuse: bool, keep: bool, seed: int = 7,
                     memory_limit: str = "8GB") -> dict:
    """A risk backtest at scale needs churn with a cause: the simulator's company (latent health
    drives usage, tickets, NPS... and, with a lag, churn) of `accounts` accounts, loaded through
    ingestion (usage events by the Parquet fast path), then `tenure risk backtest`."""
    from datetime import timedelta

    from tenure.config import config_from_dict
    from tenure.ingest.pipeline import ingest_file
    from tenure.metrics.periods import to_date
    from tenure.predict.risk import backtest
    from tenure.simulate import simulate_company
    from tenure.warehouse import Warehouse

    work = DATA_DIR / "health-company"
    db = work / "bench.duckdb"
    out: dict = {"accounts": accounts, "months": months, "seed": seed}
    if not (reuse and db.exists()):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        sim_s, sim = timed(lambda: simulate_company(work / "company", accounts, months, seed))
        out["simulate_seconds"] = round(sim_s, 1)
        wh = Warehouse(f"duckdb:///{db}")
        wh.raw_sql(f"SET memory_limit = '{memory_limit}'")  # a shared machine: spill rather than be OOM-killed
        config = config_from_dict({}, base_dir=work, env={})
        wh.ensure_schema()

        def load_all() -> None:
            for entity in COMPANY_FILES:
                ingest_file(wh, config, entity, work / "company" / f"{entity}.csv", source="sim")
            ingest_file(wh, config, "usage_events", work / "company" / "usage_events", source="sim")

        load_s, _ = timed(load_all)
        out["ingest_seconds"] = round(load_s, 1)
        shutil.rmtree(work / "company", ignore_errors=True)
    else:
        wh = Warehouse(f"duckdb:///{db}")
        config = config_from_dict({}, base_dir=work, env={})
    out["usage_events"] = wh.count("usage_events")
    out["usage_daily_rows"] = wh.count("usage_daily")
    horizon = 180
    cutoff = to_date(wh.execute(wh.table("contract_lines").start_date.max())) - timedelta(days=horizon)
    bt_s, report = timed(lambda: backtest(wh, config, cutoff, horizon, seed=1))
    wh.close()
    out.update({"cutoff": str(cutoff), "horizon_days": horizon, "seconds": round(bt_s, 1),
                "train_rows": report["train_accounts"], "trained_on": report["trained_on"],
                **{f"{m}_{k}": report[m][k] for m in ("logistic", "boosted")
                   for k in ("accounts", "churned", "auc", "pr_auc", "brier", "top_decile_lift")}})
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return out
