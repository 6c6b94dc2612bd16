"""The refresh graph runner on a real state DB (SQLite and PostgreSQL): order, skipping when
nothing changed, reruns when a table, a config section, the code or the as-of changes, failures
recorded with their message. The steps here count their calls and write nothing to a warehouse,
so the runner's own logic is what is checked (the real steps: test_refresh.py)."""

from __future__ import annotations

from datetime import date

import pytest

from tenure.config import config_from_dict
from tenure.jobs import Graph, GraphError, runs, versions
from tenure.jobs.runner import run_graph

DAY = date(2026, 6, 30)


def _config(state_url, tmp_path, **sections):
    return config_from_dict({"state": {"url": state_url}, **sections}, base_dir=tmp_path, env={})


def _graph(calls: list[str], version: str = "1", fail: str | None = None) -> Graph:
    """facts -> a (tickets) -> b (a_out) -> c (b_out, health config); d (usage, independent)."""
    g = Graph()

    def step(name):
        def run(ctx):
            calls.append(name)
            if name == fail:
                raise ValueError(f"{name} cannot work on {ctx.as_of}")
            return {"changed": sorted(ctx.changed) if ctx.changed is not None else None}
        return run

    g.step("c", reads=("b_out", "config.health"), writes=("c_out",), version="1")(step("c"))
    g.step("b", reads=("a_out", "accounts"), writes=("b_out",), version=version)(step("b"))
    g.step("a", reads=("tickets",), writes=("a_out",), version="1")(step("a"))
    g.step("d", reads=("usage_daily",), writes=("d_out",), version="1")(step("d"))
    return g


def test_order_puts_each_step_after_the_steps_writing_what_it_reads():
    g = _graph([])
    assert [s.name for s in g.order()] == ["a", "b", "c", "d"]
    assert [(s["name"], s["after"]) for s in g.describe()] == [("a", []), ("b", ["a"]), ("c", ["b"]), ("d", [])]


def test_two_writers_of_one_table_or_a_cycle_are_refused():
    g = _graph([])
    with pytest.raises(GraphError, match="both write"):
        g.step("e", reads=(), writes=("a_out",), version="1")(lambda ctx: {})
    g2 = Graph()
    g2.step("x", reads=("y_out",), writes=("x_out",), version="1")(lambda ctx: {})
    g2.step("y", reads=("x_out",), writes=("y_out",), version="1")(lambda ctx: {})
    with pytest.raises(GraphError, match="cycle"):
        g2.order()


def test_a_second_run_skips_every_step(state_url, tmp_path):
    config, calls = _config(state_url, tmp_path), []
    first = run_graph(_graph(calls), None, config, as_of=DAY)
    assert calls == ["a", "b", "c", "d"] and first["status"] == "succeeded" and first["steps_run"] == 4
    assert [s["reason"] for s in first["steps"]] == ["first run"] * 4
    calls.clear()
    second = run_graph(_graph(calls), None, config, as_of=DAY)
    assert calls == [] and second["steps_run"] == 0 and second["steps_skipped"] == 4
    assert {s["status"] for s in second["steps"]} == {"skipped"}


def test_writing_one_table_reruns_exactly_its_dependents(state_url, tmp_path):
    config, calls = _config(state_url, tmp_path), []
    run_graph(_graph(calls), None, config, as_of=DAY)
    calls.clear()
    versions.bump(config, ["tickets"])  # what an ingest of tickets does
    run = run_graph(_graph(calls), None, config, as_of=DAY)
    assert calls == ["a", "b", "c"]  # d reads usage only
    by = {s["name"]: s for s in run["steps"]}
    assert by["a"]["reason"] == "changed: table:tickets" and by["b"]["reason"] == "changed: table:a_out"
    assert by["a"]["result"] == {"changed": ["table:tickets"]}
    calls.clear()
    versions.bump(config, ["accounts"])
    run_graph(_graph(calls), None, config, as_of=DAY)
    assert calls == ["b", "c"]


def test_a_config_change_reruns_the_steps_reading_that_section(state_url, tmp_path):
    calls = []
    run_graph(_graph(calls), None, _config(state_url, tmp_path), as_of=DAY)
    calls.clear()
    run_graph(_graph(calls), None, _config(state_url, tmp_path, risk={"horizon_days": 90}), as_of=DAY)
    assert calls == []  # nobody reads config.risk
    changed = _config(state_url, tmp_path, health={"signals": {"spike_ratio": 2.0}})
    run = run_graph(_graph(calls), None, changed, as_of=DAY)
    assert calls == ["c"] and {s["name"]: s["reason"] for s in run["steps"]}["c"] == "changed: config.health"


def test_code_version_as_of_and_force_rerun(state_url, tmp_path):
    config, calls = _config(state_url, tmp_path), []
    run_graph(_graph(calls), None, config, as_of=DAY)
    calls.clear()
    run_graph(_graph(calls, version="2"), None, config, as_of=DAY)
    assert calls == ["b", "c"]  # b's code changed; c reads what b wrote
    calls.clear()
    run_graph(_graph(calls, version="2"), None, config, as_of=date(2026, 7, 1))
    assert calls == ["a", "b", "c", "d"]
    calls.clear()
    run = run_graph(_graph(calls, version="2"), None, config, as_of=date(2026, 7, 1), force=True)
    assert calls == ["a", "b", "c", "d"] and {s["reason"] for s in run["steps"]} == {"forced"}


def test_an_output_written_by_someone_else_reruns_its_step(state_url, tmp_path):
    config, calls = _config(state_url, tmp_path), []
    run_graph(_graph(calls), None, config, as_of=DAY)
    calls.clear()
    versions.bump(config, ["d_out"])  # e.g. a manual command rewrote the table
    run_graph(_graph(calls), None, config, as_of=DAY)
    assert calls == ["d"]


def test_a_failing_step_fails_the_run_with_its_message_and_reruns_next_time(state_url, tmp_path):
    config, calls = _config(state_url, tmp_path), []
    with pytest.raises(ValueError, match="b cannot work"):
        run_graph(_graph(calls, fail="b"), None, config, as_of=DAY)
    assert calls == ["a", "b"]
    [last], total = runs.list_runs(config, limit=1)
    assert total == 1 and last["status"] == "failed" and "step b: b cannot work on 2026-06-30" in last["error"]
    run = runs.get(config, last["id"])
    assert [(s["name"], s["status"]) for s in run["steps"]] == [("a", "succeeded"), ("b", "failed"),
                                                                ("c", "pending"), ("d", "pending")]
    assert run["steps"][1]["error"] == "b cannot work on 2026-06-30" and run["steps_done"] == 1
    calls.clear()
    ok = run_graph(_graph(calls), None, config, as_of=DAY)
    assert calls == ["b", "c", "d"] and ok["status"] == "succeeded"  # a's work stands


def test_one_active_run_at_a_time(state_url, tmp_path):
    config = _config(state_url, tmp_path)
    queued = runs.create(config, trigger="api")
    with pytest.raises(runs.RunConflict, match=f"run {queued} is already queued") as err:
        run_graph(_graph([]), None, config, as_of=DAY)
    assert err.value.run_id == queued
    run_graph(_graph([]), None, config, as_of=DAY, run_id=queued)  # the queued run itself may start
    assert runs.get(config, queued)["status"] == "succeeded" and runs.active(config) is None
