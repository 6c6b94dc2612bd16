"""Early-warning signals as dated events, derived from facts in the engine; deterministic and
idempotent (stored by key account x signal x day).

Event signals carry the day it happened: a champion or executive sponsor left (contact's
active_to), an invoice became overdue (the day after due_at, unpaid then), a detractor answered
NPS (score <= 6). State signals are detected on the as-of day: usage decline (last 30 days below
`decline_ratio` of the average 30 days before), support spike (tickets in the last 30 days at
least `spike_ratio` x the monthly average of the 90 days before, and at least 3), and a renewal
within `renewal_window_days` with no open renewal opportunity, and a missed cadence (a touch the
account's engagement model owes, e.g. a QBR every 90 days, with no such activity in that time:
tenure.health.engagement; one signal per account listing every touch missed), and a missing
executive sponsor where the account's engagement model requires one, and an onboarding account
behind (medium) or stuck (high) on its onboarding plan (tenure.health.onboarding_plans)."""

from __future__ import annotations

from datetime import date, timedelta

from tenure.config import NPS_DETRACTOR_MAX, Config
from tenure.health.engagement import missed_cadences, missing_sponsors
from tenure.health.features import account_features
from tenure.health.onboarding_plans import onboarding_status
from tenure.warehouse import Warehouse
from tenure.warehouse.writes import upsert_arrow
from tenure.warehouse.expr import dt, ibis, ir

DEFAULTS = {"decline_ratio": 0.5, "spike_ratio": 3.0, "renewal_window_days": 90, "lookback_days": 90}


def _settings(config: Config) -> dict:
    return {**DEFAULTS, **((config.health or {}).get("signals") or {})}


def signals(wh: Warehouse, config: Config, as_of: date) -> ir.Table:
    s = _settings(config)
    since = as_of - timedelta(days=s["lookback_days"])
    out = []

    text, day = dt.String(nullable=True), dt.Date(nullable=True)

    def ev(t, signal, at, severity, detail):
        return t.select(account_id=t.account_id.cast(text), signal=ibis.literal(signal).cast(text),
                        at=at.cast(day), severity=ibis.literal(severity).cast(text), detail=detail.cast(text))

    c = wh.table("contacts")
    left = c.filter(c.role.isin(["exec_sponsor", "champion"]) & c.active_to.notnull()
                    & (c.active_to >= since) & (c.active_to <= as_of))
    out.append(ev(left, "sponsor_left", left.active_to, "high",
                  ibis.literal("") + left.role + " " + left.name.fill_null(left.contact_id) + " left"))
    inv = wh.table("invoices")
    overdue_day = inv.due_at + ibis.interval(days=1)
    late = inv.filter((overdue_day >= since) & (overdue_day <= as_of)
                      & (inv.paid_at.isnull() | (inv.paid_at > inv.due_at)))
    out.append(ev(late, "overdue_invoice", late.due_at + ibis.interval(days=1), "medium",
                  "invoice " + late.invoice_id + " unpaid after its due date"))
    sv = wh.table("survey_responses")
    det = sv.filter((sv.kind == "nps") & (sv.score <= NPS_DETRACTOR_MAX) & (sv.responded_at >= since)
                    & (sv.responded_at < as_of + timedelta(days=1)))
    out.append(ev(det, "detractor", det.responded_at, "medium", "NPS " + det.score.cast("string")))
    f = account_features(wh, config, as_of)
    dec = f.filter(f.usage_trend.notnull() & (f.usage_trend < s["decline_ratio"]))
    out.append(ev(dec, "usage_decline", ibis.literal(as_of), "high",
                  "usage at " + (dec.usage_trend * 100).round(0).cast("int64").cast("string")
                  + "% of the previous 60 days' pace"))
    t = wh.table("tickets")
    t30 = t.filter((t.opened_at > as_of - timedelta(days=30)) & (t.opened_at < as_of + timedelta(days=1)))
    t120 = t.filter((t.opened_at > as_of - timedelta(days=120)) & (t.opened_at <= as_of - timedelta(days=30)))
    recent = t30.group_by("account_id").aggregate(n30=t30.ticket_id.count())
    before = t120.group_by("account_id").aggregate(n90=t120.ticket_id.count())
    j = recent.left_join(before, "account_id").drop("account_id_right")
    spike = j.filter((j.n30 >= 3) & (j.n30 >= s["spike_ratio"] * j.n90.fill_null(0) / 3.0))
    out.append(ev(spike, "support_spike", ibis.literal(as_of), "medium",
                  spike.n30.cast("string") + " tickets in 30 days"))
    o = wh.table("opportunities")
    open_renewal = o.filter((o.kind == "renewal") & (o.status.fill_null("open") == "open")).select("account_id").distinct()
    due = f.filter(f.days_to_renewal.notnull() & (f.days_to_renewal <= s["renewal_window_days"]))
    due = due.anti_join(open_renewal, "account_id")
    out.append(ev(due, "renewal_without_opportunity", ibis.literal(as_of), "high",
                  "renews in " + due.days_to_renewal.cast("string") + " days, no open renewal opportunity"))
    missed = missed_cadences(wh, config.operating_model, f, as_of)
    missed = missed.mutate(what=missed.kind + " every " + missed.every_days.cast("string") + " days ("
                           + ibis.ifelse(missed.last_at.isnull(), ibis.literal("never"),
                                         "last " + missed.last_at.cast("string")) + ")")
    per_account = missed.group_by("account_id").aggregate(what=missed.what.group_concat(", "))
    out.append(ev(per_account, "missed_cadence", ibis.literal(as_of), "medium", "missed " + per_account.what))
    nosponsor = missing_sponsors(wh, config.operating_model, f, as_of)
    out.append(ev(nosponsor, "sponsor_missing", ibis.literal(as_of), "medium",
                  "no active executive sponsor (engagement model " + nosponsor.engagement_model + " requires one)"))
    plan = onboarding_status(wh, config, as_of, features=f)
    if plan is not None:
        for status, severity in (("behind", "medium"), ("stuck", "high")):
            late = plan.filter(plan.status == status)
            out.append(ev(late, f"onboarding_{status}", ibis.literal(as_of), severity,
                          f"onboarding {status}: " + late.required_done.cast("string") + " of "
                          + late.required.cast("string") + " required milestones done ("
                          + late.required_due.cast("string") + " due), " + late.slippage_days.cast("string")
                          + " days late (plan " + late.plan + ")"))
    result = out[0]
    for part in out[1:]:
        result = result.union(part)
    return result


def record_signals(wh: Warehouse, config: Config, as_of: date) -> dict:
    """Compute the signals as of a day and store them (idempotent)."""
    wh.ensure_schema()
    sig = signals(wh, config, as_of)
    one = sig.group_by(["account_id", "signal", "at"]).aggregate(severity=sig.severity.max(), detail=sig.detail.min())
    data = wh.to_pyarrow(one)
    inserted, updated, unchanged = upsert_arrow(wh, "health_signals", data)
    return {"signals": data.num_rows, "new": inserted, "updated": updated, "unchanged": unchanged}
