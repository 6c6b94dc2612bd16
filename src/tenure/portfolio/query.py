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
    changes_since rows: {"kind": band|signal|risk, "at", "account_id", "name", "owner", "arr",
    "title", "detail", ...}.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tenure.errors import InputError, NotFoundError
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import _, ibis, ir

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


# -- table access: the Ibis expressions are built once per connection ------------------------------

def _t(wh: Warehouse, name: str) -> ir.Table:
    """The table `name`, created on first use; cached on the connection (no catalog lookup per call)."""
    cache = wh.__dict__.setdefault("_portfolio_tables", {})
    t = cache.get(name)
    if t is None:
        t = cache[name] = wh.table(name)
    return t


def _rows(wh: Warehouse, expr: ir.Table) -> list[dict]:
    """Plain dicts: money as float, dates as date, NULL as None."""
    return _arrow_rows(_arrow(wh, expr))


def _arrow(wh: Warehouse, expr: ir.Table) -> pa.Table:
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


# date columns some engines hand back as timestamps
_DATE_COLUMNS = {"customer_since", "renewal_date", "as_of", "day"}


def _scope(t: ir.Table, owners: Sequence[str] | None) -> ir.Table:
    if owners is None:
        return t
    owners = [o for o in owners if o is not None]
    if not owners:
        return t.filter(ibis.literal(False))
    return t.filter(t.owner.isin(owners))


def _filtered(wh: Warehouse, flt: AccountFilter) -> ir.Table:
    s = _t(wh, "account_summary")
    s = _scope(s, flt.owners)
    preds = []
    if flt.q:
        q = flt.q.strip().lower()
        if q:
            preds.append(s.account_id.lower().contains(q) | s.name.lower().contains(q)
                         | s.domain.lower().contains(q))
    for col in ("segment", "region", "owner", "band", "tier", "status"):
        value = getattr(flt, col)
        if value is None or value == "":
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            preds.append(s[col].isin(list(value)))
        else:
            preds.append(s[col] == value)
    if flt.min_risk is not None:
        preds.append(s.risk >= float(flt.min_risk))
    if flt.renewal_within_days is not None:
        preds.append((s.days_to_renewal >= 0) & (s.days_to_renewal <= int(flt.renewal_within_days)))
    return s.filter(*preds) if preds else s


def _order(t: ir.Table, sort: str, descending: bool) -> ir.Table:
    if sort not in SORTABLE:
        raise InputError(f"cannot sort by {sort!r}; one of {', '.join(SORTABLE)}")
    if sort == "arr_at_risk":
        key = t.arr.cast("float64") * t.risk
    elif sort == "band":
        key = t.band.cases(("red", 0), ("yellow", 1), ("green", 2), else_=None)
    else:
        key = t[sort]
    key = key.desc(nulls_first=False) if descending else key.asc(nulls_first=False)
    return t.order_by([key, t.account_id.asc()])


def list_accounts(wh: Warehouse, flt: AccountFilter, sort: str = "arr", descending: bool = True, page: int = 1,
                  page_size: int = 50) -> Page:
    page = max(1, int(page or 1))
    page_size = max(1, min(int(page_size or 50), MAX_PAGE_SIZE))
    t = _filtered(wh, flt)
    ordered = _order(t.mutate(__total=_.count().over()), sort, descending)
    data = _arrow(wh, ordered.limit(page_size, offset=(page - 1) * page_size))
    if data.num_rows:
        total = int(data.column("__total")[0].as_py())
    else:
        total = int(wh.execute(t.count()))
    rows = _arrow_rows(data.drop_columns(["__total"]))
    return Page(rows=rows, total=total, page=page, page_size=page_size)


def export_accounts(wh: Warehouse, flt: AccountFilter, sort: str = "arr", descending: bool = True) -> pa.Table:
    return _arrow(wh, _order(_filtered(wh, flt), sort, descending))


def owner_of(wh: Warehouse, account_id: str) -> str | None:
    a = _t(wh, "accounts")
    df = wh.to_pyarrow(a.filter(a.account_id == account_id).select("owner").limit(1))
    if not df.num_rows:
        raise NotFoundError(f"no account {account_id!r}")
    return df.column(0)[0].as_py()


def get_account(wh: Warehouse, account_id: str) -> dict | None:
    s = _t(wh, "account_summary")
    rows = _rows(wh, s.filter(s.account_id == account_id).limit(1))
    if rows:
        row = rows[0]
    else:
        a = _t(wh, "accounts")
        base = _rows(wh, a.filter(a.account_id == account_id).select(
            "account_id", "name", "domain", "segment", "region", "industry", "tier", "owner").limit(1))
        if not base:
            return None
        row = {**{c: None for c in s.columns}, **base[0], "risk_drivers": []}
    c = _t(wh, "contacts")
    row["contacts"] = _rows(wh, c.filter(c.account_id == account_id).select(
        "contact_id", "name", "email", "title", "role", "active_from", "active_to").order_by("role", "name"))
    at = _t(wh, "account_attributes")
    attrs = wh.to_pyarrow(at.filter(at.account_id == account_id).select("name", "value").order_by("name"))
    row["attributes"] = dict(zip(attrs.column("name").to_pylist(), attrs.column("value").to_pylist()))
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


def _timeline_expr(wh: Warehouse, account_id: str, limit: int) -> ir.Table:
    parts: list[ir.Table] = []

    def add(t: ir.Table, kind: str, **cols):
        parts.append(t.select(**_part(kind, **cols)).order_by(ibis.desc("at")).limit(limit))

    cl = _t(wh, "contract_lines")
    cl = cl.filter(cl.account_id == account_id)
    add(cl, "contract", at=cl.start_date, ref=cl.line_id, a=ibis.literal("start"), b=cl.product,
        c=cl.plan.fill_null("") + ibis.literal(" ") + cl.currency, value=cl.arr)
    ended = cl.filter(cl.end_date.notnull())
    add(ended, "contract", at=ended.end_date, ref=ended.line_id,
        a=ibis.ifelse(ended.auto_renew.fill_null(False), "end_auto", "end"), b=ended.product,
        c=ended.plan.fill_null("") + ibis.literal(" ") + ended.currency, value=ended.arr)
    mv = _t(wh, "arr_movements")
    mv = mv.filter((mv.account_id == account_id) & mv.kind.isin(["expansion", "contraction", "reactivation"]))
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
    ms = ms.filter((ms.account_id == account_id) & (ms.completed_at.notnull() | ms.due_at.notnull()))
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
    return ibis.union(*parts).order_by([ibis.desc("at"), "kind", "id"]).limit(limit)


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
    return [_describe(r) for r in wh.to_pyarrow(_timeline_expr(wh, account_id, limit)).to_pylist()]


# -- series ------------------------------------------------------------------------------------------

def usage_series(wh: Warehouse, account_id: str, days: int = 180) -> list[dict]:
    """Daily usage for the `days` up to the summary's as-of day (zero-filled)."""
    s = _t(wh, "account_summary")
    end = wh.to_pyarrow(s.filter(s.account_id == account_id).select("as_of").limit(1))
    if end.num_rows:
        last = end.column(0)[0].as_py()
        last = last.date() if isinstance(last, datetime) else last
    else:
        from tenure.portfolio.summary import latest_day

        last = latest_day(wh)
    if last is None:
        return []
    first = last - timedelta(days=days - 1)
    u = _t(wh, "usage_daily")
    got = wh.to_pyarrow(u.filter((u.account_id == account_id) & (u.day >= first) & (u.day <= last))
                        .select("day", "events", "active_users"))
    by_day = {}
    for d, e, a in zip(got.column("day").to_pylist(), got.column("events").to_pylist(),
                       got.column("active_users").to_pylist()):
        by_day[d.date() if isinstance(d, datetime) else d] = (float(e), int(a))
    return [{"day": first + timedelta(days=k), "events": by_day.get(first + timedelta(days=k), (0.0, 0))[0],
             "active_users": by_day.get(first + timedelta(days=k), (0.0, 0))[1]} for k in range(days)]


def health_history(wh: Warehouse, account_id: str) -> list[dict]:
    hs = _t(wh, "health_scores")
    hc = _t(wh, "health_components")
    scores = _rows(wh, hs.filter(hs.account_id == account_id).select("as_of", "score", "band").order_by("as_of"))
    comps = _rows(wh, hc.filter(hc.account_id == account_id).select(
        "as_of", "component", "feature", "value", "points", "weight", "contribution").order_by("as_of", "component"))
    by_day: dict = {}
    for c in comps:
        day = c.pop("as_of")
        by_day.setdefault(day.date() if isinstance(day, datetime) else day, []).append(c)
    for s in scores:
        s["as_of"] = s["as_of"].date() if isinstance(s["as_of"], datetime) else s["as_of"]
        s["components"] = sorted(by_day.get(s["as_of"], []), key=lambda c: -(c["weight"] or 0))
    return scores


# -- cockpit, renewals, executive --------------------------------------------------------------------

def renewals(wh: Warehouse, owners: Sequence[str] | None, within_days: int = 180, limit: int = 500) -> list[dict]:
    s = _scope(_t(wh, "account_summary"), owners)
    s = s.filter(s.renewal_date.notnull() & (s.days_to_renewal >= 0) & (s.days_to_renewal <= int(within_days)))
    br = _t(wh, "band_renewal").select(br_band=_.band, renewal_probability=_.renewal_probability)
    j = s.left_join(br, s.band == br.br_band).drop("br_band")
    j = j.mutate(expected_renewal_arr=(j.renewal_arr.cast(_F) * j.renewal_probability))
    j = j.order_by([j.renewal_date.asc(), j.renewal_arr.desc(nulls_first=False), j.account_id]).limit(int(limit))
    return _rows(wh, j)


def top_risks(wh: Warehouse, owners: Sequence[str] | None = None, limit: int = 10) -> list[dict]:
    s = _scope(_t(wh, "account_summary"), owners)
    s = s.filter((s.status == "customer") & s.risk.notnull())
    s = s.mutate(arr_at_risk=s.arr.cast(_F) * s.risk)
    return _rows(wh, s.order_by([s.arr_at_risk.desc(), s.account_id]).limit(int(limit)))


def changes_since(wh: Warehouse, owners: Sequence[str] | None, days: int = 7) -> list[dict]:
    """Band moves over the last 30 days, early-warning signals in the last `days` and risk jumps
    since the previous stored prediction (+0.1 or more), biggest ARR first within each day."""
    s = _scope(_t(wh, "account_summary"), owners)
    base = s.select("account_id", "name", "owner", "arr", "band", "score", "as_of")
    out: list[dict] = []

    moved = s.filter(s.band.notnull() & s.band_30.notnull() & (s.band != s.band_30))
    for r in _rows(wh, moved.select("account_id", "name", "owner", "arr", "band", "band_30", "score",
                                    "score_change_30", "as_of")):
        worse = BAND_ORDER.get(r["band"], 0) < BAND_ORDER.get(r["band_30"], 0)
        out.append({"kind": "band", "at": r["as_of"], **r, "direction": "down" if worse else "up",
                    "title": f"health {r['band_30']} -> {r['band']}",
                    "detail": f"score {r['score']:.0f} ({r['score_change_30']:+.0f} in 30 days)"
                    if r["score"] is not None and r["score_change_30"] is not None else ""})

    sg = _t(wh, "health_signals")
    j = sg.join(base, "account_id")
    j = j.filter(j.at > j.as_of - ibis.interval(days=int(days)))
    for r in _rows(wh, j.select("account_id", "name", "owner", "arr", "band", "signal", "severity", "detail", "at")):
        out.append({**r, "kind": "signal", "title": f"signal: {r['signal'].replace('_', ' ')}",
                    "detail": r["detail"] or "", "severity": r["severity"]})

    rs = _t(wh, "risk_scores")
    snap = base.select(ca=_.account_id, snap=_.as_of)
    cur = rs.join(snap, (rs.account_id == snap.ca) & (rs.as_of == snap.snap))
    cur = cur.select(account_id=cur.account_id, risk_now=cur.probability, snap=cur.snap)
    curk = cur.select(pa_=_.account_id, csnap=_.snap)
    earlier = rs.join(curk, (rs.account_id == curk.pa_) & (rs.as_of < curk.csnap))
    earlier = earlier.mutate(rk=ibis.row_number().over(group_by=earlier.account_id, order_by=ibis.desc(earlier.as_of)))
    prev = earlier.filter(earlier.rk == 0).select(pa2=_.account_id, risk_before=_.probability, before=_.as_of)
    jumps = cur.join(prev, cur.account_id == prev.pa2).filter(lambda t: t.risk_now - t.risk_before >= 0.1)
    jumps = jumps.join(base, "account_id")
    for r in _rows(wh, jumps.select("account_id", "name", "owner", "arr", "band", "risk_now", "risk_before",
                                    "before", "as_of")):
        out.append({**r, "kind": "risk", "at": r["as_of"], "title": "churn risk up",
                    "detail": f"{r['risk_before']:.0%} -> {r['risk_now']:.0%} since {r['before']}"})

    def key(r):
        at = r["at"].date() if isinstance(r["at"], datetime) else r["at"]
        return (-(at.toordinal() if at else 0), -(r.get("arr") or 0), r["account_id"])

    return sorted(out, key=key)


def band_distribution(wh: Warehouse, owners: Sequence[str] | None = None) -> list[dict]:
    """Accounts and ARR per health band on each stored snapshot day (from band_history)."""
    bh = _scope(_t(wh, "band_history"), owners)
    g = bh.group_by("as_of", "band").aggregate(accounts=bh.accounts.sum(), arr=bh.arr.sum())
    g = g.order_by("as_of", g.band.cases(("red", 0), ("yellow", 1), ("green", 2), else_=3))
    rows = _rows(wh, g)
    for r in rows:
        r["accounts"] = int(r["accounts"])
        r["arr"] = float(r["arr"] or 0)
    return rows


def data_as_of(wh: Warehouse) -> date | None:
    """The day the summary describes (None before the first refresh)."""
    s = _t(wh, "account_summary")
    v = wh.to_pyarrow(s.select("as_of").limit(1))
    if not v.num_rows:
        return None
    d = v.column(0)[0].as_py()
    return d.date() if isinstance(d, datetime) else d
