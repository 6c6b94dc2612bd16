"""Several processes on one DuckDB warehouse file: one writer at a time under the project write
lock, readers on published snapshots. Real files, real DuckDB, real second processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tenure.errors import WarehouseError
from tenure.warehouse import Warehouse, connect
from tenure.warehouse.processes import Snapshots, WriteLock


def _url(path: Path) -> str:
    return f"duckdb://{path}"


def _rows(wh: Warehouse) -> int:
    return wh.raw_sql("SELECT count(*) FROM notes")[0][0]


def _write_note(path: Path, n: int = 1) -> None:
    wh = connect(_url(path), write=True)
    try:
        wh.raw_sql("CREATE TABLE IF NOT EXISTS notes (n INTEGER)")
        wh.raw_sql(f"INSERT INTO notes SELECT range FROM range({n})")
    finally:
        wh.close()


def _spawn(code: str, *args: str) -> subprocess.Popen:
    """A second Python process that prints READY once it holds what it was asked to hold."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True)


def _ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    assert line.strip() == "READY", (line, proc.stderr.read() if proc.poll() is not None else "")


HOLD_LOCK = """
    import sys
    from tenure.warehouse.processes import WriteLock
    lock = WriteLock(sys.argv[1], command="refresh").acquire()
    print("READY", flush=True)
    sys.stdin.readline()
    lock.release()
"""


def test_a_reader_keeps_its_snapshot_until_it_reopens_and_then_sees_the_write(tmp_path):
    path = tmp_path / "tenure.duckdb"
    _write_note(path, 3)
    before = connect(_url(path), write=False)
    assert before.read_only and _rows(before) == 3
    writer = connect(_url(path), write=True)
    writer.raw_sql("INSERT INTO notes VALUES (99)")
    during = connect(_url(path), write=False)  # the writer has not published yet
    assert _rows(during) == 3
    writer.close()
    after = connect(_url(path), write=False)
    assert _rows(after) == 4
    assert _rows(before) == 3  # an open reader is never changed under it
    for wh in (before, during, after):
        wh.close()


def test_a_reader_cannot_write(tmp_path):
    path = tmp_path / "tenure.duckdb"
    _write_note(path)
    reader = connect(_url(path), write=False)
    with pytest.raises(Exception, match="read-only"):
        reader.raw_sql("INSERT INTO notes VALUES (1)")
    reader.close()


def test_nothing_is_published_when_a_writer_changed_nothing(tmp_path):
    path = tmp_path / "tenure.duckdb"
    _write_note(path)
    seq = Snapshots(path).current().seq
    wh = connect(_url(path), write=True)
    assert wh.raw_sql("SELECT count(*) FROM notes")[0][0] == 1
    wh.close()
    assert Snapshots(path).current().seq == seq


def test_old_snapshots_are_removed_and_a_reader_of_one_keeps_reading(tmp_path):
    path = tmp_path / "tenure.duckdb"
    _write_note(path)
    oldest = connect(_url(path), write=False)
    for _ in range(4):
        _write_note(path)
    snapshots = Snapshots(path)
    files = sorted(p.name for p in snapshots.dir.glob("*.duckdb"))
    assert files == [f"{snapshots.current().seq - 1:06d}.duckdb", f"{snapshots.current().seq:06d}.duckdb"]
    assert _rows(oldest) == 1  # its file is gone from the folder, not from the process reading it
    oldest.close()


def test_a_second_writer_is_told_who_writes_and_to_retry(tmp_path):
    path = tmp_path / "tenure.duckdb"
    _write_note(path)
    holder = _spawn(HOLD_LOCK, str(path))
    try:
        _ready(holder)
        with pytest.raises(WarehouseError) as err:
            connect(_url(path), write=True, wait=0.3)
        message = str(err.value)
        assert f"another tenure process (refresh, pid {holder.pid}" in message
        assert "retry when it finishes" in message and str(path) in message
        reader = connect(_url(path), write=False)  # readers never wait on a writer
        assert _rows(reader) == 1
        reader.close()
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(10)


def test_a_waiting_writer_says_so_once_and_goes_on_when_the_lock_is_free(tmp_path):
    path = tmp_path / "tenure.duckdb"
    _write_note(path)
    holder = _spawn(HOLD_LOCK, str(path))
    told: list[str] = []
    try:
        _ready(holder)
        lock = WriteLock(path, command="ingest")

        def notify(message: str) -> None:
            told.append(message)
            holder.stdin.write("\n")  # the other writer finishes while we wait
            holder.stdin.flush()

        lock.acquire(wait=20, notify=notify)
        lock.release()
    finally:
        if holder.poll() is None:
            holder.stdin.write("\n")
            holder.stdin.flush()
        holder.wait(10)
    assert len(told) == 1
    assert told[0].startswith(f"another tenure process (refresh, pid {holder.pid}, since ")
    assert told[0].endswith(f"is writing {path}; waiting… (Ctrl-C to stop)")


def test_a_file_held_by_another_program_is_a_message_not_duckdbs_lock_error(tmp_path):
    path = tmp_path / "tenure.duckdb"
    _write_note(path)
    other = _spawn("""
        import sys, duckdb
        con = duckdb.connect(sys.argv[1])
        print("READY", flush=True)
        sys.stdin.readline()
    """, str(path))
    try:
        _ready(other)
        with pytest.raises(WarehouseError) as err:
            connect(_url(path), write=True, wait=0)
    finally:
        other.stdin.write("\n")
        other.stdin.flush()
        other.wait(10)
    message = str(err.value)
    assert "is open in another program" in message and "close it and retry" in message
    assert "PID" not in message and "Could not set lock" not in message


def test_writes_a_killed_writer_committed_are_published_by_the_next_reader(tmp_path):
    path = tmp_path / "tenure.duckdb"
    _write_note(path)
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import os, sys
        from tenure.warehouse import connect
        wh = connect("duckdb://" + sys.argv[1], write=True)
        wh.raw_sql("INSERT INTO notes VALUES (7)")
        os._exit(9)  # no close: nothing published, the lock dies with the process
    """), str(path)], capture_output=True, text=True, timeout=60)
    assert killed.returncode == 9, killed.stderr
    reader = connect(_url(path), write=False)
    assert _rows(reader) == 2
    reader.close()


def test_readers_in_two_processes_at_once(tmp_path):
    path = tmp_path / "tenure.duckdb"
    _write_note(path, 5)
    code = """
        import sys
        from tenure.warehouse import connect
        wh = connect("duckdb://" + sys.argv[1], write=False)
        print("READY", flush=True)
        sys.stdin.readline()
        print(wh.raw_sql("SELECT count(*) FROM notes")[0][0], flush=True)
    """
    readers = [_spawn(code, str(path)) for _ in range(2)]
    try:
        for r in readers:
            _ready(r)  # both hold the warehouse open at the same time
        _write_note(path)  # and a writer goes on meanwhile
        out = []
        for r in readers:
            r.stdin.write("\n")
            r.stdin.flush()
            out.append(r.stdout.readline().strip())
    finally:
        for r in readers:
            r.wait(10)
    assert out == ["5", "5"]


def test_in_memory_duckdb_is_opened_as_it_is():
    wh = connect("duckdb://:memory:", write=False)
    assert not wh.read_only
    wh.raw_sql("CREATE TABLE t (x INTEGER)")
    wh.close()


def test_the_lock_is_reentrant_within_a_process_and_held_once(tmp_path):
    path = tmp_path / "tenure.duckdb"
    outer = WriteLock(path, command="demo").acquire(wait=0)
    inner = WriteLock(path, command="demo").acquire(wait=0)
    assert not inner.outermost
    inner.release()
    assert outer.outermost and WriteLock(path).holder().pid == os.getpid()
    outer.release()
    assert WriteLock(path).holder() is None
    held = WriteLock(path).acquire(wait=0)
    with pytest.raises(WarehouseError, match="retry when it finishes"):
        WriteLock(path).acquire(wait=0, reentrant=False)  # how a catch-up publish steps aside
    held.release()


def test_the_holder_is_named_by_its_command():
    from tenure.warehouse.processes import command_name

    assert command_name(["tenure", "refresh", "--as-of", "2026-10-31"]) == "refresh"
    assert command_name(["tenure", "ingest", "accounts", "/data/accounts.csv"]) == "ingest accounts"
    assert command_name(["tenure", "metrics", "materialize"]) == "metrics materialize"
    assert command_name(["/usr/bin/tenure", "--config", "x.yaml"]) == "tenure"



def test_a_lock_that_cannot_be_made_is_a_message_not_a_traceback(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with pytest.raises(WarehouseError, match="cannot open the write lock .* needs write access to its folder"):
        WriteLock(not_a_folder / "tenure.duckdb").acquire(wait=0)
