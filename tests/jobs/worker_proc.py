"""One worker process for test_worker: `python worker_proc.py STATE_URL FOLDER RUNS`. Waits until
both processes are ready, then looks until its job ran RUNS times (at most 400 looks). The job
takes an exclusive marker file while it runs and logs `run:<token>`, or OVERLAP when the marker
is already there (another process runs the same job). Prints `runs N busy M`: M looks found the
job's lease held by the other process."""

import os
import sys
import time
from pathlib import Path

from tenure.config import config_from_dict
from tenure.jobs.worker import Worker, WorkerRegistry

url, folder, wanted = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
marker, log = folder / "running.marker", folder / "runs.log"


def write(text: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(fd, (text + "\n").encode())
    os.close(fd)


def exclusive(ctx):
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        write("OVERLAP")
        return {}
    try:
        write(f"run:{ctx.lease.token}")
        time.sleep(0.3)
    finally:
        os.close(fd)
        os.unlink(marker)
    return {}


config = config_from_dict({"state": {"url": url}, "worker": {"lease_seconds": 30}}, base_dir=folder, env={})
registry = WorkerRegistry()
registry.register_worker_job("exclusive", exclusive, every_seconds=0)
busy = 0


def on_event(kind, what):
    global busy
    busy += kind == "busy"


worker = Worker(config, registry, on_event=on_event)
(folder / f"ready.{os.getpid()}").touch()
while len(list(folder.glob("ready.*"))) < 2:
    time.sleep(0.01)
runs = 0
for _ in range(400):
    runs += len(worker.run_once())
    if runs >= wanted:
        break
    time.sleep(0.02)
print("runs", runs, "busy", busy)
