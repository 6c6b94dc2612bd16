"""Helpers for ingestion tests: a config rooted in tmp_path and a CSV writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenure.config import config_from_dict


@pytest.fixture
def config(tmp_path: Path):
    return config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}}, base_dir=tmp_path, env={})


@pytest.fixture
def write(tmp_path: Path):
    """write(name, text) -> path of a file holding text (UTF-8)."""

    def _write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return _write


ACCOUNTS = (
    "account_id,name,domain,segment,region,industry,owner,created_at\n"
    "A1,Acme,acme.com,Enterprise,NA,Software,csm01,2024-01-05\n"
    "A2,Beta,beta.io,SMB,EMEA,Retail,csm02,2024-02-05T10:00:00Z\n"
    "A3,Gamma,gamma.org,Mid-Market,APAC,Media,csm01,2024-03-01\n"
)


@pytest.fixture
def loaded_accounts(warehouse, config, write):
    from tenure.ingest.pipeline import ingest_file

    res = ingest_file(warehouse, config, "accounts", write("accounts.csv", ACCOUNTS))
    assert res.status == "loaded"
    return warehouse
