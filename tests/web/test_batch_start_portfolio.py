"""Starting a playbook on a batch of accounts ticked in the portfolio list: a plain form (the list's
tick boxes join it with form="batch-start", no JavaScript), CSRF-checked, every account checked
against the user's book (one outside it: 403, nothing started), one audit entry, and back to the
same filtered list with what it did."""

from __future__ import annotations

import re

from tests.web.conftest import csrf_of
from tests.web.test_playbooks_page import _enrolments
from tenure.web.render import number


def test_a_csm_ticks_accounts_in_the_portfolio_and_starts_a_playbook(writable_site, writable_login, books):
    site = writable_site
    mine = [a for a in books["csm01"][:4] if "sponsor-change" not in {p for p, _ in _enrolments(site, a)[0]}][:2]
    assert len(mine) == 2
    c = writable_login("csm01")
    page = c.get("/accounts?segment=&sort=name&order=asc&size=100").text
    assert 'id="batch-start"' in page and '<option value="sponsor-change">' in page
    ticks = re.findall(r'<input type="checkbox" name="account" value="([^"]+)" form="batch-start"', page)
    assert set(mine) <= set(ticks)
    token = csrf_of(page)
    back = "/accounts?sort=name&order=asc&size=100&asked=9"
    form = {"playbook": "sponsor-change", "account": mine, "back": back}
    assert c.post("/accounts/start-playbook", data=form, follow_redirects=False).status_code == 403  # no CSRF
    r = c.post("/accounts/start-playbook", data={**form, "account": [*mine, books["csm03"][0]], "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 403 and books["csm03"][0] in r.text  # outside the book: nothing started
    assert not any(p == "sponsor-change" for a in mine for p, _ in _enrolments(site, a)[0])
    r = c.post("/accounts/start-playbook", data={**form, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    where = r.headers["location"]
    assert where.startswith("/accounts?sort=name&order=asc&size=100&batch_playbook=sponsor-change&asked=2")
    assert where.endswith("#batch-start") and "asked=9" not in where
    assert all(("sponsor-change", "csm01") in _enrolments(site, a)[0] for a in mine)
    audited = [x for _, n, x in _enrolments(site, mine[0])[1] if n == "sponsor-change"]
    assert len(audited) == 1 and audited[0]["accounts"] == mine
    answer = c.get(where).text
    assert re.search(r'data-field="batch-started">([^<]+)<', answer).group(1) == number(audited[0]["started"])
    assert "on 2 accounts" in answer
    r = c.post("/accounts/start-playbook", data={**form, "back": "https://evil.example/x", "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/accounts?batch_playbook=")
    # a viewer sees no tick boxes and may not post
    v = writable_login("viewer")
    vpage = v.get("/accounts").text
    assert 'id="batch-start"' not in vpage and 'form="batch-start"' not in vpage
    assert v.post("/accounts/start-playbook", data={**form, "csrf_token": csrf_of(vpage)},
                  follow_redirects=False).status_code == 403
