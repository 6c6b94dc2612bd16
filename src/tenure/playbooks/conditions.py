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
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tenure.errors import InputError
from tenure.schema.portfolio import ACCOUNT_SUMMARY
from tenure.warehouse.expr import _, ibis, ir

# the account fields a condition may name: every account_summary column
ACCOUNT_FIELDS: tuple[str, ...] = tuple(ACCOUNT_SUMMARY.column_names)
OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_null")
# account fields that describe who the account is rather than how it is doing on a day
STATIC_FIELDS = frozenset({"account_id", "name", "domain", "segment", "region", "industry", "tier", "owner",
                           "owner_name"})
# account fields a past day rebuilds from the facts themselves (ARR from the contract lines)
FACT_FIELDS = frozenset({"status", "arr", "arr_change_90", "customer_since", "as_of"})


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

    def from_facts(self) -> bool:
        """Can it be tested on any past day from the facts alone (no snapshot history needed):
        a static field or attribute, or status, ARR, its 90-day change or the customer-since day?"""
        return self.is_static() or self.field in FACT_FIELDS

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


def accounts_table(wh: Any, attributes: Sequence[str] = (), *, fields: Sequence[str] | None = None,
                   as_of: date | None = None, known_at: date | datetime | None = None,
                   config: Any = None) -> ir.Table:
    """account_summary with one column `attr__<name>` per custom attribute named (its value as a
    number where it parses as one, else as text). With `as_of` (a day before the last refresh):
    the same columns for that day, rebuilt from the facts (`past_accounts_table`; only `fields`,
    default every column it can rebuild)."""
    if as_of is not None:
        return past_accounts_table(wh, config, as_of, sorted(PAST_FIELDS) if fields is None else fields,
                                   attributes, known_at)
    t = wh.table("account_summary")
    if not attributes:
        return t
    return t.left_join(_pivot(wh.table("account_attributes"), attributes), "account_id").drop("account_id_right")


def _pivot(a: ir.Table, attributes: Sequence[str]) -> ir.Table:
    a = a.filter(a.name.isin(list(attributes)))
    return a.group_by("account_id").aggregate(**{
        f"attr__{n}": a.value.max(where=a.name == n) for n in attributes}, **{
        f"num__{n}": a.value_number.max(where=a.name == n) for n in attributes})


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


def matching_accounts(wh: Any, conditions: Sequence[Condition], *, as_of: date | None = None,
                      known_at: date | datetime | None = None, config: Any = None) -> ir.Table:
    """account_id of every account meeting all conditions (an Ibis table, one column). Without
    `as_of`: on account_summary (the last refresh). With `as_of`: on the accounts as they were that
    day (`past_accounts_table`; needs `config` for ARR); a field with no history is refused."""
    fields = sorted({c.field for c in conditions if c.field})
    t = accounts_table(wh, attribute_names(conditions), fields=fields, as_of=as_of, known_at=known_at,
                       config=config)
    return t.filter(predicate(t, conditions)).select("account_id")


# --- the audience on a past day --------------------------------------------------------------
# account_summary holds the accounts as of the last refresh. On an earlier day the audience is
# rebuilt from the facts: who the account was (accounts / account_attributes: the version in
# force at the end of the day), ARR and status on the day (tenure.metrics.arr), health from the
# health history (health_scores) and churn risk from the stored scores (risk_scores), each the
# latest snapshot on or before the day. Fields with no history are refused, never read from today.
ACCOUNT_COLUMNS = ("name", "domain", "segment", "region", "industry", "tier", "owner", "owner_name")
PAST_FIELDS = frozenset({"account_id", *ACCOUNT_COLUMNS, "status", "arr", "arr_change_90", "customer_since",
                         "score", "band", "score_change_30", "band_30", "risk", "risk_drivers", "as_of"})
_SNAPSHOTS = {"score": "health_scores", "band": "health_scores", "score_change_30": "health_scores",
              "band_30": "health_scores", "risk": "risk_scores", "risk_drivers": "risk_scores"}


def summary_day(wh: Any) -> date | None:
    """The day account_summary describes (None when it is empty or missing)."""
    raw = getattr(wh, "raw", wh)
    if not raw.has_table("account_summary"):
        return None
    t = wh.table("account_summary")
    value = raw.execute(t.as_of.max())
    return _to_date(value)


def _to_date(value: Any) -> date | None:
    if value is None or value != value:  # None or NaT
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if hasattr(value, "date") and callable(value.date):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def past_day(wh: Any, as_of: date) -> date | None:
    """`as_of` when it is before the day account_summary describes (the audience must then be
    rebuilt from the facts of that day), else None (account_summary is the audience)."""
    day = summary_day(wh)
    return as_of if day is not None and as_of < day else None


def in_force(wh: Any, table: str, day: date) -> ir.Table:
    """`table` (accounts, account_attributes) as it stood at the end of `day`: each row's version
    known then (tenure.warehouse.versions.as_known); a row first recorded after the day counts with
    its first known version (the nearest record of how it was), so an account loaded later still
    has its segment of the time rather than none."""
    from tenure.schema import TABLES
    from tenure.schema.versions import versions_name
    from tenure.warehouse.versions import as_known

    raw = getattr(wh, "raw", wh)
    current = raw.table(table)
    known = as_known(raw, table, day)
    keys = list(TABLES[table].key)
    schema = current.schema()
    if not raw.has_table(versions_name(table)):
        return known
    v = raw.table(versions_name(table))
    # each row's first version: an aggregate joined back (a window in a filter does not compile on
    # PostgreSQL)
    starts = v.group_by(keys).aggregate(first_known=v.known_from.min())
    first = v.join(starts, [*keys, v.known_from == starts.first_known]).select(*current.columns)
    known_keys = known.select(*keys)
    later = first.anti_join(known_keys, keys).select(*current.columns).cast(schema)
    never = current.anti_join(known_keys, keys).anti_join(v.select(*keys).distinct(), keys)
    return known.cast(schema).union(later, distinct=False).union(never.select(*current.columns).cast(schema),
                                                                   distinct=False)


def _refuse(field: str, day: date, why: str) -> InputError:
    return InputError(f"audience field {field!r} cannot be tested on {day.isoformat()}: {why}; "
                      f"remove the condition, or evaluate on the last refresh day")


def _snapshot_day(wh: Any, table: str, day: date, field: str) -> date:
    raw = getattr(wh, "raw", wh)
    if not raw.has_table(table):
        raise _refuse(field, day, f"the warehouse has no {table} table")
    t = wh.table(table)
    found = _to_date(raw.execute(t.filter(t.as_of <= day).as_of.max()))
    if found is None:
        what = "health history" if table == "health_scores" else "churn-risk scores"
        raise _refuse(field, day, f"{table} ({what}) holds nothing on or before that day")
    return found


def past_fields(wh: Any, as_of: date) -> list[str]:
    """The account_summary columns `past_accounts_table` can give for `as_of`: every one it rebuilds,
    less health and risk when nothing was scored on or before the day."""
    missing = set()
    for table in set(_SNAPSHOTS.values()):  # one small query per snapshot table
        try:
            _snapshot_day(wh, table, as_of, table)
        except InputError:
            missing.add(table)
    return [f for f in sorted(PAST_FIELDS) if _SNAPSHOTS.get(f) not in missing]


def past_accounts_table(wh: Any, config: Any, as_of: date, fields: Sequence[str] = (),
                        attributes: Sequence[str] = (), known_at: date | datetime | None = None) -> ir.Table:
    """The account_summary columns in `fields` (plus account_id) and the `attr__`/`num__` columns of
    `attributes`, for every account as it was on `as_of`. Accounts and attributes: the versions in
    force at the end of `known_at` (default `as_of`); ARR from the contract lines as known at
    `known_at` (None: as corrected now); health and risk from the latest snapshot on or before
    `as_of`. InputError naming the field and the day for a field with no history (renewal fields,
    the open renewal stage; health or risk when nothing was scored by then)."""
    from tenure.metrics.arr import MONEY, arr_on
    from tenure.schema import TABLES
    from tenure.warehouse import IBIS_TYPES

    fields = list(dict.fromkeys(fields))
    for f in fields:
        if f not in PAST_FIELDS:
            raise _refuse(f, as_of, "it is kept only for the last refresh (account_summary), not per day")
    if any(f in ("arr", "arr_change_90", "status") for f in fields) and config is None:
        raise ValueError("past_accounts_table needs the config to compute ARR")
    raw = getattr(wh, "raw", wh)
    desc_day = known_at or as_of
    acc = in_force(wh, "accounts", desc_day)
    out = acc.select("account_id", *[c for c in ACCOUNT_COLUMNS if c in fields])
    types = {c.name: IBIS_TYPES[c.type] for c in TABLES["account_summary"].columns}
    cols: dict[str, Any] = {}
    zero = ibis.literal(0, MONEY)
    if any(f in ("arr", "arr_change_90", "status") for f in fields):
        now = arr_on(raw, config, as_of, known_at=known_at).select(aid=_.account_id, arr_now=_.arr)
        out = out.left_join(now, out.account_id == now.aid).drop("aid")
    if "arr_change_90" in fields:
        then = arr_on(raw, config, as_of - timedelta(days=90), known_at=known_at).select(aid=_.account_id,
                                                                                         arr_90=_.arr)
        out = out.left_join(then, out.account_id == then.aid).drop("aid")
    if any(f in ("customer_since", "status") for f in fields):
        from tenure.warehouse.versions import as_known

        lines = as_known(raw, "contract_lines", known_at)
        paid = lines.filter((lines.arr > 0) & (lines.start_date <= as_of))
        since = paid.group_by(aid=paid.account_id).aggregate(customer_since=paid.start_date.min())
        out = out.left_join(since, out.account_id == since.aid).drop("aid")
    health = [f for f in fields if _SNAPSHOTS.get(f) == "health_scores"]
    if health:
        d = _snapshot_day(wh, "health_scores", as_of, health[0])
        hs = wh.table("health_scores")
        h_now = hs.filter(hs.as_of == d).select(aid=_.account_id, score=_.score, band=_.band)
        h_30 = hs.filter(hs.as_of == d - timedelta(days=30)).select(bid=_.account_id, score_30=_.score,
                                                                    band_30=_.band)
        out = out.left_join(h_now, out.account_id == h_now.aid).drop("aid")
        out = out.left_join(h_30, out.account_id == h_30.bid).drop("bid")
    risk = [f for f in fields if _SNAPSHOTS.get(f) == "risk_scores"]
    if risk:
        d = _snapshot_day(wh, "risk_scores", as_of, risk[0])
        rs = wh.table("risk_scores")
        r = rs.filter(rs.as_of == d).select(aid=_.account_id, risk=_.probability, risk_drivers=_.drivers)
        out = out.left_join(r, out.account_id == r.aid).drop("aid")
    if any(f in ("arr", "arr_change_90", "status") for f in fields):
        cols["arr"] = out.arr_now.fill_null(zero)
    if "arr_change_90" in fields:
        cols["arr_change_90"] = cols["arr"] - out.arr_90.fill_null(zero)
    if "status" in fields:
        cols["status"] = ibis.cases((cols["arr"] > 0, "customer"), (out.customer_since.notnull(), "churned"),
                                    else_="prospect")
    if "score_change_30" in fields:
        cols["score_change_30"] = (out.score - out.score_30).round(1)
    if "as_of" in fields:
        cols["as_of"] = ibis.literal(as_of, "date")
    sel = {"account_id": out.account_id}
    for f in fields:
        if f != "account_id":
            sel[f] = (cols[f] if f in cols else out[f]).cast(types[f])
    t = out.select(**sel)
    if not attributes:
        return t
    a = in_force(wh, "account_attributes", desc_day)
    return t.left_join(_pivot(a, attributes), "account_id").drop("account_id_right")
