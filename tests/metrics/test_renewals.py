"""The one renewal-date rule (tenure.metrics.renewals), on DuckDB and PostgreSQL, and the account
summary that pages read: every yearly term has a next renewal date; monthly terms say so."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from tenure.ingest.pipeline import ingest_table
from tenure.metrics.renewals import line_renewal_date
from tenure.portfolio.summary import write_summary
from tests.metrics.conftest import make_config

AS_OF = date(2026, 6, 30)

# line, account, start, end, billing, auto_renew -> renewal date as of 2026-06-30
LINES = [
    ("F1", "F", "2025-01-01", "2026-12-31", "annual", "false", date(2026, 12, 31)),  # fixed term: its end
    ("Y1", "Y", "2024-09-15", None, "annual", "true", date(2026, 9, 15)),  # auto-renewing: next anniversary
    ("Y2", "Y2", "2023-06-30", None, "multi_year", "true", date(2026, 6, 30)),  # anniversary today counts
    ("C1", "C", "2025-03-01", "2026-09-30", "annual", "true", date(2027, 3, 1)),  # cancelled: term end stays
    ("E1", "E", "2025-08-01", None, "annual", "false", date(2026, 8, 1)),  # open-ended yearly: anniversary
    ("M1", "M", "2026-01-10", None, "monthly", "true", None),  # rolling: no date
    ("Q1", "Q", "2026-02-01", None, "quarterly", "true", None),
]


def _load(wh, config):
    ids = sorted({x[1] for x in LINES})
    res = ingest_table(wh, config, "accounts", pa.table({"account_id": ids, "name": ids}), source="t",
                       file_label="accounts")
    assert res.rejected == 0
    cols = list(zip(*LINES))
    t = pa.table({"line_id": cols[0], "account_id": cols[1], "product": ["core"] * len(LINES), "start_date": cols[2],
                  "end_date": pa.array(cols[3], pa.string()), "arr": ["1200"] * len(LINES),
                  "currency": ["USD"] * len(LINES), "billing_period": cols[4], "auto_renew": cols[5]})
    res = ingest_table(wh, config, "contract_lines", t, source="t", file_label="lines")
    assert res.rejected == 0, res.rejected_by_reason


def _day(v):
    return None if v is None or v != v else (v.date() if hasattr(v, "date") and callable(v.date) else v)


def test_line_renewal_dates(warehouse, tmp_path):
    config = make_config(tmp_path)
    _load(warehouse, config)
    lines = warehouse.table("contract_lines")
    df = warehouse.execute(lines.select("line_id", renews=line_renewal_date(lines, AS_OF)))
    got = {r["line_id"]: _day(r["renews"]) for r in df.to_dict(orient="records")}
    assert got == {x[0]: x[6] for x in LINES}


def test_summary_has_a_renewal_date_for_every_yearly_term_and_names_rolling_ones(warehouse, tmp_path):
    config = make_config(tmp_path)
    _load(warehouse, config)
    write_summary(warehouse, config, AS_OF)
    df = warehouse.execute(warehouse.table("account_summary"))
    s = {r["account_id"]: r for r in df.to_dict(orient="records")}
    assert _day(s["Y"]["renewal_date"]) == date(2026, 9, 15) and int(s["Y"]["days_to_renewal"]) == 77
    assert float(s["Y"]["renewal_arr"]) == 1200 and s["Y"]["renewal_term"] is None
    assert _day(s["M"]["renewal_date"]) is None and s["M"]["renewal_term"] == "monthly"
    assert s["Q"]["renewal_term"] == "quarterly"
    assert all(_day(s[a]["renewal_date"]) is not None for a in ("F", "Y", "Y2", "C", "E"))
