"""The usage features the playbook triggers read (tenure.health.features.usage_features) are the
account features' own columns, computed without the other facts: same accounts, same values."""

from __future__ import annotations

from tenure.health.features import account_features, usage_features
from tenure.warehouse import connect
from tenure.warehouse.asof import require_as_of

COLUMNS = ["account_id", "seat_utilization", "usage_trend", "peak_users_30"]


def test_usage_features_equal_the_account_features_columns(demo_site):
    with connect(config=demo_site.config, write=False) as wh:
        day = require_as_of(wh, None)
        full = wh.execute(account_features(wh, demo_site.config, day).select(*COLUMNS))
        usage = wh.execute(usage_features(wh, demo_site.config, day))
    full = full.sort_values("account_id").reset_index(drop=True)
    usage = usage[COLUMNS].sort_values("account_id").reset_index(drop=True)
    assert len(full) > 100 and full["seat_utilization"].notna().sum() > 100
    assert full["usage_trend"].notna().sum() > 100
    assert full.equals(usage)
