"""The advocacy page (/advocacy): in the navigation; a CSM sees its book's candidates with reasons,
asks one for a reference (CSRF-checked), and one ask over the fatigue ledger's cap is refused with a
page naming the contact, the cap and when it is next available; the case-study pipeline moves, a
referral is recorded; a CSM outside the book and a viewer cannot write; the reasons are escaped."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.web.conftest import csrf_of


def test_a_csm_asks_a_candidate_and_the_ledger_refuses_one_ask_too_many(writable_site, writable_login, books):
    from tenure.config import AdvocacySettings
    from tenure.state.db import session_scope
    from tenure.state.models import AuditLog

    writable_site.app.state.ctx.config.advocacy = AdvocacySettings(request_cap=1)
    c = writable_login("csm01")
    page = c.get("/advocacy")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<a href="/advocacy" aria-current="page">Advocacy</a>' in html
    total = int(re.search(r'id="candidates-total">([\d,]+)<', html).group(1).replace(",", ""))
    contacts = re.findall(r'<tr data-contact="([^"]+)">', html)
    assert total > 0 and contacts, "the demo gives csm01 no reference candidates"
    assert "promoter: NPS" in html and "healthy: green band" in html
    contact = contacts[0]
    token = csrf_of(html)
    form = {"contact_id": contact, "team": "sales-emea", "prospect": "Initech"}
    assert c.post("/advocacy/reference-requests", data=form, follow_redirects=False).status_code == 403  # no CSRF
    r = c.post("/advocacy/reference-requests", data={**form, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("#requests")
    html = c.get(r.headers["location"]).text
    assert "recorded" in html and 'data-status="requested"' in html
    assert f'<tr data-contact="{contact}">' not in html  # asked: no longer a candidate
    # a second ask of the same contact, another team, another prospect: over the cap of 1
    r = c.post("/advocacy/reference-requests", data={**form, "team": "sales-na", "prospect": "Globex",
                                                     "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 409
    assert f"contact {contact} has been asked for 1 references" in r.text and "the cap is 1 per 90 days" in r.text
    assert "next available" in r.text
    # a case study through the pipeline, a referral
    account = books["csm01"][0]
    r = c.post("/advocacy/case-studies", data={"account_id": account, "title": "<b>Big</b> win",
                                               "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    html = c.get(r.headers["location"]).text
    assert "&lt;b&gt;Big&lt;/b&gt; win" in html and "<b>Big</b>" not in html
    cs = int(re.search(r'data-case-study="(\d+)" data-stage="identified"', html).group(1))
    r = c.post(f"/advocacy/case-studies/{cs}/stage", data={"stage": "drafting", "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303 and f'data-case-study="{cs}" data-stage="drafting"' in c.get("/advocacy").text
    r = c.post("/advocacy/referrals", data={"account_id": account, "company": "Hooli", "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303 and "Hooli" in c.get("/advocacy").text
    # outside the book, and a viewer: refused; the viewer sees no forms
    other = writable_login("csm03")
    assert other.post(f"/advocacy/case-studies/{cs}/stage", data={
        "stage": "published", "csrf_token": csrf_of(other.get("/").text)}, follow_redirects=False).status_code == 403
    v = writable_login("viewer")
    vpage = v.get("/advocacy").text
    assert "Hooli" in vpage and "Add case study" not in vpage and ">Ask</button>" not in vpage
    assert v.post("/advocacy/referrals", data={"account_id": account, "company": "Nope",
                                               "csrf_token": csrf_of(vpage)}, follow_redirects=False).status_code == 403
    with session_scope(writable_site.config) as s:
        acts = set(s.execute(select(AuditLog.entity, AuditLog.action).where(AuditLog.actor == "csm01")).all())
    assert {("reference_request", "create"), ("case_study", "create"), ("case_study", "move"),
            ("referral", "create")} <= acts
