"""The custom surveys' worker job: load the finished answer sets the public page left in the
inbox into survey_answers through the ingest path (every minute, when there is any)."""

from __future__ import annotations

from typing import Any

SYNC_JOB = "custom-survey-sync"


def custom_survey_sync(ctx: Any) -> dict:
    from tenure.voc.custom import pending, sync_inbox
    from tenure.warehouse import connect

    if not pending(ctx.config):
        return {"skipped": 1}
    wh = connect(config=ctx.config, write=True)
    try:
        res = sync_inbox(ctx.config, wh)
    finally:
        wh.close()
    return {"inserted": res.inserted, "unchanged": res.unchanged, "rejected": res.rejected} if res else {"skipped": 1}


def register_worker_jobs(registry: Any) -> None:
    registry.register_worker_job(SYNC_JOB, custom_survey_sync, every_seconds=60,
                                 description="load custom-survey answers from the public page into survey_answers")
