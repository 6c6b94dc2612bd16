"""Fixtures for the hostile-input tests: a DuckDB warehouse with three accounts and an fx table
(EUR, GBP), and helpers to read what a run quarantined. DuckDB only: the rules are the same SQL
on every warehouse (tests/ingest covers PostgreSQL)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tenure.config import config_from_dict

ACCOUNTS = (
    "account_id,name,domain,segment,region,industry,owner,created_at\n"
    "A1,Acme,acme.com,Enterprise,NA,Software,csm01,2024-01-05\n"
    "A2,Beta,beta.io,SMB,EMEA,Retail,csm02,2024-02-05T10:00:00Z\n"
    "A3,Gamma,gamma.org,Mid-Market,APAC,Media,csm01,2024-03-01\n"
)
FX = "date,currency,rate_to_reporting\n2020-01-01,EUR,1.1\n2020-01-01,GBP,1.3\n"


@pytest.fixture
def config(tmp_path: Path):
    return config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}}, base_dir=tmp_path, env={})


@pytest.fixture
def wh(tmp_path: Path, config):
    """A DuckDB warehouse holding accounts A1-A3 and fx rates for EUR and GBP."""
    from tenure.ingest.pipeline import ingest_file
    from tenure.warehouse import Warehouse

    w = Warehouse(f"duckdb:///{tmp_path / 'hostile.duckdb'}")
    w.ensure_schema()
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    (tmp_path / "fx.csv").write_text(FX)
    assert ingest_file(w, config, "accounts", tmp_path / "accounts.csv").rejected == 0
    assert ingest_file(w, config, "fx", tmp_path / "fx.csv").rejected == 0
    try:
        yield w
    finally:
        w.close()


def quarantined(res) -> list[dict]:
    """The run's quarantine.csv rows (empty when nothing was rejected)."""
    if not res.quarantine_path:
        return []
    with open(res.quarantine_path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def one(res):
    """The single result of an ingest call (vendor formats return a list)."""
    return res[0] if isinstance(res, list) else res
