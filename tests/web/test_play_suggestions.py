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
