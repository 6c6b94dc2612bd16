"""The metrics stage's refresh steps (registered into the graph by the composition root)."""

from __future__ import annotations

from tenure.jobs.graph import Graph, StepContext

ARR_INPUTS = ("contract_lines", "fx", "accounts", "account_attributes")


def arr_snapshots(ctx: StepContext) -> dict:
    """ARR per account per month and the month's movements (new, expansion, churn...) up to as_of."""
    from tenure.metrics.snapshots import materialize

    # a changed setting or code means every stored month may be wrong; new facts are handled by
    # materialize's own watermark (only the months from the earliest changed line on)
    full = ctx.everything_changed() or bool(ctx.changed & {"code", "config.metrics", "config.reporting_currency",
                                                           "outputs"})
    return materialize(ctx.wh, ctx.config, last=ctx.as_of, full=full)


def register(graph: Graph) -> None:
    graph.step("arr_snapshots", reads=(*ARR_INPUTS, "config.reporting_currency", "config.metrics"),
               writes=("arr_monthly", "arr_movements"), version="1")(arr_snapshots)
