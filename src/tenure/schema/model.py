"""The shape of a table definition: every column of every warehouse table is declared once,
with its type, nullability, key membership, allowed values and documentation. The warehouse
creates tables from these definitions, ingestion validates files against them, and
docs/data-formats.md is checked against them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Logical types, mapped to engine types by the warehouse module.
#  string     text
#  int        64-bit integer
#  float      64-bit float
#  money      decimal(18,2) in the row's currency (or reporting currency for snapshots)
#  rate       decimal(20,10), e.g. an fx rate
#  date       calendar date (UTC)
#  month      a calendar month, stored as the date of its first day; files may say 2026-09
#  timestamp  instant, stored as UTC without time zone
#  bool       true/false (files may say true/false, yes/no, 1/0, t/f)
#  currency   ISO 4217 code, 3 upper-case letters
#  timezone   IANA time zone name, e.g. Europe/Berlin (stored as text, in its canonical spelling)
#  locale     BCP 47 language tag, e.g. de-DE or zh-Hant-TW (stored as text, canonical case)
LogicalType = Literal["string", "int", "float", "money", "rate", "date", "month", "timestamp", "bool", "currency",
                      "timezone", "locale"]


@dataclass(frozen=True)
class Column:
    name: str
    type: LogicalType
    description: str
    nullable: bool = True
    enum: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    references: str | None = None  # "accounts.account_id": the value must exist there
    in_file: Literal["required", "optional", "no"] = "optional"
    default: object | None = None  # value used when the column is missing from a file
    # the day something happened (not a forward-dated end, due or close date): the latest such day
    # across the facts is the default "as of" (tenure.warehouse.asof)
    event_time: bool = False
    # personal data: it identifies or describes a person (emails, people's names, user ids, IP
    # addresses) or is free text that may (comments, ticket bodies, notes); privacy work (export,
    # erasure, retention) finds what to act on by this mark, and docs/data-formats.md shows it
    personal: bool = False

    @property
    def required_in_file(self) -> bool:
        return self.in_file == "required"


@dataclass(frozen=True)
class RowCheck:
    """A rule across columns of one row, e.g. end_date >= start_date. `expr` is documentation;
    ingestion implements each check by name (see tenure.ingest.validate)."""

    name: str
    columns: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    kind: Literal["fact", "system", "snapshot", "history"] = "fact"
    checks: tuple[RowCheck, ...] = field(default_factory=tuple)
    # how ingestion loads rows: "upsert" by key (last row wins) or "append" and skip keys already
    # loaded (events, which never change once they happened); see tenure.ingest.pipeline
    load: Literal["upsert", "append"] = "upsert"

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(names) != len(set(names)):
            raise ValueError(f"table {self.name}: duplicate column names")
        missing = [k for k in self.key if k not in names]
        if missing:
            raise ValueError(f"table {self.name}: key columns {missing} are not columns")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")

    @property
    def file_columns(self) -> list[Column]:
        """Columns a source file may carry (excludes lineage columns tenure fills in)."""
        return [c for c in self.columns if c.in_file != "no"]


def lineage_columns() -> tuple[Column, ...]:
    """source and ingested_at, carried by every fact table."""
    return (
        Column("source", "string", "where the row came from (e.g. csv, stripe, salesforce)", nullable=False, in_file="no"),
        Column("ingested_at", "timestamp", "when tenure last wrote this row (UTC)", nullable=False, in_file="no"),
    )
