"""A batch is visible whole or not at all, also when the loading process is killed; the run log
shows the killed run as failed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.config import config_from_dict
from tenure.ingest.pipeline import ingest_file
from tenure.state.runs import list_runs
from tenure.warehouse import Warehouse


def test_killed_load_leaves_nothing_partial_and_rerun_completes(tmp_path):
    db = tmp_path / "w.duckdb"
    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs"), "chunk_rows": 200_000}},
                              base_dir=tmp_path, env={})
    wh = Warehouse(f"duckdb:///{db}")
    (tmp_path / "acc.csv").write_text("account_id,name\nA1,Acme\nA2,Beta\n")
    ingest_file(wh, config, "accounts", tmp_path / "acc.csv")
    wh.close()
    n = 3_000_000
    rng = np.random.default_rng(1)
    events = tmp_path / "events"
    events.mkdir()
    table = pa.table({
        "account_id": rng.choice(["A1", "A2"], n), "user_id": pa.array(rng.integers(0, 50, n)).cast(pa.string()),
        "ts": pa.array((np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 86400 * 300, n)
                        .astype("timedelta64[s]")).astype("datetime64[us]")),
        "feature": rng.choice(["a", "b", "c"], n), "quantity": np.ones(n)})
    for i in range(10):  # a folder of part files: the loader reports progress per part
        pq.write_table(table.slice(i * n // 10, n // 10), events / f"part-{i:02d}.parquet")
    script = textwrap.dedent(f"""
        from tenure.config import config_from_dict
        from tenure.ingest.pipeline import ingest_file
        from tenure.warehouse import Warehouse
        from pathlib import Path
        config = config_from_dict({{"ingest": {{"runs_dir": {str(tmp_path / 'runs')!r}, "chunk_rows": 200000}}}},
                                  base_dir=Path({str(tmp_path)!r}), env={{}})
        wh = Warehouse({f'duckdb:///{db}'!r})
        def progress(advance, total, desc):
            print("chunk", flush=True)
        ingest_file(wh, config, "usage_events", {str(events)!r}, progress=progress)
        print("finished", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    chunks = 0
    for line in proc.stdout:  # wait until some chunks are inside the open transaction, then kill
        chunks += line.startswith("chunk")
        if chunks >= 3:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the loader finished before it could be killed"
    time.sleep(0.2)
    wh = Warehouse(f"duckdb:///{db}")
    assert wh.count("usage_events") == 0
    assert wh.count("usage_daily") == 0
    killed = list_runs(config, entity="usage_events")  # the run log shows the killed run as failed
    assert [r["status"] for r in killed] == ["failed"] and "ended before the run finished" in killed[0]["error"]
    res = ingest_file(wh, config, "usage_events", events)
    assert res.status == "loaded"
    distinct = wh.raw_sql("SELECT COUNT(*) FROM (SELECT DISTINCT account_id, user_id, ts, feature FROM "
                          f"read_parquet('{events}/*.parquet'))")[0][0]
    assert wh.count("usage_events") == distinct == res.inserted
    wh.close()
