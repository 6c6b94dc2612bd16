"""The import graph of src/tenure follows the data flow: no cycles, and no stage imports a later
stage. Every import counts, also one inside a function or under TYPE_CHECKING: hiding an import
in a function hides a cycle, it does not remove it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"

# Stages, top first: a module imports only from its own stage and the stages above it.
STAGES = [
    ("errors", "config", "formats"), ("schema",), ("warehouse",), ("state",), ("jobs",), ("notify",), ("ingest",),
    ("metrics",), ("health",), ("predict",), ("forecast",), ("insight",), ("playbooks",), ("voc",),
    ("governance",), ("access",), ("portfolio",), ("report",), ("privacy",), ("simulate",), ("http",),
    ("api",), ("web",),
]
# Composition roots: wire every stage together, so they may import anything.
ROOTS = {"tenure.cli", "tenure.demo", "tenure.serve", "tenure.__main__", "tenure.workers"}
RANK = {name: i for i, names in enumerate(STAGES) for name in names}

# Known exceptions, each with the reason and who removes it. Keep this empty.
ALLOWED: set[tuple[str, str]] = set()


def modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / "tenure").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the tenure modules it imports (a name resolves to the longest module prefix)."""
    mods = modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                while name and name not in mods:
                    name = name.rpartition(".")[0]
                # a module importing its own package (or itself) is Python's package machinery
                if name and name != mod and not mod.startswith(name + "."):
                    graph[mod].add(name)
    return graph


def stage(module: str) -> int | None:
    """The stage rank of a module; None for a composition root."""
    if module in ROOTS:
        return None
    parts = module.split(".")
    if len(parts) == 1:  # the tenure package itself
        return 0
    if parts[1] not in RANK:
        raise AssertionError(f"{module}: stage {parts[1]!r} is not in tests/test_imports.py STAGES; add it "
                             "where it belongs in the data flow")
    return RANK[parts[1]]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    graph = import_graph()
    found = cycles(graph)
    described = ["\n  ".join(f"{a} -> {b}" for a in c for b in sorted(graph[a]) if b in c) for c in found]
    assert not found, "import cycles:\n  " + "\n\n  ".join(described)


def test_no_stage_imports_a_later_stage():
    bad = []
    for mod, targets in sorted(import_graph().items()):
        rank = stage(mod)
        if rank is None:
            continue
        for target in sorted(targets):
            target_rank = stage(target)
            if (target_rank is None or target_rank > rank) and (mod, target) not in ALLOWED:
                bad.append(f"{mod} -> {target}")
    assert not bad, "imports of a later stage (move the shared part up, or pass it in):\n  " + "\n  ".join(bad)


def test_the_checker_sees_imports_inside_functions(tmp_path, monkeypatch):
    """A cycle hidden in function-level imports is still found (the test can fail)."""
    pkg = tmp_path / "tenure"
    (pkg / "ingest").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "ingest" / "__init__.py").write_text("")
    (pkg / "ingest" / "a.py").write_text("def f():\n    from tenure.ingest.b import g\n")
    (pkg / "ingest" / "b.py").write_text("from tenure.ingest import a\n")
    (pkg / "schema.py").write_text("def h():\n    import tenure.web\n")
    (pkg / "web.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    graph = import_graph()
    assert cycles(graph) == [["tenure.ingest.a", "tenure.ingest.b"]]
    assert "tenure.web" in graph["tenure.schema"] and stage("tenure.web") > stage("tenure.schema")
