"""Materialized snapshots: arr_monthly and arr_movements, recomputed incrementally.

A contract line or fx rate changed since the last run (its ingested_at is newer than the stored
watermark) invalidates the months from its start (or the rate's date) on; only those months are
recomputed. Re-running with no new data does nothing."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from tenure.config import Config
from tenure.metrics.bridge import movements
from tenure.metrics.periods import add_months, monthly, to_date
from tenure.warehouse import Warehouse
from tenure.warehouse.writes import AtLeast, replace_partition
from tenure.warehouse.asof import latest_event_day


def _scalar(wh: Warehouse, expr):
    v = wh.execute(expr)
    return None if v is None or (hasattr(v, "__float__") and v != v) else v


def materialize(wh: Warehouse, config: Config, last: date | None = None, full: bool = False) -> dict:
    """Bring arr_monthly and arr_movements up to date through the month of `last` (default: the
    one "as of", tenure.warehouse.asof); returns what was recomputed."""
    wh.ensure_schema()
    lines, fx = wh.table("contract_lines"), wh.table("fx")
    bounds = wh.execute(lines.aggregate(first=lines.start_date.min(), last=lines.start_date.max(),
                                        mark=lines.ingested_at.max()))
    if bounds["first"].isna().all():
        return {"months": 0, "rows": 0}
    first = to_date(bounds["first"][0])
    last = to_date(last or latest_event_day(wh) or bounds["last"][0])
    fx_mark = _scalar(wh, fx.ingested_at.max())
    marks = [m for m in (bounds["mark"][0], fx_mark) if m is not None]
    watermark = max(marks)
    state = wh.execute(wh.table("snapshot_state").filter(lambda t: t.snapshot == "arr"))
    since = date(first.year, first.month, 1)
    if not full and len(state):
        prev = state["watermark"][0]
        changed = wh.execute(lines.filter(lines.ingested_at > prev).start_date.min())
        changed_fx = wh.execute(fx.filter(fx.ingested_at > prev).date.min())
        starts = [to_date(d) for d in (changed, changed_fx) if d is not None and d == d]
        prev_last = to_date(state["last_month"][0])
        if not starts and prev_last >= date(last.year, last.month, 1):
            return {"months": 0, "rows": 0, "up_to_date": True}
        since = max(since, min([*(date(s.year, s.month, 1) for s in starts), add_months(prev_last, 1)]))
    months = monthly(since, last)
    mv = movements(wh, config, months)
    cols = ["opening", "closing", "new", "reactivation", "expansion", "contraction", "churn", "kind"]
    moves = mv.select(month=mv.first_day, account_id=mv.account_id, **{c: mv[c] for c in cols})
    data = wh.to_pyarrow(moves)
    closing = data["closing"]
    monthly_arr = data.filter(pc.greater(closing, pa.scalar(0, closing.type)))
    state_row = pa.table({"snapshot": ["arr"], "watermark": pa.array([watermark], pa.timestamp("us")),
                          "first_month": pa.array([date(first.year, first.month, 1)], pa.date32()),
                          "last_month": pa.array([date(last.year, last.month, 1)], pa.date32())})
    with wh.transaction():
        replace_partition(wh, "arr_movements", data, {"month": AtLeast(since)})
        replace_partition(wh, "arr_monthly", pa.table({"month": monthly_arr["month"], "account_id":
                                                       monthly_arr["account_id"], "arr": monthly_arr["closing"]}),
                          {"month": AtLeast(since)})
        replace_partition(wh, "snapshot_state", state_row, {"snapshot": "arr"})
    return {"months": len(months), "rows": data.num_rows, "from": since.isoformat()}
