"""`tenure demo`: simulate a company, load it through the real ingestion path, compute what
exists, and show it. Idempotent: re-running reloads the same files and changes nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()

# Load order: accounts first (every other entity references them), then the rest.
LOAD_ORDER = ("accounts", "fx", "contacts", "contract_lines", "invoices", "tickets", "survey_responses",
              "survey_invitations", "opportunities", "activities", "milestones", "churn_reasons", "spend", "costs")


def run_demo(directory: Path, accounts: int, months: int, seed: int, quiet: bool = False) -> dict:
    """Simulate, ingest and compute; returns a summary (used by tests and the CLI)."""
    from tenure.config import load_config, write_default_config
    from tenure.ingest.identity import list_identities
    from tenure.ingest.pipeline import ingest_file
    from tenure.simulate import simulate_company
    from tenure.simulate.company import change_folders
    from tenure.state.db import upgrade
    from tenure.warehouse import connect

    out = Console(quiet=quiet)
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "tenure.yaml").exists():
        path = write_default_config(directory)
        # the demo's emails (.eml files) link to the unsubscribe page of the local `tenure serve`
        path.write_text(path.read_text(encoding="utf-8").replace(
            "  # public_url: https://tenure.example.com", "  public_url: http://127.0.0.1:8000        ", 1),
            encoding="utf-8")
    config = load_config(directory / "tenure.yaml")
    company = directory / "company"
    started = time.perf_counter()
    summary: dict = {"directory": str(directory), "loads": []}
    with Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=out, transient=True) as bar:
        task = bar.add_task("simulating the company", total=months + 8)
        sim = simulate_company(company, accounts, months, seed,
                               progress=lambda adv, total, desc: bar.update(task, advance=adv))
        summary["simulated"] = sim.rows
        added = add_operating_model(directory / "tenure.yaml", company / "accounts.csv")
        from tenure.voc.demo import add_surveys

        added = add_surveys(directory / "tenure.yaml") or added
        if add_onboarding_plans(directory / "tenure.yaml") or added:
            config = load_config(directory / "tenure.yaml")
        upgrade(config)
        wh = connect(config=config)
        try:
            wh.ensure_schema()
            steps = [(e, company / f"{e}.csv", None) for e in LOAD_ORDER]
            steps.append(("usage_events", company / "usage_events", None))
            steps.append(("tickets", company / "zendesk" / "tickets.json", "zendesk"))
            for folder in change_folders(company):  # what was recorded later, oldest first: real versions
                steps += [(e, folder / f"{e}.csv", None) for e in LOAD_ORDER if (folder / f"{e}.csv").exists()]
            load = bar.add_task("ingesting", total=len(steps))
            for entity, path, fmt in steps:
                bar.update(load, description=f"ingesting {entity}" + (f" ({fmt})" if fmt else ""))
                res = ingest_file(wh, config, entity, path, source="demo" if not fmt else fmt, fmt=fmt)
                for r in res if isinstance(res, list) else [res]:
                    summary["loads"].append(r.to_dict())
                bar.update(load, advance=1)
            summary["identities"] = {
                s: len(list_identities(wh, status=s)) for s in ("matched", "ambiguous", "unmatched")}
            summary["compute"] = _compute(wh, config, out)
            summary["users"] = demo_users(config, directory)
        finally:
            wh.close()
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary


def _compute(wh, config, out: Console) -> dict:
    """Run the compute stages that exist (metrics, health); each reports what it made."""
    done: dict = {}
    try:
        from tenure.metrics import demo_step as metrics_step
    except ImportError:
        metrics_step = None
    if metrics_step:
        done["metrics"] = metrics_step(wh, config, out)
    try:
        from tenure.health import demo_step as health_step
    except ImportError:
        health_step = None
    if health_step:
        done["health"] = health_step(wh, config, out)
    from tenure.errors import TenureError
    from tenure.predict import demo_step as risk_step

    try:
        done["risk"] = risk_step(wh, config, out)
    except TenureError as err:  # e.g. too little history for a backtest in a tiny demo
        done["risk"] = {"skipped": str(err), "hints": [f"(risk model skipped: {err})"]}
    from tenure.portfolio.steps import refresh

    # the snapshots the web app and API read: health history, stored risk, the account summary
    result = refresh(wh, config, validation=(done.get("health") or {}).get("validation"))
    done["portfolio"] = {"refresh": result, "hints": [
        f"tenure refresh   # recompute what the web app reads ({result.get('accounts', 0)} accounts as of "
        f"{result.get('as_of')}; re-run after each ingest)"]}
    from tenure.playbooks.demo import demo_step as playbooks_step
    from tenure.playbooks.playbook_cli import install_library
    from tenure.voc.demo import demo_step as surveys_step
    from tenure.voc.loop import demo_step as loop_step

    done["surveys"] = surveys_step(wh, config, out)  # a survey wave: .eml invitations, answers, synced
    install_library(config, enable=True)  # the shipped playbooks, active (files already there are kept)
    # the wave's detractors followed up on the wave's day (tasks, some closed), before the other
    # playbooks run, so the playbooks table below counts those tasks too
    done["loop"] = loop_step(wh, config, out)
    # the wave's answers are new inputs: refresh again (only the steps that read surveys rerun), so
    # what the pages read includes them and a `tenure refresh` right after the demo has nothing to do
    done["portfolio"]["refresh"] = refresh(wh, config, validation=(done.get("health") or {}).get("validation"))
    done["playbooks"] = playbooks_step(wh, config, out)  # the shipped playbooks: tasks and emails
    done["voc"] = _rank_texts(wh, config)  # themes, requests, churn reasons by ARR (the VoC page)
    return done


def _rank_texts(wh: Any, config: Any) -> dict:
    """What the worker's voc-rankings job does after a refresh, done once so the VoC page shows themes,
    feature requests and churn reasons ranked by ARR on a fresh demo."""
    from tenure.portfolio.voc import refresh_rankings
    from tenure.state.db import session_scope

    with session_scope(config) as session:
        out = refresh_rankings(config, wh, session)
    top = (out.get("themes") or [{}])[0]
    hint = (f"tenure voc rank --by themes   # {len(out.get('themes') or [])} themes ranked by ARR"
            + (f"; the first: {top['label']!r}" if top.get("label") else "")
            + " (the VoC page: /voc)")
    return {"ranked": {k: len(v) for k, v in out.items()}, "hints": [hint]}


DEMO_ENGAGEMENT = """\
operating_model:                 # docs/playbooks.md "Operating model" (added by tenure demo)
  engagement_models:             # tried in order; the first whose segment/tier match serves the account
    - name: strategic
      match: {segment: [Enterprise]}
      touch: high
      cadences: [{kind: qbr, every_days: 90}, {kind: ebr, every_days: 180, with_exec: true}]
      exec_sponsor_required: true
    - name: scaled
      match: {segment: [Mid-Market]}
      touch: mid
      cadences: [{kind: call, every_days: 90}]
    - name: digital
      match: {segment: [SMB]}
      touch: tech
  default_touch: tech
  capacity:                      # what one CSM carries when all its accounts have this touch level
    high: {max_accounts: 15, max_arr: 3000000}
    mid: {max_accounts: 45, max_arr: 2500000}
    tech: {max_accounts: 250, max_arr: 2000000}
  teams:
"""


def add_operating_model(config_path: Path, accounts_csv: Path) -> bool:
    """Give the demo's tenure.yaml an operating model (once): engagement models by segment, CSM
    capacity by touch level, and two teams — the manager's (csm01, csm02, as its book of business
    says) and the other CSMs under the CCO. Returns True when it added one."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    text = config_path.read_text(encoding="utf-8")
    if "\noperating_model:" in "\n" + text:
        return False
    owners = pacsv.read_csv(accounts_csv, convert_options=pacsv.ConvertOptions(include_columns=["owner"]))
    csms = sorted(o for o in pc.unique(owners["owner"]).to_pylist() if o)
    east = [c for c in csms if c in ("csm01", "csm02")]
    west = [c for c in csms if c not in east]
    teams = "".join(f"    {name}: {{manager: {boss}, members: [{', '.join(members)}]}}\n"
                    for name, boss, members in (("east", "manager", east), ("west", "cco", west)) if members)
    config_path.write_text(text.rstrip("\n") + "\n\n" + DEMO_ENGAGEMENT + teams, encoding="utf-8")
    return True


DEMO_ONBOARDING = """\
onboarding_plans:                # docs/onboarding.md (added by tenure demo)
  behind_after_days: 0           # a required milestone overdue: behind
  stuck_after_days: 21           # ... by more than three weeks: stuck
  plans:
    - name: enterprise
      segments: [Enterprise]
      milestones:
        - {name: kickoff, due_days: 7, done_when: {activity: meeting}}
        - {name: first_report, due_days: 21, done_when: {feature: report_run}}
        - {name: integration, due_days: 30}
        - {name: training, due_days: 45, required: false}
        - {name: five_users, due_days: 45, required: false, done_when: {active_users: 5}}
        - {name: first_value, due_days: 60}
    - name: standard             # every other segment
      milestones:
        - {name: kickoff, due_days: 7}
        - {name: first_report, due_days: 21, done_when: {feature: report_run}}
        - {name: integration, due_days: 30}
        - {name: first_value, due_days: 60}

success_plans:                   # docs/onboarding.md "Success plans" (added by tenure demo)
  templates:
    adoption:
      title: Roll out reporting to every region
      objectives:
        - title: Reports in every region
          due_days: 90
          tasks:
            - {key: map, title: Map the regions' report owners, due_days: 7}
            - {key: train, title: Train the report owners, due_days: 30, depends_on: [map]}
            - {key: review, title: Review usage with the sponsor, due_days: 60, depends_on: [train]}
        - title: Executive sponsor engaged
          tasks:
            - {key: ebr, title: Hold an EBR, due_days: 45, priority: high}
"""


def add_onboarding_plans(config_path: Path) -> bool:
    """Give the demo's tenure.yaml onboarding plans (once): Enterprise milestones that complete
    themselves from data, and a standard plan for the other segments; and a success-plan template
    (adoption). Returns True when it added them."""
    text = config_path.read_text(encoding="utf-8")
    if "\nonboarding_plans:" in "\n" + text:
        return False
    config_path.write_text(text.rstrip("\n") + "\n\n" + DEMO_ONBOARDING, encoding="utf-8")
    return True


# One user per role; the manager leads the first two CSMs' team (book-of-business scoping).
DEMO_USERS = (("admin", "admin", None, None), ("cco", "executive", None, None), ("manager", "manager", None, None),
              ("csm01", "csm", "manager", "csm01"), ("csm02", "csm", "manager", "csm02"),
              ("csm03", "csm", None, "csm03"), ("viewer", "viewer", None, None))


def demo_users(config, directory: Path) -> list[dict]:
    """Create the demo's users (once) with generated passwords, kept in demo-users.json inside the
    demo folder so a re-run prints the same credentials. Returns [{username, role, password}]."""
    import json

    from sqlalchemy import select

    from tenure.state import users
    from tenure.state.db import session_scope
    from tenure.state.models import User

    path = directory / "demo-users.json"
    known = {u["username"]: u for u in json.loads(path.read_text())} if path.exists() else {}
    out = []
    with session_scope(config) as session:
        for username, role, manager, csm_key in DEMO_USERS:
            exists = session.scalar(select(User).where(User.username == username)) is not None
            if exists and username in known:
                out.append(known[username])
                continue
            password = users.generate_password()
            if exists:  # the password file was lost: set a fresh password
                user = users.get(session, username)
                user.password_hash = users.hash_password(password)
            else:
                users.create_user(session, username, password, role, manager=manager, csm_key=csm_key,
                                  full_name=f"Demo {role}", actor="demo")
            out.append({"username": username, "role": role, "password": password})
    path.write_text(json.dumps(out, indent=2))
    path.chmod(0o600)
    return out


def next_commands(summary: dict) -> list[str]:
    """The commands the demo suggests next (run from the demo folder), each with a comment after `#`;
    one list, so a test can run every one of them."""
    commands = ["tenure accounts identities --status ambiguous   # decide the ambiguous matches",
                "tenure ingest contract_lines company/contract_lines.csv   # re-run: nothing changes"]
    for stage in summary["compute"].values():
        commands += [hint for hint in stage.get("hints", []) if hint.startswith("tenure ")]
    return commands


def demo_command(
    accounts: int = typer.Option(2000, "--accounts", min=10, help="accounts in the demo company"),
    months: int = typer.Option(36, "--months", min=6, help="months of history"),
    seed: int = typer.Option(7, "--seed", help="random seed (same seed, same company)"),
    directory: Path = typer.Option(Path("demo"), "--dir", help="project folder for the demo"),
) -> None:
    """Simulate a realistic company, load it end to end (DuckDB + SQLite), and show the result."""
    summary = run_demo(directory, accounts, months, seed)
    table = Table(title=f"demo company loaded into {directory / 'tenure.duckdb'}")
    for col in ("entity", "source", "read", "loaded", "rejected"):
        table.add_column(col, justify="left" if col in ("entity", "source") else "right")
    for r in summary["loads"]:
        table.add_row(r["entity"], r["source"], f"{r['rows_read']:,}", f"{r['loaded']:,}",
                      f"{r['rejected']:,}" + (f" ({', '.join(r['rejected_by_reason'])})" if r["rejected"] else ""))
    console.print(table)
    ids = summary["identities"]
    console.print(f"identity resolution (Zendesk organizations -> master accounts): {ids['matched']} matched, "
                  f"[yellow]{ids['ambiguous']} ambiguous[/yellow] (not merged), {ids['unmatched']} unmatched")
    for stage in summary["compute"].values():
        if stage.get("table") is not None:
            console.print(stage["table"])
    console.print(f"done in {summary['seconds']} s.\n")
    console.print("Next:")
    console.print(f"  cd {directory}")
    for command in next_commands(summary):
        console.print(f"  {command}")
    for stage in summary["compute"].values():
        for note in stage.get("hints", []):
            if note and not note.startswith("tenure "):
                console.print(f"  {note}")
    console.print("\nThe web app and REST API:")
    console.print(f"  cd {directory} && tenure serve        # then open http://127.0.0.1:8000/")
    users = Table(title=f"demo users (also in {directory / 'demo-users.json'})")
    for col in ("user", "role", "password", "sees"):
        users.add_column(col)
    sees = {"admin": "everything, manages users", "executive": "everything", "manager": "csm01 + csm02's accounts",
            "csm": "own accounts", "viewer": "everything, read-only"}
    for u in summary["users"]:
        users.add_row(u["username"], u["role"], u["password"], sees[u["role"]])
    console.print(users)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
