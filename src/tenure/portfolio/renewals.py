"""Which accounts renew soon, and what is expected to renew: the renewals page and the cockpit's
renewal lists. The renewal probability is 1 - the account's churn risk (the one calibrated model,
tenure.predict.renewal), so the risk and the probability beside it always agree; an account without
a risk score falls back to its health band's rate, and `renewal_source` says which.
Expected renewal ARR = renewal ARR x renewal probability."""

from __future__ import annotations

from collections.abc import Sequence

from tenure.portfolio.read import Page, Params, ask, owners_list, scope_shape, scope_values, scoped, table, total_of, \
    with_total
from tenure.predict.renewal import with_renewal_probability
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import _, ir

__all__ = ["renewal_totals", "renewals"]


def _renewing(wh: Warehouse, n_owners: int | None, P: Params) -> ir.Table:
    """Accounts renewing after P("after") and within P("within") days of the summary's as-of day,
    with the band's renewal probability and the expected renewal ARR: the one definition the list,
    its count and its totals use."""
    s = scoped(table(wh, "account_summary"), n_owners, P)
    s = s.filter(s.renewal_date.notnull(), s.days_to_renewal >= P("after", "int64"),
                 s.days_to_renewal <= P("within", "int64"))
    br = table(wh, "band_renewal").select(br_band=_.band, band_renewal_probability=_.renewal_probability)
    j = s.left_join(br, s.band == br.br_band).drop("br_band")
    return with_renewal_probability(j, fallback="band_renewal_probability")


def _values(owners: list[str] | None, within_days: int, after_days: int) -> dict:
    return {**scope_values(owners), "within": int(within_days), "after": max(0, int(after_days))}


def renewals(wh: Warehouse, owners: Sequence[str] | None, within_days: int = 180, limit: int = 500, *,
             after_days: int = 0, page: int = 1) -> Page:
    """Accounts renewing in `after_days`..`within_days` days (both included), soonest first, biggest
    renewal ARR first on a day; one page of `limit` rows, and `total`: every renewal in the window."""
    owners = owners_list(owners)
    n = scope_shape(owners)
    limit, page = max(1, int(limit)), max(1, int(page))

    def build(P: Params) -> ir.Table:
        j = _renewing(wh, n, P)
        j = with_total(j)
        return j.order_by([j.renewal_date.asc(), j.renewal_arr.desc(nulls_first=False), j.account_id])

    rows = ask(wh, ("renewals", n), build, _values(owners, within_days, after_days),
               limit=limit, offset=(page - 1) * limit)
    total = total_of(rows)
    if not rows and page > 1:  # past the end: count alone
        total = renewal_totals(wh, owners, within_days, after_days=after_days)["accounts"]
    return Page(rows=rows, total=total, page=page, page_size=limit)


def renewal_totals(wh: Warehouse, owners: Sequence[str] | None, within_days: int = 180, *,
                   after_days: int = 0) -> dict:
    """{"accounts", "renewal_arr", "expected_renewal_arr"} over every renewal in the window,
    aggregated in the engine."""
    owners = owners_list(owners)
    n = scope_shape(owners)

    def build(P: Params) -> ir.Table:
        j = _renewing(wh, n, P)
        return j.aggregate(accounts=j.account_id.count(), renewal_arr=j.renewal_arr.sum().cast("float64"),
                           expected_renewal_arr=j.expected_renewal_arr.sum())

    rows = ask(wh, ("renewal_totals", n), build, _values(owners, within_days, after_days))
    r = rows[0] if rows else {}
    return {"accounts": int(r.get("accounts") or 0), "renewal_arr": float(r.get("renewal_arr") or 0),
            "expected_renewal_arr": float(r.get("expected_renewal_arr") or 0)}
