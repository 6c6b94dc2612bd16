"""A copy of the demo company of its own for the renewals tests that write (forecast calls): made
once per test process from the run's one demo build (`demo_built`) and shared by the API, page and
browser tests of renewals, never the shared `demo_site` (which must not change). csm01 and csm02
are in the manager's team, csm03 is not."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace


@functools.lru_cache(maxsize=1)
def renewals_site(built: Path) -> SimpleNamespace:
    """Namespace: dir, config, app (one FastAPI app), passwords {user: password}, tokens {principal:
    secret} (every demo user, "readonly" and "revoked"), renewing {csm: [account ids with a dated
    renewal in the next year, soonest first]}."""
    import pickle

    from tenure.config import load_config
    from tenure.portfolio.renewals import renewals
    from tenure.serve import create_app
    from tenure.warehouse import connect

    from tests.sites import copy_site

    folder = Path(tempfile.mkdtemp(prefix="tenure-renewals-site-"))
    copy_site(built / "site", folder)
    meta = pickle.loads((built / "meta.pickle").read_bytes())  # tests/conftest.py _build_demo
    config = load_config(folder / "tenure.yaml")
    with connect(config=config, write=False) as wh:
        renewing = {o: [r["account_id"] for r in renewals(wh, [o], within_days=365, limit=500).rows]
                    for o in ("csm01", "csm02", "csm03")}
    secrets = {**meta["tokens"], **meta["special_tokens"]}  # read/write/admin per user; "readonly", "revoked"
    passwords = meta["passwords"]
    app = create_app(config)

    def close() -> None:
        app.state.ctx.close()
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(close)
    return SimpleNamespace(dir=folder, config=config, app=app, passwords=passwords, tokens=secrets,
                           renewing=renewing)


def headers(site: SimpleNamespace, principal: str) -> dict[str, str]:
    return {} if principal == "anonymous" else {"Authorization": f"Bearer {site.tokens[principal]}"}
