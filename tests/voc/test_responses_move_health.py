"""New survey responses, ingested through the one ingest path, move an account's health score on
the same day: the scorecard's "relationship (NPS)" component reads survey_responses (the feature
nps_latest, tenure.health.features), and so does the risk model's feature of the same name."""

from __future__ import annotations

from datetime import datetime, time

import pyarrow as pa

from tenure.config import load_config
from tenure.health.features import FEATURES
from tenure.health.scorecard import score_accounts
from tenure.ingest.pipeline import ingest_table
from tenure.predict.risk import NUMERIC
from tenure.voc.validate import data_day
from tenure.warehouse import connect
from tests.sites import copy_site


def _score(rows, account_id):
    row = next(r for r in rows if r["account_id"] == account_id)
    nps = next(c for c in row["components"] if c["feature"] == "nps_latest")
    return row["score"], nps


def test_a_new_detractor_answer_lowers_the_health_score_the_same_day(demo_built, tmp_path):
    copy_site(demo_built / "site", tmp_path / "site")
    config = load_config(tmp_path / "site" / "tenure.yaml")
    with connect(config=config) as wh:
        day = data_day(wh)
        rows = score_accounts(wh, config, day)
        # an account whose latest NPS is a promoter's (9 or 10): its relationship component is high
        pick = next(r for r in rows if not r["onboarding"] and any(
            c["feature"] == "nps_latest" and (c["value"] or 0) >= 9 for c in r["components"]))
        before, nps_before = _score(rows, pick["account_id"])
        res = ingest_table(wh, config, "survey_responses", pa.table({
            "response_id": ["h6-new-1"], "account_id": [pick["account_id"]], "kind": ["nps"], "score": ["1"],
            "responded_at": [datetime.combine(day, time(9, 30)).isoformat(sep=" ")],
            "comment": ["we are leaving"]}), source="test", file_label="new_responses.csv")
        assert res.rejected == 0, res.rejected_by_reason
        after, nps_after = _score(score_accounts(wh, config, day), pick["account_id"])
    assert nps_before["value"] >= 9 and nps_after["value"] == 1
    assert nps_after["points"] < nps_before["points"]
    assert after < before  # the same day, only the new answer changed
    # the risk model reads the same feature (one definition)
    assert "nps_latest" in NUMERIC and any(f.name == "nps_latest" for f in FEATURES)
