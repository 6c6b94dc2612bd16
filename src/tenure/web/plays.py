"""The cockpit's suggested plays: for each red or high-risk account on the page, the playbook
whose experiment measured the biggest cut in churn for accounts like it, with the evidence
(tenure.playbooks.recommend); until an experiment has shown one, it says so. The evidence is
computed once per data version and state of the experiments (enrolments by arm)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

RISK = 0.5  # the shipped at-risk save playbook's churn-risk threshold


def at_risk(rows: Sequence[dict]) -> list[dict]:
    """The customers among `rows` that are red or whose churn risk is at least RISK."""
    return [r for r in rows if r.get("status") in (None, "customer")
            and (r.get("band") == "red" or (r.get("risk") or 0) >= RISK)]


def play_suggestions(ctx: Any, wh: Any, rows: Sequence[dict]) -> list[dict]:
    """recommend() for the at-risk accounts among `rows`, each with its name."""
    from tenure.http.cache import cached
    from tenure.playbooks.recommend import evidence_key, play_evidence, recommend

    accounts = at_risk(rows)
    if not accounts:
        return []
    evidence = cached(ctx, ("web", "play-evidence", evidence_key(ctx.config)), lambda: play_evidence(wh, ctx.config))
    names = {r["account_id"]: r.get("name") for r in accounts}
    return [{**s, "name": names.get(s["account_id"])} for s in recommend(evidence, accounts)]
