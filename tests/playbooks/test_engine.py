"""The playbook engine on the hand-worked company (tests/playbooks/pb_company.py): tasks and
emails made once, dry runs, the cap, cooldowns, holdouts, clearing, goals, waits, branches,
escalation, lifecycle and versions, manual starts; DuckDB + SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.playbooks.pb_company import AS_OF, company, warehouse_company, write_playbook  # noqa: F401
from tenure.errors import InputError
from tenure.playbooks.engine import holdout_arm, run_playbooks, start_manually
from tenure.playbooks.spec import load_playbooks
from tenure.state.db import session_scope
from tenure.state.models import (OutboxMessage, PlaybookEnrolment, PlaybookOccurrence, PlaybookVersion, Task)

NOW = datetime(2026, 7, 1, 9, 0)

RED = """
name: save
status: active
triggers:
  - {type: band_change, to: [red]}
steps:
  - action: create_task
    type: risk
    reason: health_red
    title: "Save {{ account.name }}"
    body: "{{ trigger.detail }}"
    priority: high
  - action: send_email
    to: role:champion
    subject: "About {{ account.name }}"
    body: "Hello {{ contact.name }}"
"""


def _run(wh, config, **kw):
    kw.setdefault("as_of", AS_OF)
    kw.setdefault("now", NOW)
    return run_playbooks(wh, config, **kw)


def _count(config, model, *where):
    with session_scope(config) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)))


def _tasks(config, *where):
    with session_scope(config) as s:
        return [(t.account_id, t.title, t.owner, t.state, t.playbook_version, t.close_reason, t.contact_id, t.queue)
                for t in s.scalars(select(Task).where(*where).order_by(Task.account_id, Task.id))]


def _book(report, name):
    return next(p for p in report["playbooks"] if p["name"] == name)


def test_a_run_makes_each_task_and_email_once(company):
    wh, config = company
    write_playbook(config, "save", RED)
    first = _book(_run(wh, config), "save")
    assert (first["fired"], first["started"], first["tasks"], first["emails"]) == (2, 2, 2, 1)
    assert _tasks(config) == [("B", "Save Beta GmbH", "csm2", "open", 1, None, None, None),
                              ("F", "Save Foxtrot", "csm1", "open", 1, None, None, None)]
    with session_scope(config) as s:
        msg = s.scalars(select(OutboxMessage)).one()
        assert (msg.recipient, msg.payload["subject"], msg.payload["text"]) == ("bo@beta.example", "About Beta GmbH",
                                                                               "Hello Bo")
        assert msg.dedupe_key.startswith("save|band_change|B|")
    again = _book(_run(wh, config, now=NOW + timedelta(hours=1)), "save")
    assert (again["fired"], again["started"], again["tasks"], again["emails"]) == (2, 0, 0, 0)
    assert again["skipped"] == {"already_fired": 2}
    assert _count(config, Task) == 2 and _count(config, OutboxMessage) == 1 and _count(config, PlaybookOccurrence) == 2


def test_a_dry_run_reports_the_same_and_writes_nothing(company):
    wh, config = company
    write_playbook(config, "save", RED)
    dry = _book(_run(wh, config, dry_run=True), "save")
    assert _count(config, Task) == 0 and _count(config, PlaybookOccurrence) == 0 and _count(config, OutboxMessage) == 0
    assert _count(config, PlaybookVersion) == 0
    real = _book(_run(wh, config), "save")
    for key in ("fired", "started", "tasks", "emails"):
        assert dry[key] == real[key]
    assert [a["actions"][0]["title"] for a in dry["accounts"]] == ["Save Beta GmbH", "Save Foxtrot"]


def test_the_cap_stops_the_playbook_before_it_creates_anything_and_reports_the_count(company):
    wh, config = company
    write_playbook(config, "save", RED + "max_per_run: 1\n")
    report = _run(wh, config)
    res = _book(report, "save")
    assert report["capped"] == ["save"] and res["capped"] and res["skipped"]["capped"] == 2
    assert _count(config, Task) == 0 and _count(config, PlaybookOccurrence) == 0 and _count(config, OutboxMessage) == 0


def test_a_failing_action_rolls_back_the_whole_run(company):
    wh, config = company
    # the email step is enqueued first, then the task step fails: no team "ghosts" to assign within
    failing = RED + """  - {action: create_task, type: risk, title: again, owner: "round_robin:ghosts"}
"""
    write_playbook(config, "save", failing)
    with pytest.raises(InputError, match="ghosts"):
        _run(wh, config)
    assert _count(config, Task) == 0 and _count(config, PlaybookOccurrence) == 0 and _count(config, OutboxMessage) == 0


def test_one_enrolment_per_account_and_a_cooldown(company):
    wh, config = company
    two = """
name: renew
status: active
cooldown_days: 30
triggers:
  - {type: renewal_window, days: [120, 90, 60, 30]}
  - {type: churn_risk, threshold: 0.4}
steps:
  - {action: create_task, type: renewal, title: "Renewal {{ trigger.subject }} {{ account.name }}"}
"""
    write_playbook(config, "renew", two)
    res = _book(_run(wh, config), "renew")
    # B fires twice (renewal T-30 and risk 0.5) but starts once; nothing else fires
    assert (res["fired"], res["started"], res["tasks"]) == (2, 1, 1)
    # 16 days later B's next renewal (LB2, 2026-09-30, 76 days) is in the T-90 window: a new occurrence,
    # inside the 30-day cooldown
    later = _book(_run(wh, config, as_of=date(2026, 7, 16), now=NOW + timedelta(days=16)), "renew")
    assert later["started"] == 0 and later["skipped"].get("cooldown") == 1
    write_playbook(config, "renew", two.replace("cooldown_days: 30", "cooldown_days: 10"))
    after = _book(_run(wh, config, as_of=date(2026, 7, 17), now=NOW + timedelta(days=17)), "renew")
    assert after["started"] == 0 and after["skipped"].get("already_fired") == 2  # recorded once, never retried


def test_holdout_assignment_is_stable_and_recorded_and_holds_back_actions(company):
    wh, config = company
    write_playbook(config, "save", RED + "experiment: {holdout: 0.5, salt: s1}\n")
    pb = load_playbooks(config)[0]
    arms = {a: holdout_arm(pb, a) for a in ("B", "F")}
    assert arms == {a: holdout_arm(pb, a) for a in ("B", "F")}  # a hash, not a draw
    _run(wh, config)
    with session_scope(config) as s:
        got = dict(s.execute(select(PlaybookEnrolment.account_id, PlaybookEnrolment.arm)).all())
    assert got == arms
    assert {t[0] for t in _tasks(config)} == {a for a, arm in arms.items() if arm == "treatment"}


def test_a_state_trigger_that_clears_closes_its_task_with_the_reason(company):
    wh, config = company
    risk = """
name: risk
status: active
triggers: [{type: churn_risk, threshold: 0.4}]
steps: [{action: create_task, type: risk, title: "Risk {{ account.name }}"}]
"""
    write_playbook(config, "risk", risk)
    _run(wh, config)
    assert _tasks(config)[0][3] == "open"
    # evaluated on 2026-06-15, B's newest risk is 0.2 (05-31): the condition no longer holds
    res = _book(_run(wh, config, as_of=date(2026, 6, 15), now=NOW + timedelta(days=1)), "risk")
    assert (res["cleared"], res["closed_tasks"]) == (1, 1)
    (task,) = _tasks(config)
    assert task[3] == "skipped" and task[5].startswith("trigger cleared: churn_risk no longer holds")
    # holding again is a new streak only when it starts again; the same streak does not refire
    assert _book(_run(wh, config, now=NOW + timedelta(days=2)), "risk")["started"] == 0


def test_keep_open_leaves_tasks_when_the_trigger_clears(company):
    wh, config = company
    write_playbook(config, "risk", """
name: risk
status: active
keep_open: true
triggers: [{type: churn_risk, threshold: 0.4}]
steps: [{action: create_task, type: risk, title: "Risk {{ account.name }}"}]
""")
    _run(wh, config)
    _run(wh, config, as_of=date(2026, 6, 15), now=NOW + timedelta(days=1))
    assert _tasks(config)[0][3] == "open"


def test_the_exit_goal_takes_the_account_out_and_closes_its_tasks(company):
    wh, config = company
    write_playbook(config, "onb", """
name: onb
status: active
triggers: [{type: onboarding_overdue}]
exit_when: [{field: band, eq: green}]
steps:
  - {action: create_task, type: onboarding, title: "Unblock {{ trigger.subject }}"}
  - wait: {days: 7}
  - {action: create_task, type: onboarding, title: "second"}
""")
    res = _book(_run(wh, config), "onb")
    assert (res["started"], res["exited"], res["closed_tasks"]) == (1, 1, 1)  # A is green already
    (task,) = _tasks(config)
    assert task[:2] == ("A", "Unblock integration") and task[3] == "skipped"
    assert task[5] == "goal met: band eq green"


def test_waits_and_branches(company):
    wh, config = company
    write_playbook(config, "steps", """
name: steps
status: active
triggers: [{type: band_change, to: [red]}]
steps:
  - {action: create_task, type: risk, title: "first {{ account.account_id }}"}
  - wait: {days: 3}
  - branch:
      if: [{field: segment, eq: Enterprise}]
      then: [{action: create_task, type: risk, title: "enterprise {{ account.account_id }}"}]
      else:
        - wait: {until: [{field: days_to_renewal, lte: 60}]}
        - {action: create_task, type: risk, title: "renewing {{ account.account_id }}"}
  - {action: create_task, type: risk, title: "last {{ account.account_id }}"}
""")
    _run(wh, config)
    assert [t[1] for t in _tasks(config)] == ["first B", "first F"]
    assert _book(_run(wh, config, now=NOW + timedelta(days=2)), "steps")["advanced"] == 0
    res = _book(_run(wh, config, now=NOW + timedelta(days=3, minutes=1)), "steps")
    assert res["advanced"] == 2
    # B is Enterprise: its branch then the last step; F (Mid-Market) waits until its renewal is 60 days away
    assert sorted(t[1] for t in _tasks(config)) == ["enterprise B", "first B", "first F", "last B"]
    with session_scope(config) as s:
        states = dict(s.execute(select(PlaybookEnrolment.account_id, PlaybookEnrolment.status)).all())
    assert states == {"B": "completed", "F": "waiting"}


def test_escalation_moves_up_the_path_when_a_task_misses_its_sla(company, tmp_path):
    wh, config = company
    from tenure.config import OperatingModel, Team

    config = config.model_copy(update={"operating_model": OperatingModel(
        teams={"east": Team(manager="mgr1", members=["csm1", "csm2"])})})
    write_playbook(config, "esc", """
name: esc
status: active
triggers: [{type: churn_risk, threshold: 0.4}]
steps:
  - action: escalate
    type: risk
    title: "Escalation {{ account.name }}"
    path: [account_owner, manager, "queue:leaders"]
    sla_hours: 24
""")
    _run(wh, config)
    assert _tasks(config) == [("B", "Escalation Beta GmbH", "csm2", "open", 1, None, None, None)]
    assert _book(_run(wh, config, now=NOW + timedelta(hours=23)), "esc")["escalated"] == 0
    assert _book(_run(wh, config, now=NOW + timedelta(hours=25)), "esc")["escalated"] == 1
    tasks = _tasks(config)
    assert [(t[2], t[3], t[7]) for t in tasks] == [("csm2", "skipped", None), ("mgr1", "open", None)]
    assert tasks[0][5] == "escalated to level 2 (not done within 24 h)"
    _run(wh, config, now=NOW + timedelta(hours=50))
    assert [(t[2], t[3], t[7]) for t in _tasks(config)][-1] == (None, "open", "leaders")
    _run(wh, config, now=NOW + timedelta(hours=100))  # the end of the path: nothing further
    assert _count(config, Task) == 3


def test_pause_retire_and_versions(company):
    wh, config = company
    write_playbook(config, "save", RED + "on_pause: close\n")
    _run(wh, config)
    assert [t[3] for t in _tasks(config)] == ["open", "open"]
    write_playbook(config, "save", RED.replace("status: active", "status: paused") + "on_pause: close\n")
    res = _book(_run(wh, config, now=NOW + timedelta(hours=1)), "save")
    assert res["closed_tasks"] == 2 and res["fired"] == 0
    assert {t[5] for t in _tasks(config)} == {"playbook save paused"}
    # an edit is a new version; tasks record the version that made them
    edited = RED.replace("Save {{ account.name }}", "Rescue {{ account.name }}").replace(
        "to: [red]", "to: [red, yellow]")
    write_playbook(config, "save", edited)
    _run(wh, config, now=NOW + timedelta(hours=2))
    with session_scope(config) as s:
        assert sorted(s.scalars(select(PlaybookVersion.version))) == [1, 2]
    assert _count(config, Task, Task.playbook_version == 2) == 0  # no new occurrence: B and F fired under v1
    write_playbook(config, "save", edited.replace("status: active", "status: retired"))
    res = _book(_run(wh, config, now=NOW + timedelta(hours=3)), "save")
    with session_scope(config) as s:
        assert set(s.scalars(select(PlaybookEnrolment.status))) == {"completed"}


def test_started_by_hand_once_per_day(company):
    wh, config = company
    write_playbook(config, "manual", """
name: manual
status: active
triggers: [{type: manual}]
steps: [{action: create_task, type: lifecycle, title: "Check in with {{ account.name }}"}]
""")
    res = start_manually(wh, config, "manual", ["A", "F"], actor="ann", as_of=AS_OF, now=NOW)
    assert (res["started"], res["tasks"]) == (2, 2)
    again = start_manually(wh, config, "manual", ["A"], actor="ann", as_of=AS_OF, now=NOW)
    assert again["started"] == 0
    from tenure.errors import NotFoundError

    with pytest.raises(NotFoundError, match="ZZZ"):
        start_manually(wh, config, "manual", ["ZZZ"], actor="ann", as_of=AS_OF, now=NOW)


def test_per_contact_playbooks_make_one_task_per_contact(company):
    wh, config = company
    write_playbook(config, "det", """
name: det
status: active
per: contact
triggers: [{type: survey, kind: nps, within_days: 30}]
steps: [{action: create_task, type: risk, title: "Call {{ contact.name }} at {{ account.name }}"}]
""")
    _run(wh, config)
    assert [(t[0], t[1], t[6]) for t in _tasks(config)] == [("B", "Call Bo at Beta GmbH", "K2")]
