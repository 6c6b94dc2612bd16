"""A fresh install gets the versions CI tested: every dependency is pinned in constraints.txt,
and both README commands install through it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[name.strip().lower().replace("_", "-")] = version
    return pins


def test_every_dependency_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    missing = sorted({_name(r) for r in wanted} - set(_pins()))
    assert not missing, f"add these to constraints.txt (./scripts/lock): {missing}"


def test_both_readme_commands_install_through_the_constraints():
    env = (ROOT / "scripts" / "_env.sh").read_text()
    assert '-c "$ROOT/constraints.txt"' in env
    for script in ("demo", "test"):
        assert "ensure_venv" in (ROOT / "scripts" / script).read_text()
