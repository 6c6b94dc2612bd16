"""Closing the loop on the demo company (its own copy for this module): the shipped detractor and
low-CSAT playbooks turn answers into tasks for the account's CSM; each response's loop status
follows its task (open, overdue past the SLA, closed when done with an outcome, none without a
task); closure rate and time to close by team and by CSM; a reply to the respondent goes through
the outbox in the CSM's name and is recorded on the task."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pyarrow as pa
import pytest
from sqlalchemy import select

from tenure.config import load_config
from tenure.errors import InputError
from tenure.ingest.pipeline import ingest_table
from tenure.playbooks.engine import run_playbooks
from tenure.playbooks.tasks import transition
from tenure.state.db import dispose_all, session_scope
from tenure.state.models import OutboxMessage, Task, TaskComment
from tenure.voc import loop
from tenure.voc.validate import data_day
from tenure.warehouse import connect
from tests.sites import copy_site


@pytest.fixture(scope="module")
def site(demo_built, tmp_path_factory):
    """(config, day, csat task id, contact, folder) with a low CSAT answered on the demo's day by a
    champion who has an email, and the playbooks run again on that day."""
    folder = tmp_path_factory.mktemp("loop") / "site"
    copy_site(demo_built / "site", folder)
    config = load_config(folder / "tenure.yaml")
    with connect(config=config) as wh:
        day = data_day(wh)
        acc = wh.table("account_summary")
        acc = acc.filter((acc.status == "customer") & acc.owner.isin(["csm01", "csm03"]))
        c = wh.table("contacts")
        c = c.filter(c.email.notnull() & c.active_to.isnull())
        j = acc.join(c, acc.account_id == c.account_id).select(acc.account_id, c.contact_id, c.email, acc.owner)
        contact = wh.to_pyarrow(j.order_by("account_id").limit(1)).to_pylist()[0]
        # a low and a fine CSAT, a detractor and a promoter NPS, answered on the day by the champion
        res = ingest_table(wh, config, "survey_responses", pa.table({
            "response_id": ["csat-low-1", "csat-ok-1", "nps-det-1", "nps-pro-1"],
            "account_id": [contact["account_id"]] * 4, "contact_id": [contact["contact_id"]] * 4,
            "kind": ["csat", "csat", "nps", "nps"], "score": ["2", "4", "3", "10"],
            "responded_at": [datetime.combine(day, time(8, 0)).isoformat(sep=" ")] * 4,
            "touchpoint": ["support", "support", "relationship", "relationship"]}),
            source="test", file_label="responses.csv")
        assert res.rejected == 0, res.rejected_by_reason
        report = run_playbooks(wh, config, as_of=day, names=["low-csat-follow-up", "detractor-follow-up"],
                               trigger="test", now=datetime.combine(day, time(9, 0)))
    made = {p["name"]: p["tasks"] for p in report["playbooks"]}
    # ours, and any of the demo's own recent detractors not followed up yet
    assert made["low-csat-follow-up"] == 1 and made["detractor-follow-up"] >= 1, report
    with session_scope(config) as s:
        tid = s.scalar(select(Task.id).where(Task.playbook == "low-csat-follow-up"))
    yield config, day, tid, contact, folder
    dispose_all()


def test_the_shipped_plays_make_one_task_per_answer_for_the_csm(site):
    config, day, tid, contact, _ = site
    with connect(config=config, write=False) as wh, session_scope(config) as s:
        st = loop.status(s, wh, account_id=contact["account_id"], now=datetime.combine(day, time(10, 0)))
        task = s.get(Task, tid)
        assert task.owner == contact["owner"] and task.contact_id == contact["contact_id"]
        assert task.priority == "high" and "Reply to the customer" in [i["item"] for i in task.checklist]
        # the CSAT 4 and the NPS 10 need no loop; the CSAT 2 and the NPS 3 have their tasks, open
        assert set(st.response_id) >= {"csat-low-1", "nps-det-1"}
        assert not set(st.response_id) & {"csat-ok-1", "nps-pro-1"}
        row = st[st.response_id == "csat-low-1"].iloc[0]
        assert (row.status, int(row.task_id), row.owner) == ("open", tid, contact["owner"])
        det = st[st.response_id == "nps-det-1"].iloc[0]
        assert det.status == "open" and det.playbook == "detractor-follow-up" and int(det.task_id) != tid
        # the demo's own detractors, answered more than the trigger's 14 days ago: never followed up
        older = loop.status(s, wh, kinds=["nps"], last_day=day - timedelta(days=15))
    assert len(older) > 50 and (older.status == "none").all() and older.task_id.isna().all()
    # a day later the tasks are past their SLA (high priority: 24 hours)
    with connect(config=config, write=False) as wh, session_scope(config) as s:
        late = loop.status(s, wh, account_id=contact["account_id"], now=datetime.combine(day, time(10, 0))
                           + timedelta(days=1))
    assert set(late.status) == {"overdue"}
    # running the playbooks again makes no second task for the same answers
    with connect(config=config) as wh:
        again = run_playbooks(wh, config, as_of=day, names=["low-csat-follow-up", "detractor-follow-up"],
                              now=datetime.combine(day, time(11, 0)))
    assert sum(p["tasks"] for p in again["playbooks"]) == 0


def test_status_follows_the_task_and_the_summary_counts_by_team_and_csm(site):
    config, day, tid, contact, _ = site
    with connect(config=config, write=False) as wh:
        with session_scope(config) as s:
            task = s.get(Task, tid)
            sla = task.sla_due_at
            late = loop.status(s, wh, response_ids=["csat-low-1"], now=sla + timedelta(hours=1))
            assert late.status.tolist() == ["overdue"]
            before = loop.summary(s, wh, config, period=f"{day.isoformat()}..{day.isoformat()}")
        closed_at = datetime.combine(day, time(8, 0)) + timedelta(hours=30)
        with session_scope(config) as s:
            transition(s, tid, "done", outcome="resolved", actor=contact["owner"], now=closed_at)
        with session_scope(config) as s:
            st = loop.status(s, wh, response_ids=["csat-low-1"], now=sla + timedelta(days=9))
            after = loop.summary(s, wh, config, period=f"{day.isoformat()}..{day.isoformat()}")
            # a team scope: only the responses of these CSMs
            mine = loop.summary(s, wh, config, period=f"{day.isoformat()}..{day.isoformat()}",
                                owners=[contact["owner"]])
    assert st.status.tolist() == ["closed"] and st.hours_to_close.tolist() == [30.0]
    b, a = before["overall"], after["overall"]
    assert a["responses"] == b["responses"] and a["closed"] == b["closed"] + 1
    assert a["closure_rate"] == a["closed"] / a["responses"]
    assert a["closure_low"] <= a["closure_rate"] <= a["closure_high"]
    team = {"csm01": "east", "csm03": "west"}[contact["owner"]]
    by_team = {r["team"]: r for r in after["by_team"]}
    by_csm = {r["csm"]: r for r in after["by_csm"]}
    assert by_csm[contact["owner"]]["closed"] >= 1 and by_team[team]["closed"] >= 1
    assert sum(r["responses"] for r in after["by_team"]) == a["responses"]
    assert sum(r["responses"] for r in after["by_csm"]) == a["responses"]
    assert {r["csm"] for r in mine["by_csm"]} == {contact["owner"]}
    # time to close over the closed loops only: this one (30 h) is among them
    assert a["median_hours"] is not None and a["p90_hours"] >= a["median_hours"]


def test_a_reply_goes_out_in_the_csms_name_and_is_recorded_on_the_task(site):
    config, day, tid, contact, _ = site
    with connect(config=config, write=False) as wh:
        with session_scope(config) as s:
            out = loop.reply(s, wh, config, tid, text="Sorry about the wait. It is fixed now.", actor="csm01")
        with session_scope(config) as s:
            again = loop.reply(s, wh, config, tid, text="Sorry about the wait. It is fixed now.", actor="csm01")
            msg = s.get(OutboxMessage, out["message_id"])
            task = s.get(Task, tid)
            comments = list(s.scalars(select(TaskComment.body).where(TaskComment.task_id == tid)))
            with pytest.raises(InputError, match="empty"):
                loop.reply(s, wh, config, tid, text="  ", actor="csm01")
            other = s.scalar(select(Task.id).where(Task.playbook.is_(None)).limit(1)) or s.scalar(
                select(Task.id).where(Task.playbook != "low-csat-follow-up", Task.playbook != "detractor-follow-up"))
            with pytest.raises(InputError, match="not made for a survey response"):
                loop.reply(s, wh, config, other, text="hi", actor="csm01")
    assert out["to"] == contact["email"] and out["response_id"] == "csat-low-1" and again["message_id"] is None
    assert msg.category == "survey" and msg.channel == "email" and msg.payload["to"] == contact["email"]
    assert msg.payload["text"] == "Sorry about the wait. It is fixed now."
    assert msg.payload.get("from_name")  # the CSM's name, replies to the CSM
    item = next(i for i in task.checklist if i["item"] == "Reply to the customer")
    assert item["done"] is True
    assert len([c for c in comments if c.startswith("Reply emailed to")]) == 1


def test_the_cli_reports_the_loop_and_sends_a_reply(site):
    import json

    from typer.testing import CliRunner

    from tenure.cli import app

    config, day, tid, contact, folder = site
    runner = CliRunner()
    cfg = ["--config", str(folder / "tenure.yaml")]
    res = runner.invoke(app, ["voc", "loop", "--period", f"{day}..{day}", "--json", *cfg])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["overall"]["responses"] >= 2
    res = runner.invoke(app, ["voc", "loop", "--period", f"{day}..{day}", *cfg])
    # the tables' headers wrap with the terminal's width (fixed when the console is made): titles only
    assert res.exit_code == 0 and "needing a loop" in res.output, res.output
    assert "by team" in res.output and "by CSM" in res.output, res.output
    res = runner.invoke(app, ["voc", "reply", str(tid), "--text", "One more thing: thank you.", "--json", *cfg])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["to"] == contact["email"]
    res = runner.invoke(app, ["voc", "reply", str(tid), *cfg])
    assert res.exit_code != 0 and "exactly one of --text or --file" in str(res.exception)
