"""The cockpit on the demo site: its headings count every row in the engine (not the rows a
capped list holds) and name the window "what changed" really covers."""

from __future__ import annotations

import html

import pytest


@pytest.mark.parametrize("username", ["cco", "csm01"])
def test_cockpit_headings_count_every_row_and_name_the_window(login, demo_site, books, username):
    from tenure.portfolio.cockpit import changes_since
    from tenure.portfolio.renewals import renewal_totals

    wh = demo_site.app.state.ctx.warehouse()
    owners = None if username == "cco" else [username]
    page = html.unescape(login(username).get("/cockpit").text)
    soon = renewal_totals(wh, owners, 90)["accounts"]
    later = renewal_totals(wh, owners, 180, after_days=91)["accounts"]
    changed = changes_since(wh, owners, days=7, limit=1).total
    assert f"Renewals in the next 90 days ({soon})" in page
    assert f"Renewals in 91–180 days ({later})" in page
    assert f"What changed in the last 7 days ({changed})" in page and "since last week" not in page
