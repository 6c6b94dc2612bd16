"""Health history: snapshots of scores and components per day, rebuildable from facts for any
date, incremental (days already snapshotted are skipped unless forced), idempotent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from tenure.config import Config
from tenure.health.scorecard import component_count, load_scorecard, score_table
from tenure.metrics.periods import to_date
from tenure.warehouse import Warehouse
from tenure.warehouse.writes import replace_partition


def snapshot(wh: Warehouse, config: Config, as_of: date) -> int:
    """Write the scores and components of one day (replacing that day); returns accounts scored."""
    card = load_scorecard(config)
    t = wh.to_pyarrow(score_table(wh, config, as_of, card))
    n = t.num_rows
    day = pa.array([as_of] * n, pa.date32())
    score = t["score"]
    scores = pa.table({"account_id": t["account_id"], "as_of": day, "segment": t["segment"], "score": score,
                       "band": t["band"]})
    weight_sum = t["weight_sum"]
    parts = []
    for i in range(component_count(card)):  # a loop over component positions, vectorized over accounts
        pts = t[f"c{i}_points"]
        used = pts.fill_null(50.0 if card.missing == "neutral" else 0.0)
        contribution = pc.if_else(pc.greater(weight_sum, 0),
                                  pc.divide(pc.multiply(t[f"c{i}_weight"], used), weight_sum), 0.0)
        part = pa.table({"account_id": t["account_id"], "as_of": day, "component": t[f"c{i}_name"],
                         "feature": t[f"c{i}_feature"], "value": t[f"c{i}_value"], "points": pts,
                         "weight": t[f"c{i}_weight"], "contribution": pc.round(contribution, 2)})
        parts.append(part.filter(pc.is_valid(part["component"])))  # each account's own list only
    components = pa.concat_tables(parts) if parts else None
    with wh.transaction():
        replace_partition(wh, "health_scores", scores, {"as_of": as_of})
        replace_partition(wh, "health_components", components, {"as_of": as_of})
    return n


def backfill(wh: Warehouse, config: Config, start: date, end: date, every_days: int = 1, force: bool = False,
             progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Snapshot every `every_days` from start to end; days already present are skipped."""
    wh.ensure_schema()
    days = [start + timedelta(days=k) for k in range(0, (end - start).days + 1, every_days)]
    have = set()
    if not force:
        hs = wh.table("health_scores")
        present = hs.filter((hs.as_of >= start) & (hs.as_of <= end)).select("as_of").distinct()
        have = {to_date(d) for d in wh.execute(present)["as_of"]}
    todo = [d for d in days if d not in have]
    for d in todo:
        snapshot(wh, config, d)
        if progress:
            progress(1, len(todo), f"scoring {d}")
    return {"days": len(days), "computed": len(todo), "skipped": len(days) - len(todo)}


def trend(wh: Warehouse, account_id: str) -> list[dict]:
    hs = wh.table("health_scores")
    rows = hs.filter(hs.account_id == account_id).order_by("as_of")
    return wh.execute(rows.select("as_of", "score", "band")).to_dict(orient="records")

