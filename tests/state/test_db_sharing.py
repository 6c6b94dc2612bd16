"""The embedded SQLite state DB is shared by the server, a worker and commands: WAL (readers don't
block the writer) and a busy timeout (a writer waits for another instead of failing at once)."""

from __future__ import annotations

from sqlalchemy import text

from tenure.state.db import make_engine


def test_sqlite_is_opened_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.connect() as con:
        assert con.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert con.execute(text("PRAGMA busy_timeout")).scalar() == 10000
    engine.dispose()

