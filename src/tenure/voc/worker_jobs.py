"""The surveys' worker jobs: send relationship waves and enrolled contacts (hourly), reminders and
expiry (hourly), and the sync of answers to the warehouse (every minute, when there is any)."""

from __future__ import annotations

from typing import Any

import tenure.voc.actions  # noqa: F401  (registers the send_survey playbook action)

SEND_JOB, REMIND_JOB, SYNC_JOB = "survey-send", "survey-remind", "survey-sync"


def survey_send(ctx: Any) -> dict:
    from tenure.voc.send import send_all
    from tenure.warehouse import connect

    if not ctx.config.surveys.programs:
        return {"skipped": 1}
    wh = connect(config=ctx.config, write=False)
    try:
        reports = send_all(ctx.config, wh, now=ctx.now, fence=ctx.fence)
    finally:
        wh.close()
    return {k: sum(getattr(r, k) for r in reports) for k in ("invited", "throttled", "suppressed", "recently_asked")}


def survey_remind(ctx: Any) -> dict:
    from tenure.voc.send import remind

    return remind(ctx.config, now=ctx.now, fence=ctx.fence) if ctx.config.surveys.programs else {"skipped": 1}


def survey_sync(ctx: Any) -> dict:
    from tenure.voc.responses import pending_sync, sync
    from tenure.warehouse import connect

    if not pending_sync(ctx.config):
        return {"skipped": 1}
    wh = connect(config=ctx.config, write=True)
    try:
        out = sync(ctx.config, wh, fence=ctx.fence)
    finally:
        wh.close()
    return {k: v for k, v in out.items() if k != "runs"}


def register_worker_jobs(registry: Any) -> None:
    registry.register_worker_job(SEND_JOB, survey_send, schedule="0 * * * *",
                                 description="invite the due contacts of every active survey program")
    registry.register_worker_job(REMIND_JOB, survey_remind, schedule="30 * * * *",
                                 description="remind unanswered survey invitations once; mark expired ones")
    registry.register_worker_job(SYNC_JOB, survey_sync, every_seconds=60,
                                 description="bring new survey answers to the warehouse (the ingest path)")
