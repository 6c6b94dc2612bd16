"""The one write path: replace a slice, upsert by key, append new keys; on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest

from tenure.errors import WarehouseError
from tenure.schema import TABLES
from tenure.warehouse.writes import AtLeast, Keys, append_new, replace_partition, upsert, upsert_arrow


def _risk(day: date, accounts: list[str], p: float = 0.5) -> pa.Table:
    n = len(accounts)
    return pa.table({"account_id": accounts, "as_of": pa.array([day] * n, pa.date32()),
                     "horizon_days": pa.array([90] * n, pa.int64()), "probability": [p] * n,
                     "drivers": ["[]"] * n, "model": ["boosted"] * n})


def _rows(wh, sql):
    return sorted(wh.raw_sql(sql))


def test_replace_partition_swaps_one_slice_and_is_idempotent(warehouse):
    d1, d2 = date(2026, 9, 1), date(2026, 10, 1)
    replace_partition(warehouse, "risk_scores", _risk(d1, ["A", "B"]), {"as_of": d1})
    replace_partition(warehouse, "risk_scores", _risk(d2, ["A", "B", "C"]), {"as_of": d2})
    assert replace_partition(warehouse, "risk_scores", _risk(d2, ["A"], 0.9), {"as_of": d2}) == 1
    replace_partition(warehouse, "risk_scores", _risk(d2, ["A"], 0.9), {"as_of": d2})
    assert _rows(warehouse, "SELECT account_id, CAST(as_of AS VARCHAR), probability FROM risk_scores") == [
        ("A", "2026-09-01", 0.5), ("A", "2026-10-01", 0.9), ("B", "2026-09-01", 0.5)]
    assert replace_partition(warehouse, "risk_scores", None, {"as_of": d1}) == 0
    assert warehouse.count("risk_scores") == 1


def test_replace_partition_from_a_date_on_and_whole_table(warehouse):
    for d in (date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)):
        replace_partition(warehouse, "risk_scores", _risk(d, ["A"]), {"as_of": d})
    replace_partition(warehouse, "risk_scores", _risk(date(2026, 11, 1), ["A"]), {"as_of": AtLeast(date(2026, 9, 1))})
    assert [r[0] for r in _rows(warehouse, "SELECT CAST(as_of AS VARCHAR) FROM risk_scores")] == [
        "2026-08-01", "2026-11-01"]
    replace_partition(warehouse, "risk_scores", _risk(date(2026, 12, 1), ["B"]))
    assert _rows(warehouse, "SELECT account_id FROM risk_scores") == [("B",)]


def test_replace_partition_refuses_rows_outside_the_slice(warehouse):
    with pytest.raises(WarehouseError, match="1 row\\(s\\) have as_of outside"):
        replace_partition(warehouse, "risk_scores", _risk(date(2026, 9, 2), ["A"]), {"as_of": date(2026, 9, 1)})


def test_a_failed_replace_keeps_the_old_slice(warehouse):
    d = date(2026, 9, 1)
    replace_partition(warehouse, "risk_scores", _risk(d, ["A", "B"]), {"as_of": d})
    bad = _risk(d, ["C"]).set_column(0, "account_id", pa.array([None], pa.string()))  # NOT NULL column
    with pytest.raises(Exception):
        replace_partition(warehouse, "risk_scores", bad, {"as_of": d})
    assert warehouse.count("risk_scores") == 2


def test_writes_inside_one_transaction_commit_together(warehouse):
    d = date(2026, 9, 1)
    with pytest.raises(RuntimeError):
        with warehouse.transaction():
            replace_partition(warehouse, "risk_scores", _risk(d, ["A"]), {"as_of": d})
            replace_partition(warehouse, "band_renewal", None)
            raise RuntimeError("stop")
    assert warehouse.count("risk_scores") == 0


def test_replace_by_keys_of_a_temp_table(warehouse):
    rows = pa.table({"account_id": ["A", "A", "B"], "day": pa.array([date(2026, 9, 1), date(2026, 9, 2),
                                                                    date(2026, 9, 1)], pa.date32()),
                     "events": [1, 2, 3], "quantity": [1.0, 2.0, 3.0], "active_users": [1, 1, 1],
                     "feature_mask": [1, 1, 1]})
    replace_partition(warehouse, "usage_daily", rows)
    warehouse.load_temp("__pairs", pa.table({"account_id": ["A"], "day": pa.array([date(2026, 9, 2)], pa.date32())}))
    replace_partition(warehouse, "usage_daily", rows.slice(1, 1).set_column(2, "events", pa.array([9])),
                      Keys("__pairs", ("account_id", "day")))
    assert _rows(warehouse, "SELECT account_id, CAST(day AS VARCHAR), events FROM usage_daily") == [
        ("A", "2026-09-01", 1), ("A", "2026-09-02", 9), ("B", "2026-09-01", 3)]


def _signals(detail: str) -> pa.Table:
    return pa.table({"account_id": ["A", "B"], "signal": ["usage_drop", "usage_drop"],
                     "at": pa.array([date(2026, 9, 1)] * 2, pa.date32()), "severity": ["high", "high"],
                     "detail": ["x", detail]})


def test_upsert_counts_and_leaves_unchanged_rows_alone(warehouse):
    assert upsert_arrow(warehouse, "health_signals", _signals("y")) == (2, 0, 0)
    assert upsert_arrow(warehouse, "health_signals", _signals("y")) == (0, 0, 2)
    assert upsert_arrow(warehouse, "health_signals", _signals("z")) == (0, 1, 1)
    assert _rows(warehouse, "SELECT account_id, detail FROM health_signals") == [("A", "x"), ("B", "z")]
    warehouse.load_temp("__l", _signals("w"))
    assert upsert(warehouse, TABLES["health_signals"], "__l").updated == 1


def test_append_new_skips_keys_already_there(warehouse):
    def feats(names):
        return pa.table({"feature": names, "bit": list(range(len(names))),
                         "first_seen": pa.array([datetime(2026, 1, 1)] * len(names), pa.timestamp("us"))})
    warehouse.load_temp("__f", feats(["a", "b"]))
    assert append_new(warehouse, "usage_features", "__f") == 2
    warehouse.load_temp("__f", feats(["b", "c"]))
    assert append_new(warehouse, "usage_features", "__f") == 1
    assert warehouse.count("usage_features") == 3
