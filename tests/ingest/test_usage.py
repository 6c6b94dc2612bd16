"""Usage events: duplicates skipped, rollups maintained incrementally and equal to a direct aggregate."""

from __future__ import annotations

import pandas as pd

from tenure.ingest.pipeline import ingest_file
from tenure.ingest.usage import rebuild_usage_daily

HEADER = "account_id,user_id,ts,feature,quantity\n"


def _daily(wh):
    df = wh.execute(wh.table("usage_daily").order_by(["account_id", "day"]))
    return df[["account_id", "day", "events", "quantity", "active_users", "feature_mask"]].reset_index(drop=True)


def test_dedupe_and_incremental_rollups(loaded_accounts, config, write):
    wh = loaded_accounts
    a = write("a.csv", HEADER + "A1,u1,2024-01-01T10:00:00Z,login,\nA1,u2,2024-01-01T11:00:00Z,report,2\n"
                                "A1,u1,2024-01-01T10:00:00Z,login,\nA2,u9,2024-01-02T09:00:00Z,login,1\n"
                                "ZZ,u1,2024-01-02T09:00:00Z,login,1\n")
    res = ingest_file(wh, config, "usage_events", a)
    assert (res.rows_read, res.inserted, res.unchanged, res.rejected) == (5, 3, 1, 1)
    assert res.rejected_by_reason == {"unknown_account": 1}
    again = ingest_file(wh, config, "usage_events", a)
    assert (again.inserted, again.unchanged) == (0, 4)
    b = write("b.csv", HEADER + "A1,u3,2024-01-01T23:59:59Z,export,1\nA1,u1,2024-01-03T00:00:00Z,login,1\n")
    ingest_file(wh, config, "usage_events", b)
    daily = _daily(wh)
    jan1 = daily[(daily.account_id == "A1") & (daily.day.astype(str) == "2024-01-01")].iloc[0]
    assert (jan1.events, jan1.quantity, jan1.active_users) == (3, 4.0, 3)
    assert bin(int(jan1.feature_mask)).count("1") == 3
    incremental = daily.copy()
    rebuild_usage_daily(wh)
    pd.testing.assert_frame_equal(_daily(wh), incremental, check_dtype=False)
    assert wh.count("usage_daily") == 3  # A1 on Jan 1 and 3, A2 on Jan 2


def test_parquet_folder_of_parts(loaded_accounts, config, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "events"
    folder.mkdir()
    for i in range(3):
        pq.write_table(pa.table({"account_id": ["A1", "A2"], "user_id": ["u1", "u2"],
                                 "ts": pa.array([f"2024-01-0{i + 1} 10:00:00"] * 2).cast(pa.timestamp("us")),
                                 "feature": ["login", "report"], "quantity": [1.0, 1.0]}), folder / f"part-{i}.parquet")
    res = ingest_file(loaded_accounts, config, "usage_events", folder)
    assert res.inserted == 6 and loaded_accounts.count("usage_daily") == 6


def test_parquet_fast_path_strict_and_rejections(loaded_accounts, config, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "ev.parquet"
    pq.write_table(pa.table({"account_id": ["A1", "A1", "ZZ", "A2"], "user_id": ["u1", "u1", "u2", None],
                             "ts": pa.array(["2024-01-01 10:00:00"] * 4).cast(pa.timestamp("us")),
                             "feature": ["login"] * 4, "quantity": [1.0, 1.0, 1.0, -1.0]}), path)
    strict = ingest_file(loaded_accounts, config, "usage_events", path, strict=True)
    assert strict.status == "rejected" and loaded_accounts.count("usage_events") == 0
    assert loaded_accounts.count("quarantine") == 3  # one row per problem: two rows, three problems
    res = ingest_file(loaded_accounts, config, "usage_events", path)
    assert (res.inserted, res.unchanged, res.rejected) == (1, 1, 2)
    assert res.rejected_by_reason == {"range": 1, "required": 1, "unknown_account": 1}
    assert loaded_accounts.count("usage_daily") == 1
