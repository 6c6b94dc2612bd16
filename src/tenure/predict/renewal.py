"""Renewal probability from the one calibrated churn-risk model.

Churn risk, renewal probability and expected renewal ARR must never disagree on a page (a 63%
churn risk beside an 85.8% renewal probability read from a health band's average). They all
come from the stored `risk_scores`: the calibrated probability that the account churns (or
contracts past `risk.contraction_share`) within `horizon_days` of the scoring day.

    renewal_probability   = 1 - churn risk               (over the model's horizon)
    expected_renewal_arr  = renewal_arr x renewal_probability

A renewal inside the horizon is covered by the risk. For a renewal after it, the figure is still
1 - risk, and `renewal_basis` says so ("churn risk over the next 180 days; renewal in 240
days"): the pair is reconciled on the page with the reason shown, not silently extrapolated.

    renewal_probability_expr(wh, as_of=None) -> Ibis table (account_id, as_of, horizon_days,
        churn_risk, renewal_probability), from risk_scores on `as_of` (default: the latest day scored)
    with_renewal_probability(t, risk="risk", renewal_arr="renewal_arr",
        days_to_renewal="days_to_renewal", horizon_days=180, fallback=None) -> t plus
        renewal_probability, expected_renewal_arr, renewal_covered (the renewal falls inside the
        horizon) and renewal_source (the model, or the `fallback` column where there is no score)
    renewal_probability(wh, account_id, as_of=None) -> dict | None   one account, for pages/API
    renewal_basis(horizon_days, days_to_renewal) -> str              the reason a page shows
"""

from __future__ import annotations

from datetime import date

from tenure.warehouse import Warehouse
from tenure.warehouse.expr import _, ibis, ir


def renewal_probability_expr(wh: Warehouse, as_of: date | None = None) -> ir.Table:
    """Per account scored on `as_of` (default: the latest scoring day in risk_scores): its churn
    risk over the model's horizon and renewal_probability = 1 - churn_risk."""
    rs = wh.table("risk_scores")
    day = ibis.literal(as_of, "date") if as_of is not None else rs.as_of.max().as_scalar()
    rs = rs.filter(rs.as_of == day)
    return rs.select("account_id", "as_of", "horizon_days", churn_risk=_.probability,
                     renewal_probability=(1 - _.probability))


def with_renewal_probability(t: ir.Table, risk: str = "risk", renewal_arr: str = "renewal_arr",
                             days_to_renewal: str = "days_to_renewal", horizon_days: int = 180,
                             fallback: str | None = None) -> ir.Table:
    """`t` (e.g. account_summary rows, whose `risk` comes from risk_scores) with
    renewal_probability = 1 - risk, expected_renewal_arr = renewal_arr x renewal_probability,
    renewal_covered (the renewal falls inside the risk's horizon) and renewal_source. Where an
    account has no risk score and `fallback` names a column holding another renewal probability
    (the health band's rate), that one is used and renewal_source says so."""
    from_model = 1 - t[risk].cast("float64")
    p = from_model if fallback is None else from_model.coalesce(t[fallback].cast("float64"))
    source = ibis.ifelse(t[risk].notnull(), ibis.literal("churn-risk model", "string"),
                         ibis.literal("health band average (no risk score)" if fallback else None, "string"))
    return t.mutate(renewal_probability=p,
                    expected_renewal_arr=t[renewal_arr].cast("float64") * p,
                    renewal_covered=t[days_to_renewal] <= horizon_days,
                    renewal_source=source)


def renewal_basis(horizon_days: int, days_to_renewal: int | None) -> str:
    """What the renewal probability rests on, said on the page beside it."""
    base = f"1 - churn risk over the next {horizon_days} days"
    if days_to_renewal is None:
        return base + " (no renewal date)"
    if days_to_renewal > horizon_days:
        return f"{base}; the renewal is in {days_to_renewal} days, after that horizon"
    return base + f" (renewal in {days_to_renewal} days)"


def renewal_probability(wh: Warehouse, account_id: str, as_of: date | None = None) -> dict | None:
    """{"account_id", "as_of", "horizon_days", "churn_risk", "renewal_probability", "basis"} for
    one account from its stored risk score, or None when it has none."""
    e = renewal_probability_expr(wh, as_of)
    rows = wh.execute(e.filter(e.account_id == str(account_id))).to_dict(orient="records")
    if not rows:
        return None
    r = rows[0]
    horizon = int(r["horizon_days"])
    return {"account_id": str(r["account_id"]), "as_of": r["as_of"], "horizon_days": horizon,
            "churn_risk": float(r["churn_risk"]), "renewal_probability": float(r["renewal_probability"]),
            "basis": renewal_basis(horizon, None).replace(" (no renewal date)", "")}
