"""A long-running process's warehouse (tenure.warehouse.readers.SharedWarehouse): per-thread
reads of the newest published snapshot, followed after another writer publishes; short write
sessions; PostgreSQL opened as it is."""

from __future__ import annotations

import threading

import pytest

from tenure.errors import WarehouseError
from tenure.warehouse import connect
from tenure.warehouse.processes import Snapshots, WriteLock
from tenure.warehouse.readers import SharedWarehouse


def _count(wh) -> int:
    return wh.raw_sql("SELECT count(*) FROM fx")[0][0]


def _add_rate(wh, day: int) -> None:
    wh.raw_sql("INSERT INTO fx (date, currency, rate_to_reporting, source, ingested_at) "
               f"VALUES (DATE '2026-01-01' + {day}, 'EUR', 1.1, 'test', CURRENT_TIMESTAMP)")


def test_reads_follow_a_write_published_by_another_connection(tmp_path):
    url = f"duckdb://{tmp_path / 'tenure.duckdb'}"
    shared = SharedWarehouse(url)  # publishes the (migrated) empty warehouse first
    try:
        assert shared.shared and shared.warehouse().read_only
        assert _count(shared.warehouse()) == 0
        before = shared.generation
        writer = connect(url, write=True, command="refresh")
        _add_rate(writer, 0)
        assert _count(shared.warehouse()) == 0  # not published yet
        writer.close()
        assert _count(shared.warehouse()) == 1
        assert shared.generation == before + 1
        assert shared.version == Snapshots(tmp_path / "tenure.duckdb").current().seq
    finally:
        shared.close()


def test_each_thread_reads_through_its_own_connection(tmp_path):
    url = f"duckdb://{tmp_path / 'tenure.duckdb'}"
    shared = SharedWarehouse(url)
    seen = []
    try:
        threads = [threading.Thread(target=lambda: seen.append(shared.warehouse())) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({id(wh) for wh in seen}) == 3
        assert shared.warehouse() is shared.warehouse()
    finally:
        shared.close()


def test_a_write_session_publishes_and_is_read_at_once(tmp_path):
    url = f"duckdb://{tmp_path / 'tenure.duckdb'}"
    shared = SharedWarehouse(url)
    try:
        with shared.writing() as wh:
            assert not wh.read_only
            _add_rate(wh, 0)
            _add_rate(wh, 1)
        assert _count(shared.warehouse()) == 2
    finally:
        shared.close()


def test_a_write_session_behind_another_writer_fails_saying_who_after_its_wait(tmp_path):
    path = tmp_path / "tenure.duckdb"
    shared = SharedWarehouse(f"duckdb://{path}")
    done = threading.Event()
    held = threading.Event()

    def other_writer():  # a thread of its own: the lock is the process's, shared by its threads
        lock = WriteLock(path, command="ingest").acquire(wait=0)
        held.set()
        done.wait(30)
        lock.release()

    t = threading.Thread(target=other_writer)
    t.start()
    try:
        held.wait(30)
        with pytest.raises(WarehouseError, match="retry when it finishes"):
            with shared.writing(wait=0.2):
                pass
        assert _count(shared.warehouse()) == 0  # reads go on
    finally:
        done.set()
        t.join()
        shared.close()


@pytest.mark.postgres
def test_postgresql_is_opened_as_it_is(pg_url):
    from tenure.warehouse import Warehouse

    wh = Warehouse(pg_url)
    wh.ensure_schema()
    wh.close()
    shared = SharedWarehouse(pg_url)
    try:
        assert not shared.shared and shared.version == 0
        with shared.writing() as wh:
            _add_rate(wh, 0)
        assert _count(shared.warehouse()) == 1
    finally:
        shared.close()
