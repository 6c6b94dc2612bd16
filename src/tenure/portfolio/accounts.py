"""Which accounts: the portfolio list (filtered, sorted, paged, scoped), its CSV export, and who
owns an account. Rows are `account_summary` rows as plain values (see `portfolio.read`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from tenure.errors import InputError, NotFoundError
from tenure.portfolio.read import Page, Params, arr_at_risk, ask, ask_arrow, owners_list, scope_shape, scope_values, scoped, \
    table
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis, ir

__all__ = ["MAX_PAGE_SIZE", "SORTABLE", "AccountFilter", "AccountPage", "Page", "choices", "export_accounts", "list_accounts",
           "owner_names", "owner_of"]

SORTABLE: tuple[str, ...] = (
    "arr", "account_id", "name", "segment", "region", "industry", "tier", "owner", "status", "score", "band",
    "score_change_30", "risk", "arr_change_90", "customer_since", "renewal_date", "days_to_renewal",
    "renewal_arr", "arr_at_risk",
)
MAX_PAGE_SIZE = 500


@dataclass
class AccountFilter:
    """q: case-insensitive substring of account_id, name or domain. status: customer | churned |
    prospect | None (all). An equality filter may be one value or a list of values.
    owners: the accounts.owner values the caller may see (None = all)."""

    q: str | None = None
    segment: str | None = None
    region: str | None = None
    owner: str | None = None
    band: str | None = None
    tier: str | None = None
    status: str | None = "customer"
    min_risk: float | None = None
    renewal_within_days: int | None = None
    owners: Sequence[str] | None = None


@dataclass
class AccountPage(Page):
    """A page of accounts with the totals of every matching account (not just this page): ARR and
    ARR at risk, reporting currency."""

    arr: float = 0.0
    arr_at_risk: float = 0.0


_EQ_FILTERS = ("segment", "region", "owner", "band", "tier", "status")


def _filter_shape(flt: AccountFilter) -> tuple[tuple, dict[str, Any]]:
    """(shape, values) of a filter: the shape keys the built question, the values are bound."""
    owners = owners_list(flt.owners)
    shape: list = [("owners", scope_shape(owners))]
    values: dict[str, Any] = scope_values(owners)
    q = (flt.q or "").strip().lower()
    if q:
        shape.append("q")
        values["q"] = q
    for col in _EQ_FILTERS:
        v = getattr(flt, col)
        if v is None or v == "":
            continue
        if isinstance(v, (list, tuple, set, frozenset)):
            v = sorted(str(x) for x in v)
            shape.append((col, len(v)))
            values.update({f"{col}{i}": x for i, x in enumerate(v)})
        else:
            shape.append((col, None))
            values[col] = str(v)
    if flt.min_risk is not None:
        shape.append("min_risk")
        values["min_risk"] = float(flt.min_risk)
    if flt.renewal_within_days is not None:
        shape.append("renewal")
        values["renewal"] = int(flt.renewal_within_days)
    return tuple(shape), values


def _filtered(wh: Warehouse, shape: tuple, P: Params) -> ir.Table:
    s = table(wh, "account_summary")
    s = s.mutate(arr_at_risk=arr_at_risk(s))
    preds = []
    for item in shape:
        if item == "q":
            q = P("q")
            preds.append(s.account_id.lower().contains(q) | s.name.lower().contains(q) | s.domain.lower().contains(q))
        elif item == "min_risk":
            preds.append(s.risk >= P("min_risk", "float64"))
        elif item == "renewal":
            preds.append((s.days_to_renewal >= 0) & (s.days_to_renewal <= P("renewal", "int64")))
        elif item[0] == "owners":
            s = scoped(s, item[1], P)
        else:
            col, n = item
            preds.append(s[col] == P(col) if n is None else s[col].isin([P(f"{col}{i}") for i in range(n)]))
    return s.filter(*preds) if preds else s


def _check_sort(sort: str) -> None:
    if sort not in SORTABLE:
        raise InputError(f"cannot sort by {sort!r}; one of {', '.join(SORTABLE)}")


def _order(t: ir.Table, sort: str, descending: bool) -> ir.Table:
    if sort == "arr_at_risk":
        key = t.arr_at_risk
    elif sort == "band":
        key = t.band.cases(("red", 0), ("yellow", 1), ("green", 2), else_=None)
    else:
        key = t[sort]
    key = key.desc(nulls_first=False) if descending else key.asc(nulls_first=False)
    return t.order_by([key] if sort == "account_id" else [key, t.account_id.asc()])


def list_accounts(wh: Warehouse, flt: AccountFilter, sort: str = "arr", descending: bool = True, page: int = 1,
                  page_size: int = 50) -> AccountPage:
    """One page of the matching accounts (each with its arr_at_risk), how many match, and their
    total ARR and ARR at risk. page_size is capped at MAX_PAGE_SIZE;
    an unknown sort is an InputError."""
    _check_sort(sort)
    page = max(1, int(page or 1))
    page_size = max(1, min(int(page_size or 50), MAX_PAGE_SIZE))
    shape, values = _filter_shape(flt)
    descending = bool(descending)
    rows = ask(wh, ("accounts", shape, sort, descending),
               lambda P: _order(_filtered(wh, shape, P), sort, descending), values,
               limit=page_size, offset=(page - 1) * page_size)
    # two questions: a window count over every matching row would defeat the engine's top-N
    totals = ask(wh, ("accounts_totals", shape),
                 lambda P: _filtered(wh, shape, P).aggregate(n=lambda t: t.count(), arr=lambda t: t.arr.sum(),
                                                              arr_at_risk=lambda t: t.arr_at_risk.sum()), values)[0]
    return AccountPage(rows=rows, total=int(totals["n"]), page=page, page_size=page_size,
                       arr=float(totals["arr"] or 0), arr_at_risk=float(totals["arr_at_risk"] or 0))


def export_accounts(wh: Warehouse, flt: AccountFilter, sort: str = "arr", descending: bool = True) -> pa.Table:
    """Every matching row (not paged) as Arrow, money as float64: for CSV export."""
    _check_sort(sort)
    shape, values = _filter_shape(flt)
    descending = bool(descending)
    return ask_arrow(wh, ("accounts", shape, sort, descending),
                     lambda P: _order(_filtered(wh, shape, P), sort, descending), values)


def owner_of(wh: Warehouse, account_id: str) -> str | None:
    """The account's owner (None when it has none); NotFoundError when there is no such account."""
    def build(P: Params) -> ir.Table:
        a = table(wh, "accounts")
        return a.filter(a.account_id == P("id")).select("owner").limit(1)

    rows = ask(wh, ("owner_of",), build, {"id": account_id})
    if not rows:
        raise NotFoundError(f"no account {account_id!r}")
    return rows[0]["owner"]


def owner_names(wh: Warehouse, owners: Sequence[str] | None = None) -> dict[str, str]:
    """{owner id: the CSM's name} for the owners in the book (None = all) that have a name
    (accounts.owner_name; the first name in alphabetical order should two accounts disagree).
    One row per CSM comes back from the engine."""
    owners = owners_list(owners)
    n = scope_shape(owners)

    def build(P: Params) -> ir.Table:
        a = scoped(table(wh, "accounts"), n, P)
        a = a.filter(a.owner.notnull() & a.owner_name.notnull() & (a.owner_name.strip() != ""))
        return a.group_by("owner").aggregate(owner_name=a.owner_name.min()).order_by("owner")

    return {r["owner"]: r["owner_name"] for r in ask(wh, ("owner_names", n), build, scope_values(owners))}


CHOICE_COLUMNS = ("segment", "region", "tier", "owner")


def choices(wh: Warehouse, owners: Sequence[str] | None = None) -> dict[str, list]:
    """The values the portfolio's filters offer, from the data in the book (None = all):
    {"segment" | "region" | "tier": [values, sorted], "owner": [(owner id, name or id), by name]}.
    One query whose rows are the distinct values (the engine finds them)."""
    owners = owners_list(owners)
    n = scope_shape(owners)

    def build(P: Params) -> ir.Table:
        s = scoped(table(wh, "account_summary"), n, P)
        parts = []
        for col in CHOICE_COLUMNS:
            v = s.filter(s[col].notnull() & (s[col] != ""))
            g = v.group_by(col).aggregate(label=(v.owner_name.min() if col == "owner" else v[col].min()))
            parts.append(g.select(column=ibis.literal(col), value=g[col].cast("string"),
                                  label=g.label.fill_null(g[col]).cast("string")))
        return ibis.union(*parts)

    rows = ask(wh, ("choices", n), build, scope_values(owners))
    out: dict[str, list] = {c: sorted(r["value"] for r in rows if r["column"] == c) for c in CHOICE_COLUMNS[:3]}
    out["owner"] = sorted(((r["value"], r["label"]) for r in rows if r["column"] == "owner"),
                          key=lambda kv: (kv[1].lower(), kv[0]))
    return out
