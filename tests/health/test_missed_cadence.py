"""The operating model in the engine: engagement models matched by segment and tier (first match
wins), and the missed-cadence early-warning signal, on DuckDB and PostgreSQL.

The company (as of 2026-06-30; every contract from 2025-01-01 unless said):
  E1 Enterprise gold: QBR 2026-05-01 (60 days), EBR with an executive 2026-01-15 (166) -> nothing missed
  E2 Enterprise:      QBR 2026-03-01 (121 days > 90), an EBR without an executive -> QBR and EBR missed
  E3 Enterprise:      QBR 2026-04-01 (exactly 90 days: still on time), EBR with exec 2026-06-01 -> nothing
  N1 Enterprise:      a customer since 2026-06-01 (29 days): owes nothing yet
  M1 Mid-Market:      a call 2026-06-10 (20 days) and one after the as-of day -> nothing
  M2 Mid-Market:      a call 2026-05-20 (41 days > 30) -> check-in missed
  S1 SMB:             no engagement model (default touch: tech), no activities -> nothing
Both Enterprise models require an executive sponsor: E1 has one; E2's left on 2026-06-29; E3's
last day is the as-of day (still there); N1 has none; M2 has one but its model does not ask.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from tenure.config import config_from_dict
from tenure.health.engagement import engagement, missed_cadences, missing_sponsors
from tenure.health.features import account_features
from tenure.health.signals import record_signals
from tenure.ingest.pipeline import ingest_table

AS_OF = date(2026, 6, 30)
MODEL = {
    "engagement_models": [
        {"name": "strategic", "match": {"segment": ["Enterprise"], "tier": ["gold"]}, "touch": "high",
         "cadences": [{"kind": "qbr", "every_days": 90}, {"kind": "ebr", "every_days": 180, "with_exec": True}],
         "exec_sponsor_required": True},
        {"name": "enterprise", "match": {"segment": ["Enterprise"]}, "touch": "high",
         "cadences": [{"kind": "qbr", "every_days": 90}, {"kind": "ebr", "every_days": 180, "with_exec": True}],
         "exec_sponsor_required": True},
        {"name": "mid-market", "match": {"segment": ["Mid-Market"]}, "touch": "mid",
         "cadences": [{"kind": "call", "every_days": 30}]},
    ],
    "default_touch": "tech",
}
IDS = ["E1", "E2", "E3", "N1", "M1", "M2", "S1"]


def _load(wh, config, entity, **cols):
    res = ingest_table(wh, config, entity, pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}),
                       source="test", file_label=entity)
    assert res.rejected == 0, res.rejected_by_reason


@pytest.fixture
def company(warehouse, tmp_path):
    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}, "operating_model": MODEL},
                              base_dir=tmp_path, env={})
    segments = ["Enterprise"] * 4 + ["Mid-Market"] * 2 + ["SMB"]
    _load(warehouse, config, "accounts", account_id=IDS, name=IDS, segment=segments,
          tier=["gold", None, None, None, None, None, None])
    _load(warehouse, config, "contract_lines", line_id=[f"L{a}" for a in IDS], account_id=IDS, product=["core"] * 7,
          start_date=["2025-01-01"] * 3 + ["2026-06-01"] + ["2025-01-01"] * 3, end_date=[None] * 7,
          arr=["1200"] * 7, currency=["USD"] * 7, quantity=["1"] * 7)
    acts = [("E1", "qbr", "2026-05-01", "false"), ("E1", "ebr", "2026-01-15", "true"),
            ("E2", "qbr", "2026-03-01", "false"), ("E2", "ebr", "2026-06-01", "false"),
            ("E3", "qbr", "2026-04-01", "false"), ("E3", "ebr", "2026-06-01", "true"),
            ("M1", "call", "2026-06-10", "false"), ("M1", "call", "2026-07-05", "false"),
            ("M2", "call", "2026-05-20", "false")]
    _load(warehouse, config, "activities", activity_id=[f"X{i}" for i in range(len(acts))],
          account_id=[a[0] for a in acts], kind=[a[1] for a in acts], at=[f"{a[2]}T10:00:00Z" for a in acts],
          with_exec=[a[3] for a in acts])
    _load(warehouse, config, "contacts", contact_id=["C1", "C2", "C3", "C4"], account_id=["E1", "E2", "E3", "M2"],
          role=["exec_sponsor"] * 4, active_from=["2025-01-01"] * 4,
          active_to=[None, "2026-06-29", "2026-06-30", None])
    return warehouse, config


def test_engagement_models_match_in_order(company):
    wh, config = company
    got = wh.execute(engagement(wh.table("accounts"), config.operating_model)).set_index("account_id")
    assert got.loc["E1", "engagement_model"] == "strategic"  # the first match wins over "enterprise"
    assert list(got.loc[["E2", "M1"], "engagement_model"]) == ["enterprise", "mid-market"]
    assert got["engagement_model"].isna()["S1"]
    assert list(got.loc[["E1", "M2", "S1"], "touch"]) == ["high", "mid", "tech"]


def test_missed_cadences_by_hand(company):
    wh, config = company
    f = account_features(wh, config, AS_OF)
    rows = wh.execute(missed_cadences(wh, config.operating_model, f, AS_OF))
    got = {(r.account_id, r.kind, None if r.days_since != r.days_since or r.days_since is None else int(r.days_since))
           for r in rows.itertuples()}
    assert got == {("E2", "qbr", 121), ("E2", "ebr", None), ("M2", "call", 41)}


def test_a_missed_cadence_is_a_signal_once_per_account(company):
    wh, config = company
    first = record_signals(wh, config, AS_OF)
    sig = wh.execute(wh.table("health_signals").filter(lambda t: t.signal == "missed_cadence"))
    detail = dict(zip(sig.account_id, sig.detail))
    assert set(detail) == {"E2", "M2"}
    assert detail["M2"] == "missed call every 30 days (last 2026-05-20)"
    assert detail["E2"].startswith("missed ") and set(detail["E2"][len("missed "):].split(", ")) == {
        "qbr every 90 days (last 2026-03-01)", "ebr every 180 days (never)"}
    assert {str(a)[:10] for a in sig["at"]} == {"2026-06-30"}
    again = record_signals(wh, config, AS_OF)
    assert again["new"] == 0 and again["unchanged"] == first["signals"]


def test_a_required_sponsor_missing_is_a_signal(company):
    wh, config = company
    f = account_features(wh, config, AS_OF)
    assert set(wh.execute(missing_sponsors(wh, config.operating_model, f, AS_OF)).account_id) == {"E2", "N1"}
    record_signals(wh, config, AS_OF)
    sig = wh.execute(wh.table("health_signals").filter(lambda t: t.signal == "sponsor_missing"))
    assert dict(zip(sig.account_id, sig.detail)) == {
        "E2": "no active executive sponsor (engagement model enterprise requires one)",
        "N1": "no active executive sponsor (engagement model enterprise requires one)"}


def test_no_engagement_models_no_missed_cadence(company, tmp_path):
    wh, _ = company
    plain = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}}, base_dir=tmp_path, env={})
    record_signals(wh, plain, AS_OF)
    n = wh.execute(wh.table("health_signals").filter(lambda t: t.signal.isin(["missed_cadence", "sponsor_missing"]))
                   .count())
    assert int(n) == 0
