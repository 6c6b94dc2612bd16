"""A copy of the demo company (the run's one demo build, `demo_built`) for the task tests' own use
(they write to it): the demo users (csm01 and csm02 in the manager's team, csm03 outside it), an API token per user plus a
read-only and a revoked one, and tasks: for each CSM one on an account of its book due tomorrow,
for csm01 one more overdue, and one in the queue 'renewals-desk'. The tasks the demo's shipped
playbooks made are closed first (skipped), so the open tasks are exactly these."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace


def build_task_site(built: Path, folder: Path) -> SimpleNamespace:
    """The site in `folder`, copied from the demo build `built`: namespace config, app, passwords,
    tokens, ids {csm01, csm02, csm03, late, queue: task id}, books {csm: first account ids}. Close
    app.state.ctx when done."""
    import pickle

    from sqlalchemy import select

    from tenure.config import load_config
    from tenure.playbooks import tasks
    from tenure.portfolio.accounts import AccountFilter, list_accounts
    from tenure.serve import create_app
    from tenure.state.db import session_scope
    from tenure.state.models import Task, utcnow
    from tenure.warehouse import connect

    from tests.sites import copy_site

    copy_site(built / "site", folder)
    meta = pickle.loads((built / "meta.pickle").read_bytes())  # tests/conftest.py _build_demo
    config = load_config(folder / "tenure.yaml")
    with connect(config=config, write=False) as wh:
        books = {o: [r["account_id"] for r in list_accounts(wh, AccountFilter(owners=[o]), page_size=5).rows]
                 for o in ("csm01", "csm02", "csm03")}
    secrets = {**meta["tokens"], **meta["special_tokens"]}  # read/write/admin per user; "readonly", "revoked"
    ids = {}
    now = utcnow()
    with session_scope(config) as s:
        made = list(s.scalars(select(Task.id)))
        tasks.close_tasks(s, made, "the task tests start from their own tasks", actor="tests")
        for owner in ("csm01", "csm02", "csm03"):
            ids[owner] = tasks.create_task(s, account_id=books[owner][0], type="risk", title=f"Save {owner}'s account",
                                           owner=owner, due_at=now + timedelta(days=1)).id
        ids["late"] = tasks.create_task(s, account_id=books["csm01"][1], type="renewal", reason="t30",
                                        title="Renewal call", owner="csm01", due_at=now - timedelta(days=2)).id
        ids["queue"] = tasks.create_task(s, account_id=books["csm03"][0], type="lifecycle", title="Triage",
                                         queue="renewals-desk").id
    return SimpleNamespace(config=config, app=create_app(config), ids=ids, books=books, tokens=secrets,
                           passwords=meta["passwords"])
