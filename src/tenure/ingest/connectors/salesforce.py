"""Salesforce report CSVs (Account, Contact, Opportunity) -> accounts, contacts, opportunities.

Both API field names and report column labels are accepted (e.g. `Id` or `Account ID`). The
file's kind is recognized from its columns. Salesforce is treated as the system of record for
accounts: the Salesforce Account Id becomes the master account_id, so contacts and
opportunities need no identity mapping; accounts are also stored as identity records.

  Account:     Id -> account_id, Name -> name, Website -> domain, Industry -> industry,
               Type -> segment when it is a segment name, BillingCountry -> region,
               Owner (OwnerId / Account Owner) -> owner, CreatedDate -> created_at
  Contact:     Id -> contact_id, AccountId -> account_id, Email, FirstName + LastName -> name,
               Title -> title, Role (Contact Role / Role__c) -> role
  Opportunity: Id -> opportunity_id, AccountId -> account_id, Type -> kind (New Business -> new,
               Renewal -> renewal, Upsell / Expansion / Existing Business -> expansion),
               Amount -> amount, CurrencyIsoCode -> currency (default USD), StageName -> stage,
               IsWon / IsClosed -> status won / lost / open, Probability (0-100) -> probability (0-1),
               CloseDate -> close_date
  All three:   SystemModstamp (or LastModifiedDate) -> updated_at (the version is known from then)
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tenure.errors import InputError
from tenure.ingest import readers
from tenure.ingest.connectors.base import ConnectorOutput

ALIASES = {
    "Id": ["Id", "Account ID", "Contact ID", "Opportunity ID"],
    "AccountId": ["AccountId", "Account ID"],
    "Name": ["Name", "Account Name", "Opportunity Name"],
    "Website": ["Website"],
    "Industry": ["Industry"],
    "Type": ["Type", "Account Type", "Opportunity Type"],
    "BillingCountry": ["BillingCountry", "Billing Country"],
    "Owner": ["Owner", "OwnerId", "Account Owner", "Owner Name"],
    "CreatedDate": ["CreatedDate", "Created Date"],
    "Email": ["Email"],
    "FirstName": ["FirstName", "First Name"],
    "LastName": ["LastName", "Last Name"],
    "Title": ["Title"],
    "Role": ["Role", "Contact Role", "Role__c"],
    "StageName": ["StageName", "Stage"],
    "Amount": ["Amount"],
    "Probability": ["Probability", "Probability (%)"],
    "CloseDate": ["CloseDate", "Close Date"],
    "IsWon": ["IsWon", "Won"],
    "IsClosed": ["IsClosed", "Closed"],
    "CurrencyIsoCode": ["CurrencyIsoCode", "Opportunity Currency", "Currency"],
    "Modstamp": ["SystemModstamp", "System Modstamp", "LastModifiedDate", "Last Modified Date"],
}
KIND = {"new business": "new", "new": "new", "renewal": "renewal", "upsell": "expansion",
        "expansion": "expansion", "existing business": "expansion", "cross-sell": "expansion"}
ROLE = {"executive sponsor": "exec_sponsor", "decision maker": "exec_sponsor", "economic buyer": "exec_sponsor",
        "champion": "champion", "business user": "user", "user": "user", "billing": "billing",
        "technical buyer": "admin", "admin": "admin"}


def _col(t: pa.Table, field: str) -> pa.ChunkedArray | None:
    for name in ALIASES[field]:
        if name in t.column_names:
            return t[name]
    return None


def _map(arr: pa.ChunkedArray | None, mapping: dict[str, str], n: int) -> pa.Array:
    if arr is None:
        return pa.nulls(n, pa.string())
    low = pc.utf8_lower(pc.utf8_trim_whitespace(arr)).to_pylist()
    return pa.array([mapping.get(v, v) if v else None for v in low], pa.string())


def read(path: Path) -> ConnectorOutput:
    src = readers.detect(path)
    if src.fmt != "csv":
        raise InputError(f"{path}: Salesforce reports are read as CSV")
    t = pa.Table.from_batches([b for _, b in readers.iter_batches(src)]).drop_columns([readers.ROW])
    n = t.num_rows
    empty = pa.nulls(n, pa.string())
    cols = set(t.column_names)
    if _col(t, "StageName") is not None:
        won = _col(t, "IsWon")
        closed = _col(t, "IsClosed")
        truthy = {"true", "1", "yes"}
        status = [("won" if str(w).lower() in truthy else "lost" if str(c).lower() in truthy else "open")
                  for w, c in zip((won or pa.array([None] * n)).to_pylist(),
                                  (closed or pa.array([None] * n)).to_pylist())]
        prob = _col(t, "Probability")
        prob01 = pc.divide(pc.cast(pc.if_else(pc.equal(prob, ""), None, prob), pa.float64()), 100.0) \
            if prob is not None else empty
        cur = _col(t, "CurrencyIsoCode")
        opp = pa.table({
            "opportunity_id": _col(t, "Id"), "account_id": _col(t, "AccountId"),
            "kind": _map(_col(t, "Type"), KIND, n), "amount": _col(t, "Amount"),
            "currency": cur if cur is not None else pa.array(["USD"] * n), "stage": _col(t, "StageName"),
            "status": pa.array(status), "probability": pc.cast(prob01, pa.string()),
            "close_date": _col(t, "CloseDate"), "updated_at": _col(t, "Modstamp") or empty,
        })
        return ConnectorOutput(source="salesforce", entities={"opportunities": opp})
    if _col(t, "Email") is not None or {"FirstName", "First Name"} & cols:
        first, last = _col(t, "FirstName"), _col(t, "LastName")
        name = pc.utf8_trim_whitespace(pc.binary_join_element_wise(first or empty, last or empty, " ")) \
            if first is not None or last is not None else empty
        con = pa.table({"contact_id": _col(t, "Id"), "account_id": _col(t, "AccountId"),
                        "email": _col(t, "Email") or empty, "name": name, "title": _col(t, "Title") or empty,
                        "role": _map(_col(t, "Role"), ROLE, n), "updated_at": _col(t, "Modstamp") or empty})
        return ConnectorOutput(source="salesforce", entities={"contacts": con})
    if _col(t, "Id") is None or _col(t, "Name") is None:
        raise InputError(f"{path}: not a Salesforce Account, Contact or Opportunity report "
                         f"(columns: {', '.join(t.column_names)})")
    website = _col(t, "Website")
    acc = pa.table({
        "account_id": _col(t, "Id"), "name": _col(t, "Name"),
        "domain": pc.replace_substring_regex(pc.utf8_lower(website), r"^(https?://)?(www\.)?|/.*$", "")
        if website is not None else empty,
        "segment": _col(t, "Type") or empty, "region": _col(t, "BillingCountry") or empty,
        "industry": _col(t, "Industry") or empty, "owner": _col(t, "Owner") or empty,
        "created_at": _col(t, "CreatedDate") or empty, "updated_at": _col(t, "Modstamp") or empty,
    })
    identities = pa.table({"external_id": acc["account_id"], "domain": acc["domain"], "name": acc["name"]})
    return ConnectorOutput(source="salesforce", entities={"accounts": acc}, identities=identities,
                           identity_source=None)
