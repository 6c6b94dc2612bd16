"""Web latency and throughput under concurrent load, from a second process on loopback.

    python -m bench web --accounts 100000 --months 12 [--reuse] [--concurrency 50] [--duration 20]

Builds the demo company at the given size through `tenure demo` (the real ingestion path; reuse
it with --reuse), starts `tenure serve` as its own process, and drives it with bench/loadgen.py
(closed loop, keep-alive connections) for each target:

  baseline      GET /api/v1/me           authentication + a JSON body: the server's floor
  portfolio     GET /accounts?...        the portfolio page, varied filters, sorts and pages
  account_360   GET /accounts/{id}       the account 360 page, many different accounts
  account_api   GET /api/v1/accounts/{id}
  metrics_api   GET /api/v1/metrics/...  registry metrics by period and segment

Reports p50/p95/p99 latency, requests/s, errors, and each target's p95 as a ratio to the
baseline's, measured in the same run. Results: bench/results/web.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.common import DATA_DIR, write_results

ROOT = Path(__file__).resolve().parent.parent
TENURE = [sys.executable, "-m", "tenure.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _credentials(config) -> tuple[str, str, str, list[str], list[str]]:
    """(admin token, executive session cookie, csm session cookie, all account ids, csm01's ids)."""
    from tenure.state import sessions, tokens, users
    from tenure.state.db import session_scope
    from tenure.warehouse import connect

    with session_scope(config) as s:
        _, token = tokens.create_token(s, "admin", "bench", ["read"])
        _, exec_cookie = sessions.start(s, users.get(s, "cco"))
        _, csm_cookie = sessions.start(s, users.get(s, "csm01"))
    wh = connect(config=config)
    try:
        t = wh.table("account_summary")
        ids = wh.execute(t.filter(t.status == "customer").account_id)
        mine = wh.execute(t.filter((t.status == "customer") & (t.owner == "csm01")).account_id)
    finally:
        wh.close()
    return token, exec_cookie, csm_cookie, list(ids), list(mine)


def _paths(ids: list[str], mine: list[str], rng: random.Random) -> dict[str, list[str]]:
    sorts = ["arr", "risk", "score", "renewal_date", "name"]
    bands = ["", "red", "yellow", "green"]
    segments = ["", "Enterprise", "Mid-Market", "SMB"]
    portfolio = [f"/accounts?sort={rng.choice(sorts)}&order={rng.choice(['asc', 'desc'])}"
                 f"&band={rng.choice(bands)}&segment={rng.choice(segments)}&page={rng.randint(1, 20)}"
                 for _ in range(300)]
    sample = rng.sample(ids, min(2000, len(ids)))
    metrics = [f"/api/v1/metrics/{m}?period={p}&by={b}" for m in ("nrr", "grr", "logo_churn_rate", "arr")
               for p in ("2026-Q1", "2026-Q2", "2026-Q3") for b in ("", "segment")]
    return {"baseline": ["/api/v1/me"], "portfolio": portfolio,
            "account_360": [f"/accounts/{a}" for a in sample], "account_api": [f"/api/v1/accounts/{a}" for a in sample],
            "metrics_api": metrics}


def _wait(port: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"tenure serve exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
            return
        except Exception:
            time.sleep(0.5)
    raise TimeoutError("tenure serve did not come up")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench web")
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--reuse", action="store_true", help="reuse the demo company built by an earlier run")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--targets", default="baseline,portfolio,account_360,account_api,metrics_api")
    args = ap.parse_args(argv)
    from tenure.config import load_config

    work = DATA_DIR / f"web-{args.accounts}"
    results: dict = {"accounts": args.accounts, "months": args.months, "concurrency": args.concurrency}
    if not (args.reuse and (work / "tenure.yaml").exists()):
        t0 = time.perf_counter()
        subprocess.run([*TENURE, "demo", "--accounts", str(args.accounts), "--months", str(args.months),
                        "--seed", str(args.seed), "--dir", str(work)], check=True, cwd=ROOT)
        results["demo_build_seconds"] = round(time.perf_counter() - t0, 1)
    config = load_config(work / "tenure.yaml")
    token, exec_cookie, csm_cookie, ids, mine = _credentials(config)
    rng = random.Random(args.seed)
    paths = _paths(ids, mine, rng)
    port = _free_port()
    env = {**os.environ, "TENURE_CONFIG": str(work / "tenure.yaml")}
    server = subprocess.Popen([*TENURE, "serve", "--port", str(port)], cwd=work, env=env)
    try:
        _wait(port, server)
        from tenure.state.sessions import COOKIE_NAME

        headers = {"baseline": f"Authorization: Bearer {token}", "account_api": f"Authorization: Bearer {token}",
                   "metrics_api": f"Authorization: Bearer {token}",
                   "portfolio": f"Cookie: {COOKIE_NAME}={exec_cookie}",
                   "account_360": f"Cookie: {COOKIE_NAME}={exec_cookie}"}
        for target in args.targets.split(","):
            path_file = work / f"paths-{target}.txt"
            path_file.write_text("\n".join(paths[target]) + "\n")
            out = subprocess.run([sys.executable, "-m", "bench.loadgen", "--port", str(port), "--concurrency",
                                  str(args.concurrency), "--duration", str(args.duration), "--path-file",
                                  str(path_file), "--header", headers[target]], cwd=ROOT, check=True,
                                 capture_output=True, text=True)
            results[target] = json.loads(out.stdout)
            print(target, json.dumps(results[target]), flush=True)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    base = results.get("baseline", {}).get("p95_ms")
    if base:
        for target in paths:
            if target != "baseline" and target in results:
                results[target]["p95_vs_baseline"] = round(results[target]["p95_ms"] / base, 2)
    path = write_results("web", results)
    print(f"wrote {path}")
    return 0
