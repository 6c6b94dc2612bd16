"""Survey invitations at volume: one relationship wave to N contacts (default 10,000).

    python -m bench surveys [--contacts 10000] [--deliver]

Builds a project with N/4 accounts and N active contacts (loaded through `tenure ingest`'s path
into DuckDB; SQLite state DB), then times
- send: `tenure.voc.send.send_program` (audience query, throttle and suppression checks, one
  invitation row and one outbox email per contact, one transaction),
- a second send (everyone was just asked: nothing is written),
- sync: the invitations to the warehouse's survey_invitations through the ingest path,
- with --deliver, the outbox writing every invitation as an .eml file (tenure.notify.deliver).
Results: bench/results/surveys-<N>.json (wall and CPU seconds of each phase, rates, peak RSS of
this process). CPU seconds say what the work costs when the machine is shared (wall time then
includes waiting for a core).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import peak_rss_mib, write_results

PROGRAM = {"name": "rel-nps", "kind": "nps", "trigger": {"type": "relationship", "every_days": 90},
           "audience": {"roles": ["champion", "user"], "statuses": []},
           "text": {"en": {"question": "How likely are you to recommend {project}?"}}}


def build(folder: Path, contacts: int) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from tenure.config import load_config, write_default_config
    from tenure.ingest.pipeline import ingest_file
    from tenure.state.db import upgrade
    from tenure.warehouse import connect

    path = write_default_config(folder)
    data = yaml.safe_load(path.read_text())
    data["web"] = {**data.get("web", {}), "public_url": "https://tenure.example.com"}
    data["notify"] = {**data.get("notify", {}), "send_window": None}
    data["surveys"] = {"programs": [PROGRAM]}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    accounts = max(1, contacts // 4)
    ids = np.arange(accounts)
    pacsv.write_csv(pa.table({"account_id": [f"a{i}" for i in ids], "name": [f"Account {i}" for i in ids]}),
                    folder / "accounts.csv")
    n = np.arange(contacts)
    locales = np.array(["en-US", "de-DE", "fr-FR", None], dtype=object)
    pacsv.write_csv(pa.table({
        "contact_id": [f"c{i}" for i in n], "account_id": [f"a{i % accounts}" for i in n],
        "email": [f"person{i}@a{i % accounts}.example" for i in n], "name": [f"Person {i}" for i in n],
        "role": np.where(n % 2 == 0, "champion", "user"), "locale": locales[n % 4].tolist()}), folder / "contacts.csv")
    config = load_config(path)
    upgrade(config)
    wh = connect(config=config)
    try:
        wh.ensure_schema()
        for entity in ("accounts", "contacts"):
            ingest_file(wh, config, entity, folder / f"{entity}.csv", source="bench")
    finally:
        wh.close()
    return path


class Phase:
    """Wall and CPU seconds (this process) of a block."""

    def __enter__(self) -> Phase:
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.t0, time.process_time() - self.c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench surveys")
    ap.add_argument("--contacts", type=int, default=10_000)
    ap.add_argument("--deliver", action="store_true", help="also write every invitation as an .eml file")
    args = ap.parse_args(argv)

    from tenure.config import load_config
    from tenure.voc.responses import sync
    from tenure.voc.send import send_program
    from tenure.warehouse import connect

    with tempfile.TemporaryDirectory(prefix="bench-surveys-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        config = load_config(build(folder, args.contacts))
        setup = time.perf_counter() - t0
        wh = connect(config=config, write=False)
        try:
            with Phase() as p_send:
                report = send_program(config, wh, "rel-nps")
            with Phase() as p_again:
                again = send_program(config, wh, "rel-nps")
        finally:
            wh.close()
        assert report.invited == args.contacts and again.invited == 0, (report, again)
        wh = connect(config=config, write=True)
        try:
            with Phase() as p_sync:
                synced = sync(config, wh)
        finally:
            wh.close()
        results = {"contacts": args.contacts, "setup_seconds": round(setup, 2),
                   "send_seconds": round(p_send.wall, 2), "send_cpu_seconds": round(p_send.cpu, 2),
                   "invitations_per_cpu_second": round(args.contacts / p_send.cpu),
                   "second_send_seconds": round(p_again.wall, 2), "second_send_cpu_seconds": round(p_again.cpu, 2),
                   "second_send_recently_asked": again.recently_asked,
                   "sync_seconds": round(p_sync.wall, 2), "sync_cpu_seconds": round(p_sync.cpu, 2),
                   "synced_invitations": synced["invitations"]}
        if args.deliver:
            from tenure.notify.deliver import deliver_due

            with Phase() as p_deliver:
                delivered = deliver_due(config)
            results.update(deliver_seconds=round(p_deliver.wall, 2), deliver_cpu_seconds=round(p_deliver.cpu, 2),
                           delivered=delivered.sent,
                           eml_files=len(list(config.resolve_path(config.notify.eml_dir).glob("*.eml"))))
        import os

        results["load_average_1m"] = round(os.getloadavg()[0], 1)
        results["peak_rss_mib"] = peak_rss_mib()
    path = write_results(f"surveys-{args.contacts}", results)
    print(results)
    print(f"written {path}")
    return 0
