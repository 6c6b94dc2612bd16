"""A hand-worked small company on DuckDB and PostgreSQL for the portfolio tests (as of 2026-06-30).

    (csm1 is Ann Ames, csm2 Bob Burr; regions NA, EMEA, NA, -, NA)
    A  csm1  SMB         LA1 2025 (fixed, ended) + LA2 2026-01-01..2026-12-31 2,400 USD fixed
                         -> customer, ARR 2,400, change 0, since 2025-01-01, renews 2026-12-31 (184 days)
    B  csm2  Enterprise  LB1 10,000 EUR open-ended (fx 1.1) + LB2 5,000 USD fixed to 2026-09-30
                         + LB3 1,000 USD auto-renewing, end 2026-08-31 (ignored for renewal)
                         -> customer, ARR 17,000 (12,000 on 2026-04-01: +5,000), renews 2026-09-30
                         (92 days) with 5,000; open renewal opportunity in Negotiation
    C  csm1  SMB         LC1 3,000 USD 2025-01-01..2026-04-30 -> churned, ARR 0, change -3,000
    D  (none)            no lines -> prospect
    E  csm2  SMB         a line starting 2026-08-01 -> prospect
Health: A 60 yellow (05-31) -> 80 green; B 70 yellow -> 40 red. Risk: A 0.1; B 0.2 (05-31) -> 0.5.
Band table: green 0.95, yellow 0.8, red 0.6."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from tenure.config import config_from_dict
from tenure.ingest.pipeline import ingest_table

AS_OF = date(2026, 6, 30)
BEFORE = date(2026, 5, 31)


def _load(wh, config, entity, **cols):
    res = ingest_table(wh, config, entity, pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}),
                       source="test", file_label=entity)
    assert res.rejected == 0, res.rejected_by_reason


def _put(wh, name, /, **cols):
    from tenure.schema import TABLES
    from tenure.warehouse import ibis_schema

    schema = ibis_schema(TABLES[name]).to_pyarrow()
    n = len(next(iter(cols.values())))
    data = pa.table({f.name: pa.array(cols.get(f.name, [None] * n), f.type) for f in schema})
    wh.insert(name, data)


@pytest.fixture
def company(warehouse, tmp_path):
    wh = warehouse
    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}}, base_dir=tmp_path, env={})
    _load(wh, config, "accounts", account_id=["A", "B", "C", "D", "E"],
          name=["Alpha Co", "Beta GmbH", "Gamma Ltd", "Delta Inc", "Epsilon"],
          domain=["alpha.com", "beta.de", "gamma.co.uk", None, "epsilon.io"],
          segment=["SMB", "Enterprise", "SMB", "SMB", "SMB"], owner=["csm1", "csm2", "csm1", None, "csm2"],
          owner_name=["Ann Ames", "Bob Burr", "Ann Ames", None, "Bob Burr"], region=["NA", "EMEA", "NA", None, "NA"],
          employees=["10", "5000", "20", "5", "7"])
    _load(wh, config, "fx", date=["2024-01-01"], currency=["EUR"], rate_to_reporting=["1.1"])
    _load(wh, config, "contract_lines",
          line_id=["LA1", "LA2", "LB1", "LB2", "LB3", "LC1", "LE1"],
          account_id=["A", "A", "B", "B", "B", "C", "E"], product=["core"] * 7,
          start_date=["2025-01-01", "2026-01-01", "2024-06-01", "2026-05-01", "2026-01-01", "2025-01-01",
                      "2026-08-01"],
          end_date=["2025-12-31", "2026-12-31", None, "2026-09-30", "2026-08-31", "2026-04-30", None],
          arr=["1200", "2400", "10000", "5000", "1000", "3000", "900"],
          currency=["USD", "USD", "EUR", "USD", "USD", "USD", "USD"],
          auto_renew=["false", "false", "true", "false", "true", "false", "true"])
    _load(wh, config, "opportunities", opportunity_id=["O1", "O2", "O3"], account_id=["B", "B", "A"],
          kind=["renewal", "renewal", "expansion"], amount=["5000", "4000", "100"], currency=["USD"] * 3,
          stage=["Negotiation", "Closed Won", "Discovery"], status=["open", "won", "open"],
          probability=["0.5", "1", "0.2"], close_date=["2026-09-15", "2025-09-01", "2026-07-15"])
    _load(wh, config, "tickets", ticket_id=["T1"], account_id=["B"], opened_at=["2026-06-10T09:00:00Z"],
          priority=["urgent"], status=["open"], subject=["Export broken"], escalated=["true"])
    _load(wh, config, "survey_responses", response_id=["S1"], account_id=["B"], kind=["nps"], score=["3"],
          comment=["too slow"], responded_at=["2026-06-20T12:00:00Z"])
    _load(wh, config, "activities", activity_id=["AC1"], account_id=["B"], kind=["qbr"],
          at=["2026-06-15T15:00:00Z"], with_exec=["true"], owner=["csm2"])
    _load(wh, config, "milestones", account_id=["B"], milestone=["kickoff"], due_at=["2024-06-15"],
          completed_at=["2024-06-10"])
    _load(wh, config, "invoices", invoice_id=["I1"], account_id=["B"], amount=["1000"], currency=["USD"],
          issued_at=["2026-06-01"], due_at=["2026-07-01"], paid_at=[None])
    _load(wh, config, "contacts", contact_id=["K1", "K2"], account_id=["B", "B"], name=["Bea", "Bo"],
          role=["exec_sponsor", "champion"], active_from=["2024-06-01", "2024-06-01"], active_to=[None, None])
    _load(wh, config, "churn_reasons", account_id=["C"], at=["2026-04-30"], category=["price"],
          detail=["cheaper competitor"])
    _put(wh, "health_scores", account_id=["A", "A", "B", "B"], as_of=[AS_OF, BEFORE, AS_OF, BEFORE],
         segment=["SMB", "SMB", "Enterprise", "Enterprise"], score=[80.0, 60.0, 40.0, 70.0],
         band=["green", "yellow", "red", "yellow"])
    _put(wh, "risk_scores", account_id=["A", "B", "B"], as_of=[AS_OF, AS_OF, BEFORE], horizon_days=[180] * 3,
         probability=[0.1, 0.5, 0.2], drivers=['[{"feature": "nps_latest", "effect": 0.5}]', "[]", "[]"],
         model=["test"] * 3)
    _put(wh, "band_renewal", band=["green", "yellow", "red"], accounts=[10, 10, 10], churn_rate=[0.05, 0.2, 0.4],
         renewal_probability=[0.95, 0.8, 0.6], horizon_days=[180] * 3, as_of=[AS_OF] * 3)
    _put(wh, "health_signals", account_id=["B", "B"], signal=["detractor", "usage_decline"],
         at=[date(2026, 6, 25), date(2026, 3, 1)], severity=["high", "medium"],
         detail=["NPS 3", "usage down"])
    return wh, config


@pytest.fixture
def book(company):
    """The company with its account summary and band history written as of AS_OF."""
    from tenure.portfolio.summary import write_band_history, write_summary

    wh, config = company
    write_summary(wh, config, AS_OF)
    write_band_history(wh, config, AS_OF)
    return wh
