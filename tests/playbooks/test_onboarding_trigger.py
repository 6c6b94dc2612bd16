"""The onboarding_status trigger: onboarding accounts behind or stuck on their plan, with the days
of slippage as the value, on the hand-made company of tests/health/test_onboarding_plans.py."""

from __future__ import annotations

from datetime import date

from tenure.playbooks.triggers import Inputs, OnboardingStatus, occurrences
from tests.health.test_onboarding_plans import AS_OF, company  # noqa: F401  (the fixture)


def test_behind_and_stuck_fire_with_their_slippage(company):  # noqa: F811
    wh, config = company
    rows = wh.to_pyarrow(occurrences(Inputs(wh, config, AS_OF), OnboardingStatus())).to_pylist()
    got = {r["account_id"]: r for r in rows}
    assert set(got) == {"B", "D"}
    assert (got["B"]["subject"], got["B"]["value"]) == ("stuck", 22)
    assert (got["D"]["subject"], got["D"]["value"]) == ("behind", 19)
    # stuck since the day the slippage passed 20 days (kickoff due 06-08: 06-29); behind since 06-12
    assert got["B"]["occurred_on"] == date(2026, 6, 29) and got["D"]["occurred_on"] == date(2026, 6, 12)
    assert got["B"]["key"] == "onboarding/stuck/2026-06-01"
    only = wh.to_pyarrow(occurrences(Inputs(wh, config, AS_OF), OnboardingStatus(statuses=["stuck"]))).to_pylist()
    assert [r["account_id"] for r in only] == ["B"]


def test_the_shipped_onboarding_playbook_fires_on_accounts_behind_or_stuck(company):  # noqa: F811
    """The library's onboarding playbook reads the onboarding plans (behind / stuck), not the
    milestones' own due dates (the older onboarding_overdue trigger)."""
    from tenure.playbooks.playbook_cli import LIBRARY
    from tenure.playbooks.spec import load_file

    wh, config = company
    book = load_file(LIBRARY / "onboarding.yaml")
    assert [(t.type, sorted(t.statuses)) for t in book.trigger_params] == [("onboarding_status", ["behind", "stuck"])]
    rows = wh.to_pyarrow(occurrences(Inputs(wh, config, AS_OF), book.trigger_params[0])).to_pylist()
    assert {r["account_id"]: r["subject"] for r in rows} == {"B": "stuck", "D": "behind"}
