"""The demo's playbooks: the shipped library, enabled, run once; how many tasks they made and for whom."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from tenure.state.db import session_scope
from tenure.state.models import Task


def demo_step(wh: Any, config: Any, out: Console) -> dict:
    """Copy the shipped playbooks into the demo's folder as active (files already there are kept),
    run them, and report the tasks and emails they made per playbook and per owner."""
    from tenure.playbooks.engine import run_playbooks
    from tenure.playbooks.playbook_cli import install_library

    install_library(config, enable=True)
    report = run_playbooks(wh, config, trigger="demo")
    with session_scope(config) as s:
        per_owner = s.execute(select(Task.playbook, func.coalesce(Task.owner, "queue " + func.coalesce(Task.queue, "")),
                                     func.count()).where(Task.playbook.isnot(None))
                              .group_by(Task.playbook, Task.owner, Task.queue)).all()
    owners: dict[str, list[str]] = {}
    for playbook, owner, n in sorted(per_owner, key=lambda r: (r[0], -r[2], r[1])):
        owners.setdefault(playbook, []).append(f"{owner} {n}")
    table = Table(title=f"playbooks (as of {report['as_of']}): tasks and emails made, and for whom", title_justify="left")
    for col in ("playbook", "fired", "started", "held out", "tasks", "emails", "tasks by owner (all runs)"):
        table.add_column(col, justify="left" if col in ("playbook", "tasks by owner (all runs)") else "right")
    for p in report["playbooks"]:
        table.add_row(p["name"], str(p["fired"]), str(p["started"]), str(p["holdout"]), str(p["tasks"]),
                      str(p["emails"]), ", ".join(owners.get(p["name"], [])) or "-")
    totals = report["totals"]
    return {"report": report, "table": table, "tasks": totals.get("tasks", 0), "emails": totals.get("emails", 0),
            "hints": ["tenure playbooks list   # the shipped playbooks, active in the demo (folder playbooks/)",
                      "tenure playbooks preview at-risk-save   # which accounts fire and what would be done",
                      "tenure playbooks results at-risk-save   # what it did, with its holdout",
                      "tenure playbooks run   # re-run: nothing is created twice"]}
