"""A worker process for the restart tests: `python worker_main.py FOLDER` runs one look of a
worker whose jobs are `produce` (enqueues N emails, one transaction each, with dedupe keys, as a
playbook creates tasks and their emails) and the real `deliver-outbox`. TENURE_FAILPOINTS makes
it kill itself with SIGKILL at a chosen point."""

import sys
from pathlib import Path

from tenure.config import load_config
from tenure.jobs import failpoints
from tenure.jobs.db import session
from tenure.jobs.worker import Worker, WorkerRegistry
from tenure.notify import outbox
from tenure.notify.worker_jobs import register_worker_jobs

folder = Path(sys.argv[1])
config = load_config(folder / "tenure.yaml")
N = int((folder / "n").read_text())


def produce(ctx):
    made = 0
    for i in range(N):
        with session(ctx.config) as s:
            ctx.fence(s)
            made += outbox.enqueue(s, channel="email", dedupe_key=f"task:{i}:email", category="risk",
                                   payload={"to": f"c{i}@acme.example", "subject": f"Task {i}", "text": "..."}) is not None
        failpoints.hit("produced")
    return {"made": made}


registry = WorkerRegistry()
registry.register_worker_job("produce", produce, every_seconds=0)
register_worker_jobs(registry)
for o in Worker(config, registry).run_once():
    print(o.name, o.status, o.error or "")
