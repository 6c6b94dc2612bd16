"""How fresh each source's facts are: per source (the `source` column every fact table carries) and
fact table, how many rows, the latest load (when tenure last wrote one of them, `ingested_at`) and
the latest event day (the newest business date among them, e.g. a ticket's opened_at).

Event columns are the dates things happened; tables whose dates lie ahead by nature (opportunity
close dates, milestone due days) and the period-keyed spend and costs report loads only. One query,
each table aggregated in the engine."""

from __future__ import annotations

from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis, ir

__all__ = ["EVENT_COLUMNS", "freshness", "freshness_expr"]

# fact table -> the column that dates its events (None: loads only)
EVENT_COLUMNS: dict[str, str | None] = {
    "accounts": "created_at", "contacts": "active_from", "contract_lines": "start_date", "invoices": "issued_at",
    "usage_events": "ts", "tickets": "opened_at", "survey_responses": "responded_at",
    "survey_invitations": "sent_at", "survey_answers": "answered_at", "opportunities": None,
    "activities": "at", "milestones": "completed_at", "churn_reasons": "at", "spend": None, "costs": None,
    "fx": "date",
}


def freshness_expr(wh: Warehouse) -> ir.Table:
    """{source, entity, rows, latest_load, latest_event} per source and fact table."""
    parts = []
    present = set(wh.list_tables())
    for name, col in EVENT_COLUMNS.items():
        if name not in present:
            continue
        t = wh.table(name)
        latest = t[col].cast("date").max() if col else ibis.null("date")
        g = t.group_by("source").aggregate(rows=t.count(), latest_load=t.ingested_at.max(), latest_event=latest)
        parts.append(g.select(source=g.source.cast("string"), entity=ibis.literal(name), rows=g.rows.cast("int64"),
                              latest_load=g.latest_load.cast("timestamp").cast("string"),
                              latest_event=g.latest_event.cast("date").cast("string")))
    return ibis.union(*parts).order_by(["source", "entity"])


def freshness(wh: Warehouse) -> list[dict]:
    """[{source, entity, rows, latest_load, latest_event}] sorted by source, then table. The two
    moments come back as ISO text from the engine, so a stored date no calendar library can hold
    (year 0, or past 9999) is shown as it is rather than failing the page."""
    return wh.to_pyarrow(freshness_expr(wh)).to_pylist()
