"""What a connector returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa


@dataclass
class ConnectorOutput:
    """Canonical tables read from a vendor export.

    entities: canonical table name -> rows (column names as in tenure.schema; values as text).
    identities: the vendor's customer/organization records (external_id, domain, name, email)
      used to map its ids to master accounts; None when the export carries master ids.
    identity_source: set when the entities' account_id holds the vendor's own ids.
    """

    source: str
    entities: dict[str, pa.Table] = field(default_factory=dict)
    identities: pa.Table | None = None
    identity_source: str | None = None
