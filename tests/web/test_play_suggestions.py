"""The cockpit's suggested plays on the demo site: every red or high-risk account on the page gets
a line, and since the demo's experiments started on its last day (nothing measurable yet), each
says there is not enough evidence instead of suggesting a play."""

from __future__ import annotations

import html

import pytest


@pytest.mark.parametrize("username", ["cco", "csm01"])
def test_cockpit_says_there_is_no_evidence_yet(login, demo_site, username):
    from tenure.portfolio.accounts import AccountFilter, list_accounts
    from tenure.web.plays import at_risk

    wh = demo_site.app.state.ctx.warehouse()
    owners = None if username == "cco" else [username]
    rows = list_accounts(wh, AccountFilter(owners=owners), sort="risk", descending=True, page_size=20).rows
    risky = at_risk(rows)
    assert risky, "the demo book has red or high-risk accounts"
    page = html.unescape(login(username).get("/cockpit").text)
    section = page[page.index('id="plays-title"'):]
    section = section[:section.index("</section>")]
    assert section.count("<li>") == len(risky)
    for r in risky:
        assert f'href="/accounts/{r["account_id"]}"' in section
    assert section.count("not enough data yet for ") == len(risky)
    assert 'href="/playbooks/' not in section  # no play suggested without evidence


def test_a_suggested_play_links_its_playbook_and_shows_the_evidence():
    from tenure.playbooks.recommend import recommend
    from tenure.web.render import ENV

    cell = {"segment": "SMB", "band": "red", "status": "measured", "effect": -0.157, "ci_low": -0.242,
            "ci_high": -0.072, "p_value": 0.0002, "treatment_n": 527, "holdout_n": 142}
    evidence = {"horizon_days": 180, "playbooks": [{"name": "at-risk-save", "title": "At-risk save", "cells": [cell]}]}
    plays = [{**s, "name": "Acme <Labs>"} for s in recommend(evidence, [{"account_id": "ACC1", "segment": "SMB",
                                                                          "band": "red"}])]
    raw = ENV.get_template("_play_suggestions.html").render(plays=plays)
    assert '<a href="/accounts/ACC1">Acme &lt;Labs&gt;</a>' in raw  # names are escaped
    page = html.unescape(raw)
    assert '<strong><a href="/playbooks/at-risk-save">At-risk save</a></strong>' in page
    assert "churn within 180 days -15.7 pp for SMB accounts enrolled while red (95% CI -24.2 pp to -7.2 pp" in page
    assert "No red or high-risk accounts above." in ENV.get_template("_play_suggestions.html").render(plays=[])
