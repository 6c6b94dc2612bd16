"""The onboarding page over HTTP on the demo site: the accounts onboarding in the caller's book,
their plan, milestones and status, with counts and rows equal to the read model
(tenure.portfolio.onboarding) and time to value equal to the registry metric's rows. A CSM sees
its own book, a manager its team's, the CCO everyone."""

from __future__ import annotations

import re

import pytest

from tenure.config import OnboardingPlans

PLANS = {
    "plans": [
        {"name": "enterprise", "segments": ["Enterprise"], "milestones": [
            {"name": "kickoff", "due_days": 7}, {"name": "integration", "due_days": 30},
            {"name": "first_report", "due_days": 21, "done_when": {"feature": "report_run"}},
            {"name": "training", "due_days": 45, "required": False},
            {"name": "first_value", "due_days": 60}]},
        {"name": "standard", "milestones": [
            {"name": "kickoff", "due_days": 7}, {"name": "five_users", "due_days": 30, "done_when": {"active_users": 5}},
            {"name": "first_value", "due_days": 60}]},
    ],
    "behind_after_days": 0,
    "stuck_after_days": 14,
}


@pytest.fixture
def plans(demo_site, monkeypatch):
    """The shared demo's app with onboarding plans (its tenure.yaml may have none): the config
    object only, nothing on disk or in the stores changes."""
    config = demo_site.app.state.ctx.config
    monkeypatch.setattr(config, "onboarding_plans", OnboardingPlans.model_validate(PLANS))
    return config


def _rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-account="([^"]+)" data-status="([^"]+)">', html)


def _counts(html: str) -> dict[str, int]:
    return {s: int(n.replace(",", "")) for s, n in re.findall(r'data-status="([a-z_]+)">([\d,]+)</span>', html)}


def test_the_page_is_the_read_model(login, demo_site, plans):
    from tenure.portfolio.onboarding import onboarding_view

    wh = demo_site.app.state.ctx.warehouse()
    view = onboarding_view(wh, plans, None, page_size=200)
    assert view.total > 0, "the demo has accounts in onboarding"
    html = login("cco").get("/onboarding?size=200").text
    assert _rows(html) == [(r["account_id"], r["status"]) for r in view.page.rows]
    assert {k: v for k, v in _counts(html).items()} == {k: v for k, v in view.counts.items() if k != "no_plan" or v}
    assert f'id="onboarding-total">{view.total:,}<' in html
    assert {r["status"] for r in view.page.rows} <= {"on_track", "behind", "stuck"}  # every segment has a plan
    # the accounts are the summary's onboarding band, nothing else
    s = wh.table("account_summary")
    onboarding = set(wh.execute(s.filter(s.band == "onboarding").account_id))
    assert {r["account_id"] for r in view.page.rows} == onboarding
    # each row: its milestones on the page, with the plan's required count
    r = view.page.rows[0]
    row_html = html.split(f'data-account="{r["account_id"]}"', 1)[1].split("</tr>", 1)[0]
    assert f'{r["required_done"]} of {r["required"]}' in row_html
    assert all(m["milestone"] in row_html for m in r["milestone_rows"])
    assert len(r["milestone_rows"]) == r["milestones"]
    # one status filter: the rows of that status only, counted as the tile says
    status = r["status"]
    only = login("cco").get(f"/onboarding?status={status}&size=200").text
    assert [a for a, _ in _rows(only)] == [x["account_id"] for x in view.page.rows if x["status"] == status]


def test_time_to_value_is_the_registry_metric(login, demo_site, plans):
    from tenure.metrics.compute import ttv_rows
    from tenure.metrics.periods import Period
    from tenure.portfolio.onboarding import onboarding_view

    wh = demo_site.app.state.ctx.warehouse()
    as_of = onboarding_view(wh, plans, None).as_of
    html = login("viewer").get("/onboarding").text
    last = re.findall(r'<tr data-period="(\d{4}-\d\d\.\.\d{4}-\d\d)" data-segment="([^"]+)"><td>[^<]*</td><th scope="row">'
                      r'[^<]*</th><td class="num">(\d+)</td><td class="num">(\d+)</td>', html)
    assert last, "the page shows time to value for the last 12 months"
    label = last[0][0]
    first, end = label.split("..")
    from datetime import date

    from tenure.metrics.periods import month_end

    period = Period(label, date.fromisoformat(first + "-01"), month_end(date.fromisoformat(end + "-01")))
    want = {(r["segment"], r["accounts"], r["reached"]) for r in ttv_rows(wh, plans, period, ["segment"])}
    assert {(s, int(a), int(n)) for _, s, a, n in last} == want
    assert end == f"{as_of:%Y-%m}"


@pytest.mark.parametrize("user, owners", [("csm01", ["csm01"]), ("manager", ["csm01", "csm02"]), ("csm03", ["csm03"])])
def test_a_csm_sees_its_book(login, demo_site, plans, books, user, owners):
    from tenure.portfolio.onboarding import onboarding_view

    wh = demo_site.app.state.ctx.warehouse()
    view = onboarding_view(wh, plans, owners, page_size=200)
    html = login(user).get("/onboarding?size=200").text
    shown = [a for a, _ in _rows(html)]
    assert shown == [r["account_id"] for r in view.page.rows]
    book = {a for o in owners for a in books[o]}
    assert set(shown) <= book
    everyone = {r["account_id"] for r in onboarding_view(wh, plans, None, page_size=200).page.rows}
    assert set(shown) == everyone & book  # all of its book's onboarding accounts, no one else's
    assert _counts(html).get("on_track", 0) == view.counts["on_track"]
    # asking for another CSM's accounts shows nothing outside the book
    other = "csm03" if "csm03" not in owners else "csm01"
    assert _rows(login(user).get(f"/onboarding?owner={other}").text) == []


def test_without_plans_the_page_says_how_to_add_them(login, demo_site, monkeypatch):
    monkeypatch.setattr(demo_site.app.state.ctx.config, "onboarding_plans", OnboardingPlans())
    html = login("cco").get("/onboarding").text
    assert "No onboarding plans are configured" in html
    assert {s for _, s in _rows(html)} <= {"no_plan"}
    assert '<a href="/onboarding" aria-current="page">Onboarding</a>' in html


def test_a_bad_status_is_refused(login, plans):
    r = login("cco").get("/onboarding?status=late")
    assert r.status_code in (400, 422) and "late" in r.text
