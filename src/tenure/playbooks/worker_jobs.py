"""The playbooks stage's worker job: evaluate the active playbooks after each refresh (a new data
version), so tasks and emails follow new data within one look of the worker."""

from __future__ import annotations

from typing import Any

EVALUATE_JOB = "evaluate-playbooks"


def evaluate_playbooks(ctx: Any) -> dict:
    """Run every active playbook on the newest data (read-only warehouse snapshot); the state-DB
    transaction is fenced by the job's lease, so a worker that lost it writes nothing."""
    from tenure.playbooks.engine import run_playbooks
    from tenure.playbooks.spec import playbooks_folder
    from tenure.warehouse import connect

    config = ctx.config
    if not config.playbooks.evaluate_after_refresh or not playbooks_folder(config).is_dir():
        return {"skipped": 1}
    wh = connect(config=config, write=False)
    try:
        report = run_playbooks(wh, config, trigger="worker", now=ctx.now, fence=ctx.fence)
    finally:
        wh.close()
    return {**report["totals"], "capped": len(report["capped"])}


def register_worker_jobs(registry: Any) -> None:
    registry.register_worker_job(EVALUATE_JOB, evaluate_playbooks, after_refresh=True,
                                 description="run the active playbooks after each refresh")
