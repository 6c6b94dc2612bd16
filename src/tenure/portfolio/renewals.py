"""Which accounts renew soon, and what is expected to renew: the renewals page (filters, months
with subtotals, paging, CSV), the renewals API and the cockpit's renewal lists ask this module.

The renewal probability is 1 - the account's churn risk (the one calibrated model,
tenure.predict.renewal), so the risk and the probability beside it always agree; an account without
a risk score falls back to its health band's rate, and `renewal_source` says which.
Expected renewal ARR = renewal ARR x renewal probability.

A renewal is an account_summary row with a renewal date in the window (`after_days`..`within_days`
days after the summary's as-of day). Accounts on rolling (monthly, quarterly) terms have no renewal
date (tenure.metrics.renewals): they are listed on their own, as the month "rolling", and say their
term instead of a date. Every count and sum is taken in the engine over the whole filtered set.

The forecast call on each renewal (commit, best case, at risk; tenure.state.renewal_calls) and the
last touch (the latest activity in the warehouse or note in the state DB) are looked up for the
rows shown, or joined in Arrow for an export.

    RenewalFilter(within_days=180, after_days=0, owner=None, segment=None, band=None, month=None,
                  owners=None)
    renewals(wh, owners, within_days=180, limit=500, *, after_days=0, page=1, flt=None) -> Page
    renewal_totals(wh, owners, within_days=180, *, after_days=0, flt=None) -> {accounts, renewal_arr,
        expected_renewal_arr}
    renewal_months(wh, flt) -> [{month, accounts, renewal_arr, expected_renewal_arr}]
    renewal_choices(wh, owners, within_days=180) -> {owners: [{key, name}], segments, months}
    renewal_view(wh, db, flt, page=1, page_size=50) -> RenewalView   (the page and the API)
    export_renewals(wh, db, flt) -> pa.Table                          (the CSV)
    current_renewal(wh, account_id) -> {account_id, owner, renewal_key, renewal_date, ...} | None
    call_renewal(wh, db, acc, account_id, *, renewal_key, category, next_step, amount_override=None,
                 currency, ip=None) -> dict   (the page's form and PUT /api/v1/renewals/{id}/call)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from tenure.access import Access
from tenure.errors import ConflictError, InputError
from tenure.portfolio.read import Page, Params, ask, ask_arrow, owners_list, scope_shape, scope_values, scoped, \
    table, total_of, with_total
from tenure.predict.renewal import with_renewal_probability
from tenure.schema.health import BANDS
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import _, ibis, ir

__all__ = ["EXPORT_COLUMNS", "ROLLING", "RenewalFilter", "RenewalView", "current_renewal", "export_renewals",
           "call_renewal", "renewal_choices", "renewal_months", "renewal_totals", "renewal_view", "renewals"]

ROLLING = "rolling"  # the "month" of accounts on rolling terms (no renewal date)
MAX_PAGE_SIZE = 500
MAX_WINDOW_DAYS = 3660
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

EXPORT_COLUMNS = ("account_id", "name", "owner", "owner_name", "segment", "band", "arr", "renewal_arr",
                  "renewal_date", "days_to_renewal", "renewal_term", "renewal_month", "risk", "renewal_probability",
                  "renewal_source", "expected_renewal_arr", "forecast_category", "amount_override", "next_step",
                  "call_set_by", "call_set_at", "last_touch_at", "last_touch", "open_renewal_stage", "as_of")


@dataclass(frozen=True)
class RenewalFilter:
    """Which renewals: those `after_days`..`within_days` days after the as-of day (both included),
    of one CSM (`owner`, an accounts.owner value), `segment` and health `band`, in one renewal
    `month` (YYYY-MM) or the accounts on rolling terms (`month="rolling"`, no window). `owners`
    is the caller's book of business (None = every account)."""

    within_days: int = 180
    after_days: int = 0
    owner: str | None = None
    segment: str | None = None
    band: str | None = None
    month: str | None = None
    owners: Sequence[str] | None = None

    def checked(self) -> RenewalFilter:
        """The filter with blanks as None; an InputError naming the field for a bad value."""
        def clean(v: str | None) -> str | None:
            v = (v or "").strip()
            return v or None

        within, after = int(self.within_days), max(0, int(self.after_days))
        if not 1 <= within <= MAX_WINDOW_DAYS:
            raise InputError(f"within_days {within}: give 1 to {MAX_WINDOW_DAYS} days")
        band, month = clean(self.band), clean(self.month)
        if band is not None and band not in BANDS:
            raise InputError(f"band {band!r}: use one of {', '.join(BANDS)}")
        if month is not None and month != ROLLING:
            month_bounds(month)
        return replace(self, within_days=within, after_days=after, owner=clean(self.owner),
                       segment=clean(self.segment), band=band, month=month, owners=owners_list(self.owners))


def month_bounds(month: str) -> tuple[date, date]:
    """(first day, first day of the next month) of YYYY-MM; an InputError naming the field otherwise."""
    m = _MONTH.match(month or "")
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= 2200:
        raise InputError(f"month {month!r}: give a month as YYYY-MM (e.g. 2026-09), or {ROLLING!r} for "
                         "accounts on monthly or quarterly terms")
    y, mo = int(m.group(1)), int(m.group(2))
    return date(y, mo, 1), date(y + (mo == 12), mo % 12 + 1, 1)


def _shape(wh: Warehouse, flt: RenewalFilter) -> tuple[tuple, dict[str, Any]]:
    """(shape, values): the shape keys the built question, the values are bound."""
    owners = flt.owners
    shape: list = [("owners", scope_shape(owners)), ("names", "owner_name" in table(wh, "account_summary").columns)]
    values: dict[str, Any] = dict(scope_values(owners))
    if flt.month == ROLLING:
        shape.append(ROLLING)
    else:
        values.update(within=int(flt.within_days), after=int(flt.after_days))
        if flt.month:
            shape.append("month")
            month_bounds(flt.month)
            values["month"] = flt.month
    for col in ("owner", "segment", "band"):
        v = getattr(flt, col)
        if v is not None:
            shape.append(col)
            values[col] = str(v)
    return tuple(shape), values


def _renewing(wh: Warehouse, shape: tuple, P: Params) -> ir.Table:
    """The renewals of a filter shape, with the renewal probability, the expected renewal ARR and
    the renewal month: the one definition the list, its months, totals and export use."""
    s = table(wh, "account_summary")
    opts = dict(item for item in shape if isinstance(item, tuple))
    s = scoped(s, opts["owners"], P)
    if ROLLING in shape:
        s = s.filter(s.renewal_date.isnull(), s.renewal_term.notnull(), s.status == "customer")
    else:
        s = s.filter(s.renewal_date.notnull(), s.days_to_renewal >= P("after", "int64"),
                     s.days_to_renewal <= P("within", "int64"))
        if "month" in shape:
            s = s.filter(s.renewal_date.strftime("%Y-%m") == P("month"))
    for col in ("owner", "segment", "band"):
        if col in shape:
            s = s.filter(s[col] == P(col))
    if not opts["names"]:
        s = s.mutate(owner_name=ibis.null("string"))
    br = table(wh, "band_renewal").select(br_band=_.band, band_renewal_probability=_.renewal_probability)
    j = s.left_join(br, s.band == br.br_band).drop("br_band")
    j = with_renewal_probability(j, fallback="band_renewal_probability")
    month = ibis.ifelse(j.renewal_date.isnull(), ibis.literal(ROLLING), j.renewal_date.strftime("%Y-%m"))
    return j.mutate(renewal_month=month)


def _listed(wh: Warehouse, shape: tuple, P: Params) -> ir.Table:
    """The renewals, soonest first and biggest renewal ARR first on a day (rolling terms: biggest
    ARR first), with each account's latest activity."""
    j = _renewing(wh, shape, P)
    act = table(wh, "activities")
    act = act.mutate(rk=ibis.row_number().over(group_by=act.account_id, order_by=[act.at.desc(), act.activity_id]))
    act = act.filter(act.rk == 0).select(la=_.account_id, last_activity_at=_.at, last_activity_kind=_.kind)
    j = j.left_join(act, j.account_id == act.la).drop("la")
    money = j.renewal_arr if ROLLING not in shape else j.arr
    return j.order_by([j.renewal_date.asc(nulls_first=False), money.desc(nulls_first=False), j.account_id])


def _window(owners: Sequence[str] | None, within_days: int, after_days: int, flt: RenewalFilter | None
            ) -> RenewalFilter:
    if flt is not None:
        return flt.checked()
    return RenewalFilter(within_days=within_days, after_days=after_days, owners=owners).checked()


def renewals(wh: Warehouse, owners: Sequence[str] | None, within_days: int = 180, limit: int = 500, *,
             after_days: int = 0, page: int = 1, flt: RenewalFilter | None = None) -> Page:
    """Accounts renewing in `after_days`..`within_days` days (both included), soonest first, biggest
    renewal ARR first on a day (or the renewals `flt` picks); one page of `limit` rows, and `total`:
    every renewal the filter matches."""
    flt = _window(owners, within_days, after_days, flt)
    shape, values = _shape(wh, flt)
    limit, page = max(1, min(int(limit), MAX_PAGE_SIZE)), max(1, int(page))

    def build(P: Params) -> ir.Table:
        return with_total(_listed(wh, shape, P))

    rows = ask(wh, ("renewals", shape), build, values, limit=limit, offset=(page - 1) * limit)
    total = total_of(rows)
    if not rows and page > 1:  # past the end: count alone
        total = renewal_totals(wh, None, flt=flt)["accounts"]
    return Page(rows=rows, total=total, page=page, page_size=limit)


def _sums(t: ir.Table) -> dict[str, ir.Scalar]:
    money = ibis.ifelse(t.renewal_date.isnull(), t.arr, t.renewal_arr).cast("float64")
    return dict(accounts=t.account_id.count(), renewal_arr=money.sum(),
                expected_renewal_arr=(money * t.renewal_probability).sum())


def _plain_sums(r: dict) -> dict:
    return {"accounts": int(r.get("accounts") or 0), "renewal_arr": float(r.get("renewal_arr") or 0),
            "expected_renewal_arr": float(r.get("expected_renewal_arr") or 0)}


def renewal_totals(wh: Warehouse, owners: Sequence[str] | None, within_days: int = 180, *,
                   after_days: int = 0, flt: RenewalFilter | None = None) -> dict:
    """{"accounts", "renewal_arr", "expected_renewal_arr"} over every renewal in the window (or that
    `flt` picks), aggregated in the engine. For rolling terms the renewal ARR is the account's ARR."""
    flt = _window(owners, within_days, after_days, flt)
    shape, values = _shape(wh, flt)
    rows = ask(wh, ("renewal_totals", shape), lambda P: _aggregate(wh, shape, P), values)
    return _plain_sums(rows[0] if rows else {})


def _aggregate(wh: Warehouse, shape: tuple, P: Params, by: tuple[str, ...] = ()) -> ir.Table:
    t = _renewing(wh, shape, P)
    sums = _sums(t)
    return t.group_by(list(by)).aggregate(**sums) if by else t.aggregate(**sums)


def renewal_months(wh: Warehouse, flt: RenewalFilter) -> list[dict]:
    """[{"month" (YYYY-MM or "rolling"), "accounts", "renewal_arr", "expected_renewal_arr"}] over every
    renewal the filter matches, month by month (the page's subtotals), counted in the engine."""
    flt = flt.checked()
    shape, values = _shape(wh, flt)

    def build(P: Params) -> ir.Table:
        g = _aggregate(wh, shape, P, by=("renewal_month",))
        return g.order_by(g.renewal_month)

    rows = ask(wh, ("renewal_months", shape), build, values)
    return [{"month": r["renewal_month"], **_plain_sums(r)} for r in rows]


def renewal_choices(wh: Warehouse, owners: Sequence[str] | None, within_days: int = 180) -> dict:
    """What the filters offer inside the caller's book: {"owners": [{"key", "name"}] (CSMs with a
    customer, by name where the data has one), "segments", "months" (YYYY-MM with a renewal in the
    window, then "rolling" when some account is on a rolling term)}."""
    owners = owners_list(owners)
    n = scope_shape(owners)
    names = "owner_name" in table(wh, "account_summary").columns

    def build(P: Params) -> ir.Table:
        s = scoped(table(wh, "account_summary"), n, P)
        s = s.filter(s.status == "customer", s.owner.notnull())
        name = s.owner_name if names else ibis.null("string")
        g = s.group_by("owner").aggregate(name=name.max())
        return g.order_by([g.name.asc(nulls_first=False), g.owner])

    def segments(P: Params) -> ir.Table:
        s = scoped(table(wh, "account_summary"), n, P)
        s = s.filter(s.status == "customer", s.segment.notnull())
        return s.select("segment").distinct().order_by("segment")

    values = scope_values(owners)
    csms = [{"key": r["owner"], "name": r["name"] or r["owner"]}
            for r in ask(wh, ("renewal_owners", n, names), build, values)]
    segs = [r["segment"] for r in ask(wh, ("renewal_segments", n), segments, values)]
    months = [m["month"] for m in renewal_months(wh, RenewalFilter(within_days=within_days, owners=owners))]
    if renewal_months(wh, RenewalFilter(month=ROLLING, owners=owners)):
        months.append(ROLLING)
    return {"owners": csms, "segments": segs, "months": months}


# -- the page: rows with their forecast call and last touch ---------------------------------------

Db = Callable[[], AbstractContextManager]


@dataclass
class RenewalView:
    """One page of renewals (rows with call and last touch), the month subtotals over the whole
    filtered set, and its grand total."""

    filter: RenewalFilter
    page: Page
    months: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)

    @property
    def first(self) -> int:
        return 0 if not self.page.rows else (self.page.page - 1) * self.page.page_size + 1

    @property
    def last(self) -> int:
        return self.first + len(self.page.rows) - 1 if self.page.rows else 0

    def groups(self) -> list[dict]:
        """The page's rows grouped by renewal month, each with the month's subtotal (whole month)."""
        by_month = {m["month"]: m for m in self.months}
        out: list[dict] = []
        for r in self.page.rows:
            if not out or out[-1]["month"] != r["renewal_month"]:
                out.append({"month": r["renewal_month"], "rows": [],
                            "subtotal": by_month.get(r["renewal_month"], _plain_sums({}))})
            out[-1]["rows"].append(r)
        return out


def _key(r: dict) -> str | None:
    from tenure.state.renewal_calls import renewal_key

    return renewal_key(r.get("renewal_date"), r.get("renewal_term"))


def _touch(activity_at: datetime | None, activity_kind: str | None, note_at: datetime | None
           ) -> tuple[datetime | None, str | None]:
    if activity_at is None and note_at is None:
        return None, None
    if note_at is not None and (activity_at is None or note_at >= activity_at):
        return note_at, "note"
    return activity_at, activity_kind


def renewal_view(wh: Warehouse, db: Db, flt: RenewalFilter, page: int = 1, page_size: int = 50) -> RenewalView:
    """The renewals page (and GET /api/v1/renewals): one page of the filtered renewals, each with
    `forecast_category` (None: not set), `next_step`, `amount_override`, who set the call and when,
    `renewal_key`, and `last_touch_at`/`last_touch` (the latest activity or note); the months'
    subtotals and the total over the whole filtered set."""
    from sqlalchemy import func, select

    from tenure.state.models import Note
    from tenure.state.renewal_calls import get_calls

    flt = flt.checked()
    pg = renewals(wh, None, limit=page_size, page=page, flt=flt)
    keys = [(r["account_id"], _key(r)) for r in pg.rows]
    ids = sorted({r["account_id"] for r in pg.rows})
    with db() as session:
        calls = get_calls(session, keys)
        notes = dict(session.execute(select(Note.account_id, func.max(Note.created_at))
                                     .where(Note.account_id.in_(ids)).group_by(Note.account_id)).all()) if ids else {}
    for r in pg.rows:
        r["renewal_key"] = _key(r)
        call = calls.get((r["account_id"], r["renewal_key"])) or {}
        r["forecast_category"] = call.get("category")
        r["amount_override"] = call.get("amount_override")
        r["next_step"] = call.get("next_step")
        r["call_set_by"], r["call_set_at"] = call.get("set_by"), call.get("set_at")
        r["last_touch_at"], r["last_touch"] = _touch(r.pop("last_activity_at", None),
                                                     r.pop("last_activity_kind", None), notes.get(r["account_id"]))
    months = renewal_months(wh, flt)
    totals = _plain_sums({k: sum(m[k] for m in months) for k in ("accounts", "renewal_arr", "expected_renewal_arr")})
    return RenewalView(filter=flt, page=pg, months=months, totals=totals)


def export_renewals(wh: Warehouse, db: Db, flt: RenewalFilter) -> pa.Table:
    """Every renewal the filter matches (not paged), in the page's order, as Arrow with
    EXPORT_COLUMNS: the forecast calls and latest notes are joined in Arrow, not row by row."""
    from sqlalchemy import func, select

    from tenure.state.models import Note, RenewalCall

    flt = flt.checked()
    shape, values = _shape(wh, flt)
    t = ask_arrow(wh, ("renewals_export", shape), lambda P: _listed(wh, shape, P), values)
    with db() as session:
        calls = session.execute(select(RenewalCall.account_id, RenewalCall.renewal_key, RenewalCall.category,
                                       RenewalCall.amount_override, RenewalCall.next_step, RenewalCall.set_by,
                                       RenewalCall.set_at)).all()
        notes = session.execute(select(Note.account_id, func.max(Note.created_at)).group_by(Note.account_id)).all()
    key = pa.compute.if_else(pa.compute.is_null(t["renewal_date"]), t["renewal_term"],
                             pa.compute.strftime(t["renewal_date"], "%Y-%m-%d"))
    t = t.append_column("renewal_key", key).append_column("_row", pa.array(range(t.num_rows), pa.int64()))
    cols = list(zip(*calls)) if calls else [[]] * 7
    ct = pa.table({"account_id": pa.array(cols[0], pa.string()), "renewal_key": pa.array(cols[1], pa.string()),
                   "forecast_category": pa.array(cols[2], pa.string()),
                   "amount_override": pa.array([None if v is None else float(v) for v in cols[3]], pa.float64()),
                   "next_step": pa.array(cols[4], pa.string()), "call_set_by": pa.array(cols[5], pa.string()),
                   "call_set_at": pa.array(cols[6], pa.timestamp("us"))})
    ncols = list(zip(*notes)) if notes else [[], []]
    nt = pa.table({"account_id": pa.array(ncols[0], pa.string()), "last_note_at": pa.array(ncols[1], pa.timestamp("us"))})
    t = t.join(ct, ["account_id", "renewal_key"], join_type="left outer").join(nt, "account_id", join_type="left outer")
    t = t.sort_by("_row")
    pc = pa.compute
    act = pc.cast(t["last_activity_at"], pa.timestamp("us"))
    note = t["last_note_at"]
    note_later = pc.fill_null(pc.greater_equal(note, act), True) if t.num_rows else pa.array([], pa.bool_())
    use_note = pc.and_(pc.is_valid(note), note_later)
    t = t.append_column("last_touch_at", pc.if_else(use_note, note, act))
    t = t.append_column("last_touch", pc.if_else(use_note, pa.scalar("note"), t["last_activity_kind"]))
    return t.select([c for c in EXPORT_COLUMNS if c in t.column_names])


def current_renewal(wh: Warehouse, account_id: str) -> dict | None:
    """The account's next renewal as of the last refresh: {account_id, owner, renewal_key,
    renewal_date, renewal_term, renewal_arr, days_to_renewal, as_of}, or None when it has no
    renewal (not a customer, or no term known). The renewal a forecast call is made on."""
    def build(P: Params) -> ir.Table:
        s = table(wh, "account_summary")
        return s.filter(s.account_id == P("id")).select("account_id", "owner", "status", "renewal_date",
                                                       "renewal_term", "renewal_arr", "days_to_renewal",
                                                       "as_of").limit(1)

    rows = ask(wh, ("current_renewal",), build, {"id": str(account_id)})
    if not rows:
        return None
    r = rows[0]
    if r["renewal_date"] is None and (r["renewal_term"] is None or r["status"] != "customer"):
        return None
    return {**r, "renewal_key": _key(r)}


def call_renewal(wh: Warehouse, db: Db, acc: Access, account_id: str, *, renewal_key: str | None,
                 category: str | None, next_step: str | None, amount_override=None, currency: str | None = None,
                 ip: str | None = None) -> dict:
    """Set the forecast call on the account's current renewal, as `acc`'s principal: the account's
    CSM, its manager, or a principal whose book is every account (the one policy, tenure.access).
    NotFoundError for an unknown account, OutOfScope outside the book, ConflictError when the account
    has no renewal or the renewal the caller saw (`renewal_key`) is no longer the current one;
    InputError for a bad category, next step or amount (tenure.state.renewal_calls). Audited."""
    from tenure.portfolio.accounts import owner_of
    from tenure.state.renewal_calls import set_call

    acc.account(account_id, owner_of(wh, account_id))
    renewal = current_renewal(wh, account_id)
    if renewal is None:
        raise ConflictError(f"account {account_id} has no upcoming renewal to call (not a customer, or no term "
                            "known)")
    if renewal_key and renewal_key != renewal["renewal_key"]:
        raise ConflictError(f"account {account_id} now renews on {renewal['renewal_key']}, not {renewal_key}: "
                            "reload the page and set the call again")
    with db() as session:
        return set_call(session, account_id=account_id, renewal_key=renewal["renewal_key"],
                        renewal_date=renewal["renewal_date"], category=category, next_step=next_step,
                        amount_override=amount_override, currency=currency, actor=acc.who.username,
                        actor_id=acc.who.user_id, ip=ip)
