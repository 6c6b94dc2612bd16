"""docs/jobs.md keeps up with the graph: every step is in its table with what it writes."""

from __future__ import annotations

from pathlib import Path

from tenure.portfolio.steps import refresh_graph
from tenure.warehouse.asof import event_columns

DOC = (Path(__file__).resolve().parents[2] / "docs" / "jobs.md").read_text()


def test_every_step_and_its_writes_are_in_jobs_md():
    rows = {line.split("|")[1].strip(" `"): line for line in DOC.splitlines() if line.startswith("| `")}
    for step in refresh_graph().steps:
        assert step.name in rows, f"docs/jobs.md has no row for step {step.name}"
        assert ", ".join(step.writes) in rows[step.name], f"docs/jobs.md: {step.name} writes {step.writes}"


def test_every_event_time_column_is_named_in_jobs_md():
    for table, column, _ in event_columns():
        assert f"{table}.{column}" in DOC
