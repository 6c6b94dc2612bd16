"""`tenure metrics`: the registry, any metric by period and group, the bridge, cohorts, drill-down."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
app = typer.Typer(help="The semantic layer: one definition of every retention and economics metric.",
                  no_args_is_help=True)
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")


def _json_default(v):
    if isinstance(v, Decimal):
        return float(v) if v != v.to_integral_value() or abs(v) > 2**53 else int(v)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return str(v)


def _emit(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=_json_default))


def _open(config_path, *, write: bool = False):
    """Reading commands read the newest published snapshot, so they run while a server or a
    refresh holds the warehouse; `materialize` writes."""
    from tenure.warehouse import open_project

    return open_project(config_path, write=write)


def _by(by: str | None) -> list[str]:
    return [d.strip() for d in by.split(",") if d.strip()] if by else []


def _fmt(v, unit: str = "currency") -> str:
    if v is None:
        return "-"
    if unit == "ratio":
        return f"{float(v):.1%}"
    if unit == "currency":
        return f"{float(v):,.2f}"
    if isinstance(v, (int,)) or unit == "count":
        return f"{int(v):,}"
    return f"{float(v):,.2f}"


@app.command("list")
def list_metrics(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every metric in the registry, with its formula."""
    from tenure.metrics.registry import METRICS

    if as_json:
        _emit([{k: getattr(m, k) for k in ("name", "description", "unit", "formula", "grain", "dimensions",
                                            "direction")} for m in METRICS])
        return
    t = Table(title="metrics")
    for c in ("name", "unit", "formula", "good"):
        t.add_column(c)
    for m in METRICS:
        t.add_row(m.name, m.unit, m.formula, "higher" if m.direction == "up" else "lower")
    console.print(t)


@app.command("compute")
def compute_cmd(metric: str, period: str = typer.Option(..., "--period", help="2026-09, 2026-Q3, 2026, 2025-10..2026-09"),
                by: str = typer.Option(None, "--by", help="dimension(s), comma-separated"),
                vs: str = typer.Option(None, "--vs", help="an earlier period: the change and its significance"),
                weighting: str = typer.Option(None, "--weighting", help="survey scores: response, contact, "
                                              "account or arr (default: metrics.surveys.weighting)"),
                window_days: int = typer.Option(None, "--window-days", help="survey scores: the N days ending on "
                                                "the period's last day (default: metrics.surveys.window_days)"),
                as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """A metric for a period, optionally by group, with numerator, denominator and target status;
    survey scores (nps, csat, ces) with n, a 95% interval, the window and the weighting."""
    from tenure.metrics.compute import compare, compute
    from tenure.metrics.registry import get_metric

    m = get_metric(metric)
    config, wh = _open(config_path)
    if weighting is not None or window_days is not None:
        from tenure.errors import InputError

        if m.source != "survey":
            raise InputError("--weighting and --window-days apply to survey scores (nps, csat, ces)")
        over = {k: v for k, v in (("weighting", weighting), ("window_days", window_days)) if v is not None}
        surveys = config.metrics.surveys.model_validate({**config.metrics.surveys.model_dump(), **over})
        config = config.model_copy(update={"metrics": config.metrics.model_copy(update={"surveys": surveys})})
    try:
        rows = compare(wh, config, m, period, vs, _by(by)) if vs else compute(wh, config, m, period, _by(by))
    finally:
        wh.close()
    if as_json:
        _emit(rows)
        return
    dims = _by(by)
    if m.source == "survey":
        _survey_table(m, period, dims, rows, vs)
        return
    t = Table(title=f"{metric} {period}")
    for c in (*dims, "value", "numerator", "denominator", "target", "status"):
        t.add_column(c, justify="right" if c in ("value", "numerator", "denominator") else "left")
    for r in rows:
        style = {"on track": "green", "off track": "red"}.get(r["status"] or "", "")
        t.add_row(*[str(r["group"][d]) for d in dims], _fmt(r["value"], r["unit"]),
                  _fmt(r["numerator"], "currency" if r["unit"] == "ratio" else r["unit"]),
                  _fmt(r["denominator"], "number"), r["target"] or "",
                  f"[{style}]{r['status']}[/{style}]" if style else (r["status"] or ""))
    console.print(t)


def _survey_table(m, period: str, dims: list[str], rows: list[dict], vs: str | None) -> None:
    """A survey score with what it depends on next to it: n, the 95% interval, window, weighting."""
    first = rows[0]
    t = Table(title=f"{m.name} {period} (window {first['window']}, weighting {first['weighting']})")
    cols = [*dims, "value", "n", "95% interval", "responses"]
    if vs:
        cols += [f"vs {vs}", "change", "p-value"]
    for c in (*cols, "target", "status"):
        t.add_column(c, justify="left" if c in dims or c in ("target", "status") else "right")

    def f(v):
        if v is None:
            return "-"
        return f"{float(v):.1%}" if m.unit == "ratio" else f"{float(v):,.1f}" if m.name == "nps" else f"{float(v):.2f}"

    for r in rows:
        ci = f"{f(r['ci_low'])} to {f(r['ci_high'])}" if r["ci_low"] is not None else "-"
        cells = [*[str(r["group"][d]) for d in dims], f(r["value"]), f"{r['n']:,}", ci, f"{r['responses']:,}"]
        if vs:
            sig = "" if r.get("significant") is None else (" *" if r["significant"] else "")
            p = f"{float(r['p_value']):.3f}{sig}" if r.get("p_value") is not None else "-"
            chg = "-" if r.get("change") is None else (
                f"{float(r['change']):+.1%}" if m.unit == "ratio" else f"{float(r['change']):+,.2f}")
            cells += [f(r.get("previous")), chg, p]
        t.add_row(*cells, r["target"] or "", r["status"] or "")
    console.print(t)
    method = next((r["ci_method"] for r in rows if r.get("ci_method")), None)
    if method:
        console.print(f"95% interval: {method}" + ("; * = significant at 5% (two-sided z-test)" if vs else ""))


@app.command("bridge")
def bridge_cmd(period: str = typer.Option(..., "--period"), by: str = typer.Option(None, "--by"),
               as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """The ARR bridge: opening + new + reactivation + expansion - contraction - churn = closing."""
    from tenure.metrics.compute import bridge_rows
    from tenure.metrics.periods import parse_period

    config, wh = _open(config_path)
    try:
        from tenure.metrics.bridge import check_dimensions

        check_dimensions(wh, _by(by))
        rows = bridge_rows(wh, config, parse_period(period), _by(by))
    finally:
        wh.close()
    if as_json:
        _emit(rows)
        return
    dims = _by(by)
    cols = ("opening", "new", "reactivation", "expansion", "contraction", "churn", "closing")
    t = Table(title=f"ARR bridge {period} ({config.reporting_currency})")
    for c in (*dims, *cols, "accounts"):
        t.add_column(c, justify="left" if c in dims else "right")
    for r in rows:
        t.add_row(*[str(r[d]) for d in dims], *[_fmt(r[c]) for c in cols],
                  f"{r['opening_accounts']:,} -> {r['closing_accounts']:,}")
    console.print(t)


@app.command("cohorts")
def cohorts_cmd(by: str = typer.Option("month", "--by", help="cohort grain (month)"),
                as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """Logo and revenue retention by first-ARR month cohort, per month since start."""
    from tenure.errors import InputError
    from tenure.metrics.cohorts import cohorts

    if by != "month":
        raise InputError("cohorts are by first-ARR month (--by month)")
    config, wh = _open(config_path)
    try:
        rows = cohorts(wh, config)
    finally:
        wh.close()
    if as_json:
        _emit(rows)
        return
    horizon = [0, 1, 3, 6, 12, 24]
    t = Table(title="cohorts: logo retention (revenue retention)")
    t.add_column("cohort")
    t.add_column("accounts", justify="right")
    for h in horizon:
        t.add_column(f"m{h}", justify="right")
    by_cohort: dict[str, dict] = {}
    for r in rows:
        by_cohort.setdefault(r["cohort"], {"accounts": r["accounts"]})[r["months_since"]] = r
    for cohort, cells in sorted(by_cohort.items()):
        t.add_row(cohort, str(cells["accounts"]), *[
            f"{cells[h]['logo_retention']:.0%} ({cells[h]['revenue_retention']:.0%})" if h in cells else ""
            for h in horizon])
    console.print(t)


@app.command("explain")
def explain_cmd(metric: str, period: str = typer.Option(..., "--period"),
                where: list[str] = typer.Option([], "--where", help="DIM=VALUE (repeatable)"),
                lines: bool = typer.Option(False, "--lines", help="also list the contract lines"),
                limit: int = typer.Option(25, "--limit", help="accounts to show (JSON shows all)"),
                as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """The accounts (and contract lines) behind a number; their contributions sum to it."""
    from tenure.errors import InputError
    from tenure.metrics.explain import explain

    cond = {}
    for w in where:
        if "=" not in w:
            raise InputError(f"--where {w!r}: use DIM=VALUE")
        k, v = w.split("=", 1)
        cond[k.strip()] = v.strip()
    config, wh = _open(config_path)
    try:
        result = explain(wh, config, metric, period, cond, with_lines=lines)
    finally:
        wh.close()
    if as_json:
        _emit(result)
        return
    console.print(explain_tables(result, limit))
    console.print(f"numerator (sum of contributions): {_fmt(result['numerator'])}"
                  + (f"; denominator: {_fmt(result['denominator'])}" if result["denominator"] is not None else ""))


def explain_tables(result: dict, limit: int):
    """The accounts behind a number as a table whose rows always add up to its footer: when more
    accounts than `limit` contribute, the rest are one "… N more" row with their own sum. With
    --lines, a second table lists the contract lines."""
    from decimal import Decimal

    from rich.console import Group

    rows = result["accounts"]
    where = ", ".join(f"{k}={v}" for k, v in result["where"].items())
    shown = rows[:limit]
    count = f"{len(rows)} accounts" if len(shown) == len(rows) else f"{len(shown)} of {len(rows)} accounts"
    t = Table(title=f"{result['metric']} {result['period']}" + (f" where {where}" if where else "") + f": {count}",
              show_footer=True)
    money = ("opening", "closing", "contribution")
    total = {c: sum((Decimal(r[c]) for r in rows if r[c] is not None), Decimal(0)) for c in money}
    for c in ("account_id", "kind", *money):
        t.add_column(c, justify="right" if c in money else "left",
                     footer={"account_id": "total", "kind": ""}.get(c) or _fmt(total.get(c)))
    for r in shown:
        t.add_row(r["account_id"], r["kind"], _fmt(r["opening"]), _fmt(r["closing"]), _fmt(r["contribution"]))
    rest = rows[limit:]
    if rest:
        t.add_row(f"… {len(rest)} more (--limit {len(rows)} or --json shows them)", "",
                  *(_fmt(sum((Decimal(r[c]) for r in rest if r[c] is not None), Decimal(0))) for c in money),
                  style="dim")
    if not result.get("lines"):
        return t
    lines = Table(title=f"contract lines of these accounts on the opening and closing day ({len(result['lines'])})")
    for c in ("account_id", "line_id", "product", "on", "start_date", "end_date", "arr", "currency",
              "arr_reporting"):
        lines.add_column(c, justify="right" if c in ("arr", "arr_reporting") else "left")
    for r in result["lines"]:
        lines.add_row(r["account_id"], r["line_id"], r["product"] or "", r["on"], str(r["start_date"])[:10],
                      str(r["end_date"])[:10] if r["end_date"] is not None else "open", _fmt(r["arr"]),
                      r["currency"], _fmt(r["arr_reporting"]))
    return Group(t, lines)


@app.command("materialize")
def materialize_cmd(full: bool = typer.Option(False, "--full", help="recompute every month"),
                    as_of: str = typer.Option(None, "--as-of", help="last day to cover (default: the latest day "
                                                                    "with events)"),
                    config_path: Path = ConfigOpt) -> None:
    """Bring the arr_monthly and arr_movements snapshots up to date (incremental; `tenure refresh`
    does this too, with everything else the pages read)."""
    from tenure.jobs import versions
    from tenure.metrics.snapshots import materialize
    from tenure.warehouse.asof import resolve_as_of

    config, wh = _open(config_path, write=True)
    try:
        res = materialize(wh, config, last=resolve_as_of(wh, as_of), full=full)
        if res.get("rows") or res.get("months"):
            versions.bump(config, ["arr_monthly", "arr_movements"])
    finally:
        wh.close()
    console.print(res)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="metrics")
