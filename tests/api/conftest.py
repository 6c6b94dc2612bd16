"""API fixtures on the shared demo site: extra tokens (read-only, revoked) and account ids per
book of business."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def special_tokens(demo_site) -> dict[str, str]:
    """{"readonly": admin's token with only the read scope, "revoked": a revoked token of admin's}
    (made when the demo is built, so every copy of it has them too)."""
    return demo_site.special_tokens


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
