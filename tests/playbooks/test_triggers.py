"""Every trigger type evaluated together, in the warehouse, on the hand-worked company
(tests/playbooks/pb_company.py says why each account fires), on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date

from tests.playbooks.pb_company import AS_OF, company, warehouse_company  # noqa: F401
from tenure.playbooks.engine import evaluate, occurrences_expr
from tenure.playbooks.spec import parse

ALL = """
name: everything
status: active
triggers:
  - {type: band_change, to: [red]}
  - {type: churn_risk, threshold: 0.4}
  - {type: score_drop, points: 15, days: 30}
  - {type: renewal_window, days: [120, 90, 60, 30]}
  - {type: onboarding_overdue}
  - {type: survey, kind: nps}
  - {type: contact_left, roles: [champion], within_days: 30}
  - {type: ticket_escalated}
  - {type: ticket_resolved, within_days: 30}
  - {type: milestone_reached, within_days: 365}
  - {type: signal, signals: [detractor]}
  - {type: missed_cadence}
  - {type: usage_limit}
  - {type: expansion}
steps:
  - action: create_task
    title: "{{ trigger.detail }}"
"""


def _book(text: str):
    pb, problems = parse(text, "test.yaml")
    assert not problems, [str(p) for p in problems]
    return pb


def test_every_trigger_in_one_query_fires_what_the_company_says(company):
    wh, config = company
    rows = evaluate(wh, config, [_book(ALL)], AS_OF)
    got = {(r["trigger_id"], r["account_id"], r["contact_id"], r["key"]) for r in rows}
    assert got == {
        ("band_change", "B", None, "2026-06-30"),
        ("band_change", "F", None, "2026-04-30"),
        ("churn_risk", "B", None, "2026-06-30"),
        ("score_drop", "B", None, "2026-06-30"),
        ("renewal_window", "B", None, "2026-07-15/T-30"),
        ("onboarding_overdue", "A", None, "integration@2026-06-01"),
        ("survey", "B", "K2", "S1"),
        ("contact_left", "A", "K3", "K3@2026-06-20"),
        ("ticket_escalated", "B", None, "T1"),
        ("ticket_resolved", "A", None, "T2"),
        ("milestone_reached", "A", None, "kickoff"),
    }
    by = {(r["trigger_id"], r["account_id"]): r for r in rows}
    assert by[("score_drop", "B")]["value"] == 30.0
    assert by[("churn_risk", "B")]["value"] == 0.5
    assert by[("renewal_window", "B")]["value"] == 15
    assert by[("onboarding_overdue", "A")]["value"] == 29
    assert by[("renewal_window", "B")]["subject"] == "t30"
    # the dedupe key names the playbook, the trigger, the account, the contact, the subject and the occurrence
    assert by[("survey", "B")]["dedupe_key"] == "everything|survey|B|K2||S1"
    assert {r["account_name"] for r in rows if r["account_id"] == "B"} == {"Beta GmbH"}


def test_all_playbooks_compile_to_one_expression(company):
    wh, config = company
    a = _book(ALL)
    b = _book(ALL.replace("name: everything", "name: again"))
    expr = occurrences_expr(wh, config, [a, b], AS_OF)
    rows = wh.to_pyarrow(expr).to_pylist()
    assert {r["playbook"] for r in rows} == {"everything", "again"}
    assert len(rows) == 2 * len(evaluate(wh, config, [a], AS_OF))


def test_audience_filters_on_fields_arr_and_custom_attributes(company):
    wh, config = company
    base = "name: red\nstatus: active\ntriggers: [{type: band_change, to: [red]}]\nsteps: [{action: create_task, title: x}]\n"
    assert {r["account_id"] for r in evaluate(wh, config, [_book(base)], AS_OF)} == {"B", "F"}
    seg = _book(base + "audience: [{field: segment, in: [Enterprise]}]\n")
    assert {r["account_id"] for r in evaluate(wh, config, [seg], AS_OF)} == {"B"}
    arr = _book(base + "audience: [{field: arr, gte: 20000}]\n")  # B 15,000; F 30,000
    assert {r["account_id"] for r in evaluate(wh, config, [arr], AS_OF)} == {"F"}
    attr = _book(base + "audience: [{attribute: plan_tier, eq: gold}]\n")
    assert {r["account_id"] for r in evaluate(wh, config, [attr], AS_OF)} == {"F"}


def test_events_fire_only_within_their_window(company):
    wh, config = company
    pb = _book("name: s\nstatus: active\ntriggers: [{type: survey, kind: nps, within_days: 5}]\n"
               "steps: [{action: create_task, title: x}]\n")
    assert evaluate(wh, config, [pb], AS_OF) == []  # answered 2026-06-20, ten days before
    assert len(evaluate(wh, config, [pb], date(2026, 6, 22))) == 1


def test_per_contact_fans_account_triggers_out_to_key_contacts(company):
    wh, config = company
    pb = _book("name: c\nstatus: active\nper: contact\ncontact_roles: [exec_sponsor, champion]\n"
               "triggers: [{type: churn_risk, threshold: 0.4}]\nsteps: [{action: create_task, title: x}]\n")
    rows = evaluate(wh, config, [pb], AS_OF)
    assert sorted((r["account_id"], r["contact_id"]) for r in rows) == [("B", "K1"), ("B", "K2")]
    assert len({r["dedupe_key"] for r in rows}) == 2
