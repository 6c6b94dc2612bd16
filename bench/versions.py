"""The cost of keeping fact versions (facts as known): ingest time with and without versions on
the same files, the time to load the dated change files, and the rows and MB the history adds.

    python -m bench versions --accounts 2000 --months 36

Usage events are left out (they keep no versions and dominate ingest time); every other file of
the simulated company is loaded, first without versions (record_versions switched off), then
with them, into fresh DuckDB files.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from bench.common import DATA_DIR, machine, timed, write_results


def _load(folder: Path, company: Path, versions: bool) -> dict:
    import tenure.warehouse.writes as writes
    from tenure.config import load_config, write_default_config
    from tenure.demo import LOAD_ORDER
    from tenure.ingest.pipeline import ingest_file
    from tenure.schema.versions import VERSIONED, versions_name
    from tenure.simulate.company import change_folders
    from tenure.warehouse import connect
    from tenure.warehouse.connection import duckdb_path
    from tenure.warehouse.versions import record_versions

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    write_default_config(folder)
    config = load_config(folder / "tenure.yaml")
    writes.record_versions = record_versions if versions else (lambda wh, table, load: 0)
    wh = connect(config=config)
    wh.ensure_schema()
    try:
        main = [(e, company / f"{e}.csv", None) for e in LOAD_ORDER]
        main.append(("tickets", company / "zendesk" / "tickets.json", "zendesk"))
        changes = [(e, f / f"{e}.csv", None) for f in change_folders(company) for e in LOAD_ORDER
                   if (f / f"{e}.csv").exists()]

        def run(steps):
            for entity, path, fmt in steps:
                ingest_file(wh, config, entity, path, source="bench", fmt=fmt)

        main_s, _ = timed(lambda: run(main))
        change_s, _ = timed(lambda: run(changes))
        rows = {t: wh.count(versions_name(t)) for t in VERSIONED}
        facts = {t: wh.count(t) for t in VERSIONED}
        wh.raw_sql("CHECKPOINT")
        path = Path(duckdb_path(config.warehouse_url))
        history_mb = None
        if versions:  # the history tables alone, in a file of their own
            alone = folder / "history.duckdb"
            wh.raw_sql(f"ATTACH '{alone}' AS h")
            for t in VERSIONED:
                wh.raw_sql(f'CREATE TABLE h."{versions_name(t)}" AS SELECT * FROM "{versions_name(t)}"')
            wh.raw_sql("DETACH h")
            history_mb = round(alone.stat().st_size / 2**20, 1)
    finally:
        wh.close()
        writes.record_versions = record_versions
    return {"main_files_seconds": round(main_s, 2), "change_files": len(changes),
            "change_files_seconds": round(change_s, 2), "fact_rows": facts, "version_rows": rows,
            "warehouse_mb": round(path.stat().st_size / 2**20, 1), "history_tables_mb": history_mb}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench versions")
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    from tenure.simulate import simulate_company

    work = DATA_DIR / "versions"
    shutil.rmtree(work, ignore_errors=True)
    simulate_company(work / "company", args.accounts, args.months, args.seed)
    without = _load(work / "without", work / "company", versions=False)
    with_versions = _load(work / "with", work / "company", versions=True)
    results = {"machine": machine(), "accounts": args.accounts, "months": args.months,
               "without_versions": without, "with_versions": with_versions}
    path = write_results(f"versions-{args.accounts}", results)
    print(f"wrote {path}")
    print(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
