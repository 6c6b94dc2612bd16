"""Crash points for the restart tests: `TENURE_FAILPOINTS="after_send:3"` makes the process kill
itself with SIGKILL (no cleanup, no finally blocks, exactly like `kill -9`) the 3rd time it
reaches `hit("after_send")`. Unset (always, outside those tests), `hit` is one dict lookup."""

from __future__ import annotations

import os
import signal

ENV = "TENURE_FAILPOINTS"


def _parse(spec: str) -> dict[str, int]:
    points: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, nth = part.partition(":")
        points[name] = int(nth or 1)
    return points


_points = _parse(os.environ.get(ENV, ""))
_hits: dict[str, int] = {}


def hit(name: str) -> None:
    """Count a pass through crash point `name`; SIGKILL this process at the configured pass."""
    if name in _points:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] == _points[name]:
            os.kill(os.getpid(), signal.SIGKILL)
