"""The portfolio stage's refresh steps (the band tables and the account summary the pages
read), `refresh_graph()`: every stage's steps, composed once for the composition roots
(`tenure refresh`, the demo, the API's refresh runs), and `refresh(...)`: one run of it.

CONTRACT:
    refresh(wh, config, as_of: date | None = None, progress=None, validation=None, force=False) -> dict
        Runs the refresh graph: ARR snapshots, health scores with a year of monthly history, health
        signals, risk predictions, the band tables and the account summary, each skipped when its
        inputs did not change since it last ran (docs/jobs.md). as_of defaults to the one "as of"
        (tenure.warehouse.asof.latest_event_day). Idempotent. Returns the run flattened: as_of,
        the steps' results merged (accounts, health_accounts, ...), seconds per step, the run's
        id and counts, and the names of the skipped steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from tenure.jobs.graph import Graph, StepContext
from tenure.metrics.periods import to_date
from tenure.portfolio.summary import ensure_indexes, store_band_renewal, write_band_history, write_summary

SUMMARY_INPUTS = ("accounts", "contract_lines", "fx", "opportunities", "health_scores", "risk_scores")

Progress = Callable[[str, int, int], None]


def _day(value) -> date | None:
    """A date from a date, a datetime, an engine's timestamp or YYYY-MM-DD text."""
    if value is None:
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return to_date(value)


def band_renewal(ctx: StepContext) -> dict:
    """The band -> renewal-probability table from the scorecard validation, stored. The demo
    hands in the validation it already computed (`params["validation"]`)."""
    return store_band_renewal(ctx.wh, ctx.config, ctx.as_of, validation=ctx.params.get("validation"))


def band_history(ctx: StepContext) -> dict:
    """Accounts and ARR per (health snapshot day, owner, band), from the stored health history."""
    return {"band_history_rows": write_band_history(ctx.wh, ctx.config, ctx.as_of)}


def account_summary(ctx: StepContext) -> dict:
    """One row per account (status, ARR and its change, renewal, health, risk), replaced atomically;
    also the per-account lookup indexes the pages need."""
    ensure_indexes(ctx.wh)
    return {"accounts": write_summary(ctx.wh, ctx.config, ctx.as_of)}


def register(graph: Graph) -> None:
    from tenure.health.steps import HEALTH_INPUTS

    graph.step("band_renewal", reads=(*HEALTH_INPUTS, "config.health", "config.reporting_currency"),
               writes=("band_renewal",), version="2")(band_renewal)  # 2: tenure.health.BAND_TABLE
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


def refresh(wh, config, as_of: date | None = None, progress: Progress | None = None,
            validation: dict | None = None, force: bool = False) -> dict:
    """Run the refresh graph once (tenure.jobs.runner.run_graph). `progress(text, done, total)` is
    told each step. `validation`: a tenure.health.validate report already computed on the same
    data (the demo has one), reused for the band -> renewal-probability table."""
    from tenure.jobs.runner import run_graph

    def report(step: str, done: int, total: int, status: str) -> None:
        if progress:
            progress(step if status == "running" else f"{step} {status}", done, total)

    run = run_graph(refresh_graph(), wh, config, as_of=_day(as_of),
                    force=force, progress=report, params={"validation": validation} if validation else None)
    return flatten(run)


def flatten(run: dict) -> dict:
    """A run summary as one mapping: as_of (a date), the results of the steps that ran, the
    steps' seconds, and the run's id, status and counts."""
    out: dict = {"as_of": _day(run.get("as_of"))}
    for step in run.get("steps", []):
        out.update(step.get("result") or {})
    out["seconds"] = {s["name"]: s["seconds"] for s in run.get("steps", []) if s.get("seconds") is not None}
    out["run"] = {k: run.get(k) for k in ("id", "status", "steps_total", "steps_run", "steps_skipped")}
    out["skipped"] = [s["name"] for s in run.get("steps", []) if s["status"] == "skipped"]
    return out
