"""A small demo company of the task tests' own (they write to it): 60 accounts, 12 months, the demo
users (csm01 and csm02 in the manager's team, csm03 outside it), an API token per user plus a
read-only and a revoked one, and tasks: for each CSM one on an account of its book due tomorrow,
for csm01 one more overdue, and one in the queue 'renewals-desk'. The tasks the demo's shipped
playbooks made are closed first (skipped), so the open tasks are exactly these."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace


def build_task_site(folder: Path) -> SimpleNamespace:
    """The site in `folder`: namespace config, app, passwords, tokens, ids {csm01, csm02, csm03,
    late, queue: task id}, books {csm: first account ids}. Close app.state.ctx when done."""
    from sqlalchemy import select

    from tenure.config import load_config
    from tenure.demo import run_demo
    from tenure.playbooks import tasks
    from tenure.portfolio.accounts import AccountFilter, list_accounts
    from tenure.serve import create_app
    from tenure.state import tokens
    from tenure.state.db import session_scope
    from tenure.state.models import Task, utcnow
    from tenure.warehouse import connect

    summary = run_demo(folder, accounts=60, months=12, seed=5, quiet=True)
    config = load_config(folder / "tenure.yaml")
    with connect(config=config, write=False) as wh:
        books = {o: [r["account_id"] for r in list_accounts(wh, AccountFilter(owners=[o]), page_size=5).rows]
                 for o in ("csm01", "csm02", "csm03")}
    secrets, ids = {}, {}
    now = utcnow()
    with session_scope(config) as s:
        made = list(s.scalars(select(Task.id)))
        tasks.close_tasks(s, made, "the task tests start from their own tasks", actor="tests")
        for u in summary["users"]:
            _, secrets[u["username"]] = tokens.create_token(s, u["username"], "t", ["read", "write", "admin"])
        _, secrets["readonly"] = tokens.create_token(s, "admin", "ro", ["read"])
        row, secrets["revoked"] = tokens.create_token(s, "admin", "rv", ["read", "write", "admin"])
        s.flush()
        tokens.revoke(s, row.id)
        for owner in ("csm01", "csm02", "csm03"):
            ids[owner] = tasks.create_task(s, account_id=books[owner][0], type="risk", title=f"Save {owner}'s account",
                                           owner=owner, due_at=now + timedelta(days=1)).id
        ids["late"] = tasks.create_task(s, account_id=books["csm01"][1], type="renewal", reason="t30",
                                        title="Renewal call", owner="csm01", due_at=now - timedelta(days=2)).id
        ids["queue"] = tasks.create_task(s, account_id=books["csm03"][0], type="lifecycle", title="Triage",
                                         queue="renewals-desk").id
    return SimpleNamespace(config=config, app=create_app(config), ids=ids, books=books, tokens=secrets,
                           passwords={u["username"]: u["password"] for u in summary["users"]})
