"""Delighted's CSV export of responses (`--format delighted`) -> survey_responses.

Columns are matched by name, ignoring case, as Delighted's export names them (the fields of a
survey response in Delighted's API: id, person, survey_type, score, comment, created_at,
person_properties — http://delightedapp.com/docs/api/listing-survey-responses):

  Response ID -> response_id ("dl-" + id)        Score -> score
  Comment -> comment                            Response timestamp (or Created at, Date) -> responded_at
  Email -> contact_id (lower case) and the account's identity (its email domain)
  Survey type (nps, csat, ces; absent: nps) -> kind; the survey is survey_id "delighted-<kind>"
  a person property naming the account (Account ID, Company ID, Customer ID, account_id)
    -> account_id when present (matched to master accounts like any source's id), else the
    email's domain decides

Unix timestamps (as the API gives them) become ISO 8601. Other columns (Name, Permalink, Tags,
Notes, Delighted Source, other properties) are not stored."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tenure.errors import InputError
from tenure.ingest import readers
from tenure.ingest.connectors.base import ConnectorOutput
from tenure.ingest.connectors.surveys import clean, identities, respondents_to_entities

ALIASES = {
    "response_id": ("response id", "id", "response_id"),
    "score": ("score", "rating"),
    "comment": ("comment", "comments"),
    "responded_at": ("response timestamp", "created at", "created_at", "date", "timestamp"),
    "email": ("email", "email address", "person email"),
    "kind": ("survey type", "survey_type"),
    "account": ("account id", "account_id", "company id", "company_id", "customer id", "customer_id",
                "properties.account_id"),
}
REQUIRED = ("response_id", "score", "responded_at")


def epoch_to_iso(a: pa.Array) -> pa.Array:
    """Unix seconds (all digits) -> ISO 8601 UTC text; other values unchanged."""
    digits = pc.fill_null(pc.match_substring_regex(a, r"^\s*\d{9,11}\s*$"), False)
    secs = pc.cast(pc.if_else(digits, pc.utf8_trim_whitespace(a), None), pa.int64())
    ts = pc.cast(pc.cast(secs, pa.timestamp("s")), pa.string())
    return pc.if_else(digits, pc.binary_join_element_wise(ts, pa.array(["Z"] * len(a)), ""), a)


def read(path: Path) -> ConnectorOutput:
    src = readers.detect(path)
    if src.fmt != "csv":
        raise InputError(f"{path}: a Delighted export is read as CSV")
    batches = [b for _, b in readers.iter_batches(src)]
    header = readers.column_names(src)
    found = {key: next((c for c in header if c.strip().lower() in names), None) for key, names in ALIASES.items()}
    missing = [k for k in REQUIRED if found[k] is None]
    if missing:
        want = "; ".join(f"{k}: one of {', '.join(repr(a) for a in ALIASES[k])}" for k in missing)
        raise InputError(f"{path}: not a Delighted export: no column for {want} (the header has: "
                         f"{', '.join(header)})")
    if found["account"] is None and found["email"] is None:
        raise InputError(f"{path}: neither an Email column nor an account property (Account ID, Company ID, "
                         "Customer ID): there is no way to tell which account answered")
    t = pa.Table.from_batches(batches) if batches else None
    if t is None or t.num_rows == 0:
        return ConnectorOutput(source="delighted", entities={})
    n = t.num_rows

    def col(key: str) -> pa.Array:
        return t.column(found[key]).combine_chunks() if found[key] else pa.nulls(n, pa.string())

    email = pc.utf8_lower(clean(col("email")))
    account_key = clean(col("account")) if found["account"] else email
    account_key = pc.if_else(pc.is_valid(account_key), account_key, email)
    kind = pc.utf8_lower(pc.fill_null(clean(col("kind")), "nps"))
    rid = clean(col("response_id"))
    entities = respondents_to_entities(
        rows=t.column(readers.ROW).combine_chunks(),
        response_id=pc.if_else(pc.is_valid(rid), pc.binary_join_element_wise(pa.array(["dl"] * n), rid, "-"), rid),
        account_id=account_key, contact_id=email, responded_at=epoch_to_iso(clean(col("responded_at"))),
        survey_id=pc.binary_join_element_wise(pa.array(["delighted"] * n), kind, "-"), kind=kind,
        score=col("score"), comment=col("comment"), touchpoint=None, questions=[], score_header=found["score"])
    return ConnectorOutput(source="delighted", entities=entities, identities=identities(account_key, email),
                           identity_source="delighted")
