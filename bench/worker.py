"""Worker throughput: emails through the outbox to a real local SMTP server, none lost, none twice.

    python -m bench worker [--emails 10000] [--state sqlite|postgres] [--kill-after N] [--batch 500]
                           [--mark-every 1]

Enqueues EMAILS emails (transactions of 1,000, as playbooks write tasks with their emails), then
runs `tenure worker --once` in a separate process against an aiosmtpd server in this process,
and checks what the server received against the outbox: every Message-ID expected, each once.
With --kill-after N the first worker process kills itself (SIGKILL) right after the N-th email
reached the server and before it was marked sent; a second worker finishes the work, and the
repeats (the sent-but-unmarked emails: 1, or up to --mark-every) carry the same Message-IDs.

Results: bench/results/worker[-postgres][-kill].json (enqueue and delivery rates, lost,
duplicated, repeats with a new Message-ID).
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import yaml

from bench.common import peak_rss_mib, write_results

PG_ADMIN = os.environ.get("TENURE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class Inbox:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd's handler API
        msg = message_from_bytes(envelope.content)
        with self.lock:
            self.ids.append(msg["Message-ID"])
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(folder: Path, failpoint: str | None) -> tuple[float, int, float]:
    """Run `tenure worker --once`: (wall seconds, exit code, CPU seconds of the worker process)."""
    env = {k: v for k, v in os.environ.items() if k != "TENURE_FAILPOINTS"}
    if failpoint:
        env["TENURE_FAILPOINTS"] = failpoint
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", "from tenure.cli import main; main()", "worker", "--once",
                           "--json", "--config", str(folder / "tenure.yaml")], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, proc.returncode, cpu


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench worker")
    ap.add_argument("--emails", type=int, default=10_000)
    ap.add_argument("--state", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--kill-after", type=int, default=None)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--mark-every", type=int, default=1, help="notify.mark_every: sent rows marked per transaction")
    args = ap.parse_args(argv)

    from aiosmtpd.controller import Controller
    from sqlalchemy import func, select

    from tenure.config import load_config
    from tenure.jobs.db import session
    from tenure.notify import outbox
    from tenure.state.db import upgrade
    from tenure.state.models import OutboxMessage

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    pg_name = None
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        folder = Path(tmp)
        if args.state == "postgres":
            import psycopg

            pg_name = f"tenure_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as con:
                con.execute(f'CREATE DATABASE "{pg_name}"')
            state_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_name}"
        else:
            state_url = "sqlite:///state.db"
        (folder / "tenure.yaml").write_text(yaml.safe_dump({
            "state": {"url": state_url},
            "notify": {"smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none"}, "send_window": None,
                       "from_address": "cs@vendor.example", "batch_size": args.batch, "retry_base_seconds": 0.5,
                       "mark_every": args.mark_every},
            "worker": {"lease_seconds": 60}}))
        config = load_config(folder / "tenure.yaml")
        upgrade(config)
        try:
            t0 = time.perf_counter()
            for start in range(0, args.emails, 1000):
                with session(config) as s:
                    for i in range(start, min(start + 1000, args.emails)):
                        outbox.enqueue(s, channel="email", dedupe_key=f"bench:{i}", category="bench",
                                       payload={"to": f"c{i}@acme.example", "subject": f"Task {i}", "text": "x" * 400,
                                                "from_name": "Jane Csm", "reply_to": "jane@vendor.example"})
            enqueue_s = time.perf_counter() - t0

            runs = []
            failpoint = f"after_send:{args.kill_after}" if args.kill_after else None
            seconds, code, cpu = _worker(folder, failpoint)
            runs.append({"seconds": round(seconds, 2), "exit": code, "cpu_seconds": round(cpu, 2)})
            if args.kill_after:
                time.sleep(0.6)  # the killed claim's backoff (retry_base_seconds)
                seconds, code, cpu = _worker(folder, None)
                runs.append({"seconds": round(seconds, 2), "exit": code, "cpu_seconds": round(cpu, 2)})
            deliver_s = sum(r["seconds"] for r in runs)
            with session(config) as s:
                by_status = dict(s.execute(select(OutboxMessage.status, func.count())
                                           .group_by(OutboxMessage.status)).all())
        finally:
            smtp.stop()
            if pg_name:
                import psycopg

                from tenure.state.db import dispose_all

                dispose_all()
                with psycopg.connect(PG_ADMIN, autocommit=True) as con:
                    con.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')

    expected = {f"<{outbox.idempotency_key(f'bench:{i}')}@vendor.example>" for i in range(args.emails)}
    got = Counter(inbox.ids)
    results = {
        "emails": args.emails, "state": args.state, "batch_size": args.batch, "mark_every": args.mark_every,
        "kill_after": args.kill_after,
        "enqueue_seconds": round(enqueue_s, 2), "enqueue_per_second": round(args.emails / enqueue_s),
        "worker_runs": runs, "deliver_seconds": round(deliver_s, 2),
        "delivered_per_second": round(args.emails / deliver_s),
        "worker_cpu_ms_per_email": round(1000 * sum(r["cpu_seconds"] for r in runs) / args.emails, 2),
        "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        "received": sum(got.values()), "lost": len(expected - set(got)),
        "duplicated": sum(n - 1 for n in got.values() if n > 1),
        "unexpected_message_ids": len(set(got) - expected),
        "outbox_by_status": by_status, "peak_rss_mib_bench_process": peak_rss_mib(),
    }
    name = ("worker" + ("-postgres" if args.state == "postgres" else "") + ("-kill" if args.kill_after else "")
            + (f"-mark{args.mark_every}" if args.mark_every != 1 else ""))
    path = write_results(name, results)
    for k in ("emails", "enqueue_per_second", "deliver_seconds", "delivered_per_second", "worker_cpu_ms_per_email",
              "load_average_1m_at_end", "received", "lost",
              "duplicated", "unexpected_message_ids", "outbox_by_status"):
        print(f"{k:>24}: {results[k]}")
    print(f"results: {path}")
    # a kill after the N-th send repeats the sent-but-unmarked ones: (N - 1) % mark_every + 1
    repeats = (args.kill_after - 1) % args.mark_every + 1 if args.kill_after else 0
    ok = results["lost"] == 0 and results["unexpected_message_ids"] == 0 and results["duplicated"] == repeats
    return 0 if ok else 1
