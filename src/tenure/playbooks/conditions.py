"""Conditions on accounts: the one small language audience filters, waits, branches and exit
goals share. A condition names an account_summary column (`field`) or a custom attribute
(`attribute`, table account_attributes) and one or more comparisons; a list of conditions holds
when all of them hold. Conditions compile to Ibis filters, so they run in the warehouse for every
account at once.

    {field: segment, in: [Enterprise, Mid-Market]}
    {field: arr, gte: 10000, lt: 250000}
    {attribute: plan_tier, eq: gold}
    {field: band, eq: green}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tenure.schema.portfolio import ACCOUNT_SUMMARY
from tenure.warehouse.expr import ibis, ir

# the account fields a condition may name: every account_summary column
ACCOUNT_FIELDS: tuple[str, ...] = tuple(ACCOUNT_SUMMARY.column_names)
OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_null")
# account fields that describe who the account is rather than how it is doing on a day
STATIC_FIELDS = frozenset({"account_id", "name", "domain", "segment", "region", "industry", "tier", "owner",
                           "owner_name"})


class Condition(BaseModel):
    """One test on one account field or custom attribute; every comparison given must hold."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: str | None = Field(None, description="an account_summary column, e.g. segment, arr, band, risk")
    attribute: str | None = Field(None, description="a custom attribute name (account_attributes)")
    eq: Any = None
    ne: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    not_in: list[Any] | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    is_null: bool | None = None

    @model_validator(mode="after")
    def _one_subject_some_test(self) -> Condition:
        if (self.field is None) == (self.attribute is None):
            raise ValueError("name exactly one of `field` (an account column) or `attribute` (a custom attribute)")
        if self.field is not None and self.field not in ACCOUNT_FIELDS:
            raise ValueError(f"unknown account field {self.field!r}; use one of: {', '.join(ACCOUNT_FIELDS)}")
        if not self.tests():
            raise ValueError("give at least one comparison: " + ", ".join(OPS))
        return self

    def tests(self) -> list[tuple[str, Any]]:
        out = []
        for op in OPS:
            value = getattr(self, "in_" if op == "in" else op)
            if value is not None:
                out.append((op, value))
        return out

    def is_static(self) -> bool:
        """Does it hold the same on every day (a custom attribute or a descriptive field)?"""
        return self.attribute is not None or self.field in STATIC_FIELDS

    @property
    def subject(self) -> str:
        return self.field or f"attribute {self.attribute}"

    def describe(self) -> str:
        return " and ".join(f"{self.subject} {op} {value}" for op, value in self.tests())


def _compare(col: ir.Value, op: str, value: Any) -> ir.BooleanValue:
    if op == "eq":
        return col == value
    if op == "ne":
        return col.isnull() | (col != value)
    if op == "in":
        return col.isin(list(value))
    if op == "not_in":
        return col.isnull() | ~col.isin(list(value))
    if op == "gt":
        return col > value
    if op == "gte":
        return col >= value
    if op == "lt":
        return col < value
    if op == "lte":
        return col <= value
    if op == "is_null":
        return col.isnull() if value else col.notnull()
    raise ValueError(op)


def attribute_names(conditions: Sequence[Condition]) -> list[str]:
    return sorted({c.attribute for c in conditions if c.attribute})


def accounts_table(wh: Any, attributes: Sequence[str] = ()) -> ir.Table:
    """account_summary with one column `attr__<name>` per custom attribute named (its value as a
    number where it parses as one, else as text)."""
    t = wh.table("account_summary")
    if not attributes:
        return t
    a = wh.table("account_attributes")
    a = a.filter(a.name.isin(list(attributes)))
    pivot = a.group_by("account_id").aggregate(**{
        f"attr__{n}": a.value.max(where=a.name == n) for n in attributes}, **{
        f"num__{n}": a.value_number.max(where=a.name == n) for n in attributes})
    return t.left_join(pivot, "account_id").drop("account_id_right")


def predicate(t: ir.Table, conditions: Sequence[Condition]) -> ir.BooleanValue:
    """All conditions as one boolean over `t` (from accounts_table with their attributes)."""
    out = ibis.literal(True)
    for c in conditions:
        for op, value in c.tests():
            if c.field is not None:
                col = t[c.field]
            else:
                numeric = op in ("gt", "gte", "lt", "lte") or isinstance(value, (int, float)) and not isinstance(
                    value, bool)
                col = t[f"num__{c.attribute}"] if numeric else t[f"attr__{c.attribute}"]
            out = out & _compare(col, op, value).fill_null(False)
    return out


def matching_accounts(wh: Any, conditions: Sequence[Condition]) -> ir.Table:
    """account_id of every account meeting all conditions (an Ibis table, one column)."""
    t = accounts_table(wh, attribute_names(conditions))
    return t.filter(predicate(t, conditions)).select("account_id")
