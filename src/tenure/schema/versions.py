"""History tables of the mutable facts: every version of a row, with the time it became known.

A mutable fact (an account, a contact, a contract line, an opportunity, a ticket, an account
attribute) changes after it is first recorded: a line's end date is written when it is
cancelled, a contact's role is edited. The fact table holds the latest version (what pages
read); `<table>_versions` holds every version with `known_from` (when it became known: the
source's modification time `updated_at` where the file has one, else the ingest run's time) and
`known_to` (when a later version replaced it; empty for the current one). Backtests read the
versions known at their cutoff (tenure.warehouse.versions.as_known), so they never see a
change recorded after it. See docs/facts-as-known.md.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from tenure.schema.facts import FACT_TABLES
from tenure.schema.model import Column, Table

# Mutable fact -> the column holding the source's modification time (None: the table has none).
VERSIONED: dict[str, str | None] = {
    "accounts": "updated_at",
    "account_attributes": None,
    "contacts": "updated_at",
    "contract_lines": "updated_at",
    "opportunities": "updated_at",
    "tickets": "updated_at",
}
# A table whose rows arrive inside another table's file takes that row's modification time:
# table -> (the other table, the column joining them).
MODIFIED_WITH: dict[str, tuple[str, str]] = {"account_attributes": ("accounts", "account_id")}


def versions_name(table: str) -> str:
    """The history table of a mutable fact table, e.g. contacts -> contacts_versions."""
    return f"{table}_versions"


def _history(table: Table) -> Table:
    columns = tuple(dataclasses.replace(c, references=None, in_file="no") for c in table.columns)
    return Table(
        versions_name(table.name),
        f"Every version of a {table.name} row with when it became known (see docs/facts-as-known.md).",
        (
            *columns,
            Column("known_from", "timestamp", "when this version became known (UTC): the source's modification "
                   "time, else the ingest run's time", nullable=False, in_file="no"),
            Column("known_to", "timestamp", "when a later version replaced it (UTC; empty = the current version)",
                   in_file="no"),
        ),
        key=(*table.key, "known_from"),
        kind="history",
    )


HISTORY_TABLES: tuple[Table, ...] = tuple(_history(t) for t in FACT_TABLES if t.name in VERSIONED)


KNOWN_AT_HELP = ("facts as known at the end of this day (YYYY-MM-DD), at an instant (ISO time), or 'latest' "
                 "(default: the end of --as-of when given, else the latest)")


def resolve_known_at(value: str | None, as_of: date | None) -> date | datetime | None:
    """The `--known-at` of a command: 'latest' -> None (every fact's latest version), a day, or an
    instant; without it, the end of `as_of` (the `--as-of` the user gave, None when not given).
    Kept here, free of engine imports, so commands load fast."""
    from tenure.errors import InputError

    if value is None:
        return as_of
    text = value.strip()
    if text.lower() in ("latest", "now"):
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--known-at {value!r} is not a day (YYYY-MM-DD), an ISO time or 'latest'") from None
