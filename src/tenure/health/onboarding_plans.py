"""Onboarding plans: what an onboarding account should have done by when, and whether it has.

Which accounts are onboarding is decided once, by `health.onboarding` (tenure.health.onboarding,
the `in_onboarding` feature). A plan (tenure.yaml `onboarding_plans`, a
tenure.config.OnboardingPlans) lists milestones per segment, each due a number of days after the
contract start (the account's first day with ARR), required or optional. A milestone is done on
the first day either the milestones fact of its name is completed, or its data condition
(`done_when`: active users, active days, usage events, a feature used, an activity held, another
milestones fact) holds. Every condition is evaluated in the engine for all accounts at once.

Per account, on the as-of day:

    progress           required milestones done / required milestones
    expected_progress  required milestones due by now / required milestones
    slippage_days      days the most overdue required milestone is past its due date (0: none)
    status             stuck     slippage_days > stuck_after_days
                       behind    slippage_days > behind_after_days
                       on_track  otherwise

    plan_milestones(wh, plans, accounts, as_of) -> ir.Table   one row per account x plan milestone
    plan_status(wh, plans, accounts, as_of) -> ir.Table       one row per account with a plan
    onboarding_accounts(wh, config, as_of, features=None) -> ir.Table   account_id, segment, arr, start
    onboarding_status(wh, config, as_of, features=None) -> ir.Table     plan_status of onboarding_accounts

`accounts` is any table with account_id, segment and start (date); accounts whose segment has no
plan are left out.
"""

from __future__ import annotations

from datetime import date, timedelta

from tenure.config import Config, OnboardingPlans
from tenure.health.features import onboarding_features
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import dt, ibis, ir

__all__ = ["STATUSES", "MILESTONE_STATES", "onboarding_accounts", "onboarding_status", "plan_milestones",
           "plan_status"]

STATUSES = ("on_track", "behind", "stuck")
MILESTONE_STATES = ("done", "overdue", "due")

_TEXT, _DAY = dt.String(nullable=True), dt.Date(nullable=True)


def _as_date(v: ir.Value) -> ir.DateValue:
    """A day from date +/- interval arithmetic: Ibis types it a date, which some engines (DuckDB)
    return as a timestamp, so a plain cast to date is dropped as a no-op; going through timestamp
    keeps it."""
    return v.cast("timestamp").cast("date")


def _fact_key(name: str) -> str:
    return f"milestone:{name}"


def _plan_rows(plans: OnboardingPlans) -> tuple[list[dict], list[dict]]:
    """The plans as rows: milestones (plan, milestone, position, required, due_days) and the keys
    of the conditions that complete each (its own milestones fact, and its done_when)."""
    ms, keys = [], []
    for p in plans.plans:
        for i, m in enumerate(p.milestones):
            ms.append({"plan": p.name, "milestone": m.name, "position": i, "required": m.required,
                       "due_days": m.due_days})
            keys.append({"plan": p.name, "milestone": m.name, "key": _fact_key(m.name)})
            if m.done_when is not None:
                keys.append({"plan": p.name, "milestone": m.name, "key": f"{m.done_when.kind}:{m.done_when.value}"})
    return ms, keys


def _with_plan(plans: OnboardingPlans, accounts: ir.Table) -> ir.Table:
    default = next((p.name for p in plans.plans if not p.segments), None)
    cases = [(accounts.segment.isin(p.segments), p.name) for p in plans.plans if p.segments]
    else_ = ibis.literal(default, type="string") if default else ibis.null("string")
    plan = ibis.cases(*cases, else_=else_) if cases else else_
    t = accounts.select("account_id", "segment", start=accounts.start.cast("date"), plan=plan)
    return t.filter(t.plan.notnull())


def _conditions(wh: Warehouse, accounts: ir.Table, keys: set[str], as_of: date) -> ir.Table | None:
    """(account_id, key, completed_on): the first day each condition held, per account, from its start."""
    end = as_of + timedelta(days=1)
    acc = accounts.select("account_id", "start")
    parts = []

    def part(t: ir.Table, key: str, on: str) -> ir.Table:
        first = t.group_by("account_id").aggregate(on=t[on].min())
        return first.select(account_id=first.account_id.cast(_TEXT), key=ibis.literal(key).cast(_TEXT),
                            completed_on=first.on.cast(_DAY))

    usage = None
    for key in sorted(keys):
        kind, _, value = key.partition(":")
        if kind == "milestone":
            ms = wh.table("milestones")
            done = ms.filter((ms.milestone == value) & ms.completed_at.notnull() & (ms.completed_at <= as_of))
            done = done.semi_join(acc, "account_id")
            parts.append(part(done, key, "completed_at"))
            continue
        if kind == "activity":
            a = wh.table("activities")
            a = a.filter((a.kind == value) & (a.at < end)).join(acc, "account_id")
            a = a.filter(a.at >= a.start)
            parts.append(part(a, key, "at"))
            continue
        if usage is None:
            u = wh.table("usage_daily")
            usage = u.filter(u.day <= as_of).join(acc, "account_id")
            usage = usage.filter(usage.day >= usage.start)
        u = usage
        if kind == "active_users":
            hit = u.filter(u.active_users >= int(value))
        elif kind == "feature":
            f = wh.table("usage_features")
            bits = wh.execute(f.filter(f.feature == value).bit.min())
            if bits is None or bits != bits:  # an unknown feature: never used
                continue
            hit = u.filter(((u.feature_mask >> int(bits)) & 1) == 1)
        elif kind == "active_days":
            ranked = u.mutate(n=ibis.row_number().over(group_by=u.account_id, order_by=u.day))
            hit = ranked.filter(ranked.n == int(value) - 1)
        elif kind == "events":
            run = u.mutate(total=u.events.sum().over(ibis.cumulative_window(group_by=u.account_id, order_by=u.day)))
            hit = run.filter(run.total >= int(value))
        else:  # pragma: no cover - DoneWhen validates the kinds
            raise ValueError(kind)
        parts.append(part(hit, key, "day"))
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


def plan_milestones(wh: Warehouse, plans: OnboardingPlans, accounts: ir.Table, as_of: date) -> ir.Table | None:
    """One row per account with a plan x milestone of its plan: account_id, segment, plan, start,
    milestone, position, required, due_on, completed_on (None: not done by as_of), state (done,
    overdue, due), days_overdue (0 unless overdue), late_days (days a done milestone was late, 0 if
    on time). None when no plan is configured."""
    if not plans.plans:
        return None
    ms_rows, key_rows = _plan_rows(plans)
    acc = _with_plan(plans, accounts)
    milestones = ibis.memtable(ms_rows, schema={"plan": "string", "milestone": "string", "position": "int64",
                                                "required": "boolean", "due_days": "int64"})
    keys = ibis.memtable(key_rows, schema={"plan": "string", "milestone": "string", "key": "string"})
    m = acc.join(milestones, "plan")
    conds = _conditions(wh, acc, {r["key"] for r in key_rows}, as_of)
    if conds is not None:
        wanted = acc.select("account_id", "plan").join(keys, "plan")
        hits = wanted.join(conds, ["account_id", "key"])
        first = hits.group_by(["account_id", "milestone"]).aggregate(completed_on=hits.completed_on.min())
        m = m.left_join(first, ["account_id", "milestone"]).drop("account_id_right", "milestone_right")
    else:
        m = m.mutate(completed_on=ibis.null("date"))
    due_on = _as_date(m.start + m.due_days.cast("int32").as_interval("D"))
    m = m.mutate(due_on=due_on)
    today = ibis.literal(as_of)
    done = m.completed_on.notnull()
    overdue = ~done & (m.due_on < today)
    return m.select(
        "account_id", "segment", "plan", "start", "milestone", "position", "required", "due_on", "completed_on",
        state=ibis.cases((done, "done"), (overdue, "overdue"), else_="due"),
        days_overdue=ibis.ifelse(overdue, today.delta(m.due_on, unit="day"), 0),
        late_days=ibis.ifelse(done & (m.completed_on > m.due_on), m.completed_on.delta(m.due_on, unit="day"), 0))


def plan_status(wh: Warehouse, plans: OnboardingPlans, accounts: ir.Table, as_of: date) -> ir.Table | None:
    """One row per account with a plan: account_id, segment, plan, start, days_since_start,
    milestones, done, overdue (required and optional), required, required_done, required_due (due by
    as_of), progress, expected_progress, slippage_days, status, next_milestone and next_due_on (the
    earliest-due milestone not done). None when no plan is configured."""
    m = plan_milestones(wh, plans, accounts, as_of)
    if m is None:
        return None
    m = m.mutate(order=m.due_on.delta(m.start, unit="day") * 1000 + m.position)
    done, req = m.state == "done", m.required
    open_ = m.state != "done"
    agg = m.group_by(["account_id", "segment", "plan", "start"]).aggregate(
        milestones=m.milestone.count(), done=m.milestone.count(where=done),
        overdue=m.milestone.count(where=m.state == "overdue"),
        required=m.milestone.count(where=req), required_done=m.milestone.count(where=req & done),
        required_due=m.milestone.count(where=req & (m.due_on <= as_of)),
        slippage_days=m.days_overdue.max(where=req),
        next_due_on=m.due_on.min(where=open_),
        next_milestone=m.milestone.argmin(m.order, where=open_))
    slip = agg.slippage_days.fill_null(0)
    share = lambda n: ibis.ifelse(agg.required > 0, n.cast("float64") / agg.required.cast("float64"),  # noqa: E731
                                  ibis.null("float64"))
    return agg.select(
        "account_id", "segment", "plan", "start",
        days_since_start=ibis.literal(as_of).delta(agg.start, unit="day"),
        milestones=agg.milestones, done=agg.done, overdue=agg.overdue, required=agg.required,
        required_done=agg.required_done, required_due=agg.required_due,
        progress=share(agg.required_done), expected_progress=share(agg.required_due),
        slippage_days=slip,
        status=ibis.cases((slip > plans.stuck_after_days, "stuck"), (slip > plans.behind_after_days, "behind"),
                          else_="on_track"),
        next_milestone=agg.next_milestone, next_due_on=agg.next_due_on)


def onboarding_accounts(wh: Warehouse, config: Config, as_of: date, features: ir.Table | None = None) -> ir.Table:
    """The accounts onboarding on `as_of` (the `in_onboarding` feature, the one definition):
    account_id, segment, arr, start (the first day with ARR). `features`: account_features of the
    same day when the caller has built them already."""
    f = features if features is not None else onboarding_features(wh, config, as_of)
    f = f.filter(f.in_onboarding == 1)
    start = _as_date(ibis.literal(as_of) - f.days_since_first_arr.cast("int32").as_interval("D"))
    return f.select("account_id", "segment", "arr", start=start)


def onboarding_status(wh: Warehouse, config: Config, as_of: date,
                      features: ir.Table | None = None) -> ir.Table | None:
    """plan_status of the accounts onboarding on `as_of`; None when no plan is configured."""
    if not config.onboarding_plans.plans:
        return None
    return plan_status(wh, config.onboarding_plans, onboarding_accounts(wh, config, as_of, features), as_of)
