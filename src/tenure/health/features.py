"""Per-account features as of any date, computed in the engine (Ibis): the measures health
scorecards and (later) the churn-risk model are built on. Usage comes from the incremental
`usage_daily` rollup, never from raw events. Each feature is defined once in FEATURES."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tenure.config import Config
from tenure.health.onboarding import onboarding_settings
from tenure.metrics.arr import arr_on
from tenure.metrics.renewals import line_renewal_date
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis, ir
from tenure.warehouse.versions import as_known


@dataclass(frozen=True)
class Feature:
    name: str
    description: str
    unit: str


FEATURES: tuple[Feature, ...] = (
    Feature("arr", "ARR on the as-of day (reporting currency)", "currency"),
    Feature("active_days_30", "days with any usage in the last 30 days", "days"),
    Feature("events_30", "usage events in the last 30 days", "events"),
    Feature("usage_trend", "events in the last 30 days / average 30 days of the 60 before (1 = flat)", "ratio"),
    Feature("features_used_30", "distinct features used in the last 30 days", "features"),
    Feature("peak_users_30", "most users active on one day in the last 30 days", "users"),
    Feature("seat_utilization", "peak daily users in the last 30 days / seats on active lines", "ratio"),
    Feature("tickets_90", "support tickets opened in the last 90 days", "tickets"),
    Feature("urgent_tickets_90", "high or urgent tickets opened in the last 90 days", "tickets"),
    Feature("escalations_90", "escalated tickets opened in the last 90 days", "tickets"),
    Feature("ticket_csat_90", "average ticket CSAT (1-5) in the last 90 days", "score"),
    Feature("nps_latest", "latest NPS score (0-10) given by the account", "score"),
    Feature("exec_sponsor_active", "an executive sponsor contact is active (1/0)", "flag"),
    Feature("champion_active", "a champion contact is active (1/0)", "flag"),
    Feature("champion_left_90", "a champion or executive sponsor left in the last 90 days (1/0)", "flag"),
    Feature("exec_activities_180", "activities with a customer executive in the last 180 days", "activities"),
    Feature("overdue_invoices", "invoices past due and unpaid on the as-of day", "invoices"),
    Feature("arr_change_90", "ARR now / ARR 90 days ago (1 = flat)", "ratio"),
    Feature("days_to_renewal", "days until the next renewal: a term's end, or the anniversary of a yearly "
            "term without one (monthly and quarterly terms roll over and have none)", "days"),
    Feature("onboarding_completion", "share of milestones due by now that are completed", "ratio"),
    Feature("days_since_first_arr", "days since the account's first ARR (its customer age)", "days"),
    Feature("in_onboarding", "still onboarding: first value not reached and fewer than health.onboarding.days "
            "days since the first ARR (1/0)", "flag"),
)


def _bit_count(col: ir.IntegerValue, bits: int) -> ir.IntegerValue:
    """Set bits of a 64-bit mask as portable arithmetic (no engine-specific popcount)."""
    total = ibis.literal(0)
    for i in range(max(1, min(bits, 64))):
        total = total + ((col >> i) & 1)
    return total


def _usage(wh: Warehouse, d: date) -> ir.Table:
    """Per account, one pass over the last 90 days of usage_daily (laid out by day, so only their
    row groups are read): the last 30 days and the 60 before them as filtered aggregates."""
    u = wh.table("usage_daily")
    u90 = u.filter((u.day > d - timedelta(days=90)) & (u.day <= d))
    in30 = u90.day > d - timedelta(days=30)
    return u90.group_by("account_id").aggregate(
        active_days_30=u90.day.count(where=in30), events_30=u90.events.sum(where=in30),
        peak_users_30=u90.active_users.max(where=in30), mask_30=u90.feature_mask.bit_or(where=in30),
        events_prior_60=u90.events.sum(where=~in30))


def _seats(lines: ir.Table, d: date) -> ir.Table:
    """One pass over the lines: seats and the next renewal (the one renewal-date rule,
    tenure.metrics.renewals) of the live ones, and the first day with ARR (the customer's age)."""
    started = lines.filter(lines.start_date <= d)
    is_live = started.end_date.isnull() | (started.end_date >= d)
    return started.group_by("account_id").aggregate(
        seats=started.quantity.sum(where=is_live),
        next_end=line_renewal_date(started, d).min(where=is_live),
        first_arr_date=started.start_date.min(where=started.arr > 0))


def _usage_trend(t: ir.Table) -> ir.FloatingValue:
    """Events in the last 30 days over the pace of the 60 before (None without earlier events)."""
    prior_avg = t.events_prior_60.fill_null(0) / 2.0
    return ibis.ifelse(prior_avg > 0, t.events_30.fill_null(0) / prior_avg, ibis.null("float64"))


def _seat_utilization(t: ir.Table) -> ir.FloatingValue:
    """Peak daily users in the last 30 days over the live lines' seats."""
    return ibis.ifelse(t.seats > 0, t.peak_users_30.fill_null(0) / t.seats.cast("float64"), ibis.null("float64"))


def usage_features(wh: Warehouse, config: Config, as_of: date, known_at: date | datetime | None = None) -> ir.Table:
    """account_id, seat_utilization, usage_trend, peak_users_30 of every account with ARR > 0 on
    `as_of`: the same definitions as `account_features`, without the features that need the
    other facts (tickets, surveys, contacts, ...), for the playbook triggers that read usage."""
    base = arr_on(wh, config, as_of, known_at=known_at).filter(lambda t: t.arr > 0).select("account_id")
    out = base.left_join(_usage(wh, as_of), "account_id").drop("account_id_right")
    out = out.left_join(_seats(as_known(wh, "contract_lines", known_at), as_of), "account_id").drop(
        "account_id_right")
    return out.select("account_id", seat_utilization=_seat_utilization(out), usage_trend=_usage_trend(out),
                      peak_users_30=out.peak_users_30.fill_null(0))


def account_features(wh: Warehouse, config: Config, as_of: date, accounts: Sequence[str] | None = None,
                     known_at: date | datetime | None = None) -> ir.Table:
    """One row per account with ARR > 0 on `as_of`: account_id, segment, and every feature.

    With `known_at` (a day: as known at its end; or an instant), the mutable facts (accounts,
    contract lines, tickets, contacts) are read as they were known then, so a backtest never sees
    a cancellation, an edit or a resolution recorded later; None reads the latest version."""
    d = as_of

    def fact(name: str) -> ir.Table:
        return as_known(wh, name, known_at)

    base = arr_on(wh, config, d, known_at=known_at).filter(lambda t: t.arr > 0)
    if accounts is not None:
        base = base.filter(base.account_id.isin(list(accounts)))
    acc = fact("accounts").select("account_id", "segment")
    out = base.left_join(acc, "account_id").drop("account_id_right")

    def days_ago(n: int) -> date:
        return d - timedelta(days=n)

    bits = int(wh.execute(wh.table("usage_features").count())) or 1
    usage = _usage(wh, d)
    seats = _seats(fact("contract_lines"), d)

    t = fact("tickets")
    t90 = t.filter((t.opened_at > days_ago(90)) & (t.opened_at < d + timedelta(days=1)))
    tickets = t90.group_by("account_id").aggregate(
        tickets_90=t90.ticket_id.count(),
        urgent_tickets_90=ibis.ifelse(t90.priority.isin(["high", "urgent"]), 1, 0).sum(),
        escalations_90=ibis.ifelse(t90.escalated, 1, 0).sum(),
        ticket_csat_90=t90.csat.mean())

    s = wh.table("survey_responses")
    nps = s.filter((s.kind == "nps") & (s.responded_at < d + timedelta(days=1)))
    ranked = nps.mutate(rk=ibis.row_number().over(group_by=nps.account_id, order_by=ibis.desc(nps.responded_at)))
    latest_nps = ranked.filter(ranked.rk == 0).select("account_id", nps_latest=ranked.score)

    c = fact("contacts")
    now_active = (c.active_from.isnull() | (c.active_from <= d)) & (c.active_to.isnull() | (c.active_to >= d))
    key_role = c.role.isin(["exec_sponsor", "champion"])
    left = key_role & c.active_to.notnull() & (c.active_to > days_ago(90)) & (c.active_to < d)
    contacts = c.group_by("account_id").aggregate(
        exec_sponsor_active=ibis.ifelse((c.role == "exec_sponsor") & now_active, 1, 0).max(),
        champion_active=ibis.ifelse((c.role == "champion") & now_active, 1, 0).max(),
        champion_left_90=ibis.ifelse(left, 1, 0).max())

    a = wh.table("activities")
    a180 = a.filter((a.at > days_ago(180)) & (a.at < d + timedelta(days=1)) & a.with_exec)
    acts = a180.group_by("account_id").aggregate(exec_activities_180=a180.activity_id.count())

    inv = wh.table("invoices")
    overdue = inv.filter((inv.issued_at <= d) & (inv.due_at < d) & (inv.paid_at.isnull() | (inv.paid_at > d)))
    invoices = overdue.group_by("account_id").aggregate(overdue_invoices=overdue.invoice_id.count())

    then = arr_on(wh, config, days_ago(90), known_at=known_at).rename(arr_90=("arr"))

    settings = onboarding_settings(config)
    onboarding = _milestones(wh, settings, d)

    for part in (usage, seats, tickets, latest_nps, contacts, acts, invoices, then, onboarding):
        out = out.left_join(part, "account_id").drop("account_id_right")
    zero = ibis.literal(0)
    events_30 = out.events_30.fill_null(0)
    age = ibis.literal(d).delta(out.first_arr_date, unit="day")
    return out.select(
        "account_id", "segment", "arr",
        active_days_30=out.active_days_30.fill_null(zero),
        events_30=events_30,
        usage_trend=_usage_trend(out),
        features_used_30=_bit_count(out.mask_30.fill_null(0), bits),
        peak_users_30=out.peak_users_30.fill_null(0),
        seat_utilization=_seat_utilization(out),
        tickets_90=out.tickets_90.fill_null(0),
        urgent_tickets_90=out.urgent_tickets_90.fill_null(0),
        escalations_90=out.escalations_90.fill_null(0),
        ticket_csat_90=out.ticket_csat_90,
        nps_latest=out.nps_latest,
        exec_sponsor_active=out.exec_sponsor_active,
        champion_active=out.champion_active,
        champion_left_90=out.champion_left_90.fill_null(0),
        exec_activities_180=out.exec_activities_180.fill_null(0),
        overdue_invoices=out.overdue_invoices.fill_null(0),
        arr_change_90=ibis.ifelse(out.arr_90 > 0, out.arr.cast("float64") / out.arr_90.cast("float64"),
                                  ibis.null("float64")),
        days_to_renewal=ibis.ifelse(out.next_end.notnull(), out.next_end.delta(ibis.literal(d), unit="day"),
                                    ibis.null("int64")),
        onboarding_completion=out.onboarding_completion,
        days_since_first_arr=age,
        in_onboarding=_in_onboarding(out, age, settings),
    )


def _milestones(wh: Warehouse, settings: Any, d: date) -> ir.Table:
    """One pass over the milestones: the share of those due by `d` that are done
    (onboarding_completion), and whether the milestone that ends onboarding is done."""
    ms = wh.table("milestones")
    done = ms.completed_at.notnull() & (ms.completed_at <= d)
    return ms.group_by("account_id").aggregate(
        onboarding_completion=ibis.ifelse(done, 1.0, 0.0).mean(where=ms.due_at <= d),
        first_value_reached=ms.milestone.count(where=done & (ms.milestone == settings.milestone)))


def _in_onboarding(out: ir.Table, age: ir.IntegerValue, settings: Any) -> ir.IntegerValue:
    """Still onboarding: first value not reached and younger than health.onboarding.days."""
    return ibis.ifelse((out.first_value_reached.fill_null(0) == 0) & (age < settings.days), 1, 0)


def onboarding_features(wh: Warehouse, config: Config, as_of: date, known_at: date | datetime | None = None
                        ) -> ir.Table:
    """account_id, segment, arr, days_since_first_arr, in_onboarding of every account with ARR > 0 on
    `as_of`: the same definitions as `account_features`, without the features that need the other
    facts (usage, tickets, surveys, ...), for the onboarding trigger and page, which read only these."""
    settings = onboarding_settings(config)
    base = arr_on(wh, config, as_of, known_at=known_at).filter(lambda t: t.arr > 0)
    acc = as_known(wh, "accounts", known_at).select("account_id", "segment")
    out = base.left_join(acc, "account_id").drop("account_id_right")
    out = out.left_join(_milestones(wh, settings, as_of), "account_id").drop("account_id_right")
    out = out.left_join(_seats(as_known(wh, "contract_lines", known_at), as_of), "account_id").drop(
        "account_id_right")
    age = ibis.literal(as_of).delta(out.first_arr_date, unit="day")
    return out.select("account_id", "segment", "arr", days_since_first_arr=age,
                      in_onboarding=_in_onboarding(out, age, settings))
