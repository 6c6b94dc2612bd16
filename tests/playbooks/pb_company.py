"""A hand-worked small company for the playbook tests, as of 2026-06-30, on DuckDB + SQLite and on
PostgreSQL (warehouse and state DB).

    A  csm1  SMB         line 2026-01-01..2026-12-31 fixed, 2,400 USD -> renews 2026-12-31 (184 days: no
                         renewal window); health yellow 60 (05-31) -> green 80 (06-30); risk 0.1;
                         milestone `integration` due 2026-06-01, not done (overdue 29 days);
                         champion K3 left on 2026-06-20
    B  csm2  Enterprise  LB1 10,000 USD open-ended auto-renewing annual from 2024-07-15 (renews
                         2026-07-15: 15 days, window T-30) + LB2 5,000 USD fixed to 2026-09-30;
                         health yellow 70 -> red 40 (a drop of 30 points); risk 0.2 -> 0.5;
                         NPS 3 from champion K2 on 2026-06-20; escalated ticket T1 open
    C  csm1  SMB         line 2025-01-01..2026-04-30 -> churned
    F  csm1  Mid-Market  line 2025-03-01..2027-02-28 fixed 30,000 USD -> renews 2027-02-28; health red
                         since 2026-04-30 (red, red, red); risk 0.3; custom attribute plan_tier=gold

So on 2026-06-30: band_change to red fires for B (streak from 06-30) and F (streak from 04-30);
churn_risk >= 0.4 for B only; score_drop 15 for B (30 points) only; renewal_window for B (T-30,
the 2026-07-15 renewal); onboarding_overdue for A (integration); survey nps <= 6 for B (contact
K2); contact_left for A (K3); ticket_escalated for B (T1).
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from tenure.config import config_from_dict
from tenure.ingest.pipeline import ingest_table

AS_OF = date(2026, 6, 30)
BEFORE = date(2026, 5, 31)
EARLIER = date(2026, 4, 30)


def load(wh, config, entity, **cols):
    res = ingest_table(wh, config, entity, pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}),
                       source="test", file_label=entity)
    assert res.rejected == 0, res.rejected_by_reason


def put(wh, name, /, **cols):
    from tenure.schema import TABLES
    from tenure.warehouse import ibis_schema

    schema = ibis_schema(TABLES[name]).to_pyarrow()
    n = len(next(iter(cols.values())))
    data = pa.table({f.name: pa.array(cols.get(f.name, [None] * n), f.type) for f in schema})
    wh.insert(name, data)


@pytest.fixture(scope="module", params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_company(request, tmp_path_factory):
    """(engine, Warehouse) with the company loaded, once per test module: DuckDB or PostgreSQL.
    Tests must leave it as they found it (state lives in the state DB, fresh per test)."""
    from tests.conftest import PG_ADMIN_URL, _require_pg
    from tenure.warehouse import Warehouse

    folder = tmp_path_factory.mktemp("pbwh")
    name = None
    if request.param == "embedded":
        url = f"duckdb:///{folder / 'wh.duckdb'}"
    else:
        _require_pg()
        import psycopg

        name = f"tenure_pb_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        url = f"postgres://postgres@127.0.0.1:5432/{name}"
    wh = Warehouse(url)
    wh.ensure_schema()
    build_company(wh, make_config(folder, f"sqlite:///{folder / 'unused.db'}"))
    try:
        yield request.param, wh
    finally:
        wh.close()
        if name:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_config(tmp_path: Path, state_url: str, **extra):
    data = {"ingest": {"runs_dir": str(tmp_path / "runs")}, "state": {"url": state_url},
            "playbooks": {"folder": str(tmp_path / "playbooks")}, **extra}
    (tmp_path / "playbooks").mkdir(exist_ok=True)
    return config_from_dict(data, base_dir=tmp_path, env={})


def build_company(wh, config) -> None:
    load(wh, config, "accounts", account_id=["A", "B", "C", "F"], name=["Alpha Co", "Beta GmbH", "Gamma Ltd", "Foxtrot"],
         segment=["SMB", "Enterprise", "SMB", "Mid-Market"], owner=["csm1", "csm2", "csm1", "csm1"],
         plan_tier=["silver", "silver", "silver", "gold"])
    load(wh, config, "contract_lines", line_id=["LA", "LB1", "LB2", "LC", "LF"], account_id=["A", "B", "B", "C", "F"],
         product=["core"] * 5, start_date=["2026-01-01", "2024-07-15", "2026-05-01", "2025-01-01", "2025-03-01"],
         end_date=["2026-12-31", None, "2026-09-30", "2026-04-30", "2027-02-28"],
         arr=["2400", "10000", "5000", "3000", "30000"], currency=["USD"] * 5,
         billing_period=["annual", "annual", "annual", "annual", "annual"],
         auto_renew=["false", "true", "false", "false", "false"], quantity=["10", "50", "0", "5", "20"])
    load(wh, config, "contacts", contact_id=["K1", "K2", "K3"], account_id=["B", "B", "A"],
         name=["Bea", "Bo", "Cy"], email=["bea@beta.example", "bo@beta.example", "cy@alpha.example"],
         role=["exec_sponsor", "champion", "champion"], active_from=["2024-06-01", "2024-06-01", "2025-01-01"],
         active_to=[None, None, "2026-06-20"])
    load(wh, config, "survey_responses", response_id=["S1"], account_id=["B"], contact_id=["K2"], kind=["nps"],
         score=["3"], comment=["too slow"], responded_at=["2026-06-20T12:00:00Z"])
    load(wh, config, "tickets", ticket_id=["T1", "T2"], account_id=["B", "A"],
         opened_at=["2026-06-10T09:00:00Z", "2026-06-01T09:00:00Z"], resolved_at=[None, "2026-06-25T09:00:00Z"],
         priority=["urgent", "normal"], status=["open", "solved"], escalated=["true", "true"])
    load(wh, config, "milestones", account_id=["A", "A"], milestone=["kickoff", "integration"],
         due_at=["2026-01-15", "2026-06-01"], completed_at=["2026-01-10", None])
    put(wh, "health_scores", account_id=["A", "A", "B", "B", "F", "F", "F"],
        as_of=[AS_OF, BEFORE, AS_OF, BEFORE, AS_OF, BEFORE, EARLIER],
        segment=["SMB", "SMB", "Enterprise", "Enterprise", "Mid-Market", "Mid-Market", "Mid-Market"],
        score=[80.0, 60.0, 40.0, 70.0, 35.0, 38.0, 30.0], band=["green", "yellow", "red", "yellow", "red", "red", "red"])
    put(wh, "risk_scores", account_id=["A", "B", "B", "F"], as_of=[AS_OF, AS_OF, BEFORE, AS_OF], horizon_days=[180] * 4,
        probability=[0.1, 0.5, 0.2, 0.3], drivers=["[]"] * 4, model=["test"] * 4)
    summarize(wh, config)


def summarize(wh, config, as_of: date = AS_OF) -> None:
    from tenure.portfolio.summary import write_summary

    write_summary(wh, config, as_of)


@pytest.fixture
def company(warehouse_company, request, tmp_path):
    """(wh, config): the module's company with a fresh, migrated state DB (SQLite beside DuckDB,
    a fresh PostgreSQL database beside PostgreSQL) and an empty playbooks folder."""
    from tenure.state.db import upgrade

    kind, wh = warehouse_company
    state_url = f"sqlite:///{tmp_path / 'state.db'}" if kind == "embedded" else request.getfixturevalue("pg_state_url")
    config = make_config(tmp_path, state_url)
    upgrade(config)
    return wh, config


def write_playbook(config, name: str, text: str) -> Path:
    path = Path(config.playbooks.folder) / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path
