"""Segment track events (JSON lines, Segment's Tracking API spec) -> usage_events.

`group` calls map a groupId to a company (traits.website / traits.domain / traits.name); each
group is an identity record (external_id = groupId) resolved to a master account. `track`
calls become events: account_id = context.groupId (or properties.groupId), user_id = userId
(or anonymousId), ts = timestamp, feature = event, quantity = properties.quantity (default 1).
Other call types (identify, page, screen) are skipped and counted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from tenure.errors import InputError
from tenure.ingest.connectors.base import ConnectorOutput


def read(path: Path) -> ConnectorOutput:
    import gzip

    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    ev: dict[str, list] = {k: [] for k in ("account_id", "user_id", "ts", "feature", "quantity")}
    groups: dict[str, dict] = {}
    with opener(path, "rt", encoding="utf-8-sig") as f:  # type: ignore[operator]
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{path}: line {lineno} is not JSON: {err.msg}") from None
            kind = msg.get("type")
            props = msg.get("properties") or {}
            if kind == "group" and msg.get("groupId"):
                traits = msg.get("traits") or {}
                groups[str(msg["groupId"])] = {"domain": traits.get("website") or traits.get("domain"),
                                               "name": traits.get("name")}
            elif kind == "track":
                ctx = msg.get("context") or {}
                gid = ctx.get("groupId") or props.get("groupId")
                ev["account_id"].append(None if gid is None else str(gid))
                ev["user_id"].append(msg.get("userId") or msg.get("anonymousId"))
                ev["ts"].append(msg.get("timestamp"))
                ev["feature"].append(msg.get("event"))
                q = props.get("quantity")
                ev["quantity"].append(None if q is None else str(q))
    identities = pa.table({"external_id": pa.array(list(groups), pa.string()),
                           "domain": pa.array([g["domain"] for g in groups.values()], pa.string()),
                           "name": pa.array([g["name"] for g in groups.values()], pa.string())})
    return ConnectorOutput(source="segment",
                           entities={"usage_events": pa.table({k: pa.array(v, pa.string()) for k, v in ev.items()})},
                           identities=identities, identity_source="segment")
