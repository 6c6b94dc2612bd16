"""Questions the web app and API ask about accounts, answered in the engine (Ibis) from the
`account_summary` snapshot and the fact tables. Every function takes `owners`: the accounts.owner
values the caller may see (None = all), so book-of-business scoping is applied in one place.

CONTRACT (used by tenure.api.routers and tenure.web.pages; keep signatures stable):

    SORTABLE: tuple[str, ...]   columns list_accounts can sort by

    @dataclass AccountFilter(q=None, segment=None, region=None, owner=None, band=None, tier=None,
                             status="customer", min_risk=None, renewal_within_days=None,
                             owners=None)
        q: case-insensitive substring of account_id, name or domain. status: customer | churned |
        prospect | None (all). owners: scope (list of accounts.owner values) or None.

    @dataclass Page(rows: list[dict], total: int, page: int, page_size: int)   (+ .pages property)

    list_accounts(wh, flt, sort="arr", descending=True, page=1, page_size=50) -> Page
        rows are account_summary rows as plain dicts (dates as date, money as float, risk_drivers
        parsed to a list). page_size is capped at 500. Unknown sort -> InputError.
    export_accounts(wh, flt, sort="arr", descending=True) -> pyarrow.Table   (all matching rows)
    get_account(wh, account_id) -> dict | None        (summary row + "contacts": [..] + attributes)
    timeline(wh, account_id, limit=200) -> list[dict]
        newest first; each {"at": datetime|date, "kind": contract|ticket|survey|activity|milestone|
        signal|churn|opportunity|invoice, "title": str, "detail": str, plus kind-specific keys}.
    usage_series(wh, account_id, days=180) -> list[{"day": date, "events": float, "active_users": int}]
    health_history(wh, account_id) -> list[{"as_of", "score", "band", "components": [...]}]
    renewals(wh, owners, within_days=180, limit=500) -> list[dict]
        accounts whose renewal_date is within the window, soonest first, with "renewal_probability"
        (the band -> renewal-probability table from the health validation) and
        "expected_renewal_arr" = renewal_arr x renewal_probability.
    renewal_totals(wh, owners, within_days=180) -> {"accounts", "renewal_arr", "expected_renewal_arr"}
        the same window summed in the engine (all rows, not only a page's).
    changes_since(wh, owners, days=7) -> list[dict]
        band moves (band_30 vs band or score change), new early-warning signals, risk jumps.
    band_distribution(wh, owners=None) -> list[{"as_of": date, "band": str, "accounts": int, "arr": float}]
        from the health_scores history (one row per snapshot day and band).
    top_risks(wh, owners=None, limit=10) -> list[dict]   by ARR at risk (arr x risk), highest first
    owner_of(wh, account_id) -> str | None  (NotFoundError when the account does not exist)

Details beyond the contract:
    get_account adds "attributes": {name: value}; a row is built from `accounts` alone (status
    and numbers empty) when the account exists but the summary was not refreshed since.
    timeline rows carry "id" (the source row's key) and, per kind, "value" (ARR, amount, score)
    and "tag" (priority, severity, stage, survey kind ...).
    changes_since(wh, owners, days=7, limit=500): at most `limit` rows (biggest ARR first per kind);
    rows: {"kind": band|signal|risk, "at", "account_id", "name", "owner", "arr",
    "title", "detail", ...}.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tenure.errors import InputError, NotFoundError
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import _, dt, ibis, ir

SORTABLE: tuple[str, ...] = (
    "arr", "account_id", "name", "segment", "region", "industry", "tier", "owner", "status", "score", "band",
    "score_change_30", "risk", "arr_change_90", "customer_since", "renewal_date", "days_to_renewal",
    "renewal_arr", "arr_at_risk",
)
MAX_PAGE_SIZE = 500
BAND_ORDER = {"red": 0, "yellow": 1, "green": 2}


@dataclass
class AccountFilter:
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
class Page:
    rows: list[dict] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = 50

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size)) if self.page_size else 1


# -- running a question: Ibis builds the SQL once per shape, later calls only bind values ---------
#
# Building and compiling an Ibis expression costs 5-80 ms of Python; a page view asks several
# questions. Each question is built by a function of a parameter factory `P`: the first call of a
# shape (which filters are set, the sort, how many owners) builds it with placeholder literals,
# compiles it with Ibis, and keeps the SQL with the placeholders turned into bind parameters; later
# calls bind the values and run it. Engines without bind parameters (Spark) run the expression
# built with the literal values.

_INT_BASE = 7_770_000_000  # placeholder integers (limit/offset) look like 7770000000 + k
_PLACEHOLDER = re.compile(r"'__tp_([a-z0-9_]+)__'|\b(777000000\d)\b")


class _Params:
    def __init__(self, values: dict[str, Any], placeholders: bool):
        self.values, self.placeholders = values, placeholders
        self.ints: dict[int, str] = {}

    def __call__(self, name: str, type: str = "string") -> ir.Value:
        if self.placeholders:
            lit = ibis.literal(f"__tp_{name}__")
            return lit if type == "string" else lit.cast(type)
        return ibis.literal(self.values[name], type)

    def int(self, name: str) -> int:
        """An integer that must be a Python int for Ibis (limit, offset)."""
        if not self.placeholders:
            return int(self.values[name])
        k = _INT_BASE + len(self.ints)
        self.ints[k] = name
        return k


@dataclass
class _Compiled:
    sql: str
    order: list[str]
    names: list[str]
    convert: list[Callable[[Any], Any] | None]


_compiled: dict[tuple, _Compiled] = {}
_compiled_lock = threading.Lock()


def _t(wh: Warehouse, name: str) -> ir.Table:
    """The table `name`, created on first use; cached on the connection (no catalog lookup per call)."""
    cache = wh.__dict__.setdefault("_portfolio_tables", {})
    t = cache.get(name)
    if t is None:
        t = cache[name] = wh.table(name)
    return t


def _float(v):
    return None if v is None else float(v)


def _date(v):
    return v.date() if isinstance(v, datetime) else v


def _drivers(v):
    return json.loads(v) if v else []


def _converter(name: str, dtype: dt.DataType):
    if name == "risk_drivers":
        return _drivers
    if dtype.is_decimal():
        return _float
    if dtype.is_date():
        return _date
    return None


def _compile(wh: Warehouse, key: tuple, build: Callable[[_Params], ir.Table]) -> _Compiled:
    P = _Params({}, True)
    expr = build(P)
    sql = str(ibis.to_sql(expr))
    mark = "?" if wh.backend == "duckdb" else "%s"
    if wh.backend == "postgres":
        sql = sql.replace("%", "%%")
    order: list[str] = []

    def sub(m: re.Match) -> str:
        order.append(m.group(1) if m.group(1) else P.ints[int(m.group(2))])
        return mark

    sql = _PLACEHOLDER.sub(sub, sql)
    schema = expr.schema()
    return _Compiled(sql, order, list(schema.names), [_converter(n, t) for n, t in schema.items()])


def _run(wh: Warehouse, key: tuple, build: Callable[[_Params], ir.Table], values: dict[str, Any]) -> list[dict]:
    """Rows (plain dicts: money as float, dates as date, NULL as None) of the question `key`."""
    if wh.backend not in ("duckdb", "postgres"):
        return _arrow_rows(_arrow(wh, build(_Params(values, False))))
    ck = (wh.backend, *key)
    c = _compiled.get(ck)
    if c is None:
        c = _compile(wh, key, build)
        with _compiled_lock:
            _compiled[ck] = c
    rows = wh.raw_sql(c.sql, [values[n] for n in c.order]) or []
    names, conv = c.names, c.convert
    if not any(conv):
        return [dict(zip(names, r)) for r in rows]
    out = []
    for r in rows:
        d = {}
        for n, f, v in zip(names, conv, r):
            d[n] = f(v) if f is not None and v is not None else v
        if d.get("risk_drivers", 0) is None:
            d["risk_drivers"] = []
        out.append(d)
    return out


# date columns some engines hand back as timestamps
_DATE_COLUMNS = {"customer_since", "renewal_date", "as_of", "day", "active_from", "active_to"}


def _arrow(wh: Warehouse, expr: ir.Table) -> pa.Table:
    """An expression's result as Arrow with money as float64 (for exports and Spark)."""
    t = wh.to_pyarrow(expr)
    cols = []
    for i, f in enumerate(t.schema):
        col = t.column(i)
        if pa.types.is_decimal(f.type):
            col = pc.round(pc.cast(col, pa.float64()), f.type.scale)
        elif pa.types.is_timestamp(f.type) and f.name in _DATE_COLUMNS:
            col = pc.cast(col, pa.date32())
        cols.append(col)
    return pa.table(cols, names=t.column_names)


def _arrow_rows(t: pa.Table) -> list[dict]:
    rows = t.to_pylist()
    if rows and "risk_drivers" in rows[0]:
        for r in rows:
            r["risk_drivers"] = json.loads(r["risk_drivers"]) if r["risk_drivers"] else []
    return rows


# -- accounts ----------------------------------------------------------------------------------------

def _owners(owners: Sequence[str] | None) -> list[str] | None:
    return None if owners is None else [str(o) for o in owners if o is not None]


def _scope(t: ir.Table, owners: list[str] | None, P: _Params) -> ir.Table:
    """Only the rows of these owners (None = all; an empty list = none)."""
    if owners is None:
        return t
    if not owners:
        return t.filter(ibis.literal(False))
    return t.filter(t.owner.isin([P(f"own{i}") for i in range(len(owners))]))


def _scope_values(owners: list[str] | None) -> dict[str, str]:
    return {} if not owners else {f"own{i}": o for i, o in enumerate(owners)}


def _scope_key(owners: list[str] | None):
    return None if owners is None else len(owners)


_EQ_FILTERS = ("segment", "region", "owner", "band", "tier", "status")


def _filter_shape(flt: AccountFilter) -> tuple[tuple, dict[str, Any]]:
    """(shape, values) of a filter: the shape keys the compiled SQL, the values are bound."""
    values: dict[str, Any] = {}
    shape: list = []
    owners = _owners(flt.owners)
    shape.append(("owners", _scope_key(owners)))
    values.update(_scope_values(owners))
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


def _filtered(wh: Warehouse, shape: tuple, P: _Params) -> ir.Table:
    s = _t(wh, "account_summary")
    preds = []
    for item in shape:
        if isinstance(item, tuple) and item[0] == "owners":
            n = item[1]
            if n is not None:
                preds.append(ibis.literal(False) if n == 0 else s.owner.isin([P(f"own{i}") for i in range(n)]))
        elif item == "q":
            q = P("q")
            preds.append(s.account_id.lower().contains(q) | s.name.lower().contains(q)
                         | s.domain.lower().contains(q))
        elif item == "min_risk":
            preds.append(s.risk >= P("min_risk", "float64"))
        elif item == "renewal":
            preds.append((s.days_to_renewal >= 0) & (s.days_to_renewal <= P("renewal", "int64")))
        else:
            col, n = item
            preds.append(s[col] == P(col) if n is None else s[col].isin([P(f"{col}{i}") for i in range(n)]))
    return s.filter(*preds) if preds else s


def _check_sort(sort: str) -> None:
    if sort not in SORTABLE:
        raise InputError(f"cannot sort by {sort!r}; one of {', '.join(SORTABLE)}")


def _order(t: ir.Table, sort: str, descending: bool) -> ir.Table:
    _check_sort(sort)
    if sort == "arr_at_risk":
        key = t.arr.cast("float64") * t.risk
    elif sort == "band":
        key = t.band.cases(("red", 0), ("yellow", 1), ("green", 2), else_=None)
    else:
        key = t[sort]
    key = key.desc(nulls_first=False) if descending else key.asc(nulls_first=False)
    return t.order_by([key] if sort == "account_id" else [key, t.account_id.asc()])


def list_accounts(wh: Warehouse, flt: AccountFilter, sort: str = "arr", descending: bool = True, page: int = 1,
                  page_size: int = 50) -> Page:
    _check_sort(sort)
    page = max(1, int(page or 1))
    page_size = max(1, min(int(page_size or 50), MAX_PAGE_SIZE))
    shape, values = _filter_shape(flt)
    descending = bool(descending)

    def build(P: _Params) -> ir.Table:
        t = _order(_filtered(wh, shape, P), sort, descending)
        return t.limit(P.int("limit"), offset=P.int("offset"))

    # two questions: a window count over every matching row would defeat the engine's top-N
    rows = _run(wh, ("list", shape, sort, descending), build,
                {**values, "limit": page_size, "offset": (page - 1) * page_size})
    if page == 1 and len(rows) < page_size:
        total = len(rows)
    else:
        total = int(_run(wh, ("count", shape), lambda P: _filtered(wh, shape, P).aggregate(n=_.count()),
                         values)[0]["n"])
    return Page(rows=rows, total=total, page=page, page_size=page_size)


def export_accounts(wh: Warehouse, flt: AccountFilter, sort: str = "arr", descending: bool = True) -> pa.Table:
    """Every matching row (not paged) as Arrow, money as float64: for CSV export."""
    shape, values = _filter_shape(flt)
    return _arrow(wh, _order(_filtered(wh, shape, _Params(values, False)), sort, descending))


def owner_of(wh: Warehouse, account_id: str) -> str | None:
    def build(P):
        a = _t(wh, "accounts")
        return a.filter(a.account_id == P("id")).select("owner").limit(1)

    rows = _run(wh, ("owner_of",), build, {"id": account_id})
    if not rows:
        raise NotFoundError(f"no account {account_id!r}")
    return rows[0]["owner"]


def get_account(wh: Warehouse, account_id: str) -> dict | None:
    def summary(P):
        s = _t(wh, "account_summary")
        return s.filter(s.account_id == P("id")).limit(1)

    values = {"id": account_id}
    rows = _run(wh, ("get",), summary, values)
    if rows:
        row = rows[0]
    else:
        def base(P):
            a = _t(wh, "accounts")
            return a.filter(a.account_id == P("id")).select(
                "account_id", "name", "domain", "segment", "region", "industry", "tier", "owner").limit(1)

        found = _run(wh, ("get_base",), base, values)
        if not found:
            return None
        row = {**{c: None for c in _t(wh, "account_summary").columns}, **found[0], "risk_drivers": []}

    def contacts(P):
        c = _t(wh, "contacts")
        return c.filter(c.account_id == P("id")).select(
            "contact_id", "name", "email", "title", "role", "active_from", "active_to").order_by("role", "name",
                                                                                               "contact_id")

    def attributes(P):
        at = _t(wh, "account_attributes")
        return at.filter(at.account_id == P("id")).select("name", "value").order_by("name")

    row["contacts"] = _run(wh, ("contacts",), contacts, values)
    row["attributes"] = {r["name"]: r["value"] for r in _run(wh, ("attributes",), attributes, values)}
    return row


# -- the 360 timeline ------------------------------------------------------------------------------

_TS = "timestamp"
_STR = "string"
_F = "float64"


def _part(kind: str, at, ref, a=None, b=None, c=None, value=None) -> dict:
    null_s = ibis.null(_STR)
    return {
        "at": at.cast(_TS), "kind": ibis.literal(kind),
        "id": ref.cast(_STR),
        "a": (a if a is not None else null_s).cast(_STR),
        "b": (b if b is not None else null_s).cast(_STR),
        "c": (c if c is not None else null_s).cast(_STR),
        "value": (value if value is not None else ibis.null(_F)).cast(_F),
    }


def _timeline_expr(wh: Warehouse, P: _Params) -> ir.Table:
    account_id = P("account_id")
    parts: list[ir.Table] = []

    def add(t: ir.Table, kind: str, **cols):
        # only the account filter reaches each table scan, so an index on account_id answers it;
        # rows without a date and unchanged months are dropped on the (few) rows fetched
        parts.append(t.select(**_part(kind, **cols)))

    cl = _t(wh, "contract_lines")
    cl = cl.filter(cl.account_id == account_id)
    add(cl, "contract", at=cl.start_date, ref=cl.line_id, a=ibis.literal("start"), b=cl.product,
        c=cl.plan.fill_null("") + ibis.literal(" ") + cl.currency, value=cl.arr)
    ended = cl
    add(ended, "contract", at=ended.end_date, ref=ended.line_id,
        a=ibis.ifelse(ended.auto_renew.fill_null(False), "end_auto", "end"), b=ended.product,
        c=ended.plan.fill_null("") + ibis.literal(" ") + ended.currency, value=ended.arr)
    mv = _t(wh, "arr_movements")
    mv = mv.filter(mv.account_id == account_id)
    add(mv, "contract", at=mv.month, ref=mv.month.cast(_STR), a=mv.kind, value=mv.closing - mv.opening,
        b=mv.opening.cast(_STR), c=mv.closing.cast(_STR))
    tk = _t(wh, "tickets")
    tk = tk.filter(tk.account_id == account_id)
    add(tk, "ticket", at=tk.opened_at, ref=tk.ticket_id, a=tk.subject, b=tk.priority,
        c=tk.status + ibis.ifelse(tk.escalated.fill_null(False), ", escalated", ""), value=tk.csat)
    sv = _t(wh, "survey_responses")
    sv = sv.filter(sv.account_id == account_id)
    add(sv, "survey", at=sv.responded_at, ref=sv.response_id, a=sv.kind, b=sv.comment, c=sv.touchpoint,
        value=sv.score)
    ac = _t(wh, "activities")
    ac = ac.filter(ac.account_id == account_id)
    add(ac, "activity", at=ac.at, ref=ac.activity_id, a=ac.kind, b=ac.owner,
        c=ibis.ifelse(ac.with_exec.fill_null(False), "with an executive", ""))
    ms = _t(wh, "milestones")
    ms = ms.filter(ms.account_id == account_id)
    add(ms, "milestone", at=ms.completed_at.fill_null(ms.due_at), ref=ms.milestone, a=ms.milestone,
        b=ibis.ifelse(ms.completed_at.notnull(), "completed", "due"), c=ms.due_at.cast(_STR))
    sg = _t(wh, "health_signals")
    sg = sg.filter(sg.account_id == account_id)
    add(sg, "signal", at=sg.at, ref=sg.signal, a=sg.signal, b=sg.detail, c=sg.severity)
    ch = _t(wh, "churn_reasons")
    ch = ch.filter(ch.account_id == account_id)
    add(ch, "churn", at=ch.at, ref=ch.at.cast(_STR), a=ch.category, b=ch.detail)
    op = _t(wh, "opportunities")
    op = op.filter(op.account_id == account_id)
    add(op, "opportunity", at=op.close_date, ref=op.opportunity_id, a=op.kind, b=op.stage,
        c=op.currency, value=op.amount)
    iv = _t(wh, "invoices")
    iv = iv.filter(iv.account_id == account_id)
    add(iv, "invoice", at=iv.issued_at, ref=iv.invoice_id, a=iv.currency,
        b=iv.paid_at.cast(_STR), c=iv.due_at.cast(_STR), value=iv.amount)
    return ibis.union(*parts)


_DATE_KINDS = {"contract", "milestone", "signal", "churn", "opportunity", "invoice"}


def _money(v) -> str:
    return "" if v is None else f"{v:,.2f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v):,}"


def _describe(r: dict) -> dict:
    kind, a, b, c, v = r["kind"], r["a"], r["b"], r["c"], r["value"]
    at = r["at"]
    if kind in _DATE_KINDS and isinstance(at, datetime):
        at = at.date()
    out: dict[str, Any] = {"at": at, "kind": kind, "id": r["id"], "title": "", "detail": "", "value": v, "tag": None}
    if kind == "contract":
        if a == "start":
            out.update(title=f"Contract line starts: {b}", detail=f"{(c or '').strip()}, ARR {_money(v)}".strip(", "),
                       line_id=r["id"], arr=v, tag="start")
        elif a in ("end", "end_auto"):
            out.update(title=f"Contract line ends: {b}",
                       detail=f"{(c or '').strip()}, ARR {_money(v)}" + (" (auto-renew cancelled)" if a == "end_auto"
                                                                          else " (fixed term)"),
                       line_id=r["id"], arr=v, tag="end")
        else:
            out.update(title=f"ARR {a}: {'+' if (v or 0) >= 0 else '-'}{_money(abs(v or 0))}",
                       detail=f"ARR {_money(float(b))} -> {_money(float(c))} in the month" if b and c else "",
                       tag=a, change=v)
    elif kind == "ticket":
        out.update(title=f"Ticket: {a or '(no subject)'}", detail=f"{b or 'normal'} priority, {c or ''}".strip(", "),
                   ticket_id=r["id"], priority=b, status=(c or "").split(",")[0] or None, csat=v, tag=b)
    elif kind == "survey":
        score = None if v is None else int(v)
        out.update(title=f"{(a or '').upper()} {score}", detail=b or "", response_id=r["id"], survey_kind=a,
                   score=score, comment=b, touchpoint=c, tag=a)
    elif kind == "activity":
        out.update(title=(a or "activity").upper() if a in ("ebr", "qbr") else (a or "activity").capitalize(),
                   detail=", ".join(x for x in (c, f"by {b}" if b else "") if x), activity_id=r["id"],
                   with_exec=bool(c), tag=a)
    elif kind == "milestone":
        out.update(title=f"Milestone {b}: {a}", detail=f"due {c}" if c else "", milestone=a,
                   completed=b == "completed", tag=b)
    elif kind == "signal":
        out.update(title=f"Signal: {(a or '').replace('_', ' ')}", detail=b or "", signal=a, severity=c, tag=c)
    elif kind == "churn":
        out.update(title=f"Churned: {(a or '').replace('_', ' ')}", detail=b or "", category=a, tag=a)
    elif kind == "opportunity":
        out.update(title=f"{(a or '').capitalize()} opportunity: {b}", detail=f"{_money(v)} {c or ''}".strip(),
                   opportunity_id=r["id"], amount=v, stage=b, tag=a)
    elif kind == "invoice":
        out.update(title=f"Invoice {_money(v)} {a or ''}".strip(),
                   detail=(f"paid {b}" if b else "unpaid") + (f", due {c}" if c else ""),
                   invoice_id=r["id"], amount=v, paid=b is not None, tag="paid" if b else "unpaid")
    return out


def timeline(wh: Warehouse, account_id: str, limit: int = 200) -> list[dict]:
    limit = max(1, min(int(limit), 2000))
    rows = _run(wh, ("timeline",), lambda P: _timeline_expr(wh, P), {"account_id": account_id})
    keep = [r for r in rows if r["at"] is not None and not (r["kind"] == "contract" and r["a"] in _UNCHANGED)]
    keep.sort(key=lambda r: (r["kind"], r["id"] or ""))
    keep.sort(key=lambda r: r["at"] if isinstance(r["at"], datetime) else datetime.combine(r["at"], datetime.min.time()),
              reverse=True)
    return [_describe(r) for r in keep[:limit]]


_UNCHANGED = {"new", "churn", "retained", "none"}  # ARR months already told by line starts and ends


# -- series ------------------------------------------------------------------------------------------

def data_as_of(wh: Warehouse) -> date | None:
    """The day the summary describes (None before the first refresh)."""
    rows = _run(wh, ("as_of",), lambda P: _t(wh, "account_summary").select("as_of").limit(1), {})
    return rows[0]["as_of"] if rows else None


def usage_series(wh: Warehouse, account_id: str, days: int = 180) -> list[dict]:
    """Daily usage for the `days` up to the summary's as-of day (days without usage are zeros)."""
    days = max(1, min(int(days), 3660))
    last = data_as_of(wh)
    if last is None:
        from tenure.portfolio.summary import latest_day

        last = latest_day(wh)
    if last is None:
        return []
    first = last - timedelta(days=days - 1)

    def build(P):
        # the account filter alone (an index lookup; a day range next to it makes DuckDB scan):
        # an account has at most one row a day, so the window is cut from its few rows here
        u = _t(wh, "usage_daily")
        return u.filter(u.account_id == P("id")).select("day", "events", "active_users")

    got = {r["day"]: r for r in _run(wh, ("usage",), build, {"id": account_id}) if first <= r["day"] <= last}
    out = []
    for k in range(days):
        d = first + timedelta(days=k)
        r = got.get(d)
        out.append({"day": d, "events": float(r["events"]) if r else 0.0,
                    "active_users": int(r["active_users"]) if r else 0})
    return out


def health_history(wh: Warehouse, account_id: str) -> list[dict]:
    """Every stored health snapshot of the account, oldest first, each with its components."""
    def scores(P):
        hs = _t(wh, "health_scores")
        return hs.filter(hs.account_id == P("id")).select("as_of", "score", "band").order_by("as_of")

    def comps(P):
        hc = _t(wh, "health_components")
        return hc.filter(hc.account_id == P("id")).select(
            "as_of", "component", "feature", "value", "points", "weight", "contribution").order_by("as_of", "component")

    values = {"id": account_id}
    by_day: dict = {}
    for c in _run(wh, ("health_components",), comps, values):
        by_day.setdefault(c.pop("as_of"), []).append(c)
    out = _run(wh, ("health_scores",), scores, values)
    for r in out:
        r["components"] = sorted(by_day.get(r["as_of"], []), key=lambda c: -(c["weight"] or 0))
    return out


# -- cockpit, renewals, executive --------------------------------------------------------------------

def _renewing(wh: Warehouse, owners: list[str] | None, P) -> ir.Table:
    """Accounts renewing within P("within") days, with the band's renewal probability and the
    expected renewal ARR: the one definition both the list and its totals use."""
    s = _scope(_t(wh, "account_summary"), owners, P)
    s = s.filter(s.renewal_date.notnull() & (s.days_to_renewal >= 0) & (s.days_to_renewal <= P("within", "int64")))
    br = _t(wh, "band_renewal").select(br_band=_.band, renewal_probability=_.renewal_probability)
    j = s.left_join(br, s.band == br.br_band).drop("br_band")
    return j.mutate(expected_renewal_arr=(j.renewal_arr.cast("float64") * j.renewal_probability))


def renewals(wh: Warehouse, owners: Sequence[str] | None, within_days: int = 180, limit: int = 500) -> list[dict]:
    owners = _owners(owners)

    def build(P):
        j = _renewing(wh, owners, P)
        return j.order_by([j.renewal_date.asc(), j.renewal_arr.desc(nulls_first=False), j.account_id]) \
            .limit(P.int("limit"))

    return _run(wh, ("renewals", _scope_key(owners)), build,
                {**_scope_values(owners), "within": int(within_days), "limit": max(1, int(limit))})


def renewal_totals(wh: Warehouse, owners: Sequence[str] | None, within_days: int = 180) -> dict:
    """{"accounts", "renewal_arr", "expected_renewal_arr"} over every renewal in the window (not
    just the rows a page lists), aggregated in the engine."""
    owners = _owners(owners)

    def build(P):
        j = _renewing(wh, owners, P)
        return j.aggregate(accounts=j.account_id.count(), renewal_arr=j.renewal_arr.sum().cast("float64"),
                           expected_renewal_arr=j.expected_renewal_arr.sum())

    rows = _run(wh, ("renewal_totals", _scope_key(owners)), build,
                {**_scope_values(owners), "within": int(within_days)})
    r = rows[0] if rows else {}
    return {"accounts": int(r.get("accounts") or 0), "renewal_arr": float(r.get("renewal_arr") or 0),
            "expected_renewal_arr": float(r.get("expected_renewal_arr") or 0)}


def top_risks(wh: Warehouse, owners: Sequence[str] | None = None, limit: int = 10) -> list[dict]:
    owners = _owners(owners)

    def build(P):
        s = _scope(_t(wh, "account_summary"), owners, P)
        s = s.filter((s.status == "customer") & s.risk.notnull())
        s = s.mutate(arr_at_risk=s.arr.cast("float64") * s.risk)
        return s.order_by([s.arr_at_risk.desc(), s.account_id]).limit(P.int("limit"))

    return _run(wh, ("top_risks", _scope_key(owners)), build, {**_scope_values(owners), "limit": max(1, int(limit))})


RISK_JUMP = 0.1


def changes_since(wh: Warehouse, owners: Sequence[str] | None, days: int = 7, limit: int = 500) -> list[dict]:
    """Band moves over the last 30 days (band_30 -> band), early-warning signals dated within the
    last `days`, and churn-risk jumps of RISK_JUMP or more since the previous stored prediction;
    newest first, biggest ARR first within a day; at most `limit` (the biggest ARR of each kind)."""
    owners = _owners(owners)
    limit = max(1, int(limit))
    sv = {**_scope_values(owners), "limit": limit}
    skey = _scope_key(owners)
    cols = ("account_id", "name", "owner", "arr", "band")

    def moved(P):
        s = _scope(_t(wh, "account_summary"), owners, P)
        s = s.filter(s.band.notnull() & s.band_30.notnull() & (s.band != s.band_30))
        s = s.select(*cols, "band_30", "score", "score_change_30", "as_of")
        return s.order_by([s.arr.desc(), s.account_id]).limit(P.int("limit"))

    def signals(P):
        s = _scope(_t(wh, "account_summary"), owners, P).select(*cols, "as_of")
        sg = _t(wh, "health_signals")
        j = sg.join(s, "account_id")
        j = j.filter((j.at > j.as_of - P("days", "int64").as_interval("D")) & (j.at <= j.as_of))
        j = j.select(*cols, "signal", "severity", "detail", "at")
        return j.order_by([j.at.desc(), j.arr.desc(), j.account_id, j.signal]).limit(P.int("limit"))

    def jumps(P):
        s = _scope(_t(wh, "account_summary"), owners, P).select(*cols, "as_of")
        rs = _t(wh, "risk_scores")
        snap = s.select(ca=_.account_id, snap=_.as_of)
        cur = rs.join(snap, (rs.account_id == snap.ca) & (rs.as_of == snap.snap))
        cur = cur.select(account_id=cur.account_id, risk_now=cur.probability, snap=cur.snap)
        curk = cur.select(pa_=_.account_id, csnap=_.snap)
        earlier = rs.join(curk, (rs.account_id == curk.pa_) & (rs.as_of < curk.csnap))
        earlier = earlier.mutate(rk=ibis.row_number().over(group_by=earlier.account_id,
                                                           order_by=ibis.desc(earlier.as_of)))
        prev = earlier.filter(earlier.rk == 0).select(pa2=_.account_id, risk_before=_.probability, before=_.as_of)
        j = cur.join(prev, cur.account_id == prev.pa2)
        j = j.filter(j.risk_now - j.risk_before >= RISK_JUMP).select("account_id", "risk_now", "risk_before", "before")
        j = j.join(s, "account_id")
        j = j.select(*cols, "risk_now", "risk_before", "before", "as_of")
        return j.order_by([j.arr.desc(), j.account_id]).limit(P.int("limit"))

    out: list[dict] = []
    for r in _run(wh, ("moved", skey), moved, sv):
        worse = BAND_ORDER.get(r["band"], 0) < BAND_ORDER.get(r["band_30"], 0)
        detail = (f"score {r['score']:.0f} ({r['score_change_30']:+.0f} in 30 days)"
                  if r["score"] is not None and r["score_change_30"] is not None else "")
        out.append({"kind": "band", "at": r["as_of"], **r, "direction": "down" if worse else "up",
                    "title": f"health {r['band_30']} -> {r['band']}", "detail": detail})
    for r in _run(wh, ("signals", skey), signals, {**sv, "days": int(days)}):
        out.append({**r, "at": _date(r["at"]), "kind": "signal",
                    "title": f"signal: {r['signal'].replace('_', ' ')}", "detail": r["detail"] or ""})
    for r in _run(wh, ("jumps", skey), jumps, sv):
        out.append({**r, "kind": "risk", "at": r["as_of"], "title": "churn risk up",
                    "detail": f"{r['risk_before']:.0%} -> {r['risk_now']:.0%} since {r['before']}"})
    out.sort(key=lambda r: (-(r["at"].toordinal() if r["at"] else 0), -(r.get("arr") or 0), r["account_id"]))
    return out[:limit]


def band_distribution(wh: Warehouse, owners: Sequence[str] | None = None) -> list[dict]:
    """Accounts and ARR per health band on each stored snapshot day (band_history, by owner)."""
    owners = _owners(owners)

    def build(P):
        bh = _scope(_t(wh, "band_history"), owners, P)
        g = bh.group_by("as_of", "band").aggregate(accounts=bh.accounts.sum(), arr=bh.arr.sum())
        return g.order_by("as_of", g.band.cases(("red", 0), ("yellow", 1), ("green", 2), else_=3))

    rows = _run(wh, ("bands", _scope_key(owners)), build, _scope_values(owners))
    for r in rows:
        r["accounts"] = int(r["accounts"])
        r["arr"] = float(r["arr"] or 0)
    return rows
