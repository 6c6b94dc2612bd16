"""State-DB sessions for the jobs tables: the schema is brought up to date once per process and
URL (not on every session: the runner and the data-version reads open many short sessions)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tenure.state.db import ensure_current, make_engine, transactional

_ready: dict[str, sessionmaker] = {}
_lock = threading.Lock()


def state_url(config_or_url: Any) -> str:
    return config_or_url if isinstance(config_or_url, str) else config_or_url.state_url


@contextmanager
def session(config_or_url: Any) -> Iterator[Session]:
    """A state-DB session committed on success, rolled back on error."""
    url = state_url(config_or_url)
    factory = _ready.get(url)
    if factory is None:
        with _lock:
            ensure_current(url)
            factory = _ready[url] = sessionmaker(make_engine(url), expire_on_commit=False)
    with transactional(factory) as s:
        yield s
