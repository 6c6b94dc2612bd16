"""A small simulated company for the churn-risk tests: the simulator's files ingested into a real
DuckDB warehouse (no demo compute, which these tests do not need), with a tenure.yaml so the CLI
runs in its folder. 600 accounts over 30 months ending 2026-10-31 (seed 13): a few hundred
customers on any day of 2025-2026 and some forty churners per 180 days; the truth (which
accounts churned, and when) is in company/_truth/accounts_truth.csv."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="package")
def simulated(tmp_path_factory):
    from tenure.config import load_config, write_default_config
    from tenure.demo import LOAD_ORDER
    from tenure.ingest.pipeline import ingest_file
    from tenure.simulate import simulate_company
    from tenure.simulate.company import change_folders
    from tenure.state.db import upgrade
    from tenure.warehouse import connect

    folder = tmp_path_factory.mktemp("risk") / "company600"
    folder.mkdir(parents=True)
    write_default_config(folder)
    config = load_config(folder / "tenure.yaml")
    company = folder / "company"
    simulate_company(company, accounts=600, months=30, seed=13)
    upgrade(config)
    wh = connect(config=config)
    wh.ensure_schema()
    for entity in LOAD_ORDER:
        ingest_file(wh, config, entity, company / f"{entity}.csv", source="sim")
    ingest_file(wh, config, "usage_events", company / "usage_events", source="sim")
    for changes in change_folders(company):  # what was recorded later, oldest first (facts as known)
        for entity in LOAD_ORDER:
            if (changes / f"{entity}.csv").exists():
                ingest_file(wh, config, entity, changes / f"{entity}.csv", source="sim")
    yield folder, config, wh
    wh.close()
