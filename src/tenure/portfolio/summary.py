"""The account summary and the band tables the pages read (written by the refresh steps in
tenure.portfolio.steps, which also holds `refresh`).

CONTRACT:
    write_summary(wh, config, as_of) -> rows     replaces account_summary atomically
    store_band_renewal(wh, config, as_of, validation=None) -> dict   the band -> renewal table
    write_band_history(wh, config, as_of) -> rows
    band_renewal_table(wh) -> list[{"band", "accounts", "renewal_probability"}] (stored by refresh)

Also:
    summary_expr(wh, config, as_of) -> Ibis table with the account_summary columns
"""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa

from tenure.config import Config
from tenure.metrics.arr import MONEY, arr_on
from tenure.metrics.periods import to_date
from tenure.metrics.renewals import account_term, line_renewal_date
from tenure.schema.health import BANDS
from tenure.schema.portfolio import ACCOUNT_SUMMARY
from tenure.warehouse import IBIS_TYPES, Warehouse
from tenure.warehouse.expr import _, ibis, ir
from tenure.warehouse.writes import replace_partition



# Tables the account pages read one account at a time. An index on account_id turns each of those
# reads into a lookup instead of a scan (DuckDB uses it for a lone equality filter on the column;
# PostgreSQL for any). Created by refresh, idempotently; ingestion keeps them up to date.
LOOKUP_TABLES = ("accounts", "account_summary", "contacts", "account_attributes", "contract_lines", "tickets",
                 "survey_responses", "activities", "milestones", "opportunities", "invoices", "churn_reasons",
                 "health_signals", "arr_movements", "health_scores", "health_components", "risk_scores",
                 "usage_daily")


def ensure_indexes(wh: Warehouse) -> int:
    """Create the per-account lookup indexes the web app's account pages need (idempotent);
    returns how many indexes it asked for. PostgreSQL also gets account_summary (owner) for
    book-of-business scoping."""
    if wh.backend not in ("duckdb", "postgres"):
        return 0
    specs = [(t, "account_id") for t in LOOKUP_TABLES]
    if wh.backend == "postgres":
        specs += [("account_summary", "owner")]
    for table, cols in specs:
        name = f"tenure_ix_{table}_{cols.replace(', ', '_')}"
        wh.raw_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({cols})')
    return len(specs)


def store_band_renewal(wh: Warehouse, config: Config, as_of: date, validation: dict | None = None) -> dict:
    """The band -> renewal-probability table from the scorecard validation, stored: the same
    computation with the same parameters as `tenure health validate` (tenure.health.BAND_TABLE).
    A `validation` handed in is used only when it was made with those parameters on `as_of`."""
    from tenure.errors import TenureError
    from tenure.health.validate import validate

    if validation is not None and not same_band_table(validation, as_of):
        validation = None
    try:
        report = validation or validate(wh, config, as_of=as_of)
        bands = report["bands"]
        horizon = int(report["horizon_days"])
    except (TenureError, ValueError, ZeroDivisionError) as err:
        return {"band_renewal_skipped": str(err)}
    n = len(bands)
    data = pa.table({
        "band": pa.array([b["band"] for b in bands], pa.string()),
        "accounts": pa.array([int(b["accounts"]) for b in bands], pa.int64()),
        "churn_rate": pa.array([float(b["churn_rate"]) for b in bands], pa.float64()),
        "renewal_probability": pa.array([float(b["renewal_probability"]) for b in bands], pa.float64()),
        "horizon_days": pa.array([horizon] * n, pa.int64()),
        "as_of": pa.array([as_of] * n, pa.date32()),
    })
    replace_partition(wh, "band_renewal", data)
    return {"band_renewal_bands": n}


def same_band_table(report: dict, as_of: date) -> bool:
    """Was this validation report made with the band table's parameters, on `as_of`?"""
    from tenure.health import BAND_TABLE

    h, n, step = BAND_TABLE["horizon"], BAND_TABLE["dates"], BAND_TABLE["step_days"]
    newest = as_of - timedelta(days=h)
    want = [str(newest - timedelta(days=step * k)) for k in range(n)][::-1]
    return report.get("horizon_days") == h and report.get("as_of_dates") == want


def band_renewal_table(wh: Warehouse) -> list[dict]:
    """[{band, accounts, churn_rate, renewal_probability, horizon_days}] green, yellow, red (stored by refresh)."""
    t = wh.table("band_renewal")
    df = wh.execute(t.select("band", "accounts", "churn_rate", "renewal_probability", "horizon_days"))
    order = {b: i for i, b in enumerate(BANDS)}
    rows = [{"band": r["band"], "accounts": int(r["accounts"]),
             "churn_rate": None if r["churn_rate"] != r["churn_rate"] else float(r["churn_rate"]),
             "renewal_probability": None if r["renewal_probability"] != r["renewal_probability"]
             else float(r["renewal_probability"]),
             "horizon_days": int(r["horizon_days"])} for r in df.to_dict(orient="records")]
    return sorted(rows, key=lambda r: order.get(r["band"], 9))


def band_history_expr(wh: Warehouse, config: Config, as_of: date, days_back: int = 400) -> ir.Table:
    """Accounts and ARR per (snapshot day, current owner, band) from health_scores, as Ibis."""
    from tenure.metrics.arr import arr_at, periods_table
    from tenure.metrics.periods import Period

    hs = wh.table("health_scores")
    window = hs.filter((hs.as_of <= as_of) & (hs.as_of > as_of - timedelta(days=days_back)) & hs.band.notnull())
    days = sorted(to_date(d) for d in wh.execute(window.select("as_of").distinct())["as_of"])
    if not days:
        return None
    periods = periods_table([Period(str(d), d, d) for d in days])
    arr = arr_at(wh, config, periods, "last_day").join(periods.select("period", day=_.last_day), "period")
    arr = arr.select(aa=_.account_id, day=_.day, arr=_.arr)
    acc = wh.table("accounts").select(oa=_.account_id, owner=_.owner)
    j = window.left_join(arr, (window.account_id == arr.aa) & (window.as_of == arr.day))
    j = j.left_join(acc, j.account_id == acc.oa)
    g = j.group_by("as_of", "owner", "band").aggregate(accounts=j.account_id.count(),
                                                       arr=j.arr.sum().fill_null(ibis.literal(0, MONEY)))
    return g.select(as_of=g.as_of, owner=g.owner, band=g.band, accounts=g.accounts.cast("int64"),
                    arr=g.arr.cast(MONEY))


def write_band_history(wh: Warehouse, config: Config, as_of: date) -> int:
    expr = band_history_expr(wh, config, as_of)
    data = wh.to_pyarrow(expr) if expr is not None else None
    return replace_partition(wh, "band_history", data)


def summary_expr(wh: Warehouse, config: Config, as_of: date) -> ir.Table:
    """One row per account with the account_summary columns, as an Ibis expression."""
    d = as_of
    acc = wh.table("accounts")
    lines = wh.table("contract_lines")

    # ARR per live line on the as-of day (reporting currency): ARR now, and the next renewal by the
    # one renewal-date rule (tenure.metrics.renewals) with the ARR of the lines renewing that day
    per_line = arr_on(wh, config, d, ("account_id", "line_id", "start_date", "end_date", "billing_period",
                                       "auto_renew"))
    now = per_line.group_by("account_id").aggregate(arr_now=per_line.arr.sum(), renewal_term=account_term(per_line))
    dated = per_line.mutate(renews=line_renewal_date(per_line, d))
    dated = dated.filter(dated.renews.notnull())
    next_end = dated.group_by("account_id").aggregate(renewal_date=dated.renews.min())
    ending = dated.join(next_end, "account_id").filter(lambda t: t.renews == t.renewal_date)
    renewal = ending.group_by("account_id").aggregate(renewal_date=ending.renewal_date.min(),
                                                      renewal_arr=ending.arr.sum())
    then = arr_on(wh, config, d - timedelta(days=90)).select("account_id", arr_90=_.arr)

    paid = lines.filter((lines.arr > 0) & (lines.start_date <= d))
    since = paid.group_by("account_id").aggregate(customer_since=paid.start_date.min())

    hs = wh.table("health_scores")
    h_now = hs.filter(hs.as_of == d).select("account_id", "score", "band")
    h_30 = hs.filter(hs.as_of == d - timedelta(days=30)).select("account_id", score_30=_.score, band_30=_.band)

    rs = wh.table("risk_scores")
    risk = rs.filter(rs.as_of == d).select("account_id", risk=_.probability, risk_drivers=_.drivers)

    op = wh.table("opportunities")
    is_open = ibis.ifelse(op.status.isnull(), ~op.stage.lower().startswith("closed"), op.status == "open")
    ren = op.filter((op.kind == "renewal") & is_open)
    ren = ren.mutate(rk=ibis.row_number().over(group_by=ren.account_id, order_by=[ren.close_date, ren.opportunity_id]))
    open_ren = ren.filter(ren.rk == 0).select("account_id", open_renewal_stage=_.stage)

    out = acc.select("account_id", "name", "domain", "segment", "region", "industry", "tier", "owner", "owner_name")
    for part in (now, then, since, renewal, h_now, h_30, risk, open_ren):
        out = out.left_join(part, "account_id").drop("account_id_right")
    zero = ibis.literal(0, MONEY)
    arr = out.arr_now.fill_null(zero)
    status = ibis.cases((arr > 0, "customer"), (out.customer_since.notnull(), "churned"), else_="prospect")
    types = {c.name: IBIS_TYPES[c.type] for c in ACCOUNT_SUMMARY.columns}
    cols = {
        "account_id": out.account_id, "name": out.name, "domain": out.domain, "segment": out.segment,
        "region": out.region, "industry": out.industry, "tier": out.tier, "owner": out.owner,
        "owner_name": out.owner_name,
        "status": status, "arr": arr,
        "arr_change_90": arr - out.arr_90.fill_null(zero),
        "customer_since": out.customer_since,
        "score": out.score, "band": out.band,
        "score_change_30": (out.score - out.score_30).round(1),
        "band_30": out.band_30,
        "risk": out.risk, "risk_drivers": out.risk_drivers,
        "renewal_date": out.renewal_date,
        "days_to_renewal": out.renewal_date.delta(ibis.literal(d), unit="day"),
        "renewal_arr": out.renewal_arr,
        "renewal_term": ibis.ifelse(out.renewal_date.isnull(), out.renewal_term, ibis.null("string")),
        "open_renewal_stage": out.open_renewal_stage,
        "as_of": ibis.literal(d, "date"),
    }
    return out.select(**{name: cols[name].cast(types[name]) for name in ACCOUNT_SUMMARY.column_names})


def write_summary(wh: Warehouse, config: Config, as_of: date) -> int:
    """Replace account_summary with the rows of `as_of`, atomically; returns the rows written."""
    data = wh.to_pyarrow(summary_expr(wh, config, as_of))
    replace_partition(wh, "account_summary", data)
    return data.num_rows
