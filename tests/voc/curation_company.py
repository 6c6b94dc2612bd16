"""A hand-made company for the curation and ranking tests (as of 2026-06-30), loaded through the
ingest path; ARR, risk and expected groups worked out by hand:

    A  Alpha Co   10,000 USD open-ended            risk 0.1 (06-30; 0.9 on 05-31 is older)
    B  Beta GmbH   5,000 USD open-ended            risk 0.5
    C  Gamma Ltd   2,000 USD open-ended            no risk score
    D  Delta Inc   3,000 USD 2025-01-01..2026-03-31 (churned: ARR 0 now, 3,000 lost in the window)

Texts:
    survey:S1  A 2026-06-01  "It would be great if you could add an export to Excel. Billing is confusing."
    survey:S2  B 2026-06-02  "Please add Excel export. The invoice was wrong."
    survey:S3  C 2026-06-03  "Love the dashboards, thanks!"
    survey:S4  D 2026-03-15  "We switched to a competitor."          (15 days before D churned)
    survey:S5  A 2026-06-04  ""                                       (no text: not in the corpus)
    ticket:T1  C 2026-06-05  "Invoice question. Can you add support for Salesforce sync?"
    ticket:T2  B 2026-06-06  "Crash on login. The app keeps crashing."
    churn:D:2026-03-31       "Too expensive after the increase" (recorded category: price)
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from tenure.config import config_from_dict
from tenure.ingest.pipeline import ingest_table

AS_OF = date(2026, 6, 30)
ARR = {"A": 10_000.0, "B": 5_000.0, "C": 2_000.0, "D": 0.0}
RISK = {"A": 0.1, "B": 0.5}
NAMES = {"A": "Alpha Co", "B": "Beta GmbH", "C": "Gamma Ltd", "D": "Delta Inc"}
TEXT_IDS = {"survey:S1", "survey:S2", "survey:S3", "survey:S4", "ticket:T1", "ticket:T2", "churn:D:2026-03-31"}
ACCOUNT_OF = {"survey:S1": "A", "survey:S2": "B", "survey:S3": "C", "survey:S4": "D", "ticket:T1": "C",
              "ticket:T2": "B", "churn:D:2026-03-31": "D"}


def load(wh, config, entity, **cols):
    res = ingest_table(wh, config, entity, pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}),
                       source="test", file_label=entity)
    assert res.rejected == 0, res.rejected_by_reason


def put(wh, name, /, **cols):
    from tenure.schema import TABLES
    from tenure.warehouse import ibis_schema

    schema = ibis_schema(TABLES[name]).to_pyarrow()
    n = len(next(iter(cols.values())))
    wh.insert(name, pa.table({f.name: pa.array(cols.get(f.name, [None] * n), f.type) for f in schema}))


def make_config(tmp_path, state_url: str | None = None, warehouse_url: str | None = None):
    data = {"ingest": {"runs_dir": str(tmp_path / "runs")},
            "state": {"url": state_url or f"sqlite:///{tmp_path / 'state.db'}"}}
    if warehouse_url:
        data["warehouse"] = {"url": warehouse_url}
    return config_from_dict(data, base_dir=tmp_path, env={})


def build(wh, config) -> None:
    load(wh, config, "accounts", account_id=["A", "B", "C", "D"], name=[NAMES[k] for k in "ABCD"],
         segment=["Enterprise", "SMB", "SMB", "SMB"])
    load(wh, config, "contract_lines", line_id=["LA", "LB", "LC", "LD"], account_id=["A", "B", "C", "D"],
         product=["core"] * 4, start_date=["2025-01-01"] * 4, end_date=[None, None, None, "2026-03-31"],
         arr=["10000", "5000", "2000", "3000"], currency=["USD"] * 4,
         auto_renew=["true", "true", "true", "false"])
    load(wh, config, "survey_responses", response_id=["S1", "S2", "S3", "S4", "S5"],
         account_id=["A", "B", "C", "D", "A"], kind=["nps"] * 5, score=["6", "3", "10", "2", "9"],
         comment=["It would be great if you could add an export to Excel. Billing is confusing.",
                  "Please add Excel export. The invoice was wrong.", "Love the dashboards, thanks!",
                  "We switched to a competitor.", ""],
         responded_at=["2026-06-01T10:00:00Z", "2026-06-02T10:00:00Z", "2026-06-03T10:00:00Z",
                       "2026-03-15T10:00:00Z", "2026-06-04T10:00:00Z"])
    load(wh, config, "tickets", ticket_id=["T1", "T2"], account_id=["C", "B"],
         opened_at=["2026-06-05T09:00:00Z", "2026-06-06T09:00:00Z"], priority=["normal", "high"],
         status=["open", "open"], subject=["Invoice question", "Crash on login"],
         body=["Can you add support for Salesforce sync?", "The app keeps crashing."])
    load(wh, config, "churn_reasons", account_id=["D"], at=["2026-03-31"], category=["price"],
         detail=["Too expensive after the increase"])
    put(wh, "risk_scores", account_id=["A", "A", "B"], as_of=[AS_OF, date(2026, 5, 31), AS_OF],
        horizon_days=[180] * 3, probability=[0.1, 0.9, 0.5], drivers=["[]"] * 3, model=["test"] * 3)
