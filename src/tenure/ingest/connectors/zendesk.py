"""Zendesk ticket export (Ticket API JSON: {"tickets": [...]}) -> tickets.

Organizations come from `organizations.json` beside the tickets file ({"organizations": [...]},
Zendesk's Organization API shape); each organization is an identity record (external_id = the
Zendesk organization id, domain = its first domain_names entry, name) resolved to a master
account. Mapping:

  id -> ticket_id (prefixed "zd-")         organization_id -> account_id (via identities)
  created_at -> opened_at                  priority (low/normal/high/urgent) -> priority
  status -> status                         subject -> subject; description -> body
  satisfaction_rating.score: good -> csat 5, bad -> csat 1, offered/unoffered -> empty
  tags containing "escalated" -> escalated = true
  status solved/closed: updated_at -> resolved_at (Zendesk's export has no solved time without
  ticket metrics; metric_set.solved_at is used when present)
  updated_at -> updated_at (the ticket's modification time: this version is known from then)
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from tenure.errors import InputError
from tenure.ingest.connectors.base import ConnectorOutput

CSAT = {"good": "5", "bad": "1"}


def _load(path: Path, key: str) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not a Zendesk JSON export: {err}") from None
    if isinstance(data, dict) and key in data:
        return data[key]
    if isinstance(data, list):
        return data
    raise InputError(f"{path}: expected an object with a {key!r} list (Zendesk's export shape)")


def read(path: Path) -> ConnectorOutput:
    path = Path(path)
    tickets_file = path / "tickets.json" if path.is_dir() else path
    tickets = _load(tickets_file, "tickets")
    orgs_file = tickets_file.parent / "organizations.json"
    orgs = _load(orgs_file, "organizations") if orgs_file.exists() else []

    def s(v):
        return None if v is None else str(v)

    cols: dict[str, list] = {k: [] for k in ("ticket_id", "account_id", "opened_at", "first_response_at",
                                             "resolved_at", "priority", "status", "csat", "subject", "body",
                                             "escalated", "updated_at")}
    for t in tickets:
        sat = (t.get("satisfaction_rating") or {}).get("score")
        metrics = t.get("metric_set") or {}
        solved = t.get("status") in ("solved", "closed")
        cols["ticket_id"].append(f"zd-{t.get('id')}")
        cols["account_id"].append(s(t.get("organization_id")))
        cols["opened_at"].append(s(t.get("created_at")))
        cols["first_response_at"].append(s(metrics.get("replied_at")))
        cols["resolved_at"].append(s(metrics.get("solved_at") or (t.get("updated_at") if solved else None)))
        cols["priority"].append(s(t.get("priority")))
        cols["status"].append(s(t.get("status")))
        cols["csat"].append(CSAT.get(sat))
        cols["subject"].append(s(t.get("subject")))
        cols["body"].append(s(t.get("description")))
        cols["escalated"].append("true" if "escalated" in (t.get("tags") or []) else "false")
        cols["updated_at"].append(s(t.get("updated_at")))
    identities = pa.table({
        "external_id": pa.array([s(o.get("id")) for o in orgs], pa.string()),
        "domain": pa.array([(o.get("domain_names") or [None])[0] for o in orgs], pa.string()),
        "name": pa.array([s(o.get("name")) for o in orgs], pa.string()),
    })
    return ConnectorOutput(source="zendesk", entities={"tickets": pa.table({k: pa.array(v, pa.string())
                                                                             for k, v in cols.items()})},
                           identities=identities, identity_source="zendesk")
