"""The notify stage's worker job: deliver the outbox at every look of the worker."""

from __future__ import annotations

from typing import Any

from tenure.notify.deliver import deliver_due

DELIVER_JOB = "deliver-outbox"


def deliver_outbox(ctx: Any) -> dict:
    """Deliver every due email and webhook in the outbox (fenced by the job's lease)."""
    return deliver_due(ctx.config, fence=ctx.fence).as_dict()


def register_worker_jobs(registry: Any) -> None:
    registry.register_worker_job(DELIVER_JOB, deliver_outbox, every_seconds=0)
