"""Idempotent upsert by natural key: re-ingesting changes nothing; corrections update in place."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenure.ingest.pipeline import ingest_file

HEADER = "line_id,account_id,product,start_date,end_date,arr,currency\n"


def _lines(wh):
    df = wh.execute(wh.table("contract_lines").order_by("line_id"))
    return {r.line_id: (r.product, str(r.arr)) for r in df.itertuples()}


def test_same_file_twice_changes_nothing_and_correction_updates(loaded_accounts, config, write):
    wh = loaded_accounts
    path = write("l.csv", HEADER + "L1,A1,core,2024-01-01,,100,USD\nL2,A2,core,2024-01-01,2024-12-31,50,USD\n")
    first = ingest_file(wh, config, "contract_lines", path)
    stamp = wh.execute(wh.table("contract_lines").order_by("line_id"))["ingested_at"].tolist()
    second = ingest_file(wh, config, "contract_lines", path)
    assert (first.inserted, first.updated) == (2, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    assert wh.execute(wh.table("contract_lines").order_by("line_id"))["ingested_at"].tolist() == stamp
    fixed = write("l2.csv", HEADER + "L1,A1,core,2024-01-01,,120,USD\nL2,A2,core,2024-01-01,2024-12-31,50,USD\n")
    third = ingest_file(wh, config, "contract_lines", fixed)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 1)
    assert _lines(wh) == {"L1": ("core", "120.00"), "L2": ("core", "50.00")}


def test_repeated_key_in_one_file_last_wins(loaded_accounts, config, write):
    path = write("l.csv", HEADER + "L1,A1,core,2024-01-01,,100,USD\nL1,A1,core,2024-01-01,,300,USD\n")
    res = ingest_file(loaded_accounts, config, "contract_lines", path)
    assert res.inserted == 1 and res.duplicates_in_file == 1
    assert _lines(loaded_accounts)["L1"][1] == "300.00"


ROW = st.tuples(st.sampled_from(["L1", "L2", "L3", "L4"]), st.sampled_from(["core", "addon"]),
                st.integers(min_value=0, max_value=5))


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(ROW, min_size=1, max_size=5), min_size=1, max_size=4))
def test_any_sequence_of_reingests_equals_last_wins_model(loaded_accounts, config, write, batches):
    """Property: after any sequence of (re-)ingests, the table equals a dict updated batch by batch
    with last-wins rows, whatever was loaded before."""
    wh = loaded_accounts
    wh.raw_sql("DELETE FROM contract_lines")
    model: dict[str, tuple[str, str]] = {}
    for i, batch in enumerate(batches + batches[:1]):  # re-ingest the first batch at the end too
        text = HEADER + "".join(f"{k},A1,{p},2024-01-01,,{v},USD\n" for k, p, v in batch)
        ingest_file(wh, config, "contract_lines", write(f"b{i}.csv", text))
        for k, p, v in batch:
            model[k] = (p, f"{v}.00")
        assert _lines(wh) == model
