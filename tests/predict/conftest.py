"""A small simulated company for the churn-risk tests: the simulator's files ingested into a real
DuckDB warehouse (no demo compute, which these tests do not need), with a tenure.yaml so the CLI
runs in its folder. 600 accounts over 30 months ending 2026-10-31 (seed 13): a few hundred
customers on any day of 2025-2026 and some forty churners per 180 days; the truth (which
accounts churned, and when) is in company/_truth/accounts_truth.csv."""

from __future__ import annotations

import pytest

from tests.sites import build_ingested_company, built_once, copy_site


@pytest.fixture(scope="package")
def simulated(tmp_path_factory):
    """(folder, config, warehouse) of this package's own copy of the company (built once per run)."""
    from tenure.config import load_config
    from tenure.warehouse import connect

    built = built_once(tmp_path_factory, "ingested-600-30-13",
                       lambda f: build_ingested_company(f / "company600", accounts=600, months=30, seed=13))
    folder = copy_site(built / "company600", tmp_path_factory.mktemp("risk") / "company600")
    config = load_config(folder / "tenure.yaml")
    wh = connect(config=config)
    yield folder, config, wh
    wh.close()
