"""The demo enables the shipped playbooks and reports the tasks and emails they made, per owner."""

from __future__ import annotations

from sqlalchemy import func, select

from tenure.state.db import session_scope
from tenure.state.models import OutboxMessage, Task


def test_the_demo_runs_the_shipped_playbooks_and_says_for_whom(demo_site):
    step = demo_site.summary["compute"]["playbooks"]
    report = step["report"]
    assert {p["name"] for p in report["playbooks"]} == {
        "onboarding", "renewal", "at-risk-save", "expansion", "detractor-follow-up", "low-csat-follow-up",
        "sponsor-change", "missed-cadence"}
    assert all(p["status"] == "active" for p in report["playbooks"])
    with session_scope(demo_site.config) as s:
        tasks = s.scalar(select(func.count()).select_from(Task).where(Task.playbook.isnot(None)))
        emails = s.scalar(select(func.count()).select_from(OutboxMessage))
        owners = set(s.scalars(select(Task.owner).where(Task.playbook.isnot(None))))
    # the report's counts are what is in the state DB (the demo runs the survey playbooks on its
    # survey wave's day first, tenure.voc.loop.demo_step, then every playbook)
    loop = demo_site.summary["compute"]["loop"]
    assert step["tasks"] + loop["tasks"] == tasks > 0 and step["emails"] <= emails
    assert owners & {"csm01", "csm02", "csm03"}
    assert step["table"].row_count == 8
    # the table counts the wave's follow-ups too: its detractor row names their owners (it said "-"
    # while the loop hint counted them, when the wave came after the playbooks table)
    row = [p["name"] for p in report["playbooks"]].index("detractor-follow-up")
    assert loop["tasks"] > 0 and list(step["table"].columns[-1].cells)[row] != "-"
