"""The refresh graph: declared steps and the order they run in.

A step says what it reads (warehouse tables, and config sections written `config.<section>`),
what it writes (warehouse tables), a code version, and `run(ctx) -> dict`. Each stage registers
its own steps (`<stage>/steps.py: register(graph)`); the composition root (the CLI, the demo,
the API) builds the graph, so this module knows no stage.

A step runs after every step that writes a table it reads. Two steps writing one table, or a
cycle, is a declaration error found when the graph is built, not at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

CONFIG_PREFIX = "config."


@dataclass(frozen=True)
class StepContext:
    """What a step's `run` gets.

    wh, config  the warehouse and the configuration
    as_of       the day the snapshots are taken on (tenure.warehouse.asof unless the user said)
    known_at    facts as known at this instant (None: as known now)
    progress    progress(text) for a long step's sub-progress (may be a no-op)
    changed     the inputs that changed since the step last succeeded ("table:<name>",
                "config.<section>", "code", "as_of", "known_at"); None when it never ran or the
                run is forced, i.e. "assume everything changed"
    params      values the caller hands to steps (the demo passes its health validation report)
    """

    wh: Any
    config: Any
    as_of: date
    known_at: datetime | None = None
    progress: Callable[[str], None] = lambda text: None
    changed: frozenset[str] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None

    def everything_changed(self) -> bool:
        return self.changed is None


@dataclass(frozen=True)
class Step:
    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    version: str
    run: Callable[[StepContext], dict]
    description: str = ""

    @property
    def tables_read(self) -> tuple[str, ...]:
        return tuple(r for r in self.reads if not r.startswith(CONFIG_PREFIX))

    @property
    def config_read(self) -> tuple[str, ...]:
        return tuple(r[len(CONFIG_PREFIX):] for r in self.reads if r.startswith(CONFIG_PREFIX))


class GraphError(ValueError):
    """The steps' declarations do not make a graph (duplicate name or output, a cycle)."""


class Graph:
    """Steps by name, in registration order; `order()` sorts them by their data dependencies."""

    def __init__(self) -> None:
        self._steps: dict[str, Step] = {}

    def add(self, step: Step) -> Step:
        if step.name in self._steps:
            raise GraphError(f"step {step.name!r} is registered twice")
        for other in self._steps.values():
            both = set(other.writes) & set(step.writes)
            if both:
                raise GraphError(f"steps {other.name!r} and {step.name!r} both write {sorted(both)}")
        self._steps[step.name] = step
        return step

    def step(self, name: str, *, reads: tuple[str, ...] | list[str], writes: tuple[str, ...] | list[str],
             version: str, description: str = "") -> Callable[[Callable[[StepContext], dict]], Callable]:
        """Decorator form of `add`: `@graph.step("health_scores", reads=..., writes=..., version="1")`."""
        def deco(fn: Callable[[StepContext], dict]) -> Callable[[StepContext], dict]:
            self.add(Step(name, tuple(reads), tuple(writes), version, fn,
                          description or (fn.__doc__ or "").strip().split("\n")[0]))
            return fn
        return deco

    def __contains__(self, name: str) -> bool:
        return name in self._steps

    def __getitem__(self, name: str) -> Step:
        return self._steps[name]

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def steps(self) -> list[Step]:
        return list(self._steps.values())

    def producers(self) -> dict[str, str]:
        """table -> the step that writes it."""
        return {t: s.name for s in self._steps.values() for t in s.writes}

    def upstream(self, step: Step) -> list[str]:
        """The steps writing a table this step reads."""
        made_by = self.producers()
        return sorted({made_by[t] for t in step.tables_read if t in made_by and made_by[t] != step.name})

    def order(self) -> list[Step]:
        """Every step after the steps it depends on; ties keep registration order (Kahn)."""
        deps = {s.name: set(self.upstream(s)) for s in self._steps.values()}
        done: list[str] = []
        pending = list(self._steps)
        while pending:
            ready = [n for n in pending if deps[n] <= set(done)]
            if not ready:
                raise GraphError("the steps depend on each other in a cycle: " + ", ".join(
                    f"{n} <- {sorted(deps[n] - set(done))}" for n in pending))
            done.append(ready[0])
            pending.remove(ready[0])
        return [self._steps[n] for n in done]

    def describe(self) -> list[dict[str, Any]]:
        """[{name, reads, writes, version, after, description}] in run order (for docs and --json)."""
        return [{"name": s.name, "reads": list(s.reads), "writes": list(s.writes), "version": s.version,
                 "after": self.upstream(s), "description": s.description} for s in self.order()]
