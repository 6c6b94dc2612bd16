"""The simulated company: deterministic, in the canonical formats, and plausible."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tenure.schema import TABLES
from tenure.simulate import simulate_company


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    out = tmp_path_factory.mktemp("company")
    summary = simulate_company(out, accounts=400, months=24, seed=11)
    return out, summary


def test_same_seed_same_bytes_other_seed_differs(company, tmp_path):
    out, _ = company
    again = simulate_company(tmp_path / "a", accounts=400, months=24, seed=11)
    assert _digest(out) == _digest(again.out_dir)
    other = simulate_company(tmp_path / "b", accounts=400, months=24, seed=12)
    assert _digest(out)["contract_lines.csv"] != _digest(other.out_dir)["contract_lines.csv"]


def test_files_have_exactly_the_schema_columns(company):
    out, summary = company
    for name in ("accounts", "contacts", "contract_lines", "invoices", "tickets", "survey_responses",
                 "survey_invitations", "opportunities", "activities", "milestones", "churn_reasons", "spend", "costs", "fx"):
        with open(out / f"{name}.csv", newline="") as f:
            header = next(csv.reader(f))
        schema_cols = [c.name for c in TABLES[name].file_columns]
        extra = set(header) - set(schema_cols)
        assert set(header) <= set(schema_cols) | ({"employees", "plan"} if name == "accounts" else set()), extra
        assert all(c.name in header for c in TABLES[name].columns if c.in_file == "required"), name
    events = pq.ParquetFile(next((out / "usage_events").glob("*.parquet"))).schema_arrow.names
    assert events == ["account_id", "user_id", "ts", "feature", "quantity"]


def test_every_survey_response_answers_an_earlier_invitation(company):
    """Responses are a subset of invitations (same account and survey, sent before the answer),
    so the demo's survey_response_rate is a real share below 1."""
    import pandas as pd

    out, summary = company
    r = pd.read_csv(out / "survey_responses.csv")
    i = pd.read_csv(out / "survey_invitations.csv")
    assert i.invitation_id.is_unique and not i.duplicated(["account_id", "survey_id"]).any()
    m = r.merge(i, on=["account_id", "survey_id"], how="left")
    assert m.invitation_id.notna().all() and len(m) == len(r)
    assert (pd.to_datetime(m.sent_at) <= pd.to_datetime(m.responded_at)).all()
    assert 0.2 < len(r) / len(i) < 0.8 and summary.rows["survey_invitations"] == len(i)


def test_latent_health_drives_churn_usage_and_nps(company):
    out, _ = company
    truth = pd.read_csv(out / "_truth" / "accounts_truth.csv")
    truth = truth[truth.ever_active]
    by = truth.groupby("churned").mean_latent_health.mean()
    assert by[True] < by[False] - 0.1
    nps = pd.read_csv(out / "survey_responses.csv").merge(truth, on="account_id")
    detractors = nps.assign(det=nps.score <= 6).groupby("churned").det.mean()
    assert detractors[True] > detractors[False] + 0.1
    assert nps.score.between(0, 10).all()
    events = pq.read_table(out / "usage_events").group_by("account_id").aggregate([("ts", "count")]).to_pandas()
    usage = truth.merge(events, on="account_id", how="left").fillna({"ts_count": 0})
    assert usage.groupby("churned").ts_count.mean()[True] < usage.groupby("churned").ts_count.mean()[False]


def test_contracts_are_consistent_and_segments_ordered(company):
    out, _ = company
    lines = pd.read_csv(out / "contract_lines.csv", parse_dates=["start_date", "end_date"])
    accounts = pd.read_csv(out / "accounts.csv")
    assert (lines.arr >= 0).all()
    assert (lines.end_date.isna() | (lines.end_date >= lines.start_date)).all()
    assert set(lines.account_id) <= set(accounts.account_id)
    acv = lines.merge(accounts, on="account_id").groupby("segment").arr.median()
    assert acv["Enterprise"] > acv["Mid-Market"] > acv["SMB"]
    reactivated = lines.groupby("account_id").start_date.nunique()
    assert (reactivated > 1).any()
