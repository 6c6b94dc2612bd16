"""The playbooks pages on the demo site: every figure agrees with `tenure playbooks list|results|
preview|backtest --json` run on the same site; the accounts a preview lists are limited to the
reader's book; the backtest runs only when asked; and starting a playbook by hand from the account
page (CSRF, the access policy, audited, never twice)."""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from typer.testing import CliRunner

from tests.web.conftest import csrf_of
from tests.web.test_bad_rows import bad_site  # noqa: F401 (a fixture: this test's site with bad stored rows)
from tenure.web.render import number

NAME = "at-risk-save"  # the shipped playbook with a holdout; the demo enables and runs the library


def _cli(site, *args) -> dict | list:
    from tenure.cli import app

    res = CliRunner().invoke(app, [*args, "--json", "--config", str(site.dir / "tenure.yaml")])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _field(html: str, name: str, row: str | None = None) -> str:
    if row is not None:
        html = re.search(rf'<tr data-playbook="{re.escape(row)}">(.*?)</tr>', html, re.S).group(1)
    return re.search(rf'data-field="{name}">([^<]*)<', html).group(1).strip()


def _counts(html: str, section: str) -> dict[str, str]:
    row = re.search(rf'<tr data-section="{section}">(.*?)</tr>', html, re.S).group(1)
    return dict(re.findall(r'data-key="([^"]+)">[^<]*<strong>([^<]+)</strong>', row))


def test_the_list_agrees_with_the_cli(login, demo_site):
    listed = {r["name"]: r for r in _cli(demo_site, "playbooks", "list")}
    assert NAME in listed and len(listed) >= 7
    page = login("viewer").get("/playbooks")
    assert page.status_code == 200
    assert '<a href="/playbooks" aria-current="page">Playbooks</a>' in page.text
    assert sorted(re.findall(r'<tr data-playbook="([^"]+)">', page.text)) == sorted(listed)
    fired_somewhere = 0
    for name, r in listed.items():
        res = _cli(demo_site, "playbooks", "results", name) if name == NAME else None
        assert _field(page.text, "version", name) == str(r["version"])
        assert f'lifecycle-{r["status"]}">{r["status"]}<' in re.search(
            rf'<tr data-playbook="{name}">(.*?)</tr>', page.text, re.S).group(1)
        assert _field(page.text, "open_tasks", name) == number(r["open_tasks"])
        if res is not None:
            assert _field(page.text, "fired", name) == number(sum(res["occurrences"].values()))
            assert _field(page.text, "started", name) == number(res["occurrences"].get("started", 0))
            assert _field(page.text, "tasks", name) == number(sum(res["tasks"].values()))
            assert _field(page.text, "messages", name) == number(sum(res["messages"].values()))
        fired_somewhere += int(_field(page.text, "fired", name).replace(",", ""))
    assert fired_somewhere > 0, "the demo runs its playbooks once: something fired"


def test_one_playbook_agrees_with_results_and_preview(login, demo_site):
    res = _cli(demo_site, "playbooks", "results", NAME)
    pre = _cli(demo_site, "playbooks", "preview", NAME)
    page = login("cco").get(f"/playbooks/{NAME}")
    assert page.status_code == 200
    html = page.text
    assert _field(html, "version") == str(res["version"])
    assert _field(html, "fired") == number(sum(res["occurrences"].values())) != "0"
    assert _field(html, "tasks") == number(sum(res["tasks"].values()))
    for section in ("occurrences", "enrolments", "arms", "tasks", "task_outcomes", "messages"):
        assert _counts(html, section) == {k: number(v) for k, v in res[section].items()}, section
    # the experiment: the engine's words, "not enough data yet" included
    assert res["experiment"]["message"] in html.replace("&#39;", "'")
    # the preview: the same dry run as `tenure playbooks preview`
    run = pre["playbooks"][0]
    assert _field(html, "preview-fired") == number(run["fired"])
    assert _field(html, "preview-started") == number(run["started"])
    occurrences = re.search(r'<table id="preview-occurrences">(.*?)</table>', html, re.S).group(1)
    assert len(re.findall(r"<tr data-account=", occurrences)) == min(len(pre["occurrences"]), 200)
    assert f"({len(pre['occurrences'])}, those already acted on included)" in html
    # the backtest is not run on a page view: a link asks for it
    assert 'id="backtest-summary"' not in html and f'href="/playbooks/{NAME}?backtest=12#backtest"' in html


def test_a_csm_sees_the_counts_but_only_its_own_accounts(login, demo_site, books):
    pre = _cli(demo_site, "playbooks", "preview", NAME)
    mine = [o for o in pre["occurrences"] if o["owner"] == "csm01"]
    assert len(mine) < len(pre["occurrences"]), "the demo's preview fires outside csm01's book too"
    html = login("csm01").get(f"/playbooks/{NAME}").text
    occurrences = re.search(r'<table id="preview-occurrences">(.*?)</table>', html, re.S)
    listed = re.findall(r'<tr data-account="([^"]+)">', occurrences.group(1)) if occurrences else []
    assert listed == [o["account_id"] for o in mine]
    assert set(listed) <= set(books["csm01"])
    assert f"{len(mine)} in your book of {len(pre['occurrences'])}" in html
    assert _field(html, "preview-fired") == number(pre["playbooks"][0]["fired"])  # the count names no account


def test_the_backtest_on_request_is_the_cli_s(login, demo_site):
    bt = _cli(demo_site, "playbooks", "backtest", NAME, "--months", "6")
    html = login("cco").get(f"/playbooks/{NAME}?backtest=6").text
    assert _field(html, "firings") == number(bt["firings"])
    assert _field(html, "accounts") == number(bt["accounts"])
    months = re.search(r'<table id="backtest-months">(.*?)</table>', html, re.S)
    listed = re.findall(r'<tr data-month="([^"]+)"><th scope="row">[^<]*</th><td class="num">([^<]*)<', months.group(1))
    assert listed == [(m["as_of"], number(m["fired"])) for m in bt["by_date"]]
    if bt["churn"] and bt["churn"].get("precision") is not None:
        from tenure.web.render import pct

        assert _field(html, "precision") == pct(bt["churn"]["precision"])


def test_an_unknown_playbook_or_bad_range_is_refused(login):
    c = login("cco")
    assert c.get("/playbooks/no-such-playbook").status_code == 404
    assert c.get(f"/playbooks/{NAME}?backtest=0").status_code == 422


def _enrolments(site, account_id: str) -> list:
    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog, PlaybookEnrolment

    with session_scope(site.config) as s:
        e = list(s.execute(select(PlaybookEnrolment.playbook, PlaybookEnrolment.started_by)
                           .where(PlaybookEnrolment.account_id == account_id)).all())
        a = list(s.execute(select(AuditLog.actor, AuditLog.entity_id, AuditLog.after)
                           .where(AuditLog.action == "start", AuditLog.entity == "playbook")).all())
    return e, a


def test_a_csm_starts_a_playbook_by_hand_from_the_account_page(writable_site, writable_login, books):
    from tenure.playbooks.spec import load_playbooks

    site = writable_site
    active = [b.name for b in load_playbooks(site.config) if b.status == "active"]
    mine, other = books["csm01"], books["csm02"]
    c = writable_login("csm01")
    # an account of csm01's not yet in the renewal playbook
    target = next(a for a in mine if "renewal" not in {p for p, _ in _enrolments(site, a)[0]})
    page = c.get(f"/accounts/{target}")
    assert 'id="start-playbook"' in page.text and all(f'<option value="{n}">' in page.text for n in active)
    token = csrf_of(page.text)
    # no CSRF token: refused, nothing started
    assert c.post(f"/accounts/{target}/playbooks", data={"playbook": "renewal"},
                  follow_redirects=False).status_code == 403
    assert _enrolments(site, target)[0] == [e for e in _enrolments(site, target)[0] if e[0] != "renewal"]
    r = c.post(f"/accounts/{target}/playbooks", data={"playbook": "renewal", "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/accounts/{target}?playbook=renewal&outcome=started#playbooks"
    assert "Started renewal on this account" in c.get(r.headers["location"]).text
    enrolled, audited = _enrolments(site, target)
    assert ("renewal", "csm01") in enrolled
    assert [(a, n, x["account_id"], x["started"]) for a, n, x in audited] == [("csm01", "renewal", target, 1)]
    assert 'data-playbook="renewal"' in c.get(f"/accounts/{target}").text
    # again: the engine does not start it twice, and the page says so (the attempt is audited too)
    again = c.post(f"/accounts/{target}/playbooks", data={"playbook": "renewal", "csrf_token": token})
    assert "already started on this account today" in again.text
    assert sum(1 for p, _ in _enrolments(site, target)[0] if p == "renewal") == 1
    # outside the book: 403; a viewer may not write
    assert c.post(f"/accounts/{other[0]}/playbooks", data={"playbook": "renewal", "csrf_token": token},
                  follow_redirects=False).status_code == 403
    v = writable_login("viewer")
    vpage = v.get(f"/accounts/{target}").text
    assert 'id="start-playbook"' not in vpage
    assert v.post(f"/accounts/{target}/playbooks", data={"playbook": "renewal", "csrf_token": csrf_of(vpage)},
                  follow_redirects=False).status_code == 403
    assert [x["started"] for _, _, x in _enrolments(site, target)[1]] == [1, 0]


def test_only_an_active_playbook_starts(writable_site, writable_login, books):
    site = writable_site
    path = site.dir / "playbooks" / "renewal.yaml"
    path.write_text(path.read_text().replace("\nstatus: active\n", "\nstatus: paused\n", 1))
    c = writable_login("csm01")
    page = c.get(f"/accounts/{books['csm01'][0]}")
    assert '<option value="renewal">' not in page.text
    r = c.post(f"/accounts/{books['csm01'][0]}/playbooks", data={"playbook": "renewal",
                                                                 "csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and "only an active playbook can be started" in r.text


def test_signed_out_the_pages_send_to_login_and_the_form_does_nothing(client, books):
    for path in ("/playbooks", f"/playbooks/{NAME}", "/capacity"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    r = client.post(f"/accounts/{books['csm01'][0]}/playbooks", data={"playbook": "renewal"}, follow_redirects=False)
    assert r.status_code in (303, 401, 403)


def test_the_pages_survive_rows_that_predate_the_boundary(bad_site):
    client, _ = bad_site
    for path in ("/playbooks", f"/playbooks/{NAME}", f"/playbooks/{NAME}?backtest=6", "/capacity"):
        assert client.get(path).status_code == 200, path


def test_a_manager_starts_a_batch_in_its_book_and_nothing_outside_it(writable_site, writable_login, books):
    site = writable_site
    team = [a for a in (books["csm01"][:3] + books["csm02"][:3])
            if "sponsor-change" not in {p for p, _ in _enrolments(site, a)[0]}]
    assert len(team) >= 2
    c = writable_login("manager")
    page = c.get("/playbooks/sponsor-change").text
    assert 'id="start-batch"' in page
    token = csrf_of(page)
    # one account outside the manager's book (csm03's): refused, and nothing is started for the others
    r = c.post("/playbooks/sponsor-change/start", data={"accounts": " ".join([*team, books["csm03"][0]]),
                                                        "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 403 and books["csm03"][0] in r.text
    assert not any(p == "sponsor-change" for a in team for p, _ in _enrolments(site, a)[0])
    # an unknown id: a 404 that names it
    r = c.post("/playbooks/sponsor-change/start", data={"accounts": f"{team[0]}, NO-SUCH-ID", "csrf_token": token})
    assert r.status_code == 404 and "NO-SUCH-ID" in r.text
    # the team's accounts (commas, spaces, new lines, a repeat): started once each, one audit entry
    text = f"{team[0]},{team[0]}\n" + " ".join(team[1:])
    r = c.post("/playbooks/sponsor-change/start", data={"accounts": text, "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/playbooks/sponsor-change?asked=")
    answer = c.get(r.headers["location"]).text
    assert all(("sponsor-change", "manager") in _enrolments(site, a)[0] for a in team)  # holdouts are enrolled too
    audited = [x for _, n, x in _enrolments(site, team[0])[1] if n == "sponsor-change"]
    assert len(audited) == 1 and audited[0]["accounts"] == team
    assert audited[0]["started"] + audited[0]["holdout"] == len(team)
    assert re.search(r'data-field="batch-started">([^<]+)<', answer).group(1) == number(audited[0]["started"])
    assert f"Of {len(team)} accounts" in answer
    # a viewer sees no form and may not post one
    v = writable_login("viewer")
    vpage = v.get("/playbooks/sponsor-change").text
    assert 'id="start-batch"' not in vpage
    assert v.post("/playbooks/sponsor-change/start", data={"accounts": team[0], "csrf_token": csrf_of(vpage)},
                  follow_redirects=False).status_code == 403


def test_a_measured_experiment_shows_effect_interval_p_and_mde(writable_site, writable_login, monkeypatch):
    """The demo's experiment has too little history to measure; the page's measured branch is shown
    with the experiment module's own tests on hand-picked counts (40 of 100 treated churned, 55 of
    100 held out: -15 pp)."""
    from tenure.playbooks import experiments
    from tenure.web.render import pct_points

    churn = experiments._rate_test(40, 100, 55, 100, 30)
    health = experiments._mean_test({"n": 50, "mean": 4.0, "var": 25.0}, {"n": 50, "mean": 1.0, "var": 25.0}, 30)
    measured = {"playbook": NAME, "horizon_days": 180, "status": "measured", "message": "measured on hand-picked counts",
                "churn": churn, "renewal": experiments._rate_test(3, 10, 4, 10, 30), "health_60d": health}
    monkeypatch.setattr(experiments, "experiment_results", lambda wh, config, name: measured)
    html = writable_login("cco").get(f"/playbooks/{NAME}").text
    row = re.search(r'<tr data-outcome="churn">(.*?)</tr>', html, re.S).group(1)
    assert pct_points(churn["effect"]) == "-15.0 pp" and pct_points(churn["effect"]) in row
    assert pct_points(churn["ci_low"]) in row and pct_points(churn["ci_high"]) in row
    assert f'{churn["p_value"]:.3f}' in row and pct_points(churn["mde"]) in row
    assert "+3.0" in re.search(r'<tr data-outcome="health_60d">(.*?)</tr>', html, re.S).group(1)
    assert "not enough data yet" in re.search(r'<tr data-outcome="renewal">(.*?)</tr>', html, re.S).group(1)
