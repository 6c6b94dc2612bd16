"""`tenure health`: scores with explanations, and the scorecard's validation on history."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from tenure.errors import InputError
from tenure.health import BAND_TABLE
from tenure.schema.versions import KNOWN_AT_HELP, resolve_known_at

console = Console()
app = typer.Typer(help="Health scorecards: scores that explain themselves, validated on your own history.",
                  no_args_is_help=True)
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")


def _open(config_path, *, write: bool = True):
    from tenure.warehouse import open_project

    return open_project(config_path, write=write)


def _as_of(wh, value: str | None) -> date:
    """`--as-of` when given, else the one "as of" (tenure.warehouse.asof: the last day with events)."""
    from tenure.warehouse.asof import require_as_of

    return require_as_of(wh, value)


def _dump(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=lambda v: float(v) if hasattr(v, "is_finite") else str(v)))


KnownAtOpt = typer.Option(None, "--known-at", help=KNOWN_AT_HELP)


@app.command("score")
def score_cmd(as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: latest data)"),
              known_at: str = KnownAtOpt,
              limit: int = typer.Option(20, "--limit", help="riskiest accounts to list"),
              as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """Score every customer account; show the band distribution and the lowest scores."""
    from tenure.health.scorecard import score_accounts

    config, wh = _open(config_path)
    try:
        day = _as_of(wh, as_of)
        rows = score_accounts(wh, config, day, known_at=resolve_known_at(known_at, day if as_of else None))
    finally:
        wh.close()
    if as_json:
        _dump({"as_of": str(day), "accounts": rows})
        return
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["band"] or "none"] = counts.get(r["band"] or "none", 0) + 1
    console.print(f"health as of {day}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    t = Table(title=f"lowest scores (of {len(rows)})")
    for c in ("account_id", "segment", "arr", "score", "band", "weakest components"):
        t.add_column(c, justify="right" if c in ("arr", "score") else "left")
    for r in rows[:limit]:
        weak = sorted((c for c in r["components"] if not c["missing"]), key=lambda c: c["points"])[:2]
        t.add_row(r["account_id"], str(r["segment"]), f"{float(r['arr']):,.0f}", f"{r['score']:.1f}", r["band"],
                  ", ".join(f"{c['name']} ({c['points']:.0f})" for c in weak))
    console.print(t)


@app.command("explain")
def explain_cmd(account_id: str, as_of: str = typer.Option(None, "--as-of"), known_at: str = KnownAtOpt,
                as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """Why an account has its score: each component's raw value, points, weight and contribution,
    and what moved over the last 30 days."""
    from datetime import timedelta

    from tenure.errors import NotFoundError
    from tenure.health.features import account_features  # noqa: F401 (documented dependency)
    from tenure.health.scorecard import score_accounts

    config, wh = _open(config_path, write=False)
    try:
        day = _as_of(wh, as_of)
        known = resolve_known_at(known_at, day if as_of else None)
        now = [r for r in score_accounts(wh, config, day, known_at=known) if r["account_id"] == account_id]
        before = [r for r in score_accounts(wh, config, day - timedelta(days=30), known_at=known)
                  if r["account_id"] == account_id]
    finally:
        wh.close()
    if not now:
        raise NotFoundError(f"account {account_id!r} has no ARR on {day}, so no health score")
    cur, prev = now[0], (before[0] if before else None)
    if as_json:
        _dump({"as_of": str(day), "current": cur, "30_days_before": prev})
        return
    change = f" ({cur['score'] - prev['score']:+.1f} in 30 days)" if prev and prev["score"] is not None else ""
    console.print(f"{account_id} ({cur['segment']}): score {cur['score']:.1f}, {cur['band']}{change}")
    t = Table()
    for c in ("component", "feature", "value", "points", "weight", "contribution", "30 days ago"):
        t.add_column(c, justify="left" if c in ("component", "feature") else "right")
    old = {c["name"]: c for c in prev["components"]} if prev else {}
    for c in cur["components"]:
        o = old.get(c["name"])
        t.add_row(c["name"], c["feature"], "missing" if c["value"] is None else f"{c['value']:.2f}",
                  "-" if c["missing"] else f"{c['points']:.0f}", f"{c['weight']:.0f}", f"{c['contribution']:.1f}",
                  "-" if not o or o["missing"] else f"{o['points']:.0f}")
    console.print(t)


@app.command("validate")
def validate_cmd(horizon: int = typer.Option(BAND_TABLE["horizon"], "--horizon", help="days after each as-of date"),
                 dates: int = typer.Option(BAND_TABLE["dates"], "--dates", help="as-of dates, 60 days apart"),
                 as_of: str = typer.Option(None, "--as-of", help="outcomes known by this day (default: the "
                                                                 "latest day with events)"),
                 as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """How well the score and each component predicted churn on history, and better weights."""
    from tenure.health.validate import validate

    config, wh = _open(config_path, write=False)
    try:
        report = validate(wh, config, horizon, dates, as_of=_as_of(wh, as_of))
    finally:
        wh.close()
    if as_json:
        _dump(report)
        return
    render_validation(report)


@app.command("history")
def history_cmd(start: str = typer.Option(..., "--from", help="first day YYYY-MM-DD"),
                end: str = typer.Option(..., "--to", help="last day YYYY-MM-DD"),
                every: int = typer.Option(1, "--every", help="days between snapshots"),
                force: bool = typer.Option(False, "--force", help="recompute days already snapshotted"),
                config_path: Path = ConfigOpt) -> None:
    """Snapshot scores for a range of days (rebuilt from facts; incremental)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tenure.health.history import backfill

    config, wh = _open(config_path)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("scoring", total=None)
            res = backfill(wh, config, _as_of(wh, start), _as_of(wh, end), every, force,
                           progress=lambda adv, total, desc: bar.update(task, advance=adv, total=total,
                                                                        description=desc))
    finally:
        wh.close()
    console.print(f"{res['computed']} day(s) scored, {res['skipped']} already there")


@app.command("trend")
def trend_cmd(account_id: str, as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """An account's score over the snapshotted days (see `tenure health history`)."""
    from tenure.errors import NotFoundError
    from tenure.health.history import trend

    config, wh = _open(config_path, write=False)
    try:
        rows = trend(wh, account_id)
    finally:
        wh.close()
    if not rows:
        raise NotFoundError(f"no snapshots for {account_id!r}; run `tenure health history --from ... --to ...`")
    if as_json:
        _dump(rows)
        return
    t = Table(title=f"{account_id} health")
    for c in ("as of", "score", "band", ""):
        t.add_column(c)
    for r in rows:
        s = r["score"]
        t.add_row(str(r["as_of"])[:10], "-" if s != s or s is None else f"{s:.1f}", str(r["band"] or ""),
                  "" if s != s or s is None else "#" * int(s // 5))
    console.print(t)


@app.command("signals")
def signals_cmd(days: int = typer.Option(30, "--days", min=1, help="signals dated in the last N days up to the "
                                                                   "as-of day"),
                as_of: str = typer.Option(None, "--as-of", help="default: the as-of day of the last refresh"),
                severity: str = typer.Option(None, "--severity", help="only high, medium or low"),
                as_json: bool = typer.Option(False, "--json"),
                limit: int = typer.Option(30, "--limit", min=1), config_path: Path = ConfigOpt) -> None:
    """List the early-warning signals `tenure refresh` recorded (usage decline, sponsor left, support
    spike, overdue invoice, detractor, renewal without an open opportunity), biggest ARR at stake
    first. Reading only: recording them is a step of the refresh graph."""
    config, wh = _open(config_path, write=False)
    try:
        summary = wh.table("account_summary")
        day = _as_of(wh, as_of) if as_of else wh.execute(summary.as_of.max())
        if day is None or day != day:
            raise InputError("no signals yet: run `tenure refresh` first")
        day = day.date() if hasattr(day, "date") and callable(day.date) else day
        hs = wh.table("health_signals")
        recent = hs.filter((hs.at <= day) & (hs.at > day - timedelta(days=days)))
        if severity:
            recent = recent.filter(recent.severity == severity)
        arr = summary.select("account_id", "name", "owner", "arr")
        ranked = recent.left_join(arr, "account_id").drop("account_id_right")
        total = int(wh.execute(ranked.count()))
        at_stake = wh.execute(ranked.select("account_id", "arr").distinct().arr.sum())
        rows = wh.execute(ranked.order_by([ranked.arr.desc(), ranked.at.desc(), "account_id", "signal"]).limit(limit))
    finally:
        wh.close()
    at_stake = 0.0 if at_stake is None or at_stake != at_stake else float(at_stake)
    if as_json:
        _dump({"as_of": str(day), "days": days, "total": total, "arr_at_stake": at_stake,
               "signals": rows.to_dict(orient="records")})
        return
    shown = f"{len(rows)} of {total:,}" if len(rows) < total else f"{total:,}"
    t = Table(title=f"early-warning signals in the {days} days to {day}: {shown}, biggest ARR at stake first "
                    f"({config.reporting_currency} {at_stake:,.0f} across their accounts)")
    for c in ("at", "account_id", "name", "owner", "ARR", "signal", "severity", "detail"):
        t.add_column(c, justify="right" if c == "ARR" else "left")
    for r in rows.to_dict(orient="records"):
        money = "" if r["arr"] is None or r["arr"] != r["arr"] else f"{float(r['arr']):,.0f}"
        t.add_row(str(r["at"])[:10], r["account_id"], r["name"] or "", r["owner"] or "", money, r["signal"],
                  r["severity"], r["detail"])
    console.print(t)


@app.command("onboarding")
def onboarding_cmd(as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: latest data)"),
                   status: str = typer.Option(None, "--status", help="only on_track, behind or stuck"),
                   as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """Accounts onboarding on their onboarding plan (tenure.yaml onboarding_plans): on track, behind
    or stuck, with progress and slippage, the most slipped first (docs/onboarding.md)."""
    from tenure.health.onboarding_plans import STATUSES, onboarding_status

    if status is not None and status not in STATUSES:
        raise InputError(f"--status {status!r}: use one of {', '.join(STATUSES)}")
    config, wh = _open(config_path, write=False)
    try:
        day = _as_of(wh, as_of)
        st = onboarding_status(wh, config, day)
        if st is None:
            raise InputError("no onboarding plans: add onboarding_plans to tenure.yaml (docs/onboarding.md)")
        if status:
            st = st.filter(st.status == status)
        rank = st.status.cases(("stuck", 0), ("behind", 1), else_=2)
        rows = wh.to_pyarrow(st.order_by([rank, st.slippage_days.desc(), st.account_id])).to_pylist()
    finally:
        wh.close()
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    if as_json:
        _dump({"as_of": str(day), "counts": counts, "accounts": rows})
        return
    console.print(f"onboarding on {day}: " + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items()))
    t = Table()
    for c in ("account", "segment", "plan", "days", "status", "required done", "days late", "next", "due"):
        t.add_column(c, justify="right" if c in ("days", "required done", "days late") else "left")
    for r in rows:
        t.add_row(r["account_id"], r["segment"] or "", r["plan"], str(r["days_since_start"]), r["status"],
                  f"{r['required_done']}/{r['required']} ({r['required_due']} due)", str(r["slippage_days"]),
                  r["next_milestone"] or "", str(r["next_due_on"] or ""))
    console.print(t)


def render_validation(report: dict) -> None:
    console.print(f"scorecard validation: {report['accounts_scored']:,} account-dates, churn within "
                  f"{report['horizon_days']} days {report['churn_rate']:.1%}; score AUC [bold]{report['score_auc']}"
                  f"[/bold]")
    t = Table(title="by band")
    for c in ("band", "accounts", "churn rate", "renewal probability"):
        t.add_column(c, justify="left" if c == "band" else "right")
    for b in report["bands"]:
        t.add_row(b["band"], f"{b['accounts']:,}", f"{b['churn_rate']:.1%}", f"{b['renewal_probability']:.1%}")
    console.print(t)
    t = Table(title="components")
    for c in ("component", "AUC", "missing", "weight now", "proposed"):
        t.add_column(c, justify="left" if c == "component" else "right")
    proposed = {w["name"]: w["proposed"] for w in report["fitted"]["weights"]}
    for c in report["components"]:
        t.add_row(c["name"], "-" if c["auc"] is None else f"{c['auc']:.3f}", f"{c['missing_share']:.0%}",
                  f"{c['weight']:.0f}", f"{proposed[c['name']]:.1f}")
    console.print(t)
    f = report["fitted"]
    console.print(f"out of time ({', '.join(f['judged_on'])}): current weights AUC {f['default_auc_out_of_time']}, "
                  f"fitted weights AUC {f['fitted_auc_out_of_time']} (gain {f['gain']:+.3f})")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="health")
