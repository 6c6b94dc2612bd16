"""Metric test helpers: load hand-written accounts, lines and fx through the real ingest path."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tenure.config import config_from_dict
from tenure.ingest.pipeline import ingest_table


def make_config(tmp_path: Path, **metrics):
    return config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}, "metrics": metrics},
                            base_dir=tmp_path, env={})


def load(wh, config, accounts=(), lines=(), fx=()):
    """accounts: (id, segment); lines: (line_id, account, start, end|None, arr, currency[, product])."""
    if accounts:
        t = pa.table({"account_id": [a[0] for a in accounts], "name": [a[0] for a in accounts],
                      "segment": [a[1] for a in accounts]})
        assert ingest_table(wh, config, "accounts", t, source="test", file_label="accounts").rejected == 0
    if fx:
        t = pa.table({"date": [f[0] for f in fx], "currency": [f[1] for f in fx],
                      "rate_to_reporting": [str(f[2]) for f in fx]})
        assert ingest_table(wh, config, "fx", t, source="test", file_label="fx").rejected == 0
    if lines:
        t = pa.table({"line_id": [x[0] for x in lines], "account_id": [x[1] for x in lines],
                      "product": [x[6] if len(x) > 6 else "core" for x in lines],
                      "start_date": [x[2] for x in lines], "end_date": [x[3] for x in lines],
                      "arr": [str(x[4]) for x in lines], "currency": [x[5] for x in lines]})
        res = ingest_table(wh, config, "contract_lines", t, source="test", file_label="lines")
        assert res.rejected == 0, res.rejected_by_reason


@pytest.fixture
def mconfig(tmp_path):
    return make_config(tmp_path)
