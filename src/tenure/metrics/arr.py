"""ARR of an account on a day, in the reporting currency, as Ibis expressions.

ARR of an account on day d = the sum of `arr` of its contract lines with
start_date <= d <= end_date (an empty end_date is still active), each converted with the fx
rate of its currency in force on d (the latest fx row with date <= d; the reporting currency
converts at 1 when fx has no row for it) and rounded to the cent per line. Everything is
decimal, so the same data gives the same cents on every engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from tenure.config import Config
from tenure.metrics.periods import Period
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import dt, ibis, ir
from tenure.warehouse.versions import as_known

MONEY = dt.Decimal(18, 2)
RATE = dt.Decimal(20, 10)
# Dimensions that live on contract lines; grouping by them makes (account, value) the unit.
LINE_DIMENSIONS = ("product", "plan")


def periods_table(periods: Sequence[Period]) -> ir.Table:
    """A small table of periods: period label, first_day, last_day, opening_day."""
    return ibis.memtable({
        "period": [p.label for p in periods],
        "first_day": [p.first_day for p in periods],
        "last_day": [p.last_day for p in periods],
        "opening_day": [p.opening_day for p in periods],
    }, schema={"period": "string", "first_day": "date", "last_day": "date", "opening_day": "date"})


def fx_ranges(wh: Warehouse) -> ir.Table:
    """fx rows with the range of days each rate is in force: fx_currency, fx_from, fx_to, rate."""
    fx = wh.table("fx")
    nxt = fx.date.lead().over(ibis.window(group_by=fx.currency, order_by=fx.date))
    return fx.select(
        fx_currency=fx.currency,
        fx_from=fx.date,
        fx_to=(nxt - ibis.interval(days=1)),
        rate=fx.rate_to_reporting.cast(RATE),
    )


def arr_at(wh: Warehouse, config: Config, periods: ir.Table, day: str,
           unit: Sequence[str] = ("account_id",), known_at: date | datetime | None = None) -> ir.Table:
    """ARR per (period, *unit) on the day held in column `day` of `periods`
    (e.g. opening_day or last_day). Columns: period, *unit, arr (decimal, reporting currency).
    With `known_at`, from the contract lines as they were known then (a backtest's view)."""
    lines = as_known(wh, "contract_lines", known_at)
    d = periods[day]
    active = lines.join(
        periods,
        (lines.start_date <= d) & (lines.end_date.isnull() | (lines.end_date >= d)),
    )
    # the rate of each currency on each period's day: a tiny table, joined by equality
    fx = fx_ranges(wh)
    days = periods.select("period", rate_day=periods[day])
    rates = days.join(fx, (fx.fx_from <= days.rate_day) & (fx.fx_to.isnull() | (fx.fx_to >= days.rate_day)))
    rates = rates.select(rate_period=rates.period, fx_currency=rates.fx_currency, rate=rates.rate)
    priced = active.left_join(rates, (active.period == rates.rate_period) & (active.currency == rates.fx_currency))
    reporting = config.reporting_currency
    rate = ibis.ifelse(priced.rate.isnull() & (priced.currency == reporting), ibis.literal(1, RATE), priced.rate)
    value = (priced.arr.cast(MONEY) * rate).round(2).cast(MONEY)
    return priced.group_by(["period", *unit]).aggregate(arr=value.sum().cast(MONEY))


def missing_rates(wh: Warehouse, config: Config) -> list[str]:
    """Currencies on contract lines with no fx rate at all (their ARR cannot be converted)."""
    lines = wh.table("contract_lines")
    fx = wh.table("fx")
    known = fx.select(currency=fx.currency).distinct()
    cur = lines.select("currency").distinct()
    missing = cur.anti_join(known, "currency").filter(lambda t: t.currency != config.reporting_currency)
    return sorted(wh.execute(missing)["currency"].tolist())


def arr_on(wh: Warehouse, config: Config, day: date, unit: Sequence[str] = ("account_id",),
           known_at: date | datetime | None = None) -> ir.Table:
    """ARR per account (or unit) on one day (from the lines as known at `known_at`, when given).
    Columns: *unit, arr."""
    p = Period(str(day), day, day)
    return arr_at(wh, config, periods_table([p]), "last_day", unit, known_at).drop("period")
