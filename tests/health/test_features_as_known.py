"""Features at a past date see only what was known then (DuckDB and PostgreSQL).

A hand-made account A, cutoff 2025-06-30:
- contract line L1: fixed term 2025-01-01..2025-12-31, 1,200/year, signed 2024-12-20;
- contract line L2: monthly auto-renewing, open-ended, 600/year, signed 2024-12-20;
- contact C1: champion since 2025-01-01, recorded 2025-01-02.
Recorded on 2025-07-20, after the cutoff: L1 terminated early (end 2025-06-20), L2 cancelled
back-dated (end 2025-06-15); C1's role edited to user and a departure on 2025-05-31.
As known at the cutoff: ARR 1,800, the renewal 184 days away (2025-12-31), the champion active.
As known now: no ARR on the cutoff at all, so the leak would remove the account from the backtest.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from tenure.config import config_from_dict
from tenure.health.features import account_features
from tenure.health.scorecard import score_accounts
from tenure.ingest.pipeline import ingest_table
from tenure.metrics.arr import arr_on

CUTOFF = date(2025, 6, 30)
LINES = dict(line_id=["L1", "L2"], account_id=["A", "A"], product=["core", "addon"], start_date=["2025-01-01"] * 2,
             arr=["1200", "600"], currency=["USD"] * 2, auto_renew=["false", "true"], quantity=["10", "0"])


def _load(wh, config, entity, **cols):
    res = ingest_table(wh, config, entity, pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}),
                       source="test", file_label=entity)
    assert res.rejected == 0, res.rejected_by_reason
    return res


@pytest.fixture
def company(warehouse, tmp_path):
    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}}, base_dir=tmp_path, env={})
    _load(warehouse, config, "accounts", account_id=["A"], name=["A"], segment=["SMB"],
          updated_at=["2024-12-01T00:00:00Z"])
    _load(warehouse, config, "contract_lines", **LINES, end_date=["2025-12-31", None],
          updated_at=["2024-12-20T10:00:00Z"] * 2)
    _load(warehouse, config, "contacts", contact_id=["C1"], account_id=["A"], role=["champion"],
          active_from=["2025-01-01"], updated_at=["2025-01-02T09:00:00Z"])
    return warehouse, config


def _record_changes_after_the_cutoff(wh, config):
    res = _load(wh, config, "contract_lines", **LINES, end_date=["2025-06-20", "2025-06-15"],
                updated_at=["2025-07-20T14:00:00Z"] * 2)
    assert res.updated == 2
    res = _load(wh, config, "contacts", contact_id=["C1"], account_id=["A"], role=["user"], active_from=["2025-01-01"],
                active_to=["2025-05-31"], updated_at=["2025-07-20T15:00:00Z"])
    assert res.updated == 1


def _features(wh, config, known_at):
    df = wh.execute(account_features(wh, config, CUTOFF, known_at=known_at))
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")  # NaN != NaN


def test_a_role_edited_after_the_cutoff_leaves_the_backtest_features_unchanged(company):
    wh, config = company
    before = _features(wh, config, CUTOFF)
    assert before[0]["champion_active"] == 1 and before[0]["champion_left_90"] == 0
    _record_changes_after_the_cutoff(wh, config)
    assert _features(wh, config, CUTOFF) == before
    assert score_accounts(wh, config, CUTOFF, known_at=CUTOFF)[0]["score"] == \
        score_accounts(wh, config, CUTOFF, known_at=date(2025, 7, 19))[0]["score"]


def test_a_line_cancelled_after_the_cutoff_keeps_the_cutoff_arr_and_renewal_date(company):
    wh, config = company
    _record_changes_after_the_cutoff(wh, config)
    known = _features(wh, config, CUTOFF)
    assert len(known) == 1
    assert float(known[0]["arr"]) == 1800.0 and known[0]["days_to_renewal"] == 184
    assert float(wh.execute(arr_on(wh, config, CUTOFF, known_at=CUTOFF)).arr.sum()) == 1800.0
    # the leak the versions prevent: read as known today, the lines ended before the cutoff
    assert float(wh.execute(arr_on(wh, config, CUTOFF)).arr.sum()) == 0.0
    assert _features(wh, config, None) == []
    # known from the day the cancellation was recorded
    assert float(wh.execute(arr_on(wh, config, CUTOFF, known_at=date(2025, 7, 20))).arr.sum()) == 0.0
