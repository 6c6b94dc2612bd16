"""`tenure voc loop`, `tenure voc reply` and `tenure voc validate`: closing the loop on detractors
and low ratings, and whether NPS predicts churn and NRR (docs/voc.md "Closing the loop", "Does it
predict?")."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")
JsonOpt = typer.Option(False, "--json", help="print the answer as JSON")


def _json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _hours(v) -> str:
    if v is None:
        return "–"
    return f"{v:.0f} h" if v < 48 else f"{v / 24:.1f} days"


def _loop_table(title: str, key: str, rows: list[dict]) -> Table:
    t = Table(title=title, title_justify="left")
    for col in (key, "responses", "closed", "open", "overdue", "none", "closure rate (95% CI)",
                "median to close", "p90 to close"):
        t.add_column(col, justify="left" if col == key else "right")
    for r in rows:
        t.add_row(str(r[key]), str(r["responses"]), str(r["closed"]), str(r["open"]), str(r["overdue"]),
                  str(r["none"]), f"{_pct(r['closure_rate'])} ({_pct(r['closure_low'])}–{_pct(r['closure_high'])})",
                  _hours(r["median_hours"]), _hours(r["p90_hours"]))
    return t


def loop_cmd(period: str = typer.Option(None, "--period", help="2026-09, 2026-Q3, 2026, 2025-10..2026-09 or "
                                        "2026-09-01..2026-09-30 (default: the last 90 days)"),
             kinds: str = typer.Option("nps,csat", "--kinds", help="survey kinds, comma-separated (nps, csat, ces)"),
             as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Loop closure: of the detractors and low ratings answered in the period, how many have their
    follow-up task done with an outcome, how many are open, overdue or without a task, and how long
    closing took (median, p90), by team and by CSM."""
    from tenure.config import load_config
    from tenure.state.db import session_scope
    from tenure.voc.loop import summary
    from tenure.warehouse import connect

    config = load_config(config_path)
    ks = [k.strip() for k in kinds.split(",") if k.strip()]
    with connect(config=config, write=False) as wh, session_scope(config) as session:
        out = summary(session, wh, config, period=period, kinds=ks)
    if as_json:
        _json(out)
        return
    p, o = out["period"], out["overall"]
    th = ", ".join(f"{k.upper()} <= {v}" for k, v in out["thresholds"].items())
    console.print(f"[bold]Loop closure[/bold], responses answered {p['first_day']} – {p['last_day']} ({th}): "
                  f"{o['responses']} needing a loop, {o['closed']} closed ({_pct(o['closure_rate'])}, 95% CI "
                  f"{_pct(o['closure_low'])}–{_pct(o['closure_high'])}), {o['open']} open, {o['overdue']} overdue, "
                  f"{o['none']} without a task; time to close median {_hours(o['median_hours'])}, "
                  f"p90 {_hours(o['p90_hours'])}")
    if o["responses"]:
        console.print(_loop_table("by team", "team", out["by_team"]))
        console.print(_loop_table("by CSM", "csm", out["by_csm"]))


def reply_cmd(task_id: int = typer.Argument(..., help="the follow-up task (tenure tasks list)"),
              text: str = typer.Option(None, "--text", help="the reply"),
              file: Path = typer.Option(None, "--file", help="read the reply from this text file"),
              subject: str = typer.Option(None, "--subject", help="default: Thank you for your feedback"),
              user: str = typer.Option(None, "--user", envvar="TENURE_USER",
                                       help="who you are (a tenure user name; default TENURE_USER)"),
              as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Email the respondent of a detractor / low-rating task, in the CSM's name, through the outbox
    (category "survey": the unsubscribe and send window apply); recorded on the task."""
    from tenure.config import load_config
    from tenure.errors import InputError
    from tenure.state.db import session_scope
    from tenure.voc.loop import reply
    from tenure.warehouse import connect

    if (text is None) == (file is None):
        raise InputError("give the reply with exactly one of --text or --file")
    body = text if text is not None else file.read_text(encoding="utf-8")
    config = load_config(config_path)
    with connect(config=config, write=False) as wh, session_scope(config) as session:
        if user:
            from tenure.state.users import get

            get(session, user)
        out = reply(session, wh, config, task_id, text=body, subject=subject, actor=user or "cli")
    if as_json:
        _json(out)
    elif out["message_id"] is None:
        console.print(f"already sent: the same reply to {out['to']} is in the outbox (task {task_id})")
    else:
        console.print(f"reply to {out['to']} queued (outbox message {out['message_id']}), recorded on task {task_id}")


def validate_cmd(as_of: str = typer.Option(None, "--as-of", help="the data's day to measure from (YYYY-MM-DD; "
                                           "default: the last refresh's day)"),
                 horizons: str = typer.Option("180,365", "--horizons", help="outcome windows in days"),
                 resamples: int = typer.Option(2000, "--resamples", min=200, help="bootstrap resamples"),
                 as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Does NPS predict? Churn and NRR over the next 180 and 365 days for promoters, passives and
    detractors, on cut-offs whose outcome window is already observed, with 95% intervals."""
    from tenure.config import load_config
    from tenure.errors import InputError
    from tenure.formats import money
    from tenure.voc.validate import validate
    from tenure.warehouse import connect

    try:
        day = date.fromisoformat(as_of) if as_of else None
        hs = [int(x) for x in horizons.split(",") if x.strip()]
    except ValueError as err:
        raise InputError(f"--as-of is YYYY-MM-DD and --horizons days like 180,365 ({err})") from None
    config = load_config(config_path)
    with connect(config=config, write=False) as wh:
        out = validate(wh, config, as_of=day, horizons=hs, resamples=resamples)
    if as_json:
        _json(out)
        return
    cur = config.reporting_currency
    console.print(f"[bold]Does NPS predict?[/bold] data as of {out['as_of']}; {out['rule']}")
    for h in out["horizons"]:
        if h.get("note"):
            console.print(f"{h['horizon_days']} days: {h['note']}")
            continue
        w = h["window"]
        t = Table(title=f"next {h['horizon_days']} days after {h['cutoff']} ({w[0]} – {w[1]})", title_justify="left")
        for col in ("group", "accounts", "opening ARR", "churned", "churn rate (95% CI)", "NRR (95% CI)"):
            t.add_column(col, justify="left" if col == "group" else "right")
        for g in h["groups"]:
            t.add_row(g["group"], str(g["n"]), money(g["opening_arr"], cur), str(g["churned"]),
                      f"{_pct(g['churn_rate'])} ({_pct(g['churn_low'])}–{_pct(g['churn_high'])})",
                      f"{_pct(g['nrr'])} ({_pct(g['nrr_low'])}–{_pct(g['nrr_high'])})")
        console.print(t)
        for d in h["differences"]:
            name = "churn rate" if d["measure"] == "churn_rate" else "NRR"
            sig = "significant" if d["significant"] else "not significant"
            diff = "–" if d["difference"] is None else f"{100 * d['difference']:+.1f}"
            ci = "–" if d["low"] is None else f"{100 * d['low']:+.1f} to {100 * d['high']:+.1f}"
            console.print(f"  {name}, {d['group']}s - promoters: {diff} points (95% CI {ci} points), {sig}")


def register(voc_app: typer.Typer) -> None:
    voc_app.command("loop")(loop_cmd)
    voc_app.command("reply")(reply_cmd)
    voc_app.command("validate")(validate_cmd)
