"""Users and tokens through the API: created, used, revoked and disabled, every change audited."""

from __future__ import annotations

import uuid

V1 = "/api/v1"


def test_me_says_who_and_what_book(api, auth, headers_for):
    me = api.get(f"{V1}/me", headers=auth("manager")).json()
    assert me["role"] == "manager" and me["scope"] == "owners" and set(me["owners"]) == {"csm01", "csm02"}
    assert api.get(f"{V1}/me", headers=auth("cco")).json()["owners"] is None
    narrowed = api.get(f"{V1}/me", headers=headers_for("readonly")).json()
    assert narrowed["role"] == "admin" and narrowed["permissions"] == ["read"]


def test_user_and_token_lifecycle(writable_site):
    api, admin = writable_site.api, writable_site.auth("admin")  # its own copy: users and tokens are written
    name = f"api_{uuid.uuid4().hex[:8]}"
    r = api.post(f"{V1}/users", json={"username": name, "role": "csm", "full_name": "New CSM"}, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["password"] and len(created["password"]) >= 12 and created["csm_key"] == name
    assert "password_hash" not in created
    assert name in {u["username"] for u in api.get(f"{V1}/users", headers=admin).json()}
    again = api.post(f"{V1}/users", json={"username": name, "role": "csm"}, headers=admin)
    assert again.status_code == 422 and "already exists" in again.json()["detail"]

    t = api.post(f"{V1}/tokens", json={"username": name, "name": "laptop", "scopes": ["read", "write"]}, headers=admin)
    assert t.status_code == 201
    token = t.json()
    assert token["secret"].startswith("tnr_") and token["scopes"] == "read,write"
    mine = {"Authorization": f"Bearer {token['secret']}"}
    assert api.get(f"{V1}/me", headers=mine).json()["username"] == name
    assert api.get(f"{V1}/accounts", headers=mine).json()["total"] == 0  # owns nothing yet
    listed = api.get(f"{V1}/tokens", headers=admin).json()
    assert all("secret" not in x and "token_hash" not in x for x in listed)

    assert api.delete(f"{V1}/tokens/{token['id']}", headers=admin).status_code == 204
    revoked = api.get(f"{V1}/me", headers=mine)
    assert revoked.status_code == 401 and revoked.json()["status"] == 401

    t2 = api.post(f"{V1}/tokens", json={"username": name, "name": "second"}, headers=admin).json()
    assert api.get(f"{V1}/me", headers={"Authorization": f"Bearer {t2['secret']}"}).status_code == 200
    d = api.post(f"{V1}/users/{name}/disable", headers=admin)
    assert d.status_code == 200 and d.json()["active"] is False
    assert api.get(f"{V1}/me", headers={"Authorization": f"Bearer {t2['secret']}"}).status_code == 401

    trail = api.get(f"{V1}/audit", params={"actor": "admin", "page_size": 100}, headers=admin).json()["items"]
    mine_trail = [(e["action"], e["entity"]) for e in trail if e["entity_id"] in (name, str(token["id"]), str(t2["id"]))
                  or (e["after"] or {}).get("user") == name]
    assert ("create", "user") in mine_trail and ("disable", "user") in mine_trail
    assert ("create", "api_token") in mine_trail and ("revoke", "api_token") in mine_trail
    disable = next(e for e in trail if e["action"] == "disable" and e["entity_id"] == name)
    assert disable["before"]["active"] is True and disable["after"]["active"] is False and disable["ip"]
    assert all("password_hash" not in (e["after"] or {}) for e in trail)


def test_admin_input_errors(api, auth):
    admin = auth("admin")
    assert api.post(f"{V1}/users", json={"username": "bad name!", "role": "csm"}, headers=admin).status_code == 422
    assert api.post(f"{V1}/users", json={"username": "x1", "role": "god"}, headers=admin).status_code == 422
    assert api.post(f"{V1}/users", json={"username": "x2", "role": "csm", "password": "short"},
                    headers=admin).status_code == 422
    assert api.post(f"{V1}/tokens", json={"username": "nobody-at-all", "name": "x"}, headers=admin).status_code == 404
    assert api.post(f"{V1}/tokens", json={"username": "viewer", "name": "x", "scopes": ["root"]},
                    headers=admin).status_code == 422
    assert api.delete(f"{V1}/tokens/999999", headers=admin).status_code == 404
    assert api.post(f"{V1}/users/nobody-at-all/disable", headers=admin).status_code == 404


def test_audit_is_paginated_newest_first(api, auth):
    body = api.get(f"{V1}/audit", params={"page_size": 3}, headers=auth("admin")).json()
    ids = [e["id"] for e in body["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3 and body["total"] >= 3
