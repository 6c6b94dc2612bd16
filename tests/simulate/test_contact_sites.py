"""Simulated contacts carry a plausible time zone and locale for their account's region."""

from __future__ import annotations

import pandas as pd

from tenure.ingest.validate import time_zones
from tenure.simulate import simulate_company
from tenure.simulate.company import REGIONS, SITES


def test_contacts_live_in_their_accounts_region(tmp_path):
    out = simulate_company(tmp_path / "c", accounts=300, months=12, seed=5).out_dir
    contacts = pd.read_csv(out / "contacts.csv", keep_default_na=False)
    accounts = pd.read_csv(out / "accounts.csv", keep_default_na=False)[["account_id", "region"]]
    both = contacts.merge(accounts, on="account_id")
    known = both[both.timezone != ""]
    assert 0.9 < len(known) / len(both) < 1 and (known.locale != "").all()
    for i, region in enumerate(REGIONS):
        sites = {(z, loc) for z, loc, _ in SITES[i]}
        rows = known[known.region == region]
        assert set(zip(rows.timezone, rows.locale)) <= sites, region
    assert set(known.timezone) <= set(time_zones())
    # most of an account's contacts share its site
    share = known.groupby("account_id").timezone.agg(lambda z: z.value_counts().iloc[0] / len(z)).mean()
    assert share > 0.7
