"""The VoC page's worker job: rank themes, feature requests and churn reasons by ARR once per new
data version and store them for the page and the API (tenure.portfolio.voc.refresh_rankings)."""

from __future__ import annotations

from typing import Any

from tenure.portfolio.voc import RANKING_JOB


def voc_rankings(ctx: Any) -> dict:
    from tenure.portfolio.voc import refresh_rankings
    from tenure.state.db import session_scope
    from tenure.warehouse import connect

    from tenure.warehouse.asof import latest_event_day

    wh = connect(config=ctx.config, write=False)
    try:
        if latest_event_day(wh) is None:  # nothing loaded yet: nothing to rank
            return {"skipped": 1}
        with session_scope(ctx.config) as session:
            out = refresh_rankings(ctx.config, wh, session, data_version=ctx.data_version, now=ctx.now)
    finally:
        wh.close()
    return {kind: len(rows) for kind, rows in out.items()}


def register_worker_jobs(registry: Any) -> None:
    registry.register_worker_job(RANKING_JOB, voc_rankings, after_refresh=True,
                                 description="rank themes, feature requests and churn reasons by ARR for the "
                                             "VoC page (embeddings: minutes on a large corpus)")
