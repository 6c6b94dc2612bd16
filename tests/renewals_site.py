"""A small demo company of its own for the renewals tests that write (forecast calls): built once
per test process and shared by the API, page and browser tests of renewals, never the shared
`demo_site` (which must not change). csm01 and csm02 are in the manager's team, csm03 is not."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace


@functools.lru_cache(maxsize=1)
def renewals_site() -> SimpleNamespace:
    """Namespace: dir, config, app (one FastAPI app), passwords {user: password}, tokens {principal:
    secret} (every demo user, "readonly" and "revoked"), renewing {csm: [account ids with a dated
    renewal in the next year, soonest first]}."""
    from tenure.config import load_config
    from tenure.demo import run_demo
    from tenure.portfolio.renewals import renewals
    from tenure.serve import create_app
    from tenure.state import tokens
    from tenure.state.db import session_scope
    from tenure.warehouse import connect

    folder = Path(tempfile.mkdtemp(prefix="tenure-renewals-site-"))
    summary = run_demo(folder, accounts=90, months=18, seed=7, quiet=True)
    config = load_config(folder / "tenure.yaml")
    with connect(config=config, write=False) as wh:
        renewing = {o: [r["account_id"] for r in renewals(wh, [o], within_days=365, limit=500).rows]
                    for o in ("csm01", "csm02", "csm03")}
    secrets = {}
    with session_scope(config) as s:
        for u in summary["users"]:
            _, secrets[u["username"]] = tokens.create_token(s, u["username"], "t", ["read", "write", "admin"])
        _, secrets["readonly"] = tokens.create_token(s, "admin", "ro", ["read"])
        row, secrets["revoked"] = tokens.create_token(s, "admin", "rv", ["read", "write", "admin"])
        s.flush()
        tokens.revoke(s, row.id)
    passwords = {u["username"]: u["password"] for u in summary["users"]}
    app = create_app(config)

    def close() -> None:
        app.state.ctx.close()
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(close)
    return SimpleNamespace(dir=folder, config=config, app=app, passwords=passwords, tokens=secrets,
                           renewing=renewing)


def headers(site: SimpleNamespace, principal: str) -> dict[str, str]:
    return {} if principal == "anonymous" else {"Authorization": f"Bearer {site.tokens[principal]}"}
