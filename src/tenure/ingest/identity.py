"""Identity resolution: the same customer arriving from several sources (CRM id, billing id,
support organization, email domain) maps to one master account.

Rules are tried in the order of `ingest.identity.match_on`; the first rule that finds any
candidate decides: exactly one candidate -> matched; several -> ambiguous (never merged, the
candidates are listed for a person to decide); none under every rule -> unmatched. A manual
mapping (`tenure accounts identities --set`) always wins and is never overwritten. Free-mail
domains never identify a company. The map is stored in `account_identities`; re-resolving is
idempotent."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa

from tenure.config import Config
from tenure.errors import InputError, NotFoundError
from tenure.ingest.validate import lit
from tenure.warehouse import Warehouse
from tenure.warehouse.staging import Stage
from tenure.warehouse.writes import upsert_arrow

RULE_SQL = {
    # candidate master accounts for each incoming record r, per rule
    "external_id": "SELECT r.external_id, a.account_id FROM {rec} r JOIN {acc} a ON a.account_id = r.external_id",
    "domain": "SELECT r.external_id, a.account_id FROM {rec} r JOIN {acc} a ON a.dom = r.dom WHERE r.dom IS NOT NULL",
    "email_domain": "SELECT r.external_id, a.account_id FROM {rec} r JOIN {acc} a ON a.dom = r.email_dom "
                    "WHERE r.email_dom IS NOT NULL",
    "name": "SELECT r.external_id, a.account_id FROM {rec} r JOIN {acc} a ON a.norm_name = r.norm_name "
            "WHERE r.norm_name <> ''",
}


def _domain_expr(col: str) -> str:
    """Normalize a web address or domain to a bare lower-case domain (https://www.Acme.com/x -> acme.com)."""
    return (f"NULLIF(regexp_replace(regexp_replace(regexp_replace(LOWER(TRIM({col})), '^[a-z]+://', ''), "
            f"'^www\\.', ''), '[/:?#].*$', ''), '')")


def resolve_identities(wh: Warehouse, config: Config, source: str, records: pa.Table) -> pa.Table:
    """Map a source's customer records (columns external_id, and optionally domain, name, email)
    to master accounts; store and return the resulting rows of account_identities."""
    if "external_id" not in records.column_names:
        raise InputError(f"{source}: identity records need an external_id column")
    wh.ensure_schema()
    con = wh.staging_engine()
    n = records.num_rows
    cols = {c: records.column(c).cast(pa.string()) if c in records.column_names else pa.nulls(n, pa.string())
            for c in ("external_id", "domain", "name", "email")}
    con.register("__id_in", pa.table(cols))
    ignore = ", ".join(lit(d.lower()) for d in config.ingest.identity.ignore_domains) or "''"
    norm = "regexp_replace(LOWER(COALESCE({c}, '')), '[^a-z0-9]|\\b(inc|llc|ltd|gmbh|corp|co)\\b', '', 'g')"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __id_rec AS SELECT DISTINCT ON (external_id) external_id, "
        f"CASE WHEN {_domain_expr('domain')} IN ({ignore}) THEN NULL ELSE {_domain_expr('domain')} END AS dom, "
        f"CASE WHEN LOWER(split_part(email, '@', 2)) IN ({ignore}) THEN NULL "
        f"ELSE NULLIF(LOWER(split_part(email, '@', 2)), '') END AS email_dom, "
        f"{norm.format(c='name')} AS norm_name, domain, name FROM __id_in WHERE external_id IS NOT NULL"
    )
    con.unregister("__id_in")
    accounts = wh.to_pyarrow(wh.table("accounts").select("account_id", "domain", "name"))
    con.register("__id_acc_in", accounts)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __id_acc AS SELECT account_id, {_domain_expr('domain')} AS dom, "
        f"{norm.format(c='name')} AS norm_name FROM __id_acc_in"
    )
    con.unregister("__id_acc_in")
    existing = wh.to_pyarrow(wh.table("account_identities").filter(lambda t: t.source == source))
    con.register("__id_old", existing)
    con.execute("CREATE OR REPLACE TEMP TABLE __id_prev AS SELECT * FROM __id_old")
    con.unregister("__id_old")
    # candidates per rule, in priority order
    parts = []
    for prio, rule in enumerate(config.ingest.identity.match_on):
        parts.append(f"SELECT {prio} AS prio, {lit(rule)} AS rule, c.* FROM "
                     f"({RULE_SQL[rule].format(rec='__id_rec', acc='__id_acc')}) c")
    # a record mapped before by a rule or by hand keeps its mapping (external_id rule on the map)
    parts.insert(0, "SELECT -2 AS prio, 'manual' AS rule, external_id, account_id FROM __id_prev "
                    "WHERE rule = 'manual' AND account_id IS NOT NULL")
    cand = " UNION ALL ".join(parts)
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    result = con.execute(
        f"""
        WITH cand AS (SELECT DISTINCT prio, rule, external_id, account_id FROM ({cand})),
        best AS (SELECT external_id, MIN(prio) AS prio FROM cand GROUP BY external_id),
        pick AS (
            SELECT c.external_id, ANY_VALUE(c.rule) AS rule, COUNT(DISTINCT c.account_id) AS n,
                   MIN(c.account_id) AS account_id, string_agg(DISTINCT c.account_id, ',' ORDER BY c.account_id) AS cands
            FROM cand c JOIN best b ON b.external_id = c.external_id AND b.prio = c.prio
            GROUP BY c.external_id)
        SELECT {lit(source)} AS source, r.external_id,
               CASE WHEN p.n = 1 THEN p.account_id END AS account_id,
               r.dom AS domain, r.name,
               CASE WHEN p.n IS NULL THEN NULL ELSE p.rule END AS rule,
               CASE WHEN p.n = 1 THEN 'matched' WHEN p.n > 1 THEN 'ambiguous' ELSE 'unmatched' END AS status,
               CASE WHEN p.n > 1 THEN p.cands END AS candidates,
               CAST({lit(now)} AS TIMESTAMP) AS resolved_at
        FROM __id_rec r LEFT JOIN pick p ON p.external_id = r.external_id
        ORDER BY r.external_id
        """
    )
    table = result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.fetch_arrow_table()
    _store(wh, table)
    return table


def _store(wh: Warehouse, rows: pa.Table) -> None:
    """Upsert identity rows; resolved_at only changes when the mapping changed."""
    upsert_arrow(wh, "account_identities", rows)


def identity_errors(stage: Stage, raw: str, wh: Warehouse, identity_source: str) -> str:
    """Map account_id of a vendor's staged rows `raw` to master ids through account_identities;
    return SQL of errors for rows that stay unmatched or ambiguous."""
    ids = wh.to_pyarrow(
        wh.table("account_identities").filter(lambda t: t.source == identity_source)
        .select("external_id", "account_id", "status", "candidates")
    )
    idmap = stage.temp_from_arrow("idmap", ids)
    stage.sql(f"ALTER TABLE {raw} ADD COLUMN __external_account VARCHAR")
    stage.sql(f"UPDATE {raw} SET __external_account = CAST(account_id AS VARCHAR)")
    stage.sql(
        f"UPDATE {raw} SET account_id = m.account_id FROM {idmap} m "
        f"WHERE m.external_id = {raw}.__external_account AND m.status = 'matched'"
    )
    src = lit(identity_source)
    return (
        f"SELECT r.__file, r.__row, 'account_id' AS \"column\", r.__external_account AS value, "
        f"CASE WHEN m.status = 'ambiguous' THEN 'ambiguous_account' ELSE 'unresolved_account' END AS reason, "
        f"CASE WHEN m.status = 'ambiguous' THEN {src} || ' account ' || r.__external_account "
        f"|| ' matches several master accounts: ' || COALESCE(m.candidates, '') "
        f"ELSE {src} || ' account ' || COALESCE(r.__external_account, '(empty)') "
        f"|| ' is not matched to a master account' END AS message "
        f"FROM {raw} r LEFT JOIN {idmap} m ON m.external_id = r.__external_account "
        f"WHERE m.status IS DISTINCT FROM 'matched'"
    )


def with_identity_errors(id_errors: str, err_sql: str) -> str:
    """Identity errors plus rule errors, without the unknown_account that an unmapped vendor id
    would also raise (the identity reason is the one a person can act on)."""
    return (f"WITH ide AS ({id_errors}), rule AS ({err_sql}) SELECT * FROM ide UNION ALL SELECT * FROM rule r "
            f"WHERE NOT (r.reason = 'unknown_account' AND EXISTS (SELECT 1 FROM ide i "
            f"WHERE i.__file = r.__file AND i.__row = r.__row))")


def set_identity(wh: Warehouse, source: str, external_id: str, account_id: str) -> None:
    """A person's decision: map (source, external_id) to account_id; wins over every rule."""
    wh.ensure_schema()
    known = wh.execute(wh.table("accounts").filter(lambda t: t.account_id == account_id).count())
    if not known:
        raise NotFoundError(f"no master account {account_id!r}")
    prev = wh.to_pyarrow(wh.table("account_identities").filter(
        lambda t: (t.source == source) & (t.external_id == external_id)))
    row = prev.to_pylist()[0] if prev.num_rows else {"domain": None, "name": None}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    _store(wh, pa.table({
        "source": [source], "external_id": [external_id], "account_id": [account_id],
        "domain": pa.array([row["domain"]], pa.string()), "name": pa.array([row["name"]], pa.string()),
        "rule": ["manual"], "status": ["matched"], "candidates": pa.array([None], pa.string()),
        "resolved_at": pa.array([now], pa.timestamp("us")),
    }))


def list_identities(wh: Warehouse, status: str | None = None, source: str | None = None) -> list[dict]:
    wh.ensure_schema()
    t = wh.table("account_identities")
    if status:
        t = t.filter(t.status == status)
    if source:
        t = t.filter(t.source == source)
    return wh.to_pyarrow(t.order_by(["source", "status", "external_id"])).to_pylist()
