"""Simulator speed: rows per second writing a company, and peak memory.

    python -m bench simulate --accounts 20000 --months 36
"""

from __future__ import annotations

import argparse
import shutil

from bench.common import DATA_DIR, peak_rss_mib, timed, write_results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench simulate")
    ap.add_argument("--accounts", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    from tenure.simulate import simulate_company

    out = DATA_DIR / "simulate"
    shutil.rmtree(out, ignore_errors=True)
    seconds, summary = timed(lambda: simulate_company(out, args.accounts, args.months, args.seed))
    rows = sum(summary.rows.values())
    results = {"accounts": args.accounts, "months": args.months, "seconds": round(seconds, 2),
               "rows": summary.rows, "total_rows": rows, "rows_per_second": round(rows / seconds),
               "usage_events_per_second": round(summary.rows["usage_events"] / seconds),
               "peak_rss_mib": peak_rss_mib()}
    path = write_results(f"simulate-{args.accounts}", results)
    import json

    print(f"wrote {path}")
    print(json.dumps(results, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    return 0
