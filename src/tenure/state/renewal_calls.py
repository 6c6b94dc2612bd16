"""Renewal forecast calls: a CSM's (or its manager's) call on one renewal — commit, best case or
at risk — with the next step and an optional amount override, stored in the state DB with who set
it and when. Every change is audited (entity "renewal_call", id "<account>/<renewal key>").

A renewal is keyed by its date (YYYY-MM-DD) or, for a rolling term with no renewal date, by the
term ("monthly", "quarterly"): a call made for this year's renewal does not carry over to the next.
The forecast rolls calls up by category and renewal date (`calls_between`).

Who may set a call is the HTTP doors' question (the one access policy, tenure.access, through
`open_account`); this module only stores and audits.

    renewal_key(renewal_date, renewal_term) -> str | None
    get_calls(session, keys) -> {(account_id, renewal_key): dict}
    set_call(session, *, account_id, renewal_key, renewal_date, category, next_step=None,
             amount_override=None, currency=None, actor, actor_id=None, ip=None) -> dict
    clear_call(session, account_id, renewal_key, *, actor, ip=None) -> bool
    calls_between(session, first, last) -> list[dict]
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from tenure.errors import InputError
from tenure.state import audit
from tenure.state.models import RENEWAL_CATEGORIES, RenewalCall, utcnow

__all__ = ["CATEGORY_LABELS", "NEXT_STEP_MAX", "RENEWAL_CATEGORIES", "calls_between", "clear_call", "get_calls",
           "renewal_key", "set_call"]

CATEGORY_LABELS = {"commit": "Commit", "best_case": "Best case", "at_risk": "At risk", None: "Not set"}
NEXT_STEP_MAX = 1000
NOT_SET = ("", "not_set", "none")


def renewal_key(renewal_date: date | None, renewal_term: str | None = None) -> str | None:
    """The key of an account's next renewal: its date, or its rolling term; None without either."""
    if renewal_date is not None:
        return renewal_date.isoformat()
    return renewal_term or None


def _public(c: RenewalCall) -> dict:
    return {"account_id": c.account_id, "renewal_key": c.renewal_key, "renewal_date": c.renewal_date,
            "category": c.category, "category_label": CATEGORY_LABELS.get(c.category, c.category),
            "amount_override": None if c.amount_override is None else float(c.amount_override),
            "currency": c.currency, "next_step": c.next_step, "set_by": c.set_by, "set_at": c.set_at}


def get_calls(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """The calls on the given (account_id, renewal_key) pairs (one page of renewals); pairs without a
    call are absent."""
    keys = sorted({(str(a), str(k)) for a, k in keys if a is not None and k is not None})
    out: dict[tuple[str, str], dict] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        q = select(RenewalCall).where(tuple_(RenewalCall.account_id, RenewalCall.renewal_key).in_(chunk))
        out.update({(c.account_id, c.renewal_key): _public(c) for c in session.scalars(q)})
    return out


def calls_between(session: Session, first: date | None = None, last: date | None = None) -> list[dict]:
    """Every call on a dated renewal between `first` and `last` (both included; None = open), and
    every call on a rolling term: what a forecast rolls up, and the renewals CSV joins."""
    q = select(RenewalCall)
    if first is not None:
        q = q.where((RenewalCall.renewal_date >= first) | RenewalCall.renewal_date.is_(None))
    if last is not None:
        q = q.where((RenewalCall.renewal_date <= last) | RenewalCall.renewal_date.is_(None))
    return [_public(c) for c in session.scalars(q.order_by(RenewalCall.account_id, RenewalCall.renewal_key))]


def _category(value: str | None) -> str | None:
    v = (value or "").strip().lower().replace(" ", "_").replace("-", "_")
    if v in NOT_SET:
        return None
    if v not in RENEWAL_CATEGORIES:
        raise InputError(f"category {value!r}: use one of {', '.join(RENEWAL_CATEGORIES)}, or not_set")
    return v


def _amount(value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        d = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise InputError(f"amount_override {value!r} is not a number: give the expected renewal ARR, "
                         "e.g. 12000") from None
    if not d.is_finite() or d < 0 or d >= Decimal(10) ** 16:
        raise InputError(f"amount_override {value!r}: give an amount of 0 or more (below 10^16)")
    return d.quantize(Decimal("0.01"))


def set_call(session: Session, *, account_id: str, renewal_key: str, renewal_date: date | None,
             category: str | None, next_step: str | None = None, amount_override=None,
             currency: str | None = None, actor: str, actor_id: int | None = None, ip: str | None = None) -> dict:
    """Create or change the call on one renewal (idempotent: the same values again change nothing
    and write no audit entry). category: commit, best_case, at_risk, or not_set/None; next_step: up
    to NEXT_STEP_MAX characters; amount_override in `currency` (the reporting currency). Returns the
    stored call."""
    if not account_id or not renewal_key:
        raise InputError("a renewal call needs an account and a renewal (date or rolling term)")
    cat = _category(category)
    step = (next_step or "").strip() or None
    if step is not None and len(step) > NEXT_STEP_MAX:
        raise InputError(f"next_step has {len(step)} characters: at most {NEXT_STEP_MAX}")
    amount = _amount(amount_override)
    row = session.scalars(select(RenewalCall).where(RenewalCall.account_id == account_id,
                                                    RenewalCall.renewal_key == renewal_key)).first()
    values = {"category": cat, "next_step": step, "amount_override": amount,
              "currency": currency if amount is not None else None}
    entity_id = f"{account_id}/{renewal_key}"
    if row is None:
        row = RenewalCall(account_id=account_id, renewal_key=renewal_key, renewal_date=renewal_date,
                          set_by=actor, set_by_id=actor_id, set_at=utcnow(), **values)
        session.add(row)
        session.flush()
        audit.record(session, actor, "create", "renewal_call", entity_id, None, _audited(row), ip=ip)
        return _public(row)
    before = _audited(row)
    if all(getattr(row, k) == v for k, v in values.items()):
        return _public(row)
    for k, v in values.items():
        setattr(row, k, v)
    row.set_by, row.set_by_id, row.set_at = actor, actor_id, utcnow()
    session.flush()
    audit.record(session, actor, "update", "renewal_call", entity_id, before, _audited(row), ip=ip)
    return _public(row)


def clear_call(session: Session, account_id: str, renewal_key: str, *, actor: str, ip: str | None = None) -> bool:
    """Remove the call on one renewal (back to "not set"); audited. False when there was none."""
    row = session.scalars(select(RenewalCall).where(RenewalCall.account_id == account_id,
                                                    RenewalCall.renewal_key == renewal_key)).first()
    if row is None:
        return False
    audit.record(session, actor, "delete", "renewal_call", f"{account_id}/{renewal_key}", _audited(row), None, ip=ip)
    session.delete(row)
    session.flush()
    return True


def _audited(row: RenewalCall) -> dict:
    return {"account_id": row.account_id, "renewal_key": row.renewal_key, "renewal_date": row.renewal_date,
            "category": row.category, "next_step": row.next_step,
            "amount_override": None if row.amount_override is None else str(row.amount_override),
            "currency": row.currency}
