"""Playbook trigger evaluation at scale: 10 playbooks (the 7 shipped plus 3 more, together every
trigger type) evaluated over 100,000 accounts in one warehouse query, against the goal of 5 s.
Also one full run (occurrences, enrolments, tasks and emails written to a SQLite state DB).

The warehouse is generated directly (NumPy -> Arrow -> the warehouse), with the tables the
triggers read: accounts and custom attributes, contract lines, three monthly health snapshots, two
risk snapshots, milestones, survey answers, contacts (some leaving), tickets (some escalated),
early-warning signals and 90 days of usage_daily; then the account summary is written by the real
code (tenure.portfolio.summary).

    python -m bench playbooks --accounts 100000 [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import shutil
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa

from bench.common import DATA_DIR, peak_rss_mib, timed, write_results

AS_OF = date(2026, 6, 30)
EXTRA = {
    "score-drop": """
name: score-drop
status: active
triggers: [{type: score_drop, points: 15, days: 30}]
steps: [{action: create_task, type: risk, reason: health_red, title: "Score fell: {{ account.name }}"}]
""",
    "escalations": """
name: escalations
status: active
triggers: [{type: ticket_escalated}, {type: ticket_resolved, within_days: 7}, {type: signal, signals: [support_spike, overdue_invoice]}]
steps: [{action: create_task, type: risk, reason: signal, title: "Support: {{ trigger.detail }}"}]
""",
    "milestones": """
name: milestones
status: active
per: contact
triggers: [{type: milestone_reached, milestones: [first_value], within_days: 14}]
audience: [{attribute: plan_tier, in: [gold, silver]}, {field: arr, gte: 5000}]
steps: [{action: create_task, type: lifecycle, title: "Celebrate first value with {{ contact.name }}"}]
""",
}


def _put(wh, name: str, cols: dict) -> None:
    from tenure.schema import TABLES
    from tenure.warehouse import ibis_schema

    schema = ibis_schema(TABLES[name]).to_pyarrow()
    n = len(next(iter(cols.values())))
    names = set(schema.names)
    if "source" in names:
        cols = {"source": ["bench"] * n, "ingested_at": [datetime(2026, 6, 30)] * n, **cols}
    wh.insert(name, pa.table({f.name: _array(cols[f.name], f.type) if f.name in cols else pa.nulls(n, f.type)
                              for f in schema}))


def _array(values, typ: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(values).cast(typ)


def _ids(prefix: str, idx: np.ndarray) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(idx.astype(str), 6))


def build(wh, config, n: int, seed: int = 3) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    acc = _ids("A", np.arange(n))
    seg = rng.choice(["Enterprise", "Mid-Market", "SMB"], n, p=[0.1, 0.3, 0.6])
    owner = np.char.add("csm", np.char.zfill((np.arange(n) % 50).astype(str), 2))
    _put(wh, "accounts", {"account_id": acc, "name": np.char.add("Company ", acc), "segment": seg, "owner": owner,
                          "tier": rng.choice(["high", "mid", "tech"], n)})
    _put(wh, "account_attributes", {"account_id": acc, "name": ["plan_tier"] * n,
                                    "value": rng.choice(["gold", "silver", "bronze"], n)})
    start = np.datetime64(AS_OF) - rng.integers(30, 3 * 365, n).astype("timedelta64[D]")
    auto = rng.random(n) < 0.6
    end = np.where(auto, np.datetime64("NaT"), start + np.timedelta64(365 * 2 - 1, "D"))
    seats = rng.integers(5, 200, n)
    _put(wh, "contract_lines", {
        "line_id": _ids("L", np.arange(n)), "account_id": acc, "product": ["core"] * n, "plan": ["Growth"] * n,
        "start_date": start.astype("datetime64[D]").astype(object), "end_date": [None if np.isnat(e) else e.item()
                                                                               for e in end.astype("datetime64[D]")],
        "arr": rng.integers(1_000, 200_000, n).astype(float), "currency": ["USD"] * n, "quantity": seats,
        "billing_period": ["annual"] * n, "auto_renew": auto})
    days = [AS_OF - timedelta(days=61), AS_OF - timedelta(days=30), AS_OF]
    score = rng.uniform(20, 95, n)
    hs_acc, hs_day, hs_score = [], [], []
    for d in days:
        score = np.clip(score + rng.normal(0, 8, n), 0, 100)
        hs_acc.append(acc), hs_day.append(np.full(n, d, dtype=object)), hs_score.append(score.copy())
    sc = np.concatenate(hs_score)
    _put(wh, "health_scores", {"account_id": np.concatenate(hs_acc), "as_of": np.concatenate(hs_day),
                               "segment": np.tile(seg, 3), "score": sc,
                               "band": np.where(sc < 40, "red", np.where(sc < 70, "yellow", "green"))})
    _put(wh, "risk_scores", {"account_id": np.concatenate([acc, acc]),
                             "as_of": [days[1]] * n + [AS_OF] * n, "horizon_days": [180] * (2 * n),
                             "probability": rng.beta(2, 6, 2 * n), "drivers": ["[]"] * (2 * n),
                             "model": ["bench"] * (2 * n)})
    m_acc = np.repeat(acc, 3)
    due = np.repeat(start, 3) + np.tile(np.array([14, 45, 90]), n).astype("timedelta64[D]")
    done = rng.random(3 * n) < 0.8
    completed = due + rng.integers(-5, 20, 3 * n).astype("timedelta64[D]")
    _put(wh, "milestones", {"account_id": m_acc, "milestone": np.tile(["kickoff", "integration", "first_value"], n),
                            "due_at": due.astype("datetime64[D]").astype(object),
                            "completed_at": [c.item() if ok else None for c, ok in
                                             zip(completed.astype("datetime64[D]"), done)]})
    k = int(n * 0.3)
    who = rng.choice(n, k, replace=False)
    _put(wh, "survey_responses", {
        "response_id": _ids("S", np.arange(k)), "account_id": acc[who], "contact_id": _ids("K", who * 3 + 1),
        "kind": rng.choice(["nps", "csat"], k, p=[0.7, 0.3]), "score": rng.integers(1, 6, k),
        "responded_at": [datetime(2026, 6, 30) - timedelta(days=int(x)) for x in rng.integers(0, 60, k)]})
    c_acc = np.repeat(acc, 3)
    left = rng.random(3 * n) < 0.02
    _put(wh, "contacts", {"contact_id": _ids("K", np.arange(3 * n)), "account_id": c_acc,
                          "email": np.char.add(_ids("k", np.arange(3 * n)), "@example.com"),
                          "name": _ids("Person ", np.arange(3 * n)),
                          "role": np.tile(["exec_sponsor", "champion", "user"], n),
                          "active_from": [date(2024, 1, 1)] * (3 * n),
                          "active_to": [AS_OF - timedelta(days=int(x)) if lf else None
                                        for lf, x in zip(left, rng.integers(0, 40, 3 * n))]})
    t = 2 * n
    opened = [datetime(2026, 6, 30) - timedelta(days=int(x)) for x in rng.integers(0, 90, t)]
    resolved = [o + timedelta(days=int(x)) if r else None for o, x, r in zip(opened, rng.integers(1, 10, t),
                                                                            rng.random(t) < 0.7)]
    _put(wh, "tickets", {"ticket_id": _ids("T", np.arange(t)), "account_id": np.repeat(acc, 2), "opened_at": opened,
                         "resolved_at": resolved, "priority": rng.choice(["normal", "high", "urgent"], t),
                         "escalated": rng.random(t) < 0.05})
    s = int(n * 0.2)
    sig_who = rng.choice(n, s, replace=False)
    _put(wh, "health_signals", {"account_id": acc[sig_who], "signal": rng.choice(
        ["missed_cadence", "support_spike", "overdue_invoice", "detractor", "usage_decline"], s),
        "at": [AS_OF - timedelta(days=int(x)) for x in rng.integers(0, 10, s)], "severity": ["medium"] * s,
        "detail": np.char.add("signal ", sig_who.astype(str))})
    # usage_daily: about 30 active days in the last 90 per account
    per = 30
    u_acc = np.repeat(acc, per)
    u_day = np.datetime64(AS_OF) - rng.integers(0, 90, n * per).astype("timedelta64[D]")
    users = np.minimum(rng.poisson(np.repeat(seats * 0.5, per)), np.repeat(seats + 5, per))
    _put(wh, "usage_daily", {"account_id": u_acc, "day": u_day.astype("datetime64[D]").astype(object),
                             "events": rng.integers(1, 200, n * per), "quantity": rng.uniform(1, 200, n * per),
                             "active_users": users, "feature_mask": rng.integers(1, 2 ** 16, n * per)})
    _put(wh, "usage_features", {"feature": [f"f{i}" for i in range(16)], "bit": list(range(16)),
                                "first_seen": [datetime(2024, 1, 1)] * 16})
    from tenure.portfolio.summary import write_summary

    write_summary(wh, config, AS_OF)
    return {"accounts": n, "usage_daily_rows": n * per, "contacts": 3 * n, "tickets": t, "health_rows": 3 * n}


def breakdown(wh, config, books) -> dict[str, float]:
    """Where one evaluation's time goes: the shared features (one warehouse query), building the
    Ibis expression, compiling it to SQL, running it, and turning the rows into Python."""
    import time

    from tenure.playbooks.engine import occurrences_expr
    from tenure.playbooks.triggers import Inputs

    out = {}
    t0 = time.perf_counter()
    inp = Inputs(wh, config, AS_OF)
    _ = inp.features
    out["features"] = time.perf_counter() - t0
    import tenure.playbooks.engine as engine

    real = engine.Inputs
    engine.Inputs = lambda *a: inp  # reuse the features just computed
    try:
        t0 = time.perf_counter()
        expr = occurrences_expr(wh, config, books, AS_OF)
        out["build"] = time.perf_counter() - t0
    finally:
        engine.Inputs = real
    t0 = time.perf_counter()
    wh.con.compile(expr)
    out["compile"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = wh.to_pyarrow(expr)
    out["compile_and_run"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    table.to_pylist()
    out["to_python"] = time.perf_counter() - t0
    return {k: round(v, 2) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench playbooks")
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep bench/data/playbooks for --reuse")
    ap.add_argument("--reuse", action="store_true", help="reuse the warehouse of an earlier --keep run")
    ap.add_argument("--no-run", action="store_true", help="only time the evaluation, not a full run")
    args = ap.parse_args(argv)

    from tenure.config import config_from_dict
    from tenure.playbooks.engine import evaluate, run_playbooks
    from tenure.playbooks.playbook_cli import install_library
    from tenure.playbooks.spec import load_playbooks
    from tenure.state.db import upgrade
    from tenure.warehouse import Warehouse

    work = DATA_DIR / "playbooks"
    reuse = args.reuse and (work / "bench.duckdb").exists()
    if not reuse:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    for f in ("state.db", "state.db-wal", "state.db-shm"):
        (work / f).unlink(missing_ok=True)
    shutil.rmtree(work / "playbooks", ignore_errors=True)
    # one onboarding plan over the generated milestones, so the shipped onboarding playbook's
    # onboarding_status trigger (behind / stuck on the plan) has something to read
    plan = {"name": "standard", "milestones": [{"name": "kickoff", "due_days": 14},
                                               {"name": "integration", "due_days": 45},
                                               {"name": "first_value", "due_days": 90}]}
    config = config_from_dict({"state": {"url": f"sqlite:///{work / 'state.db'}"},
                               "playbooks": {"folder": str(work / "playbooks")},
                               "onboarding_plans": {"behind_after_days": 0, "stuck_after_days": 21, "plans": [plan]}},
                              base_dir=work, env={})
    wh = Warehouse(f"duckdb:///{work / 'bench.duckdb'}")
    results: dict = {"accounts": args.accounts, "as_of": AS_OF.isoformat()}
    try:
        if not reuse:
            wh.ensure_schema()
            seconds, sizes = timed(lambda: build(wh, config, args.accounts))
            results["generate_seconds"] = round(seconds, 1)
            results["rows"] = sizes
        install_library(config, enable=True)
        for name, text in EXTRA.items():
            (work / "playbooks" / f"{name}.yaml").write_text(text)
        books = load_playbooks(config)
        # a high cap: the bench measures what a run does, not the cap
        for b in books:
            b.max_per_run = 10 * args.accounts
        results["playbooks"] = len(books)
        results["trigger_types"] = sorted({t.type for b in books for t in b.trigger_params})
        seconds, rows = timed(lambda: evaluate(wh, config, books, AS_OF), repeat=args.repeat)
        results["evaluate_seconds"] = round(seconds, 2)
        results["occurrences"] = len(rows)
        results["goal_seconds"] = 5.0
        per_book: dict[str, int] = {}
        for r in rows:
            per_book[r["playbook"]] = per_book.get(r["playbook"], 0) + 1
        results["occurrences_by_playbook"] = per_book
        results["breakdown_seconds"] = breakdown(wh, config, books)
        if not args.no_run:
            upgrade(config)
            seconds, report = timed(lambda: run_playbooks(wh, config, as_of=AS_OF, books=books, trigger="bench"))
            results["first_run_seconds"] = round(seconds, 1)
            results["first_run"] = report["totals"]
            seconds, report = timed(lambda: run_playbooks(wh, config, as_of=AS_OF, books=books, trigger="bench"))
            results["second_run_seconds"] = round(seconds, 1)
            results["second_run"] = report["totals"]
        results["peak_rss_mib"] = peak_rss_mib()
        results["load_average_1_5_15"] = [round(x, 1) for x in os.getloadavg()]
    finally:
        wh.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    path = write_results("playbooks" if args.no_run else f"playbooks-run-{args.accounts}", results)
    print(f"wrote {path}")
    for k in ("evaluate_seconds", "occurrences", "first_run_seconds", "second_run_seconds", "peak_rss_mib"):
        print(f"  {k}: {results.get(k)}")
    return 0
