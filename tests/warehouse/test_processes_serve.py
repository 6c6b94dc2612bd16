"""The default stores (DuckDB + SQLite) shared by real processes: `tenure serve` twice, and the
CLI's metrics compute, ingest and refresh while they run; the servers show the refresh without
a restart; a writer that has to wait on another is told who writes and what to do."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NEW_ACCOUNT = "ACC900001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tenure(project: Path, *args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tenure.cli", *args, "--config", str(project / "tenure.yaml")],
                          cwd=project, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


def _get(port: int, path: str, token: str) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A small company loaded through the real path, an admin token, and an accounts file with
    one account the warehouse doesn't have yet."""
    from tenure.config import load_config
    from tenure.demo import run_demo
    from tenure.state import tokens
    from tenure.state.db import session_scope

    folder = tmp_path_factory.mktemp("shared")
    run_demo(folder, accounts=60, months=14, seed=3, quiet=True)
    with session_scope(load_config(folder / "tenure.yaml")) as session:
        _, token = tokens.create_token(session, "admin", "processes", ["read", "write", "admin"])
    with open(folder / "company" / "accounts.csv", newline="") as f:
        reader = csv.DictReader(f)
        row = next(reader)
        fields = reader.fieldnames
    row.update(account_id=NEW_ACCOUNT, name="Zeta Newco", domain="zetanewco.example")
    with open(folder / "new_accounts.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerow(row)
    return folder, token


@pytest.fixture(scope="module")
def servers(project):
    """Two `tenure serve` processes on the same project."""
    folder, token = project
    procs = []
    for _ in range(2):
        port = _free_port()
        proc = subprocess.Popen([sys.executable, "-m", "tenure.cli", "serve", "--port", str(port),
                                 "--config", str(folder / "tenure.yaml")], cwd=folder,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append((port, proc))
    try:
        for port, proc in procs:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, proc.stderr.read()
                try:
                    if _get(port, "/api/v1/me", token)[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "tenure serve did not start"
                time.sleep(0.3)
        yield [port for port, _ in procs]
    finally:
        for _, proc in procs:
            proc.terminate()
        for _, proc in procs:
            proc.wait(30)


def test_commands_run_while_two_servers_serve_and_the_servers_show_the_refresh(project, servers):
    folder, token = project
    first, second = servers
    assert _get(first, f"/api/v1/accounts/{NEW_ACCOUNT}", token)[0] == 404

    computed = _tenure(folder, "metrics", "compute", "nrr", "--period", "2026-Q3", "--json")
    assert computed.returncode == 0, computed.stderr
    assert json.loads(computed.stdout)[0]["metric"] == "nrr"

    ingested = _tenure(folder, "ingest", "accounts", str(folder / "new_accounts.csv"))
    assert ingested.returncode == 0, ingested.stderr + ingested.stdout
    refreshed = _tenure(folder, "refresh")
    assert refreshed.returncode == 0, refreshed.stderr + refreshed.stdout

    for port in (first, second):  # no restart: each server reopens the newest snapshot
        status, body = _get(port, f"/api/v1/accounts/{NEW_ACCOUNT}", token)
        assert status == 200, body
        assert body["name"] == "Zeta Newco"


HOLD_LOCK = """
    import sys
    from tenure.warehouse.processes import WriteLock
    lock = WriteLock(sys.argv[1], command="refresh").acquire()
    print("READY", flush=True)
    sys.stdin.readline()
    lock.release()
"""


def test_a_writer_behind_another_is_told_who_writes(project, servers):
    folder, token = project
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLD_LOCK), str(folder / "tenure.duckdb")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "READY"
        who = f"another tenure process (refresh, pid {holder.pid}, since "

        refused = _tenure(folder, "metrics", "materialize", env={"TENURE_WRITE_WAIT": "0.5"})
        out = refused.stdout + refused.stderr
        assert refused.returncode != 0
        assert who in out and "retry when it finishes" in out, out
        assert "Could not set lock" not in out and "PID" not in out

        status, _ = _get(servers[0], "/api/v1/accounts?page_size=1", token)  # reads go on meanwhile
        assert status == 200

        waiting = subprocess.Popen([sys.executable, "-m", "tenure.cli", "ingest", "accounts",
                                    str(folder / "new_accounts.csv"), "--config", str(folder / "tenure.yaml")],
                                   cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "COLUMNS": "200"})
        told = ""
        while waiting.poll() is None and "waiting…" not in told:  # (warnings may come first)
            told = waiting.stderr.readline()
        assert told.startswith(who) and told.rstrip().endswith("waiting… (Ctrl-C to stop)"), told
        holder.stdin.write("\n")
        holder.stdin.flush()
        rest, err = waiting.communicate(timeout=240)
        assert waiting.returncode == 0, err + rest
    finally:
        if holder.poll() is None:
            holder.stdin.write("\n")
            holder.stdin.flush()
        holder.wait(30)
