"""The health stage's refresh steps: scores with a year of monthly history, and the
early-warning signals."""

from __future__ import annotations

from datetime import date, timedelta

from tenure.jobs.graph import Graph, StepContext

# what the health features read (tenure.health.features, with ARR through tenure.metrics.arr)
HEALTH_INPUTS = ("accounts", "account_attributes", "contacts", "contract_lines", "fx", "invoices", "milestones",
                 "survey_responses", "tickets", "activities", "usage_daily", "usage_features")
SIGNAL_INPUTS = (*HEALTH_INPUTS, "opportunities")

# health history kept for the band trend: the as-of day and every 30 days back for a year
# (as_of - 30 is also the "30 days ago" the account summary compares with)
HISTORY_STEPS = 12
HISTORY_EVERY_DAYS = 30


def history_days(as_of: date) -> list[date]:
    return [as_of - timedelta(days=HISTORY_EVERY_DAYS * k) for k in range(HISTORY_STEPS + 1)]


def health_scores(ctx: StepContext) -> dict:
    """Health on as_of (always rescored) and the monthly history days not yet stored; all of them
    when the scorecard (config.health) or the code changed."""
    from tenure.health.history import snapshot
    from tenure.metrics.periods import to_date

    wh, days = ctx.wh, history_days(ctx.as_of)
    rescore_all = ctx.everything_changed() or bool(ctx.changed & {"code", "config.health", "outputs"})
    stored: set[date] = set()
    if not rescore_all:
        hs = wh.table("health_scores")
        stored = {to_date(d) for d in wh.execute(hs.filter(hs.as_of.isin(days[1:])).select("as_of").distinct())["as_of"]}
    todo = [ctx.as_of] + [d for d in days[1:] if d not in stored]
    scored = 0
    for i, d in enumerate(todo):
        ctx.progress(f"scoring {d} ({i + 1}/{len(todo)})")
        n = snapshot(wh, ctx.config, d)
        scored = n if d == ctx.as_of else scored
    return {"health_accounts": scored, "health_days_computed": len(todo),
            "health_days_skipped": len(days) - len(todo)}


def health_signals(ctx: StepContext) -> dict:
    """Early-warning signals (sponsor left, overdue invoice, detractor, usage decline, support
    spike, renewal without an opportunity, missed cadence) as of the day, stored by account x
    signal x day."""
    from tenure.health.signals import record_signals

    return record_signals(ctx.wh, ctx.config, ctx.as_of)


def register(graph: Graph) -> None:
    graph.step("health_scores", reads=(*HEALTH_INPUTS, "config.health", "config.reporting_currency"),
               writes=("health_scores", "health_components"), version="1")(health_scores)
    graph.step("health_signals", reads=(*SIGNAL_INPUTS, "config.health", "config.reporting_currency",
                                        "config.operating_model"),
               writes=("health_signals",), version="2")(health_signals)
