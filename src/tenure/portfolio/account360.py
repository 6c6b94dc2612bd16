"""One account, all round: its header (summary row, contacts, attributes), usage and health
history in one query, and its timeline (every dated fact, newest first, paged, counted per kind)
in another.

Timeline rows come from the engine as {"at", "kind", "id", "a", "b", "c", "value"}; per kind:
contract (a: start | end | end_auto | the ARR movement kind, b: product or opening ARR, c: plan and
currency or closing ARR, value: ARR or change), ticket (subject, priority, status, csat), survey
(kind, comment, touchpoint, score), activity (kind, owner, "with an executive"), milestone (name,
completed | due, due day), signal (name, detail, severity), churn (category, detail), opportunity
(kind, stage, currency, amount), invoice (currency, paid day, due day, amount).
`portfolio.wording.describe_event` turns each into a title and a detail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from tenure.portfolio.read import Page, Params, ask, table
from tenure.portfolio.wording import describe_event
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis, ir

__all__ = ["KINDS", "Timeline", "account_360", "data_as_of", "get_account", "health_history", "timeline",
           "timeline_page", "usage_series", "weekly_usage"]

KINDS = ("contract", "ticket", "survey", "activity", "milestone", "signal", "opportunity", "invoice", "churn")
_HEADER = ("account_id", "name", "domain", "segment", "region", "industry", "tier", "owner")
_UNCHANGED = ("new", "churn", "retained", "none")  # ARR months already told by line starts and ends


# -- several differently shaped parts in one query -------------------------------------------------------

def _stack(parts: dict[str, ir.Table]) -> ir.Table:
    """One UNION ALL of differently shaped tables {part: table}: a part's column c becomes
    "part__c" (typed NULL in the other parts' rows) and `part` names the row's part. (No window to
    order rows within a part: it made DuckDB's planning several times slower than the lookups;
    the few rows of one account are ordered by `_sorted`.)"""
    types: dict[str, object] = {}
    for name, t in parts.items():
        types.update({f"{name}__{c}": dt.copy(nullable=True) for c, dt in t.schema().items()})
    pieces = []
    for name, t in parts.items():
        cols = {"part": ibis.literal(name)}
        for col, dt in types.items():
            part, c = col.split("__", 1)
            cols[col] = t[c].cast(dt) if part == name else ibis.null(dt)
        pieces.append(t.select(**cols))
    return ibis.union(*pieces)


def _sorted(rows: list[dict], *keys: str, desc: tuple[str, ...] = ()) -> list[dict]:
    """One account's few rows ordered by `keys` (NULLs last; `desc` keys descending)."""
    for k in reversed(keys):  # stable sorts, last key first
        present = sorted((r for r in rows if r[k] is not None), key=lambda r: r[k], reverse=k in desc)
        rows = present + [r for r in rows if r[k] is None]
    return rows


def _unstack(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        part = r["part"]
        prefix = part + "__"
        out.setdefault(part, []).append({k[len(prefix):]: v for k, v in r.items() if k.startswith(prefix)})
    return out


def _header_parts(wh: Warehouse, P: Params) -> dict[str, ir.Table]:
    """Point lookups only (an index answers each; a join here made DuckDB scan the summary)."""
    account_id = P("id")
    a = table(wh, "accounts")
    a = a.filter(a.account_id == account_id).select(*_HEADER)
    s = table(wh, "account_summary")
    s = s.filter(s.account_id == account_id)
    c = table(wh, "contacts")
    c = c.filter(c.account_id == account_id).select("contact_id", "name", "email", "title", "role", "active_from",
                                                    "active_to", "timezone", "locale")
    at = table(wh, "account_attributes")
    at = at.filter(at.account_id == account_id).select("name", "value")
    ac = table(wh, "activities")
    ac = ac.filter(ac.account_id == account_id)
    touch = ac.filter(ac.at.notnull()).order_by([ac.at.desc(), ac.activity_id]).limit(1)
    touch = touch.select(at=touch.at.cast("timestamp"), kind=touch.kind, by=touch.owner)
    return {"account": a, "summary": s, "contacts": c, "attributes": at, "touch": touch}


def _header(parts: dict[str, list[dict]], summary_columns: list[str]) -> dict | None:
    if not parts.get("account"):
        return None
    # the summary's row, or the account's own fields when the summary was not refreshed since
    row = parts["summary"][0] if parts.get("summary") else {**dict.fromkeys(summary_columns), **parts["account"][0]}
    row["risk_drivers"] = row.get("risk_drivers") or []
    row["contacts"] = _sorted(parts.get("contacts", []), "role", "name", "contact_id")
    row["attributes"] = {r["name"]: r["value"] for r in _sorted(parts.get("attributes", []), "name")}
    touch = (parts.get("touch") or [None])[0]
    row["last_touch"] = touch  # {"at", "kind", "by"} of the latest activity (meeting, call, QBR...), or None
    return row


def get_account(wh: Warehouse, account_id: str) -> dict | None:
    """The account's summary row with "contacts" [...] and "attributes" {name: value}; None when
    there is no such account. One query."""
    parts = _unstack(ask(wh, ("account",), lambda P: _stack(_header_parts(wh, P)), {"id": account_id}))
    return _header(parts, table(wh, "account_summary").columns)


def _series_parts(wh: Warehouse, P: Params) -> dict[str, ir.Table]:
    """The account filter alone on each table (an index lookup; a day range next to it made DuckDB
    scan usage_daily): an account has at most one usage row a day, so the window is cut here."""
    account_id = P("id")
    asof = table(wh, "account_summary").select(day="as_of").limit(1)
    u = table(wh, "usage_daily")
    u = u.filter(u.account_id == account_id).select("day", "events", "active_users")
    hs = table(wh, "health_scores")
    hs = hs.filter(hs.account_id == account_id).select("as_of", "score", "band")
    hc = table(wh, "health_components")
    hc = hc.filter(hc.account_id == account_id).select("as_of", "component", "feature", "value", "points", "weight",
                                                       "contribution")
    return {"asof": asof, "usage": u, "health": hs, "components": hc}


def _usage(parts: dict[str, list[dict]], days: int, wh: Warehouse) -> list[dict]:
    last = (parts.get("asof") or [{}])[0].get("day")
    if last is None:  # no summary yet: the latest day with data
        from tenure.warehouse.asof import latest_event_day

        last = latest_event_day(wh)
    if last is None:
        return []
    first = last - timedelta(days=days - 1)
    got = {r["day"]: r for r in parts.get("usage", []) if r["day"] is not None and first <= r["day"] <= last}
    out = []
    for k in range(days):
        d = first + timedelta(days=k)
        r = got.get(d)
        out.append({"day": d, "events": float(r["events"] or 0) if r else 0.0,
                    "active_users": int(r["active_users"] or 0) if r else 0})
    return out


def weekly_usage(days: list[dict]) -> list[dict]:
    """`usage_series` rows (one per day, oldest first) as weeks of 7 days counted back from the
    last day, so every week is whole: {"week" (its first day), "events" (sum), "active_users"
    (the busiest day's active users: people active on different days cannot be added up)}.
    Days before the first whole week are left out. Works on one account's bounded window."""
    whole = len(days) - len(days) % 7
    out = []
    for i in range(len(days) - whole, len(days), 7):
        week = days[i:i + 7]
        out.append({"week": week[0]["day"], "events": sum(float(d["events"] or 0) for d in week),
                    "active_users": max(int(d["active_users"] or 0) for d in week)})
    return out


def _history(parts: dict[str, list[dict]]) -> list[dict]:
    by_day: dict = {}
    for c in _sorted(parts.get("components", []), "weight", "component", desc=("weight",)):
        by_day.setdefault(c.pop("as_of"), []).append(c)
    return [{**h, "components": by_day.get(h["as_of"], [])} for h in _sorted(parts.get("health", []), "as_of")]


def _series(wh: Warehouse, account_id: str, sections: tuple[str, ...]) -> dict[str, list[dict]]:
    """The parts named in `sections` ("header", "usage", "health") of one account, in one query."""
    def build(P: Params) -> ir.Table:
        parts: dict[str, ir.Table] = _header_parts(wh, P) if "header" in sections else {}
        series = _series_parts(wh, P)
        if "usage" in sections:
            parts.update(asof=series["asof"], usage=series["usage"])
        if "health" in sections:
            parts.update(health=series["health"], components=series["components"])
        return _stack(parts)

    return _unstack(ask(wh, ("series", sections), build, {"id": account_id}))


def _days(days: int) -> int:
    return max(1, min(int(days), 3660))


def usage_series(wh: Warehouse, account_id: str, days: int = 180) -> list[dict]:
    """Daily usage for the `days` up to the summary's as-of day (days without usage are zeros)."""
    days = _days(days)
    return _usage(_series(wh, account_id, ("usage",)), days, wh)


def health_history(wh: Warehouse, account_id: str) -> list[dict]:
    """Every stored health snapshot of the account, oldest first, each with its components
    (biggest weight first)."""
    return _history(_series(wh, account_id, ("health",)))


def account_360(wh: Warehouse, account_id: str, usage_days: int = 180) -> dict | None:
    """get_account's row plus "usage" (usage_series) and "health_history" (health_history), in one
    query; None when there is no such account."""
    usage_days = _days(usage_days)
    parts = _series(wh, account_id, ("header", "usage", "health"))
    row = _header(parts, table(wh, "account_summary").columns)
    if row is not None:
        row["usage"] = _usage(parts, usage_days, wh)
        row["health_history"] = _history(parts)
    return row


def data_as_of(wh: Warehouse) -> date | None:
    """The day the summary describes (None before the first refresh)."""
    rows = ask(wh, ("as_of",), lambda P: table(wh, "account_summary").select("as_of"), limit=1)
    return rows[0]["as_of"] if rows else None


# -- the timeline --------------------------------------------------------------------------------------

def _part(t: ir.Table, kind: str, at, ref, a=None, b=None, c=None, value=None) -> ir.Table:
    def s(v):
        return (v if v is not None else ibis.null("string")).cast("string")

    return t.select(at=at.cast("timestamp"), kind=ibis.literal(kind), id=ref.cast("string"), a=s(a), b=s(b), c=s(c),
                    value=(value if value is not None else ibis.null("float64")).cast("float64"))


def _events(wh: Warehouse, P: Params) -> ir.Table:
    """Every dated fact of the account P("id") in one layout. Only the account filter reaches each
    table scan, so an index on account_id answers it."""
    def of(name: str) -> ir.Table:
        t = table(wh, name)
        return t.filter(t.account_id == P("id"))

    cl, mv, tk, sv, ac = (of(n) for n in ("contract_lines", "arr_movements", "tickets", "survey_responses",
                                          "activities"))
    ms, sg, ch, op, iv = (of(n) for n in ("milestones", "health_signals", "churn_reasons", "opportunities",
                                          "invoices"))
    plan = cl.plan.fill_null("") + ibis.literal(" ") + cl.currency
    return ibis.union(
        _part(cl, "contract", cl.start_date, cl.line_id, ibis.literal("start"), cl.product, plan, cl.arr),
        _part(cl, "contract", cl.end_date, cl.line_id, ibis.ifelse(cl.auto_renew.fill_null(False), "end_auto", "end"),
              cl.product, plan, cl.arr),
        _part(mv.filter(~mv.kind.isin(_UNCHANGED)), "contract", mv.month, mv.month.cast("string"), mv.kind,
              mv.opening.cast("string"), mv.closing.cast("string"), mv.closing - mv.opening),
        _part(tk, "ticket", tk.opened_at, tk.ticket_id, tk.subject, tk.priority,
              tk.status + ibis.ifelse(tk.escalated.fill_null(False), ", escalated", ""), tk.csat),
        _part(sv, "survey", sv.responded_at, sv.response_id, sv.kind, sv.comment, sv.touchpoint, sv.score),
        _part(ac, "activity", ac.at, ac.activity_id, ac.kind, ac.owner,
              ibis.ifelse(ac.with_exec.fill_null(False), "with an executive", "")),
        _part(ms, "milestone", ms.completed_at.fill_null(ms.due_at), ms.milestone, ms.milestone,
              ibis.ifelse(ms.completed_at.notnull(), "completed", "due"), ms.due_at.cast("string")),
        _part(sg, "signal", sg.at, sg.signal, sg.signal, sg.detail, sg.severity),
        _part(ch, "churn", ch.at, ch.at.cast("string"), ch.category, ch.detail),
        _part(op, "opportunity", op.close_date, op.opportunity_id, op.kind, op.stage, op.currency, op.amount),
        _part(iv, "invoice", iv.issued_at, iv.invoice_id, iv.currency, iv.paid_at.cast("string"),
              iv.due_at.cast("string"), iv.amount),
    )


def _timeline_expr(wh: Warehouse, P: Params, by_kind: bool) -> ir.Table:
    e = _events(wh, P)
    e = e.filter(e.at.notnull())
    e = e.mutate(**{f"n_{k}": ibis.ifelse(e.kind == k, 1, 0).sum().over(ibis.window()) for k in KINDS})
    if by_kind:
        e = e.filter(e.kind == P("kind"))
    return e.order_by([e.at.desc(), e.kind, e.id.asc(nulls_first=True)])


@dataclass
class Timeline(Page):
    """A page of timeline events, with how many events of each kind the account has."""

    counts: dict[str, int] = field(default_factory=dict)


def timeline_page(wh: Warehouse, account_id: str, kind: str | None = None, page: int = 1,
                  page_size: int = 50, currency: str = "USD") -> Timeline:
    """One page of the account's events (of one kind, if given), newest first. One query.
    `currency`: the reporting currency, in which ARR movements are written."""
    page, page_size = max(1, int(page)), max(1, min(int(page_size), 2000))
    values = {"id": account_id, **({"kind": kind} if kind else {})}
    rows = ask(wh, ("timeline", bool(kind)), lambda P: _timeline_expr(wh, P, bool(kind)), values,
               limit=page_size, offset=(page - 1) * page_size)
    if not rows and (kind or page > 1):  # nothing on this page: the counts alone
        rows_for_counts = ask(wh, ("timeline", False), lambda P: _timeline_expr(wh, P, False), {"id": account_id},
                              limit=1)
    else:
        rows_for_counts = rows
    counts = {k: int(rows_for_counts[0][f"n_{k}"]) for k in KINDS} if rows_for_counts else {k: 0 for k in KINDS}
    total = counts.get(kind, 0) if kind else sum(counts.values())
    return Timeline(rows=[describe_event(r, currency) for r in rows], total=total, page=page, page_size=page_size,
                    counts=counts)


def timeline(wh: Warehouse, account_id: str, limit: int = 200, kind: str | None = None,
             currency: str = "USD") -> list[dict]:
    """The account's newest `limit` events (of one kind, if given), newest first."""
    return timeline_page(wh, account_id, kind, 1, max(1, min(int(limit), 2000)), currency).rows
