"""Test sites built once per test run and copied, and the guard that keeps the shared one unchanged.

A demo company takes a minute or more to build; the suite needs it in every xdist worker and in
every test that writes to a site. `built_once` builds a folder once per run (the first worker to
ask builds it under a file lock, the others wait and reuse it) in the folder all workers of the
run share; `copy_site` copies a closed, built folder (DuckDB and SQLite files copy fine while no
process writes them) so each worker and each writing test has its own.

`SiteFingerprint` is what a test must leave as it found it on the shared site: every row of
every state DB table (less what merely reading or logging in touches: web sessions, last-login
and last-used times, login audit rows), the warehouse's published snapshot and main file, and
the files in the site folder outside the run folders. conftest compares it around each test that
uses the shared `demo_site` and fails the test that changed it."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BUILT_MARK = ".built"
KEEP_BUILT_ENV = "TENURE_TEST_KEEP_BUILT"

# what reading the site (a page view, a login, an API call with a token) writes: not a change
VOLATILE_TABLES = {"web_sessions"}
VOLATILE_COLUMNS = {("users", "last_login_at"), ("api_tokens", "last_used_at")}
VOLATILE_AUDIT_ACTIONS = {"login", "login_failed", "logout"}


def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every xdist worker of this run shares: the parent of a worker's base temporary
    folder (xdist gives each worker `<run>/popen-gwN`); without xdist, the base folder itself."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    fd = os.open(lock_file, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits while another worker builds
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder `name`, built by `build(folder)` once per test run and shared by all xdist
    workers. Treat it as read-only: copy it (`copy_site`) before opening anything that writes.
    A build that failed half-way is discarded and built again by the next caller.

    With TENURE_TEST_KEEP_BUILT=<folder> the builds are kept there and reused by later runs (for
    re-running a few tests while working on them; delete the folder when the code that builds
    them changed: nothing checks that). CI and scripts/test never set it."""
    kept = os.environ.get(KEEP_BUILT_ENV)
    root = Path(kept) if kept else run_root(tmp_path_factory) / "built-once"
    root.mkdir(parents=True, exist_ok=True)
    folder = root / name
    with _exclusive(root / f"{name}.lock"):
        if not (folder / BUILT_MARK).exists():
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir()
            build(folder)
            (folder / BUILT_MARK).touch()
    return folder


def copy_site(source: Path, target: Path) -> Path:
    """Copy a built folder, keeping modification times (the warehouse's snapshot pointer records
    the main file's size and mtime, so a faithful copy needs no republishing)."""
    shutil.copytree(source, target, copy_function=shutil.copy2, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(BUILT_MARK, "*.lock"))
    return target


def _digest(rows: list[str]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(row.encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class SiteFingerprint:
    """{part: digest} of everything a test may not change on a shared site, and its files."""

    parts: dict[str, str]
    files: dict[str, tuple[int, int]]  # site files outside the run folders: {relative path: (size, mtime)}

    @classmethod
    def of(cls, config, folder: Path) -> SiteFingerprint:
        from sqlalchemy import create_engine, inspect, text

        from tenure.warehouse.connection import duckdb_path
        from tenure.warehouse.processes import Snapshots, file_stamp

        parts: dict[str, str] = {}
        engine = create_engine(config.state_url)  # its own: the app's pooled engine stays untouched
        try:
            with engine.connect() as con:
                # every table, including ones added after this guard was written
                for name in sorted(inspect(con).get_table_names()):
                    if name in VOLATILE_TABLES:
                        continue
                    sql = f'SELECT * FROM "{name}"'
                    if name == "audit_log":
                        sql += " WHERE action NOT IN (" + ", ".join(f"'{a}'" for a in sorted(VOLATILE_AUDIT_ACTIONS)) + ")"
                    result = con.execute(text(sql))
                    keep = [i for i, c in enumerate(result.keys()) if (name, c) not in VOLATILE_COLUMNS]
                    rows = sorted(repr(tuple(r[i] for i in keep)) for r in result)
                    parts[f"state table {name} ({len(rows)} rows)"] = _digest(rows)
        finally:
            engine.dispose()
        path = duckdb_path(config.warehouse_url)
        if path:
            snaps = Snapshots(path)
            cur = snaps.current()
            parts["warehouse published snapshot"] = f"seq {cur.seq if cur else 0}"
            parts["warehouse main file (size, mtime)"] = str(file_stamp(Path(path)))
        runs_dir = os.path.realpath(config.runs_dir)
        files = {}
        for top, dirs, names in os.walk(folder):  # less the run folders and the stores (compared above)
            dirs[:] = [d for d in dirs if not d.endswith(".snapshots") and os.path.join(top, d) != runs_dir]
            for n in names:
                if not n.endswith((".duckdb", ".duckdb.wal", ".db", ".db-journal", ".db-wal", ".db-shm")):
                    st = os.stat(os.path.join(top, n))
                    files[os.path.relpath(os.path.join(top, n), folder)] = (st.st_size, st.st_mtime_ns)
        return cls(parts, files)

    def changes(self, after: SiteFingerprint) -> list[str]:
        """What differs from `after`, one line each (empty when nothing did)."""
        def stem(key: str) -> str:
            return key.split(" (")[0]

        before = {stem(k): (k, v) for k, v in self.parts.items()}
        now = {stem(k): (k, v) for k, v in after.parts.items()}
        out = []
        for name in sorted(set(before) | set(now)):
            b, a = before.get(name), now.get(name)
            if b != a:
                out.append(f"{b[0] if b else name + ' (absent)'} -> {a[0] if a else 'absent'}"
                           + ("" if b and a and b[0] != a[0] else " (contents changed)"))
        for path in sorted(set(self.files) | set(after.files)):
            if path not in after.files:
                out.append(f"site file {path} removed")
            elif path not in self.files:
                out.append(f"site file {path} added")
            elif self.files[path] != after.files[path]:
                out.append(f"site file {path} changed")
        return out


class SharedSiteChanged(AssertionError):
    """A test changed the shared demo site that later tests read."""


def check_unchanged(test: str, before: SiteFingerprint, after: SiteFingerprint) -> None:
    changed = before.changes(after)
    if changed:
        raise SharedSiteChanged(
            f"{test} changed the shared demo_site, which every later test reads: " + "; ".join(changed)
            + ". A test that writes (notes, users, tokens, uploads, refreshes) uses the `writable_site` "
              "fixture (its own copy) instead of demo_site/api/auth.")


def build_ingested_company(folder: Path, accounts: int, months: int, seed: int,
                            save_effect: float = 0.0) -> None:
    """A simulated company ingested into a DuckDB warehouse in `folder` (with a tenure.yaml, so
    the CLI runs there), through the real ingest path and with its later changes loaded oldest
    first (facts as known); no demo compute (metrics, health, risk, refresh), for tests that
    compute what they check. The truth (who churned, when) is in company/_truth/."""
    from tenure.config import load_config, write_default_config
    from tenure.demo import LOAD_ORDER
    from tenure.ingest.pipeline import ingest_file
    from tenure.simulate import simulate_company
    from tenure.simulate.company import change_folders
    from tenure.state.db import upgrade
    from tenure.warehouse import connect

    folder.mkdir(parents=True, exist_ok=True)
    write_default_config(folder)
    config = load_config(folder / "tenure.yaml")
    company = folder / "company"
    simulate_company(company, accounts=accounts, months=months, seed=seed, save_effect=save_effect)
    upgrade(config)
    wh = connect(config=config)
    try:
        wh.ensure_schema()
        for entity in LOAD_ORDER:
            ingest_file(wh, config, entity, company / f"{entity}.csv", source="sim")
        ingest_file(wh, config, "usage_events", company / "usage_events", source="sim")
        for changes in change_folders(company):  # what was recorded later, oldest first (facts as known)
            for entity in LOAD_ORDER:
                if (changes / f"{entity}.csv").exists():
                    ingest_file(wh, config, entity, changes / f"{entity}.csv", source="sim")
    finally:
        wh.close()
