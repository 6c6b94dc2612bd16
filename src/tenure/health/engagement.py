"""The operating model applied to accounts, in the engine: which engagement model serves each
account (tenure.yaml `operating_model.engagement_models`, the first whose segment and tier match;
else `default_touch` with no cadence), and which touches it owes and has missed.

One definition, used by the missed-cadence and missing-sponsor signals (tenure.health.signals), capacity
(tenure.playbooks.capacity) and the playbooks' missed-cadence trigger. Both are Ibis
expressions over every account at once; the loops below run over the configured models and
cadences (a handful), never over accounts."""

from __future__ import annotations

from datetime import date, timedelta

from tenure.config import OperatingModel
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import dt, ibis, ir


def _matches(a: ir.Table, model) -> ir.BooleanValue:
    cond = ibis.literal(True)
    if model.match.segment:
        cond = cond & a.segment.isin(model.match.segment)
    if model.match.tier:
        cond = cond & a.tier.isin(model.match.tier)
    return cond


def engagement(accounts: ir.Table, om: OperatingModel) -> ir.Table:
    """`accounts` (with segment and tier) plus `engagement_model` (NULL when none matches) and
    `touch` (high, mid or tech)."""
    text = dt.String(nullable=True)
    model_name: ir.Value = ibis.null().cast(text)
    touch: ir.Value = ibis.literal(om.default_touch).cast(text)
    for m in reversed(om.engagement_models):  # the first match wins: build the CASE from the last
        hit = _matches(accounts, m)
        model_name = ibis.ifelse(hit, ibis.literal(m.name).cast(text), model_name)
        touch = ibis.ifelse(hit, ibis.literal(m.touch).cast(text), touch)
    return accounts.mutate(engagement_model=model_name, touch=touch)


def missed_cadences(wh: Warehouse, om: OperatingModel, customers: ir.Table, as_of: date) -> ir.Table:
    """One row per (account, cadence) owed and missed on `as_of`: account_id, engagement_model,
    kind, every_days, last_at (the last activity of that kind on or before as_of; NULL = never)
    and days_since (NULL = never). A touch is missed when the last one is more than every_days
    old (or there was none) and the account has been a customer for at least every_days.
    `customers` has account_id and days_since_first_arr (e.g. tenure.health.features)."""
    acc = engagement(wh.table("accounts").select("account_id", "segment", "tier"), om)
    base = customers.select("account_id", "days_since_first_arr").join(acc, "account_id")
    act = wh.table("activities")
    act = act.filter(act.at < ibis.literal(as_of + timedelta(days=1)))
    day, text, i64 = dt.Date(nullable=True), dt.String(nullable=True), dt.Int64(nullable=True)
    parts = []
    for m in om.engagement_models:
        for c in m.cadences:
            kinds = act.filter(act.kind == c.kind)
            if c.with_exec:
                kinds = kinds.filter(kinds.with_exec.fill_null(False))
            last = kinds.group_by("account_id").aggregate(last_at=kinds.at.max())
            owed = base.filter((base.engagement_model == m.name) & (base.days_since_first_arr >= c.every_days))
            j = owed.left_join(last, "account_id")
            last_day = j.last_at.cast(day)
            j = j.select(account_id=j.account_id, engagement_model=ibis.literal(m.name).cast(text),
                         kind=ibis.literal(c.kind).cast(text), every_days=ibis.literal(c.every_days).cast(i64),
                         last_at=last_day, days_since=ibis.literal(as_of).delta(last_day, unit="day").cast(i64))
            parts.append(j.filter(j.last_at.isnull() | (j.days_since > c.every_days)))
    if not parts:
        return base.select(account_id=base.account_id, engagement_model=base.engagement_model,
                           kind=ibis.null().cast(text), every_days=ibis.null().cast(i64), last_at=ibis.null().cast(day),
                           days_since=ibis.null().cast(i64)).limit(0)
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


def missing_sponsors(wh: Warehouse, om: OperatingModel, customers: ir.Table, as_of: date) -> ir.Table:
    """Customers whose engagement model requires an executive sponsor (`exec_sponsor_required`)
    and who have no contact with role exec_sponsor active on `as_of`: account_id,
    engagement_model."""
    required = [m.name for m in om.engagement_models if m.exec_sponsor_required]
    acc = engagement(wh.table("accounts").select("account_id", "segment", "tier"), om)
    base = customers.select("account_id").join(acc, "account_id")
    if not required:
        return base.select("account_id", "engagement_model").limit(0)
    c = wh.table("contacts")
    day = ibis.literal(as_of)
    active = c.filter((c.role == "exec_sponsor") & (c.active_from.isnull() | (c.active_from <= day))
                      & (c.active_to.isnull() | (c.active_to >= day))).select("account_id").distinct()
    return base.filter(base.engagement_model.isin(required)).anti_join(active, "account_id").select(
        "account_id", "engagement_model")
