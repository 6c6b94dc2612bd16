"""When a contract line renews: the one definition the health features, the risk model, the
account summary and the renewal pages share.

A live line's renewal date on day `d`:
- a fixed-term line (not auto-renewing) with an end date: that end date;
- an auto-renewing line, or an open-ended one, with a term of a year or more (billed annual or
  multi-year): the end of its current term, the next anniversary of its start on or after `d`.
  An auto-renewing line's end date is only written when it is cancelled, so it never moves the
  renewal date (the cancellation shows as churn risk and in the bridge, not as a renewal);
- otherwise none: monthly and quarterly terms roll over, and carry a cancellation risk, not a
  renewal date. Their term ("monthly", "quarterly") is what pages show instead of a blank. A line
  with no billing period and no fixed end has no known term, so no date either.
"""

from __future__ import annotations

from datetime import date

from tenure.warehouse.expr import ibis, ir

ROLLING_TERMS = ("monthly", "quarterly")
YEARLY_TERMS = ("annual", "multi_year")


def line_renewal_date(lines: ir.Table, d: date) -> ir.DateValue:
    """The renewal date on day `d` of each line of `lines` (contract_lines columns), or null for a
    rolling (monthly or quarterly) term."""
    day = ibis.literal(d, "date")
    start = lines.start_date
    # whole years from the start to d, minus one when d comes before this year's anniversary
    years = day.year() - start.year()
    before = (day.month() < start.month()) | ((day.month() == start.month()) & (day.day() < start.day()))
    years = years - ibis.ifelse(before, 1, 0)
    # the anniversary on or after d: this year's when d falls on it, else the next one
    on_day = (day.month() == start.month()) & (day.day() == start.day()) & (day > start)
    k = ibis.ifelse(on_day, years, years + 1)
    anniversary = (start + k.cast("int32").as_interval("Y")).cast("date")
    auto = lines.auto_renew.fill_null(False)
    yearly = lines.billing_period.isin(list(YEARLY_TERMS))
    return ibis.cases(
        (~auto & lines.end_date.notnull(), lines.end_date),
        (yearly, anniversary),
        else_=ibis.null("date"),
    )


def account_term(lines: ir.Table) -> ir.StringValue:
    """An account's shortest rolling term among `lines` ('monthly' before 'quarterly'), for pages
    to show where there is no renewal date; aggregate it per account."""
    rank = ibis.cases((lines.billing_period == "monthly", 1), (lines.billing_period == "quarterly", 2), else_=9)
    return ibis.cases((rank.min() == 1, "monthly"), (rank.min() == 2, "quarterly"), else_=ibis.null("string"))
