"""The cockpit's task panel, team view: a manager switches from its own tasks to its team's (the
CSMs in its book, Access.task_owners) with open and overdue counts per CSM, and works one from
there; the CCO sees everyone's; a CSM has no team view (asking for it shows its own). On the task
site (tests/playbooks/site.py: csm01 has a task due tomorrow and one overdue, csm02 and csm03 one
each, one in a queue; the manager leads csm01 and csm02)."""

from __future__ import annotations

import re

import pytest

from tests.playbooks.site import build_task_site
from tests.web.test_tasks_panel import _login


@pytest.fixture(scope="module")
def site(demo_built, tmp_path_factory):
    ns = build_task_site(demo_built, tmp_path_factory.mktemp("team-panel-site"))
    yield ns
    ns.app.state.ctx.close()


def _tasks(html: str) -> set[int]:
    panel = html[html.index('id="tasks"'):]
    return {int(t) for t in re.findall(r'<li class="task[^"]*" id="task-(\d+)"', panel)}


def _per_owner(html: str) -> dict[str, tuple[int, int]]:
    table = html[html.index('id="tasks-by-owner"'):html.index("</table>", html.index('id="tasks-by-owner"'))]
    rows = re.findall(r'data-owner="([^"]*)"><th scope="row">[^<]*</th><td class="num">(\d+)</td>'
                      r'<td class="num[^"]*">(\d+)</td>', table)
    return {o: (int(a), int(b)) for o, a, b in rows}


def test_a_manager_switches_to_its_team_with_overdue_counts_per_csm(site):
    ids = site.ids
    m = _login(site, "manager")
    mine = m.get("/cockpit").text
    assert 'id="tasks-view"' in mine and 'href="/cockpit?tasks=team#tasks"' in mine
    assert _tasks(mine) == set() and "tasks-by-owner" not in mine  # the manager owns none itself
    team = m.get("/cockpit?tasks=team").text
    assert "My team&#39;s tasks" in team or "My team's tasks" in team
    assert _tasks(team) == {ids["csm01"], ids["late"], ids["csm02"]}  # csm03 is outside the team
    assert _per_owner(team) == {"csm01": (2, 1), "csm02": (1, 0)}
    assert f'action="/tasks/{ids["csm02"]}/done?tasks=team"' in team
    from tests.web.conftest import csrf_of

    r = m.post(f"/tasks/{ids['csm02']}/done?tasks=team", data={"outcome": "renewed", "csrf_token": csrf_of(team)},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cockpit?tasks=team#tasks"
    after = m.get(r.headers["location"]).text
    assert _per_owner(after) == {"csm01": (2, 1)} and ids["csm02"] not in _tasks(after)


def test_the_cco_sees_everyone_and_a_csm_has_no_team_view(site):
    ids = site.ids
    cco = _login(site, "cco").get("/cockpit?tasks=team").text
    assert {ids["csm01"], ids["late"], ids["csm03"], ids["queue"]} <= _tasks(cco)
    counts = _per_owner(cco)
    assert counts["csm01"] == (2, 1) and counts["csm03"] == (1, 0) and counts[""][0] == 1  # "" : the queue
    c = _login(site, "csm01")
    own = c.get("/cockpit").text
    assert 'id="tasks-view"' not in own
    asked = c.get("/cockpit?tasks=team").text
    assert _tasks(asked) == _tasks(own) == {ids["csm01"], ids["late"]} and "tasks-by-owner" not in asked
