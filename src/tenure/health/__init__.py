"""Health: per-account features, configurable scorecards, and their validation on history."""

from __future__ import annotations

# The validation's one set of parameters: `tenure health validate`'s defaults, GET /health/validation,
# the demo and the refresh step that stores the band -> renewal-probability table the renewals page
# shows all use these, so the page's table and the command's are the same computation (they were
# not: the page's came from 4 as-of dates, the command's from 6, with other rates and counts).
BAND_TABLE = {"horizon": 180, "dates": 6, "step_days": 60}


def demo_step(wh, config, console) -> dict:
    """For `tenure demo`: the score distribution, the riskiest accounts, and the validation."""
    from rich.table import Table

    from tenure.health.scorecard import score_accounts
    from tenure.health.validate import validate
    from tenure.warehouse.asof import latest_event_day

    as_of = latest_event_day(wh)  # the one "as of": the last day with events
    rows = score_accounts(wh, config, as_of)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["band"] or "none"] = counts.get(r["band"] or "none", 0) + 1
    report = validate(wh, config, as_of=as_of)  # the band table's parameters (tenure.health.BAND_TABLE)
    t = Table(title=f"health as of {as_of}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
              + f"; score AUC for churn within 180 days: {report['score_auc']}")
    for c in ("riskiest accounts", "segment", "ARR", "score", "weakest components"):
        t.add_column(c)
    for r in rows[:5]:
        weak = sorted((c for c in r["components"] if not c["missing"]), key=lambda c: c["points"])[:2]
        t.add_row(r["account_id"], str(r["segment"]), f"{float(r['arr']):,.0f}", f"{r['score']:.1f}",
                  ", ".join(c["name"] for c in weak))
    return {"table": t, "validation": report,
            "hints": ["tenure health score --limit 20", f"tenure health explain {rows[0]['account_id']}" if rows else "",
                      "tenure health validate --horizon 180"]}
