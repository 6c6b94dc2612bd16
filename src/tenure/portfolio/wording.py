"""The words a person reads next to the read models' numbers: a timeline event's title and
detail, a change's title and detail, money as text. No queries here: the read models hand their
rows to these functions, and the API and the pages show what they return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tenure.formats import money_exact

BAND_ORDER = {"red": 0, "yellow": 1, "green": 2}
DATE_KINDS = {"contract", "milestone", "signal", "churn", "opportunity", "invoice"}  # timeline kinds dated by day


def describe_change(r: dict) -> dict:
    """A cockpit change row with its "title" and "detail" (band move, signal or risk jump)."""
    kind = r["kind"]
    if kind == "band":
        worse = BAND_ORDER.get(r["band"], 0) < BAND_ORDER.get(r["band_before"], 0)
        detail = (f"score {r['score']:.0f} ({r['score'] - r['score_before']:+.0f} since {r['before']})"
                  if r.get("score") is not None and r.get("score_before") is not None else "")
        return {**r, "band_30": r["band_before"], "direction": "down" if worse else "up",
                "title": f"health {r['band_before']} -> {r['band']}", "detail": detail}
    if kind == "signal":
        return {**r, "title": f"signal: {(r['signal'] or '').replace('_', ' ')}", "detail": r.get("detail") or ""}
    return {**r, "title": "churn risk up",
            "detail": f"{r['risk_before']:.0%} -> {r['risk_now']:.0%} since {r['before']}"}


def describe_event(r: dict, currency: str = "USD") -> dict:
    """A timeline row {"at", "kind", "id", "a", "b", "c", "value"} (the columns each kind fills
    are listed in `portfolio.account360`) as {"at", "kind", "id", "title", "detail", "value",
    "tag", plus kind-specific keys}. Money is written with its currency: a line's, an
    opportunity's or an invoice's own, and `currency` (the reporting currency) for ARR movements."""
    kind, a, b, c, v = r["kind"], r["a"], r["b"], r["c"], r["value"]
    at = r["at"]
    if kind in DATE_KINDS and isinstance(at, datetime):
        at = at.date()
    out: dict[str, Any] = {"at": at, "kind": kind, "id": r["id"], "title": "", "detail": "", "value": v, "tag": None}
    if kind == "contract":
        line_currency = (c or "").split()[-1] if (c or "").strip() else currency
        if a == "start":
            out.update(title=f"Contract line starts: {b}",
                       detail=f"{(c or '').strip()}, ARR {money_exact(v, line_currency, None)}".strip(", "),
                       line_id=r["id"], arr=v, tag="start")
        elif a in ("end", "end_auto"):
            how = " (auto-renew cancelled)" if a == "end_auto" else " (fixed term)"
            out.update(title=f"Contract line ends: {b}",
                       detail=f"{(c or '').strip()}, ARR {money_exact(v, line_currency, None)}{how}",
                       line_id=r["id"], arr=v, tag="end")
        else:
            out.update(title=f"ARR {a}: {'+' if (v or 0) >= 0 else '-'}{money_exact(abs(v or 0), currency, None)}",
                       detail=(f"ARR {money_exact(float(b), currency, None)} -> {money_exact(float(c), currency, None)} "
                               "in the month") if b and c else "",
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
        out.update(title=f"{(a or '').capitalize()} opportunity: {b}",
                   detail=money_exact(v, c, None) if v is not None else "",
                   opportunity_id=r["id"], amount=v, stage=b, tag=a)
    elif kind == "invoice":
        out.update(title=f"Invoice {money_exact(v, a, None)}" if v is not None else "Invoice",
                   detail=(f"paid {b}" if b else "unpaid") + (f", due {c}" if c else ""),
                   invoice_id=r["id"], amount=v, paid=b is not None, tag="paid" if b else "unpaid")
    return out
