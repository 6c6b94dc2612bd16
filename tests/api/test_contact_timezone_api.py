"""A contact's time zone and locale, uploaded through the API, show on the account (REST and the
Account 360 page); a bad one is refused naming the row and column."""

from __future__ import annotations

V1 = "/api/v1"


def test_uploaded_contact_zone_and_locale_reach_the_account(writable_site, books):
    site = writable_site
    acc = books["csm01"][0]
    rows = (f"contact_id,account_id,email,name,role,timezone,locale\n"
            f"TZ-1,{acc},tz1@example.com,Tomoko Ito,champion,asia/tokyo,ja_jp\n"
            f"TZ-2,{acc},tz2@example.com,Bad Zone,user,Mars/Base,en-US\n")
    up = site.api.post(f"{V1}/ingest/contacts", files={"file": ("contacts.csv", rows.encode(), "text/csv")},
                       headers=site.auth("admin"))
    assert up.status_code == 201, up.text
    run = up.json()
    assert (run["inserted"], run["rejected"]) == (1, 1), run
    assert run["rejected_by_reason"] == {"bad_timezone": 1}
    detail = site.api.get(f"{V1}/accounts/{acc}", headers=site.auth("csm01")).json()
    (mine,) = [c for c in detail["contacts"] if c["contact_id"] == "TZ-1"]
    assert (mine["timezone"], mine["locale"]) == ("Asia/Tokyo", "ja-JP")
    assert "TZ-2" not in {c["contact_id"] for c in detail["contacts"]}
    site.api.cookies.clear()
    login = site.api.get("/login")
    token = login.text.split('name="csrf_token" value="')[1].split('"')[0]
    site.api.post("/login", data={"username": "csm01", "password": site.passwords["csm01"], "csrf_token": token,
                                  "next": "/"})
    page = site.api.get(f"/accounts/{acc}")
    assert page.status_code == 200 and "Asia/Tokyo" in page.text and "ja-JP" in page.text
