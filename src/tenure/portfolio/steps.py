"""The portfolio stage's refresh steps (the band tables and the account summary the pages
read), and `refresh_graph()`: every stage's steps, composed once for the composition roots
(`tenure refresh`, the demo, the API's refresh runs)."""

from __future__ import annotations

from tenure.jobs.graph import Graph, StepContext

SUMMARY_INPUTS = ("accounts", "contract_lines", "fx", "opportunities", "health_scores", "risk_scores")


def band_renewal(ctx: StepContext) -> dict:
    """The band -> renewal-probability table from the scorecard validation, stored. The demo
    hands in the validation it already computed (`params["validation"]`)."""
    from tenure.portfolio.summary import store_band_renewal

    return store_band_renewal(ctx.wh, ctx.config, ctx.as_of, validation=ctx.params.get("validation"))


def band_history(ctx: StepContext) -> dict:
    """Accounts and ARR per (health snapshot day, owner, band), from the stored health history."""
    from tenure.portfolio.summary import write_band_history

    return {"band_history_rows": write_band_history(ctx.wh, ctx.config, ctx.as_of)}


def account_summary(ctx: StepContext) -> dict:
    """One row per account (status, ARR and its change, renewal, health, risk), replaced atomically;
    also the per-account lookup indexes the pages need."""
    from tenure.portfolio.summary import ensure_indexes, write_summary

    ensure_indexes(ctx.wh)
    return {"accounts": write_summary(ctx.wh, ctx.config, ctx.as_of)}


def register(graph: Graph) -> None:
    from tenure.health.steps import HEALTH_INPUTS

    graph.step("band_renewal", reads=(*HEALTH_INPUTS, "config.health", "config.reporting_currency"),
               writes=("band_renewal",), version="1")(band_renewal)
    graph.step("band_history", reads=("health_scores", "accounts", "contract_lines", "fx",
                                      "config.reporting_currency"),
               writes=("band_history",), version="1")(band_history)
    graph.step("account_summary", reads=(*SUMMARY_INPUTS, "config.reporting_currency"),
               writes=("account_summary",), version="1")(account_summary)


def refresh_graph() -> Graph:
    """The refresh graph of every stage up to the portfolio: ARR snapshots, health scores and
    signals, risk, the band tables, the account summary."""
    from tenure.health import steps as health_steps
    from tenure.metrics import steps as metrics_steps
    from tenure.predict import steps as predict_steps

    graph = Graph()
    for stage in (metrics_steps, health_steps, predict_steps):
        stage.register(graph)
    register(graph)
    return graph
