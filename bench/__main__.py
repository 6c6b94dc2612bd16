"""python -m bench NAME [options]: run one benchmark module (bench/NAME.py, function main(argv))."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    skip = {"common", "__main__"}
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name not in skip)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m bench NAME [options]\nbenchmarks: " + ", ".join(available()))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in available():
        print(f"unknown benchmark {name!r}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.{name}")
    if hasattr(module, "main"):
        sys.argv = [f"bench.{name}", *rest]
        result = module.main(rest) if module.main.__code__.co_argcount else module.main()
        return int(result or 0)
    print(f"bench.{name} has no main()", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
