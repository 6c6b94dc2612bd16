"""What needs attention: the biggest ARR at risk, what changed in the last `days`, early-warning
signals ranked by the ARR at stake, and accounts and ARR per health band over time. Counts are
taken in the engine over every matching row, never from a capped list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from tenure.portfolio.read import Page, Params, arr_at_risk, ask, owners_list, scope_shape, scope_values, scoped, table, total_of, \
    with_total
from tenure.portfolio.wording import describe_change
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import _, ibis, ir

__all__ = ["RISK_JUMP", "band_distribution", "changes_since", "signals", "top_risks"]

RISK_JUMP = 0.1
_COLS = ("account_id", "name", "owner", "arr", "band")


def top_risks(wh: Warehouse, owners: Sequence[str] | None = None, limit: int = 10) -> list[dict]:
    """Customers by ARR at risk (ARR x churn risk), highest first."""
    owners = owners_list(owners)
    n = scope_shape(owners)

    def build(P: Params) -> ir.Table:
        s = scoped(table(wh, "account_summary"), n, P)
        s = s.filter((s.status == "customer") & s.risk.notnull())
        s = s.mutate(arr_at_risk=arr_at_risk(s))
        return s.order_by([s.arr_at_risk.desc(), s.account_id])

    return ask(wh, ("top_risks", n), build, scope_values(owners), limit=max(1, int(limit)))


def _window_start(snap: ir.Value, P: Params) -> ir.Value:
    return snap - P("days", "int64").as_interval("D")


def _band_moves(wh: Warehouse, n: int | None, P: Params) -> ir.Table:
    """Accounts whose band today differs from their first stored band in the window."""
    s = scoped(table(wh, "account_summary"), n, P)
    snap = s.select(sa=_.account_id, snap=_.as_of)
    hs = table(wh, "health_scores")
    b = hs.join(snap, (hs.account_id == snap.sa) & (hs.as_of >= _window_start(snap.snap, P)) & (hs.as_of < snap.snap))
    b = b.mutate(rk=ibis.row_number().over(group_by=b.account_id, order_by=b.as_of))
    b = b.filter(b.rk == 0).select(ba=_.account_id, band_before=_.band, score_before=_.score, before=_.as_of)
    j = s.join(b, s.account_id == b.ba)
    j = j.filter(j.band.notnull() & j.band_before.notnull() & (j.band != j.band_before))
    j = with_total(j.select(*_COLS, "band_before", "score", "score_before", "before", "as_of"))
    return j.order_by([j.arr.desc(), j.account_id])


def _new_signals(wh: Warehouse, n: int | None, P: Params, severity: bool = False) -> ir.Table:
    """Signals dated within the window, biggest ARR at stake first, newest first on equal ARR."""
    s = scoped(table(wh, "account_summary"), n, P).select(*_COLS, "as_of")
    sg = table(wh, "health_signals")
    j = sg.join(s, "account_id")
    preds = [j.at > _window_start(j.as_of, P), j.at <= j.as_of]
    if severity:
        preds.append(j.severity == P("severity"))
    j = with_total(j.filter(*preds).select(*_COLS, "signal", "severity", "detail", "at", "as_of"))
    return j.order_by([j.arr.desc(), j.at.desc(), j.account_id, j.signal])


def _risk_jumps(wh: Warehouse, n: int | None, P: Params) -> ir.Table:
    """Churn risk up by RISK_JUMP or more since the first stored prediction in the window."""
    s = scoped(table(wh, "account_summary"), n, P).select(*_COLS, "as_of")
    rs = table(wh, "risk_scores")
    snap = s.select(sa=_.account_id, snap=_.as_of)
    cur = rs.join(snap, (rs.account_id == snap.sa) & (rs.as_of == snap.snap))
    cur = cur.select(ca=_.account_id, risk_now=_.probability)
    old = rs.join(snap, (rs.account_id == snap.sa) & (rs.as_of >= _window_start(snap.snap, P))
                  & (rs.as_of < snap.snap))
    old = old.mutate(rk=ibis.row_number().over(group_by=old.account_id, order_by=old.as_of))
    old = old.filter(old.rk == 0).select(pa_=_.account_id, risk_before=_.probability, before=_.as_of)
    j = cur.join(old, cur.ca == old.pa_).join(s, _.ca == s.account_id)
    j = j.filter(j.risk_now - j.risk_before >= RISK_JUMP)
    j = with_total(j.select(*_COLS, "risk_now", "risk_before", "before", "as_of"))
    return j.order_by([j.arr.desc(), j.account_id])


def _day(v) -> date | None:
    return v.date() if isinstance(v, datetime) else v


def changes_since(wh: Warehouse, owners: Sequence[str] | None, days: int = 7, limit: int = 500) -> Page:
    """What changed in the `days` up to the summary's as-of day: band moves (today's band against
    the first stored band in the window), early-warning signals dated in the window, and churn-risk
    jumps of RISK_JUMP or more (against the first stored prediction in the window). Rows are
    {"kind": band|signal|risk, "at", "account_id", "name", "owner", "arr", "before", "title",
    "detail", ...}, newest first and biggest ARR first on a day; at most `limit` of them (the
    biggest ARR of each kind), and `total` counts every change."""
    owners = owners_list(owners)
    n = scope_shape(owners)
    limit = max(1, int(limit))
    values = {**scope_values(owners), "days": max(1, int(days))}
    moved = ask(wh, ("moved", n), lambda P: _band_moves(wh, n, P), values, limit=limit)
    raised = ask(wh, ("signals", n, False), lambda P: _new_signals(wh, n, P), values, limit=limit)
    jumped = ask(wh, ("jumps", n), lambda P: _risk_jumps(wh, n, P), values, limit=limit)
    total = total_of(moved) + total_of(raised) + total_of(jumped)
    out = [{**r, "kind": "band", "at": r["as_of"]} for r in moved]
    out += [{**r, "kind": "signal", "at": _day(r["at"])} for r in raised]
    out += [{**r, "kind": "risk", "at": r["as_of"]} for r in jumped]
    out = [describe_change(r) for r in out]
    out.sort(key=lambda r: (-(r["at"].toordinal() if r["at"] else 0), -(r.get("arr") or 0), r["account_id"]))
    return Page(rows=out[:limit], total=total, page=1, page_size=limit)


def signals(wh: Warehouse, owners: Sequence[str] | None, days: int = 30, severity: str | None = None,
            page: int = 1, page_size: int = 50) -> Page:
    """Early-warning signals dated within `days` of the summary's as-of day, ranked by the ARR at
    stake (the account's ARR), newest first on equal ARR; one page, and the count of all of them."""
    owners = owners_list(owners)
    n = scope_shape(owners)
    page, page_size = max(1, int(page)), max(1, int(page_size))
    values = {**scope_values(owners), "days": max(1, int(days))}
    if severity:
        values["severity"] = severity
    key = ("signals", n, bool(severity))
    rows = ask(wh, key, lambda P: _new_signals(wh, n, P, bool(severity)), values,
               limit=page_size, offset=(page - 1) * page_size)
    total = total_of(rows)
    if not rows and page > 1:  # past the end: count alone
        total = signals(wh, owners, days, severity, 1, 1).total
    rows = [describe_change({**r, "kind": "signal", "at": _day(r["at"])}) for r in rows]
    return Page(rows=rows, total=total, page=page, page_size=page_size)


def band_distribution(wh: Warehouse, owners: Sequence[str] | None = None) -> list[dict]:
    """Accounts and ARR per health band on each stored snapshot day (band_history, by owner)."""
    owners = owners_list(owners)
    n = scope_shape(owners)

    def build(P: Params) -> ir.Table:
        bh = scoped(table(wh, "band_history"), n, P)
        g = bh.group_by("as_of", "band").aggregate(accounts=bh.accounts.sum(), arr=bh.arr.sum())
        return g.order_by("as_of", g.band.cases(("red", 0), ("yellow", 1), ("green", 2), else_=3))

    rows = ask(wh, ("bands", n), build, scope_values(owners))
    for r in rows:
        r["accounts"] = int(r["accounts"])
        r["arr"] = float(r["arr"] or 0)
    return rows
