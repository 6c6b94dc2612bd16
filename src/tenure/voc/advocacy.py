"""Advocacy: promoters turned into references, case studies, referrals and advisory-board members.

**Reference candidates** (`candidates`) are contacts who, on the data's day `as_of`:
- are *promoters*: their latest NPS answer (warehouse `survey_responses`, kind nps) scored 9 or 10
  and is at most `advocacy.promoter_max_age_days` old;
- are at a *healthy* account: its latest health score on or before `as_of` (`health_scores`, the
  health stage's snapshots) is in a band of `advocacy.healthy_bands` (green);
- are at a customer *past its first renewal*: the account has ARR on `as_of`
  (`tenure.metrics.arr.arr_on`, the one ARR definition) and either won a renewal opportunity
  closed on or before `as_of`, or its first contract line started at least
  `advocacy.first_term_days` (365) before `as_of` (it has lived through a yearly term's end:
  renewed by a new line, auto-renewed, or a rolling term kept for a year);
- are still with the account (`contacts.active_to` empty or on/after `as_of`);
- are *not asked recently*: under the fatigue ledger's cap and not asked in the last
  `advocacy.cooldown_days`.
They are ranked by the account's ARR, then the most recent NPS answer, in the engine (Ibis); only
the page asked for leaves it. Each row carries the reasons it qualifies.

**The fatigue ledger** counts reference requests per contact across every team: at most
`advocacy.request_cap` requests (any status but withdrawn) in `advocacy.cap_days`. A request over
the cap is refused (ConflictError) naming the contact, the cap and the day it is next available.
A new request first writes the contact's `reference_ledger` row, so two requests for one contact
are counted one after the other (SQLite's write lock; PostgreSQL's row lock).

Reference requests move requested -> accepted | declined | withdrawn, accepted -> completed |
declined | withdrawn. Case studies move through `advocacy.case_study_stages` (any stage to any
other, or "dropped"); each move is kept (case_study_moves) and audited. A referral names the
referred company; once it is a customer it is linked to its account id and brings that account's
ARR on the day asked. Advisory-board members have a term; active while the day is inside it.

Every change writes an audit entry (entities "reference_request", "case_study", "referral",
"advisory_member"); creating what exists already (an open request of the same contact for the
same opportunity or prospect, a case study of the same account and title still in the pipeline,
a referral of the same company by the same account, a member's term starting the same day) returns
the existing row. Times are naive UTC. Scope is the caller's: list functions take the account ids
of the principal's book (`book_accounts`), candidates the owners.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from tenure.config import NPS_PROMOTER_MIN, AdvocacySettings, Config
from tenure.errors import ConflictError, InputError, NotFoundError
from tenure.metrics.arr import arr_on
from tenure.state import audit
from tenure.state.models import (REFERENCE_COUNTED_STATUSES, REFERENCE_OPEN_STATUSES, REFERENCE_STATUSES,
                                 REFERRAL_STATUSES, AdvisoryMember, CaseStudy, CaseStudyMove, ReferenceLedger,
                                 ReferenceRequest, Referral, utcnow)
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis, ir

__all__ = ["CandidatePage", "Page", "add_member", "add_referral", "availability", "book_accounts", "candidates",
           "case_study_dict", "contact_account", "create_case_study", "end_member", "get_case_study",
           "get_member", "get_referral", "get_request", "list_case_studies", "list_members", "list_referrals",
           "list_requests", "member_dict", "move_case_study", "pipeline_counts", "referral_arr", "referral_dict",
           "request_dict", "request_reference", "set_request_status", "update_referral"]

PROMOTER_MIN = NPS_PROMOTER_MIN  # NPS promoters answer 9 or 10 (tenure.config, the one definition)
DROPPED = "dropped"
# where a reference request may go from each status
REQUEST_MOVES = {"requested": ("accepted", "declined", "withdrawn"),
                 "accepted": ("completed", "declined", "withdrawn"),
                 "declined": (), "completed": (), "withdrawn": ()}


@dataclass
class Page:
    """One page of rows and how many match in all (counted in the database)."""

    rows: list[dict]
    total: int


@dataclass
class CandidatePage(Page):
    as_of: date | None = None


def _settings(settings: AdvocacySettings | None) -> AdvocacySettings:
    return settings or AdvocacySettings()


def _audit(session: Session, actor: str, action: str, entity: str, entity_id: int | str,
           before: dict | None, after: dict | None) -> None:
    audit.record(session, actor, action, entity, str(entity_id), before, after)


def _text(value: str | None, field: str, limit: int, required: bool = False) -> str | None:
    v = (value or "").strip()
    if required and not v:
        raise InputError(f"{field} is empty; give a {field.replace('_', ' ')}")
    if len(v) > limit:
        raise InputError(f"{field} is {len(v)} characters; at most {limit}")
    return v or None


# -- the warehouse side: contacts, books -------------------------------------------------------------

def contact_account(wh: Warehouse, contact_id: str) -> dict[str, Any]:
    """The contact's account id, name and title; NotFoundError when the warehouse has no such contact."""
    c = wh.table("contacts")
    rows = wh.execute(c.filter(c.contact_id == contact_id).select("contact_id", "account_id", "name", "title")
                      .limit(1)).to_dict("records")
    if not rows:
        raise NotFoundError(f"no contact {contact_id!r} in the warehouse's contacts; check the id "
                            "(tenure ingest contacts loads them)")
    return rows[0]


def account_exists(wh: Warehouse, account_id: str) -> None:
    """NotFoundError unless the warehouse's accounts has `account_id`."""
    a = wh.table("accounts")
    if int(wh.execute(a.filter(a.account_id == account_id).count())) == 0:
        raise NotFoundError(f"no account {account_id!r} in the warehouse's accounts; check the id")


def book_accounts(wh: Warehouse, owners: Sequence[str] | None) -> list[str] | None:
    """The account ids of a book of business (accounts.owner in `owners`); None for every account."""
    if owners is None:
        return None
    if not owners:
        return []
    a = wh.table("accounts")
    return sorted(wh.execute(a.filter(a.owner.isin(list(owners))).select("account_id"))["account_id"].tolist())


def account_names(wh: Warehouse, ids: Sequence[str]) -> dict[str, str]:
    """{account_id: name} of the given accounts (a page's worth)."""
    ids = sorted({i for i in ids if i})
    if not ids:
        return {}
    a = wh.table("accounts")
    df = wh.execute(a.filter(a.account_id.isin(ids)).select("account_id", "name"))
    return dict(zip(df["account_id"], df["name"]))


def contact_names(wh: Warehouse, ids: Sequence[str]) -> dict[str, str]:
    """{contact_id: name} of the given contacts (a page's worth)."""
    ids = sorted({i for i in ids if i})
    if not ids:
        return {}
    c = wh.table("contacts")
    df = wh.execute(c.filter(c.contact_id.isin(ids)).select("contact_id", "name"))
    return {k: v for k, v in zip(df["contact_id"], df["name"]) if isinstance(v, str)}


def _in_book(query, column, accounts: Sequence[str] | None):
    if accounts is None:
        return query
    return query.where(column.in_(list(accounts)))


# -- the fatigue ledger ------------------------------------------------------------------------------

def _counted(session: Session, contact_id: str, since: datetime) -> list[datetime]:
    """Times of the contact's counted requests since `since`, newest first."""
    return list(session.scalars(
        select(ReferenceRequest.requested_at).where(ReferenceRequest.contact_id == contact_id,
                                                    ReferenceRequest.requested_at > since,
                                                    ReferenceRequest.status.in_(REFERENCE_COUNTED_STATUSES))
        .order_by(ReferenceRequest.requested_at.desc())))


def availability(session: Session, contact_id: str, *, settings: AdvocacySettings | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
    """Where the contact stands in the fatigue ledger: requests counted in the window, the cap,
    the last ask, and when it may be asked again (None: now)."""
    s = _settings(settings)
    now = now or utcnow()
    times = _counted(session, contact_id, now - timedelta(days=s.cap_days))
    ledger = session.get(ReferenceLedger, contact_id)
    nxt = times[s.request_cap - 1] + timedelta(days=s.cap_days) if len(times) >= s.request_cap else None
    return {"contact_id": contact_id, "asks_in_window": len(times), "cap": s.request_cap,
            "window_days": s.cap_days, "last_asked_at": ledger.last_asked_at if ledger else None,
            "asks_total": ledger.asks if ledger else 0, "available": nxt is None, "next_available_at": nxt}


def recent_asks(session: Session, *, settings: AdvocacySettings | None = None,
                now: datetime | None = None) -> pd.DataFrame:
    """Per contact asked within the ledger's window (or the cooldown, whichever is longer): the
    counted requests in the window and the last ask. Counted in the state DB."""
    s = _settings(settings)
    now = now or utcnow()
    window = now - timedelta(days=s.cap_days)
    since = now - timedelta(days=max(s.cap_days, s.cooldown_days))
    in_window = func.sum(case((ReferenceRequest.requested_at > window, 1), else_=0))
    rows = session.execute(
        select(ReferenceRequest.contact_id, in_window, func.max(ReferenceRequest.requested_at))
        .where(ReferenceRequest.requested_at > since, ReferenceRequest.status.in_(REFERENCE_COUNTED_STATUSES))
        .group_by(ReferenceRequest.contact_id)).all()
    return pd.DataFrame({"ask_contact": pd.Series([r[0] for r in rows], dtype=object),
                         "asks_in_window": pd.Series([int(r[1] or 0) for r in rows], dtype="int64"),
                         "last_asked_at": pd.Series([r[2] for r in rows], dtype="datetime64[us]")})


# -- reference requests ------------------------------------------------------------------------------

def request_dict(r: ReferenceRequest) -> dict[str, Any]:
    return {k: getattr(r, k) for k in ("id", "contact_id", "account_id", "team", "requested_by", "opportunity_id",
                                       "prospect", "purpose", "status", "note", "requested_at", "updated_at",
                                       "closed_at")}


def get_request(session: Session, request_id: int) -> ReferenceRequest:
    r = session.get(ReferenceRequest, request_id)
    if r is None:
        raise NotFoundError(f"reference request {request_id} does not exist")
    return r


def request_reference(session: Session, *, contact_id: str, account_id: str, team: str, requested_by: str,
                      opportunity_id: str | None = None, prospect: str | None = None, purpose: str = "",
                      settings: AdvocacySettings | None = None, actor: str | None = None,
                      now: datetime | None = None) -> tuple[ReferenceRequest, bool]:
    """A reference request of `contact_id` (at `account_id`) by `requested_by` of `team`, for an
    opportunity or a named prospect. Returns (request, created): an open request of the same
    contact for the same opportunity / prospect is returned as it is. ConflictError when the
    contact is at the fatigue ledger's cap, naming the contact, the cap and when it is next
    available."""
    s = _settings(settings)
    now = now or utcnow()
    team = _text(team, "team", 100, required=True)
    opportunity_id = _text(opportunity_id, "opportunity_id", 100)
    prospect = _text(prospect, "prospect", 255)
    if not opportunity_id and not prospect:
        raise InputError("a reference request names the opportunity_id or the prospect it is for")
    # the ledger row first: it takes the write lock (SQLite) / row lock (PostgreSQL) for this contact
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    session.execute(upsert(ReferenceLedger).values(contact_id=contact_id, account_id=account_id, asks=0,
                                                   updated_at=now).on_conflict_do_nothing())
    session.execute(update(ReferenceLedger).where(ReferenceLedger.contact_id == contact_id)
                    .values(updated_at=now).execution_options(synchronize_session=False))
    same = select(ReferenceRequest).where(ReferenceRequest.contact_id == contact_id,
                                          ReferenceRequest.status.in_(REFERENCE_OPEN_STATUSES))
    same = same.where(ReferenceRequest.opportunity_id == opportunity_id) if opportunity_id else \
        same.where(func.lower(ReferenceRequest.prospect) == prospect.lower())
    existing = session.scalars(same.order_by(ReferenceRequest.id).limit(1)).first()
    if existing is not None:
        return existing, False
    times = _counted(session, contact_id, now - timedelta(days=s.cap_days))
    if len(times) >= s.request_cap:
        nxt = times[s.request_cap - 1] + timedelta(days=s.cap_days)
        raise ConflictError(
            f"contact {contact_id} has been asked for {len(times)} references in the last {s.cap_days} days; "
            f"the cap is {s.request_cap} per {s.cap_days} days across teams (tenure.yaml advocacy.request_cap); "
            f"next available {nxt:%Y-%m-%d %H:%M} UTC: ask another candidate")
    r = ReferenceRequest(contact_id=contact_id, account_id=account_id, team=team, requested_by=requested_by,
                         opportunity_id=opportunity_id, prospect=prospect, purpose=(purpose or "").strip()[:10_000],
                         status="requested", requested_at=now, updated_at=now)
    session.add(r)
    session.execute(update(ReferenceLedger).where(ReferenceLedger.contact_id == contact_id)
                    .values(asks=ReferenceLedger.asks + 1, last_asked_at=now, account_id=account_id)
                    .execution_options(synchronize_session=False))
    session.flush()
    _audit(session, actor or requested_by, "create", "reference_request", r.id, None,
           {"contact_id": contact_id, "account_id": account_id, "team": team, "opportunity_id": opportunity_id,
            "prospect": prospect})
    return r, True


def set_request_status(session: Session, request_id: int, status: str, *, note: str | None = None, actor: str,
                       now: datetime | None = None) -> ReferenceRequest:
    """Move a request (requested -> accepted | declined | withdrawn; accepted -> completed |
    declined | withdrawn); the same status again changes nothing. Audited."""
    if status not in REFERENCE_STATUSES:
        raise InputError(f"reference request status {status!r}: use one of {', '.join(REFERENCE_STATUSES)}")
    r = get_request(session, request_id)
    if r.status == status:
        return r
    if status not in REQUEST_MOVES[r.status]:
        allowed = ", ".join(REQUEST_MOVES[r.status]) or "nothing (it is closed)"
        raise ConflictError(f"reference request {request_id} is {r.status}; it can move to {allowed}, not {status}")
    now = now or utcnow()
    before = r.status
    r.status, r.updated_at = status, now
    if note:
        r.note = note.strip()[:10_000]
    if status in ("declined", "completed", "withdrawn"):
        r.closed_at = now
    session.flush()
    _audit(session, actor, "status", "reference_request", r.id, {"status": before}, {"status": status, "note": note})
    return r


def list_requests(session: Session, *, accounts: Sequence[str] | None = None, contact_id: str | None = None,
                  account_id: str | None = None, status: Sequence[str] | None = None, team: str | None = None,
                  limit: int = 50, offset: int = 0) -> Page:
    """Requests in the book (`accounts`: None = all), newest first, with the total that match."""
    q = _in_book(select(ReferenceRequest), ReferenceRequest.account_id, accounts)
    if contact_id:
        q = q.where(ReferenceRequest.contact_id == contact_id)
    if account_id:
        q = q.where(ReferenceRequest.account_id == account_id)
    if status:
        q = q.where(ReferenceRequest.status.in_(list(status)))
    if team:
        q = q.where(ReferenceRequest.team == team)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(ReferenceRequest.requested_at.desc(), ReferenceRequest.id.desc())
                           .limit(limit).offset(offset))
    return Page([request_dict(r) for r in rows], int(total or 0))


# -- candidates --------------------------------------------------------------------------------------

_ASKS_SCHEMA = {"ask_contact": "string", "asks_in_window": "int64", "last_asked_at": "timestamp"}


def _latest(t: ir.Table, key: str, newest_first: Sequence[str]) -> ir.Table:
    """The row of `t` per `key` that is first by the columns `newest_first`, each descending."""
    ranked = t.mutate(_rk=ibis.row_number().over(group_by=t[key], order_by=[t[c].desc() for c in newest_first]))
    return ranked.filter(ranked._rk == 0).drop("_rk")


def candidate_expr(wh: Warehouse, config: Config, asks: pd.DataFrame, *, as_of: date, now: datetime,
                   owners: Sequence[str] | None = None, segment: str | None = None,
                   account_id: str | None = None) -> ir.Table:
    """Every reference candidate on `as_of`, ranked (column `rank`, 1 = best), as one Ibis
    expression. `asks` is recent_asks' frame (the state DB's ledger, joined in the engine)."""
    s = config.advocacy
    day_end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    oldest = datetime.combine(as_of - timedelta(days=s.promoter_max_age_days), datetime.min.time())

    sr = wh.table("survey_responses")
    sr = sr.filter(sr.kind == "nps", sr.contact_id.notnull(), sr.responded_at < ibis.timestamp(day_end))
    nps = _latest(sr, "contact_id", ["responded_at", "response_id"])
    nps = nps.filter(nps.score >= PROMOTER_MIN, nps.responded_at >= ibis.timestamp(oldest))
    nps = nps.select(n_contact=nps.contact_id, nps_score=nps.score, nps_at=nps.responded_at,
                     nps_comment=nps.comment)

    c = wh.table("contacts")
    d = ibis.date(as_of)
    c = c.filter((c.active_from.isnull() | (c.active_from <= d)) & (c.active_to.isnull() | (c.active_to >= d)))
    c = c.select("contact_id", "account_id", contact_name=c.name, title=c.title, role=c.role)

    hs = wh.table("health_scores")
    hs = _latest(hs.filter(hs.as_of <= d), "account_id", ["as_of"])
    hs = hs.filter(hs.band.isin(list(s.healthy_bands)))
    hs = hs.select(h_account=hs.account_id, band=hs.band, health_score=hs.score, health_as_of=hs.as_of)

    arr = arr_on(wh, config, as_of)
    arr = arr.filter(arr.arr > 0).select(r_account=arr.account_id, arr=arr.arr)

    lines = wh.table("contract_lines")
    first = lines.filter(lines.start_date <= d).group_by("account_id").aggregate(
        first_start=lines.start_date.min()).rename(f_account="account_id")
    op = wh.table("opportunities")
    won = op.filter(op.kind == "renewal", op.status == "won", op.close_date <= d)
    won = won.group_by("account_id").aggregate(last_renewal=won.close_date.max()).rename(o_account="account_id")

    a = wh.table("accounts")
    if owners is not None:
        a = a.filter(a.owner.isin(list(owners)) if owners else ibis.literal(False))
    if segment:
        a = a.filter(a.segment == segment)
    if account_id:
        a = a.filter(a.account_id == account_id)
    a = a.select(a_account=a.account_id, account_name=a.name, owner=a.owner, segment=a.segment)

    ledger = ibis.memtable(asks, schema=_ASKS_SCHEMA)

    j = c.join(nps, c.contact_id == nps.n_contact)
    j = j.join(a, j.account_id == a.a_account)
    j = j.join(hs, j.account_id == hs.h_account)
    j = j.join(arr, j.account_id == arr.r_account)
    j = j.join(first, j.account_id == first.f_account)
    j = j.left_join(won, j.account_id == won.o_account)
    j = j.left_join(ledger, j.contact_id == ledger.ask_contact)
    past_first = j.first_start <= ibis.date(as_of - timedelta(days=s.first_term_days))
    j = j.filter(past_first | j.last_renewal.notnull())
    asked = j.asks_in_window.fill_null(0)
    cool = ibis.timestamp(now - timedelta(days=s.cooldown_days))
    j = j.filter(asked < s.request_cap, j.last_asked_at.isnull() | (j.last_asked_at <= cool))
    j = j.select("contact_id", "contact_name", "title", "role", "account_id", "account_name", "owner", "segment",
                 "arr", "nps_score", "nps_at", "nps_comment", "band", "health_score", "health_as_of", "first_start",
                 "last_renewal", asks_in_window=asked, last_asked_at=j.last_asked_at)
    order = [j.arr.desc(), j.nps_at.desc(), j.nps_score.desc(), j.contact_id]
    return j.mutate(rank=ibis.row_number().over(order_by=order) + 1)


def _reasons(r: dict[str, Any], s: AdvocacySettings, currency: str) -> list[str]:
    from tenure.formats import money

    out = [f"promoter: NPS {r['nps_score']} on {_day(r['nps_at'])}",
           f"healthy: {r['band']} band" + (f" (score {r['health_score']:.0f})" if r.get("health_score") is not None
                                           and r["health_score"] == r["health_score"] else "")
           + f" on {_day(r['health_as_of'])}"]
    if r.get("last_renewal") is not None:
        out.append(f"renewed: a renewal won on {_day(r['last_renewal'])}")
    else:
        out.append(f"renewed: a customer since {_day(r['first_start'])}, past its first {s.first_term_days}-day term")
    if r.get("last_asked_at") is None:
        out.append("never asked for a reference")
    else:
        out.append(f"last asked {_day(r['last_asked_at'])}; {r['asks_in_window']} of {s.request_cap} asks "
                   f"in the last {s.cap_days} days")
    out.append(f"ARR {money(r['arr'], currency)}")
    return out


def _day(v: Any) -> str:
    if v is None:
        return "–"
    if hasattr(v, "date") and callable(v.date):
        v = v.date()
    return v.isoformat() if hasattr(v, "isoformat") else str(v)[:10]


def _plain(v: Any) -> Any:
    """A value from a DataFrame as Python (NaN/NaT -> None, Timestamps -> datetime, numpy -> Python)."""
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item"):
        return v.item()
    return v


def candidates(wh: Warehouse, config: Config, session: Session, *, as_of: date, owners: Sequence[str] | None = None,
               segment: str | None = None, account_id: str | None = None, limit: int = 50, offset: int = 0,
               now: datetime | None = None) -> CandidatePage:
    """Reference candidates on `as_of` in the book of `owners` (None = all), best first, with the
    number that qualify and each row's reasons. Computed in the engine; one page leaves it."""
    now = now or utcnow()
    asks = recent_asks(session, settings=config.advocacy, now=now)
    expr = candidate_expr(wh, config, asks, as_of=as_of, now=now, owners=owners, segment=segment,
                          account_id=account_id)
    # one query (compiling the expression costs more than running it): the page, each row
    # carrying the number of candidates in all (a window count, evaluated before the limit)
    paged = expr.mutate(_total=expr.contact_id.count().over(ibis.window()))
    df = wh.execute(paged.order_by("rank").limit(int(limit), offset=int(offset)))
    if len(df):
        total = int(df["_total"].iloc[0])
    else:
        total = int(wh.execute(expr.count())) if offset else 0
    rows = [{k: _plain(v) for k, v in r.items() if k != "_total"} for r in df.to_dict("records")]
    for r in rows:
        for k in ("health_as_of", "first_start", "last_renewal"):
            if isinstance(r.get(k), datetime):
                r[k] = r[k].date()
        r["reasons"] = _reasons(r, config.advocacy, config.reporting_currency)
    return CandidatePage(rows, total, as_of)


# -- case studies ------------------------------------------------------------------------------------

def case_study_dict(cs: CaseStudy, moves: Sequence[CaseStudyMove] | None = None) -> dict[str, Any]:
    out = {k: getattr(cs, k) for k in ("id", "account_id", "contact_id", "title", "stage", "owner", "url",
                                       "created_by", "created_at", "stage_at", "published_at")}
    if moves is not None:
        out["moves"] = [{"from_stage": m.from_stage, "to_stage": m.to_stage, "note": m.note, "actor": m.actor,
                         "at": m.at} for m in moves]
    return out


def get_case_study(session: Session, case_study_id: int) -> CaseStudy:
    cs = session.get(CaseStudy, case_study_id)
    if cs is None:
        raise NotFoundError(f"case study {case_study_id} does not exist")
    return cs


def case_study_moves(session: Session, case_study_id: int) -> list[CaseStudyMove]:
    return list(session.scalars(select(CaseStudyMove).where(CaseStudyMove.case_study_id == case_study_id)
                                .order_by(CaseStudyMove.at, CaseStudyMove.id)))


def _stage(stage: str, s: AdvocacySettings, dropped: bool = True) -> str:
    known = [*s.case_study_stages, *([DROPPED] if dropped else [])]
    if stage not in known:
        raise InputError(f"case-study stage {stage!r}: use one of {', '.join(known)} "
                         "(tenure.yaml advocacy.case_study_stages)")
    return stage


def create_case_study(session: Session, *, account_id: str, title: str, contact_id: str | None = None,
                      owner: str | None = None, stage: str | None = None, settings: AdvocacySettings | None = None,
                      actor: str, now: datetime | None = None) -> tuple[CaseStudy, bool]:
    """A case study in the pipeline, at `stage` (default: the first). Returns (case study, created):
    one of the same account and title still in the pipeline (not published or dropped) is returned."""
    s = _settings(settings)
    now = now or utcnow()
    title = _text(title, "title", 255, required=True)
    stage = _stage(stage or s.case_study_stages[0], s, dropped=False)
    done = (s.case_study_stages[-1], DROPPED)
    existing = session.scalars(select(CaseStudy).where(CaseStudy.account_id == account_id,
                                                       func.lower(CaseStudy.title) == title.lower(),
                                                       CaseStudy.stage.not_in(done)).limit(1)).first()
    if existing is not None:
        return existing, False
    cs = CaseStudy(account_id=account_id, contact_id=contact_id or None, title=title, stage=stage, owner=owner,
                   created_by=actor, created_at=now, stage_at=now,
                   published_at=now if stage == s.case_study_stages[-1] else None)
    session.add(cs)
    session.flush()
    session.add(CaseStudyMove(case_study_id=cs.id, from_stage=None, to_stage=stage, actor=actor, at=now))
    session.flush()
    _audit(session, actor, "create", "case_study", cs.id, None,
           {"account_id": account_id, "contact_id": contact_id, "title": title, "stage": stage})
    return cs, True


def move_case_study(session: Session, case_study_id: int, stage: str, *, note: str | None = None,
                    url: str | None = None, settings: AdvocacySettings | None = None, actor: str,
                    now: datetime | None = None) -> CaseStudy:
    """Move a case study to another stage (or "dropped"): kept in case_study_moves and audited.
    The same stage again changes nothing; publishing records published_at (and the url, if given)."""
    s = _settings(settings)
    _stage(stage, s)
    cs = get_case_study(session, case_study_id)
    url = _text(url, "url", 500)
    if url and not re.match(r"^https?://", url):
        raise InputError(f"url {url!r} is not a web address; give one starting with https://")
    if cs.stage == stage and not url:
        return cs
    now = now or utcnow()
    before = {"stage": cs.stage, "url": cs.url}
    if cs.stage != stage:
        session.add(CaseStudyMove(case_study_id=cs.id, from_stage=cs.stage, to_stage=stage, note=note, actor=actor,
                                  at=now))
        cs.stage, cs.stage_at = stage, now
        cs.published_at = now if stage == s.case_study_stages[-1] else None
    if url:
        cs.url = url
    session.flush()
    _audit(session, actor, "move", "case_study", cs.id, before, {"stage": stage, "url": cs.url, "note": note})
    return cs


def list_case_studies(session: Session, *, accounts: Sequence[str] | None = None, stage: str | None = None,
                      account_id: str | None = None, limit: int = 50, offset: int = 0) -> Page:
    """Case studies in the book, most recently moved first, with the total that match."""
    q = _in_book(select(CaseStudy), CaseStudy.account_id, accounts)
    if stage:
        q = q.where(CaseStudy.stage == stage)
    if account_id:
        q = q.where(CaseStudy.account_id == account_id)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(CaseStudy.stage_at.desc(), CaseStudy.id.desc()).limit(limit).offset(offset))
    return Page([case_study_dict(cs) for cs in rows], int(total or 0))


def pipeline_counts(session: Session, *, accounts: Sequence[str] | None = None,
                    settings: AdvocacySettings | None = None) -> list[dict[str, Any]]:
    """Case studies per stage in the book, in pipeline order (dropped last), counted in the state DB."""
    s = _settings(settings)
    q = _in_book(select(CaseStudy.stage, func.count()).group_by(CaseStudy.stage), CaseStudy.account_id, accounts)
    got = dict(session.execute(q).all())
    return [{"stage": st, "count": int(got.get(st, 0))} for st in [*s.case_study_stages, DROPPED]]


# -- referrals ---------------------------------------------------------------------------------------

def _company_key(company: str) -> str:
    return re.sub(r"\s+", " ", company.strip().lower())


def referral_dict(r: Referral) -> dict[str, Any]:
    return {k: getattr(r, k) for k in ("id", "account_id", "contact_id", "company", "status", "referred_account_id",
                                       "note", "created_by", "created_at", "updated_at")}


def get_referral(session: Session, referral_id: int) -> Referral:
    r = session.get(Referral, referral_id)
    if r is None:
        raise NotFoundError(f"referral {referral_id} does not exist")
    return r


def add_referral(session: Session, *, account_id: str, company: str, contact_id: str | None = None,
                 note: str | None = None, actor: str, now: datetime | None = None) -> tuple[Referral, bool]:
    """A company referred by `account_id` (and its contact). Returns (referral, created): the same
    company (case and spacing aside) referred by the same account again returns the first."""
    now = now or utcnow()
    company = _text(company, "company", 255, required=True)
    key = _company_key(company)
    existing = session.scalars(select(Referral).where(Referral.account_id == account_id,
                                                      Referral.company_key == key)).first()
    if existing is not None:
        return existing, False
    r = Referral(account_id=account_id, contact_id=contact_id or None, company=company, company_key=key,
                 status="new", note=_text(note, "note", 10_000), created_by=actor, created_at=now, updated_at=now)
    session.add(r)
    session.flush()
    _audit(session, actor, "create", "referral", r.id, None,
           {"account_id": account_id, "contact_id": contact_id, "company": company})
    return r, True


def update_referral(session: Session, referral_id: int, *, status: str | None = None,
                    referred_account_id: str | None = None, note: str | None = None, actor: str,
                    now: datetime | None = None) -> Referral:
    """Change a referral's status (new, qualified, won, lost) or link it to the account it became
    (which makes it won). Audited; no change, no entry."""
    if status is not None and status not in REFERRAL_STATUSES:
        raise InputError(f"referral status {status!r}: use one of {', '.join(REFERRAL_STATUSES)}")
    r = get_referral(session, referral_id)
    if referred_account_id and referred_account_id == r.account_id:
        raise InputError(f"referral {referral_id}: the referred account {referred_account_id} is the referring "
                         "account itself; link the new customer's account id")
    if referred_account_id and status not in (None, "won"):
        raise InputError(f"referral {referral_id}: a referral linked to a customer account is won, not {status}")
    change = {}
    if referred_account_id and referred_account_id != r.referred_account_id:
        change["referred_account_id"] = referred_account_id
        change["status"] = "won"
    if status is not None and status != r.status and "status" not in change:
        change["status"] = status
    if note is not None and (note.strip() or None) != r.note:
        change["note"] = _text(note, "note", 10_000)
    if not change:
        return r
    before = {k: getattr(r, k) for k in change}
    for k, v in change.items():
        setattr(r, k, v)
    r.updated_at = now or utcnow()
    session.flush()
    _audit(session, actor, "update", "referral", r.id, before, change)
    return r


def list_referrals(session: Session, *, accounts: Sequence[str] | None = None, status: str | None = None,
                   account_id: str | None = None, limit: int = 50, offset: int = 0) -> Page:
    """Referrals made by accounts in the book, newest first, with the total that match."""
    q = _in_book(select(Referral), Referral.account_id, accounts)
    if status:
        q = q.where(Referral.status == status)
    if account_id:
        q = q.where(Referral.account_id == account_id)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(Referral.created_at.desc(), Referral.id.desc()).limit(limit).offset(offset))
    return Page([referral_dict(r) for r in rows], int(total or 0))


def referral_arr(wh: Warehouse, config: Config, session: Session, *, day: date,
                 accounts: Sequence[str] | None = None, ids: Sequence[int] | None = None) -> dict[str, Any]:
    """The ARR referrals brought on `day`: each linked referral's referred account's ARR (tenure.metrics.arr,
    the one definition; 0 once it churned), for the referrals `ids` (a page) and in total over every
    referral of the book. Returns {"day", "total_arr", "won", "by_referral": {id: arr}}; summed in the engine."""
    q = _in_book(select(Referral.id, Referral.referred_account_id).where(Referral.referred_account_id.is_not(None)),
                 Referral.account_id, accounts)
    links = pd.DataFrame(session.execute(q).all(), columns=["referral_id", "ref_account"])
    if links.empty:
        return {"day": day, "total_arr": 0, "won": 0, "by_referral": {}}
    links["referral_id"] = links["referral_id"].astype("int64")
    m = ibis.memtable(links, schema={"referral_id": "int64", "ref_account": "string"})
    arr = arr_on(wh, config, day)
    j = m.left_join(arr, m.ref_account == arr.account_id).select("referral_id", arr=arr.arr.fill_null(0))
    total = wh.execute(j.arr.sum())
    by = {}
    if ids:
        page = wh.execute(j.filter(j.referral_id.isin([int(i) for i in ids])))
        by = {int(k): _plain(v) for k, v in zip(page["referral_id"], page["arr"])}
    return {"day": day, "total_arr": _plain(total) or 0, "won": len(links), "by_referral": by}


# -- advisory boards ---------------------------------------------------------------------------------

def member_dict(m: AdvisoryMember, today: date | None = None) -> dict[str, Any]:
    today = today or utcnow().date()
    out = {k: getattr(m, k) for k in ("id", "board", "contact_id", "account_id", "term_start", "term_end",
                                      "created_by", "created_at")}
    out["active"] = m.term_start <= today and (m.term_end is None or m.term_end >= today)
    return out


def get_member(session: Session, member_id: int) -> AdvisoryMember:
    m = session.get(AdvisoryMember, member_id)
    if m is None:
        raise NotFoundError(f"advisory-board membership {member_id} does not exist")
    return m


def add_member(session: Session, *, board: str, contact_id: str, account_id: str, term_start: date,
               term_end: date | None = None, settings: AdvocacySettings | None = None, actor: str,
               now: datetime | None = None) -> tuple[AdvisoryMember, bool]:
    """A contact's term on an advisory board. Returns (membership, created): the same board,
    contact and term start again returns the first. InputError for a board not in
    tenure.yaml advocacy.boards (when listed), a term that ends before it starts, or a term that
    overlaps one of the contact's terms on the same board."""
    s = _settings(settings)
    board = _text(board, "board", 100, required=True)
    if s.boards and board not in s.boards:
        raise InputError(f"advisory board {board!r}: use one of {', '.join(s.boards)} (tenure.yaml advocacy.boards)")
    if term_end is not None and term_end < term_start:
        raise InputError(f"term_end {term_end} is before term_start {term_start}")
    existing = session.scalars(select(AdvisoryMember).where(AdvisoryMember.board == board,
                                                            AdvisoryMember.contact_id == contact_id,
                                                            AdvisoryMember.term_start == term_start)).first()
    if existing is not None:
        return existing, False
    far = date.max
    for other in session.scalars(select(AdvisoryMember).where(AdvisoryMember.board == board,
                                                              AdvisoryMember.contact_id == contact_id)):
        if other.term_start <= (term_end or far) and term_start <= (other.term_end or far):
            raise InputError(f"contact {contact_id} already has a term on {board} from {other.term_start} to "
                             f"{other.term_end or 'open-ended'} (membership {other.id}); end it first")
    m = AdvisoryMember(board=board, contact_id=contact_id, account_id=account_id, term_start=term_start,
                       term_end=term_end, created_by=actor, created_at=now or utcnow())
    session.add(m)
    session.flush()
    _audit(session, actor, "create", "advisory_member", m.id, None,
           {"board": board, "contact_id": contact_id, "account_id": account_id, "term_start": term_start,
            "term_end": term_end})
    return m, True


def end_member(session: Session, member_id: int, *, term_end: date, actor: str) -> AdvisoryMember:
    """End a term on `term_end` (audited; the same end again changes nothing)."""
    m = get_member(session, member_id)
    if term_end < m.term_start:
        raise InputError(f"term_end {term_end} is before the term's start {m.term_start}")
    if m.term_end == term_end:
        return m
    before = m.term_end
    m.term_end = term_end
    session.flush()
    _audit(session, actor, "end", "advisory_member", m.id, {"term_end": before}, {"term_end": term_end})
    return m


def list_members(session: Session, *, accounts: Sequence[str] | None = None, board: str | None = None,
                 active_on: date | None = None, account_id: str | None = None, limit: int = 50,
                 offset: int = 0) -> Page:
    """Board memberships in the book (only those active on `active_on`, when given), by board and
    start, with the total that match."""
    q = _in_book(select(AdvisoryMember), AdvisoryMember.account_id, accounts)
    if board:
        q = q.where(AdvisoryMember.board == board)
    if account_id:
        q = q.where(AdvisoryMember.account_id == account_id)
    if active_on is not None:
        q = q.where(AdvisoryMember.term_start <= active_on,
                    (AdvisoryMember.term_end.is_(None)) | (AdvisoryMember.term_end >= active_on))
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(AdvisoryMember.board, AdvisoryMember.term_start.desc(), AdvisoryMember.id)
                           .limit(limit).offset(offset))
    return Page([member_dict(m, active_on) for m in rows], int(total or 0))
