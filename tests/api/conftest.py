"""API fixtures on the shared demo site: extra tokens (read-only, revoked) and account ids per
book of business."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def special_tokens(demo_site) -> dict[str, str]:
    """{"readonly": admin's token with only the read scope, "revoked": a revoked token of admin's}."""
    from tenure.state import tokens
    from tenure.state.db import session_scope

    with session_scope(demo_site.config) as session:
        _, readonly = tokens.create_token(session, "admin", "api-tests-readonly", ["read"])
        revoked_row, revoked = tokens.create_token(session, "admin", "api-tests-revoked", ["read", "write", "admin"])
        session.flush()
        tokens.revoke(session, revoked_row.id)
    return {"readonly": readonly, "revoked": revoked}


@pytest.fixture(scope="session")
def headers_for(auth, special_tokens):
    """headers_for(principal) for a demo user name, "readonly", "revoked" or "anonymous"."""

    def make(principal: str) -> dict[str, str]:
        if principal == "anonymous":
            return {}
        if principal in special_tokens:
            return {"Authorization": f"Bearer {special_tokens[principal]}"}
        return auth(principal)

    return make
