"""Playbook triggers: what makes a playbook fire, evaluated in the warehouse for every account
at once (Ibis), never a Python loop over accounts.

Each trigger type turns its parameters into an Ibis table of occurrences with the columns of
`OCCURRENCE_COLUMNS`:

    account_id, contact_id   who it is about (contact_id empty for account-level triggers)
    subject                  what inside the account it is about (a milestone, a ticket), or ''
    key                      the occurrence: with the playbook, the trigger and the subject it
                             makes the dedupe key, so re-evaluating never fires twice for it
    occurred_on              the day it happened (an event) or began to hold (a state)
    value, detail            the trigger value behind it, and the same in words

Two kinds:
- an *event* (a survey answer, a contact who left, a resolved ticket) fires once per key, when
  it happened within `within_days` of the evaluation day, and never "clears";
- a *state* (red band, risk over a threshold, an overdue milestone) holds while its condition
  holds; the rows returned are the accounts in that state now. It fires once per streak and
  clears when the account is no longer returned, which closes its tasks (unless `keep_open`).

The registry `TRIGGER_TYPES` is what playbook files name (`type:`); later stages may add to it
with `register_trigger`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tenure.config import LOW_SCORE_MAX
from tenure.metrics.renewals import line_renewal_date
from tenure.schema.health import BANDS, HEALTH_SIGNALS
from tenure.warehouse.expr import dt, ibis, ir

OCCURRENCE_COLUMNS = ("account_id", "contact_id", "subject", "key", "occurred_on", "value", "detail")
TEXT, DAY, NUM = dt.String(nullable=True), dt.Date(nullable=True), dt.Float64(nullable=True)
SIGNALS = tuple(HEALTH_SIGNALS.column("signal").enum or ())
RENEWAL_WINDOWS = (120, 90, 60, 30)


class TriggerParams(BaseModel):
    """Fields every trigger has: `type`, and an optional `id` to tell two of one type apart."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: str
    id: str | None = Field(None, description="names this trigger in dedupe keys and results (default: type)")

    @property
    def trigger_id(self) -> str:
        return self.id or self.type


class EventParams(TriggerParams):
    within_days: int = Field(14, ge=1, le=3650, description="fire for events at most this many days old")


class _Tables:
    """The warehouse with each table's Ibis expression looked up once: every lookup asks the
    database for the table's schema, and one evaluation names the same few tables dozens of
    times (every trigger, audience and per-contact fan-out)."""

    def __init__(self, wh: Any) -> None:
        self.raw = wh
        self._tables: dict[str, ir.Table] = {}

    def table(self, name: str) -> ir.Table:
        t = self._tables.get(name)
        if t is None:
            t = self._tables[name] = self.raw.table(name)
        return t

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


@dataclass
class Inputs:
    """The warehouse and the evaluation day, with the shared expressions several triggers read
    (built once per evaluation, so every playbook shares them). `wh` is the warehouse with its
    table lookups cached for the evaluation."""

    wh: Any
    config: Any
    as_of: date

    def __post_init__(self) -> None:
        if not isinstance(self.wh, _Tables):
            self.wh = _Tables(self.wh)

    @property
    def day(self) -> ir.DateScalar:
        return ibis.literal(self.as_of, "date")

    def since(self, days: int) -> date:
        return self.as_of - timedelta(days=days)

    @cached_property
    def features(self) -> ir.Table:
        """The usage features (tenure.health.features: one definition of seat utilisation and
        the usage trend) of every paying account on the day, computed in the warehouse once
        (only those: the rest of the health features read every other fact table)."""
        from tenure.health.features import usage_features

        f = usage_features(self.wh.raw, self.config, self.as_of)
        # computed once per evaluation (one row per account) and shared by every trigger reading it,
        # instead of the engine recomputing every feature for each of them inside the one query
        return ibis.memtable(self.wh.to_pyarrow(f))

    @cached_property
    def renewal(self) -> ir.Table:
        """account_id, renewal_date: the next renewal on or after the day by the one renewal rule
        (tenure.metrics.renewals) over the account's live lines."""
        lines = self.wh.table("contract_lines")
        live = lines.filter((lines.start_date <= self.as_of) & (lines.end_date.isnull()
                                                                | (lines.end_date >= self.as_of)))
        live = live.mutate(renews=line_renewal_date(live, self.as_of))
        return live.group_by("account_id").aggregate(renewal_date=live.renews.min())


def _rows(t: ir.Table, *, key: ir.Value, occurred_on: ir.Value, value: ir.Value | None = None,
          detail: ir.Value | None = None, contact_id: ir.Value | None = None,
          subject: ir.Value | None = None) -> ir.Table:
    """The occurrence columns, typed alike so every trigger's rows union."""
    return t.select(
        account_id=t.account_id.cast(TEXT),
        contact_id=(contact_id if contact_id is not None else ibis.null()).cast(TEXT),
        subject=(subject if subject is not None else ibis.literal("")).cast(TEXT),
        key=key.cast(TEXT),
        occurred_on=occurred_on.cast(DAY),
        value=(value if value is not None else ibis.null()).cast(NUM),
        detail=(detail if detail is not None else ibis.literal("")).cast(TEXT),
    )


def _text(v: ir.Value) -> ir.StringValue:
    return v.cast("string").fill_null("")


def _latest(t: ir.Table, day: str) -> ir.Table:
    """Each account's newest row of `t` (by `day`)."""
    newest = t.group_by("account_id").aggregate(_last=t[day].max())
    return t.join(newest, (t.account_id == newest.account_id) & (t[day] == newest._last)).select(t)


def _streak(t: ir.Table, day: str, holds: Callable[[ir.Table], ir.BooleanValue]) -> ir.Table:
    """Accounts whose newest row of `t` meets `holds`, with the first day of the current streak
    (`start`: the earliest row meeting it after the newest row that did not) and the newest row's
    columns."""
    t = t.mutate(_holds=holds(t).fill_null(False))
    g = t.group_by("account_id").aggregate(_last=t[day].max(), _last_out=t[day].max(where=~t._holds))
    j = t.join(g, "account_id")
    floor = ibis.literal(date(1900, 1, 1), "date")
    streak = j.filter(j._holds & (j[day] > j._last_out.fill_null(floor)))
    starts = streak.group_by("account_id").aggregate(start=streak[day].min(), _prev=streak._last_out.max())
    now = j.filter((j[day] == j._last) & j._holds)
    return now.join(starts, "account_id")


# -- the trigger types -------------------------------------------------------------------------


class BandChange(TriggerParams):
    type: Literal["band_change"] = "band_change"
    to: list[str] = Field(default_factory=lambda: ["red"], description="health bands that fire")
    from_: list[str] | None = Field(None, alias="from", description="only when the band before was one of these")

    @field_validator("to", "from_")
    @classmethod
    def _bands(cls, v: list[str] | None) -> list[str] | None:
        for b in v or []:
            if b not in BANDS:
                raise ValueError(f"unknown band {b!r}; bands are {', '.join(BANDS)}")
        return v


def band_change(inp: Inputs, p: BandChange) -> ir.Table:
    hs = inp.wh.table("health_scores")
    hs = hs.filter((hs.as_of <= inp.as_of) & (hs.as_of > inp.since(730)))
    s = _streak(hs, "as_of", lambda t: t.band.isin(p.to))
    if p.from_:
        before = hs.select(pa_=hs.account_id, pd_=hs.as_of, prev_band=hs.band)
        s = s.join(before, (s.account_id == before.pa_) & (s._prev == before.pd_))
        s = s.filter(s.prev_band.isin(p.from_))
    return _rows(s, key=_text(s.start), occurred_on=s.start, value=s.score,
                 detail="health band " + s.band + " since " + _text(s.start))


class ScoreDrop(TriggerParams):
    type: Literal["score_drop"] = "score_drop"
    points: float = Field(15, gt=0, le=100, description="fires when the score fell by at least this many points")
    days: int = Field(30, ge=1, le=365, description="... compared with the newest score this many days earlier")


def score_drop(inp: Inputs, p: ScoreDrop) -> ir.Table:
    hs = inp.wh.table("health_scores")
    hs = hs.filter((hs.as_of <= inp.as_of) & hs.score.notnull())
    now = _latest(hs.filter(hs.as_of > inp.since(p.days)), "as_of")
    earlier = hs.filter(hs.as_of <= inp.since(p.days))
    then = _latest(earlier, "as_of").select(ta=earlier.account_id, then_score=earlier.score)
    j = now.join(then, now.account_id == then.ta)
    j = j.filter(j.then_score - j.score >= p.points)
    drop = j.then_score - j.score
    return _rows(j, key=_text(j.as_of), occurred_on=j.as_of, value=drop,
                 detail="health score fell " + drop.round(1).cast("string") + " points to "
                 + j.score.round(1).cast("string"))


class ChurnRisk(TriggerParams):
    type: Literal["churn_risk"] = "churn_risk"
    threshold: float = Field(0.4, gt=0, le=1, description="fires when the churn probability is at least this")


def churn_risk(inp: Inputs, p: ChurnRisk) -> ir.Table:
    rs = inp.wh.table("risk_scores")
    rs = rs.filter((rs.as_of <= inp.as_of) & (rs.as_of > inp.since(730)))
    s = _streak(rs, "as_of", lambda t: t.probability >= p.threshold)
    return _rows(s, key=_text(s.start), occurred_on=s.start, value=s.probability,
                 detail="churn risk " + (s.probability * 100).round(0).cast("int64").cast("string") + "%")


class Signal(EventParams):
    type: Literal["signal"] = "signal"
    signals: list[str] = Field(..., min_length=1, description="early-warning signals (health_signals) that fire")
    min_severity: Literal["low", "medium", "high"] = "low"

    @field_validator("signals")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        for s in v:
            if s not in SIGNALS:
                raise ValueError(f"unknown signal {s!r}; signals are {', '.join(SIGNALS)}")
        return v


SEVERITY = {"low": 1, "medium": 2, "high": 3}


def signal(inp: Inputs, p: Signal) -> ir.Table:
    hs = inp.wh.table("health_signals")
    rank = hs.severity.cases(*SEVERITY.items(), else_=0)
    ev = hs.filter(hs.signal.isin(p.signals) & (hs.at <= inp.as_of) & (hs.at >= inp.since(p.within_days))
                   & (rank >= SEVERITY[p.min_severity]))
    return _rows(ev, key=ev.signal + "@" + _text(ev.at), occurred_on=ev.at, detail=ev.detail, subject=ev.signal)


class MissedCadence(EventParams):
    """A touch the account's engagement model owes was missed (the `missed_cadence` signal the
    operating model records in health_signals)."""

    type: Literal["missed_cadence"] = "missed_cadence"
    within_days: int = Field(7, ge=1, le=3650, description="fire for misses recorded at most this many days ago")


def missed_cadence(inp: Inputs, p: MissedCadence) -> ir.Table:
    hs = inp.wh.table("health_signals")
    ev = hs.filter((hs.signal == "missed_cadence") & (hs.at <= inp.as_of) & (hs.at >= inp.since(p.within_days)))
    return _rows(ev, key=ev.detail, occurred_on=ev.at, detail=ev.detail, subject=ev.detail)


class RenewalWindow(TriggerParams):
    type: Literal["renewal_window"] = "renewal_window"
    days: list[int] = Field(default_factory=lambda: list(RENEWAL_WINDOWS),
                            description="days before the renewal date at which it fires (T-120/90/60/30)")

    @field_validator("days")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if not v or any(d <= 0 for d in v):
            raise ValueError("give one or more positive numbers of days, e.g. [120, 90, 60, 30]")
        return sorted(set(v), reverse=True)


def renewal_window(inp: Inputs, p: RenewalWindow) -> ir.Table:
    r = inp.renewal
    r = r.filter(r.renewal_date.notnull())
    days = r.renewal_date.delta(inp.day, unit="day")
    ascending = sorted(p.days)
    window = ibis.cases(*[(days <= w, w) for w in ascending], else_=ibis.null("int64"))
    r = r.mutate(days_left=days, window=window)
    r = r.filter(r.window.notnull() & (r.days_left >= 0))
    occurred = (r.renewal_date - r.window.cast("int32").as_interval("D")).cast("date")
    return _rows(r, key=_text(r.renewal_date) + "/T-" + _text(r.window), occurred_on=occurred,
                 subject="t" + _text(r.window),
                 value=r.days_left, detail="renews " + _text(r.renewal_date) + " (T-" + _text(r.window) + ", "
                 + _text(r.days_left) + " days left)")


class OnboardingOverdue(TriggerParams):
    type: Literal["onboarding_overdue"] = "onboarding_overdue"
    milestones: list[str] | None = Field(None, description="only these milestones (default: any)")
    grace_days: int = Field(0, ge=0, description="days past the due date before it fires")


def onboarding_overdue(inp: Inputs, p: OnboardingOverdue) -> ir.Table:
    ms = inp.wh.table("milestones")
    late_from = inp.since(p.grace_days)
    m = ms.filter(ms.due_at.notnull() & (ms.due_at < late_from)
                  & (ms.completed_at.isnull() | (ms.completed_at > inp.as_of)))
    if p.milestones:
        m = m.filter(m.milestone.isin(p.milestones))
    overdue = inp.day.delta(m.due_at, unit="day")
    return _rows(m, key=m.milestone + "@" + _text(m.due_at), subject=m.milestone,
                 occurred_on=(m.due_at + ibis.interval(days=p.grace_days + 1)), value=overdue,
                 detail="milestone " + m.milestone + " overdue by " + _text(overdue) + " days")


class OnboardingStatus(TriggerParams):
    """An onboarding account behind or stuck on its onboarding plan (tenure.yaml `onboarding_plans`,
    tenure.health.onboarding_plans); the value is the days of slippage."""

    type: Literal["onboarding_status"] = "onboarding_status"
    statuses: list[Literal["behind", "stuck"]] = Field(default_factory=lambda: ["behind", "stuck"],
                                                       description="the statuses that fire (behind, stuck)")


def onboarding_status(inp: Inputs, p: OnboardingStatus) -> ir.Table | None:
    from tenure.health.onboarding_plans import onboarding_status as plan_status

    st = plan_status(inp.wh, inp.config, inp.as_of)
    if st is None:
        return None
    plans = inp.config.onboarding_plans
    st = st.filter(st.status.isin(list(p.statuses)))
    after = ibis.ifelse(st.status == "stuck", plans.stuck_after_days, plans.behind_after_days)
    began = (inp.day - (st.slippage_days - after - 1).cast("int32").as_interval("D")).cast("timestamp").cast("date")
    return _rows(st, key="onboarding/" + st.status + "/" + _text(st.start), subject=st.status, occurred_on=began,
                 value=st.slippage_days, detail="onboarding " + st.status + " on plan " + st.plan + ": "
                 + _text(st.required_done) + " of " + _text(st.required) + " required milestones done, "
                 + _text(st.slippage_days) + " days late")


class Survey(EventParams):
    type: Literal["survey"] = "survey"
    kind: Literal["nps", "csat", "ces"] = "nps"
    max_score: int | None = Field(None, ge=0, le=10,
                                  description="fires at or below this score (default: NPS 6 = detractor, CSAT 2)")

    @property
    def threshold(self) -> int:
        return self.max_score if self.max_score is not None else LOW_SCORE_MAX[self.kind]


def survey(inp: Inputs, p: Survey) -> ir.Table:
    s = inp.wh.table("survey_responses")
    s = s.filter((s.kind == p.kind) & (s.score <= p.threshold) & (s.responded_at >= inp.since(p.within_days))
                 & (s.responded_at < inp.as_of + timedelta(days=1)))
    return _rows(s, key=s.response_id, occurred_on=s.responded_at.cast("date"), value=s.score,
                 contact_id=s.contact_id, detail=s.kind.upper() + " " + _text(s.score))


class UsageLimit(TriggerParams):
    type: Literal["usage_limit"] = "usage_limit"
    ratio: float = Field(1.0, gt=0, description="fires when peak daily users / seats bought is at least this")


def usage_limit(inp: Inputs, p: UsageLimit) -> ir.Table:
    f = inp.features
    f = f.filter(f.seat_utilization >= p.ratio)
    return _rows(f, key=ibis.literal(str(inp.as_of)), occurred_on=inp.day, value=f.seat_utilization,
                 detail="seat utilisation " + (f.seat_utilization * 100).round(0).cast("int64").cast("string") + "%")


class ContactLeft(EventParams):
    type: Literal["contact_left"] = "contact_left"
    roles: list[Literal["exec_sponsor", "champion", "user", "billing", "admin", "other"]] = Field(
        default_factory=lambda: ["exec_sponsor", "champion"])


def contact_left(inp: Inputs, p: ContactLeft) -> ir.Table:
    c = inp.wh.table("contacts")
    c = c.filter(c.role.isin(p.roles) & c.active_to.notnull() & (c.active_to <= inp.as_of)
                 & (c.active_to >= inp.since(p.within_days)))
    return _rows(c, key=c.contact_id + "@" + _text(c.active_to), occurred_on=c.active_to, contact_id=c.contact_id,
                 detail=c.role + " " + c.name.fill_null(c.contact_id) + " left")


class TicketEscalated(TriggerParams):
    type: Literal["ticket_escalated"] = "ticket_escalated"
    priorities: list[Literal["low", "normal", "high", "urgent"]] | None = None


def ticket_escalated(inp: Inputs, p: TicketEscalated) -> ir.Table:
    t = inp.wh.table("tickets")
    t = t.filter(t.escalated.fill_null(False) & (t.opened_at < inp.as_of + timedelta(days=1))
                 & (t.resolved_at.isnull() | (t.resolved_at >= inp.as_of + timedelta(days=1))))
    if p.priorities:
        t = t.filter(t.priority.isin(p.priorities))
    return _rows(t, key=t.ticket_id, subject=t.ticket_id, occurred_on=t.opened_at.cast("date"),
                 detail="escalated ticket " + t.ticket_id + " (" + t.priority.fill_null("normal") + ") open")


class TicketResolved(EventParams):
    type: Literal["ticket_resolved"] = "ticket_resolved"
    escalated_only: bool = True


def ticket_resolved(inp: Inputs, p: TicketResolved) -> ir.Table:
    t = inp.wh.table("tickets")
    t = t.filter(t.resolved_at.notnull() & (t.resolved_at < inp.as_of + timedelta(days=1))
                 & (t.resolved_at >= inp.since(p.within_days)))
    if p.escalated_only:
        t = t.filter(t.escalated.fill_null(False))
    return _rows(t, key=t.ticket_id, subject=t.ticket_id, occurred_on=t.resolved_at.cast("date"),
                 detail="ticket " + t.ticket_id + " resolved")


class MilestoneReached(EventParams):
    type: Literal["milestone_reached"] = "milestone_reached"
    milestones: list[str] | None = None


def milestone_reached(inp: Inputs, p: MilestoneReached) -> ir.Table:
    m = inp.wh.table("milestones")
    m = m.filter(m.completed_at.notnull() & (m.completed_at <= inp.as_of)
                 & (m.completed_at >= inp.since(p.within_days)))
    if p.milestones:
        m = m.filter(m.milestone.isin(p.milestones))
    return _rows(m, key=m.milestone, subject=m.milestone, occurred_on=m.completed_at,
                 detail="milestone " + m.milestone + " reached")


class Expansion(TriggerParams):
    type: Literal["expansion"] = "expansion"
    usage_growth: float = Field(1.2, gt=0, description="usage in the last 30 days / the 60 before's pace, at least")
    seat_utilization: float = Field(0.8, gt=0, description="peak daily users / seats, at least")


def expansion(inp: Inputs, p: Expansion) -> ir.Table:
    f = inp.features
    f = f.filter((f.usage_trend >= p.usage_growth) & (f.seat_utilization >= p.seat_utilization))
    return _rows(f, key=ibis.literal(str(inp.as_of)), occurred_on=inp.day, value=f.usage_trend,
                 detail="usage at " + (f.usage_trend * 100).round(0).cast("int64").cast("string")
                 + "% of its pace, seats " + (f.seat_utilization * 100).round(0).cast("int64").cast("string")
                 + "% used")


class Manual(TriggerParams):
    """Never fires by itself: the playbook is started by hand (`tenure playbooks start`)."""

    type: Literal["manual"] = "manual"


def manual(inp: Inputs, p: Manual) -> ir.Table | None:
    return None


@dataclass(frozen=True)
class TriggerType:
    name: str
    params: type[TriggerParams]
    build: Callable[[Inputs, Any], ir.Table | None]
    kind: Literal["event", "state"]
    description: str
    risk: bool = False  # a risk trigger: backtests report precision and recall against churn


TRIGGER_TYPES: dict[str, TriggerType] = {}


def register_trigger(t: TriggerType) -> TriggerType:
    if t.name in TRIGGER_TYPES:
        raise ValueError(f"trigger type {t.name!r} is registered twice")
    TRIGGER_TYPES[t.name] = t
    return t


for _t in (
    TriggerType("band_change", BandChange, band_change, "state", "the health band is one of `to` (once per streak)",
                risk=True),
    TriggerType("score_drop", ScoreDrop, score_drop, "state", "the health score fell by `points` in `days`",
                risk=True),
    TriggerType("churn_risk", ChurnRisk, churn_risk, "state", "churn probability at or above `threshold`",
                risk=True),
    TriggerType("signal", Signal, signal, "event", "an early-warning signal (health_signals)", risk=True),
    TriggerType("missed_cadence", MissedCadence, missed_cadence, "event",
                "a touch the engagement model owes was missed (operating model)", risk=True),
    TriggerType("renewal_window", RenewalWindow, renewal_window, "event",
                "the renewal date is `days` away (T-120/90/60/30; the tightest window reached)"),
    TriggerType("onboarding_overdue", OnboardingOverdue, onboarding_overdue, "state",
                "an onboarding milestone is past its due date and not completed"),
    TriggerType("onboarding_status", OnboardingStatus, onboarding_status, "state",
                "an onboarding account is behind or stuck on its onboarding plan"),
    TriggerType("survey", Survey, survey, "event", "a detractor NPS or a low CSAT/CES answer", risk=True),
    TriggerType("usage_limit", UsageLimit, usage_limit, "state", "usage at or over the plan's seats"),
    TriggerType("contact_left", ContactLeft, contact_left, "event", "an executive sponsor or champion left",
                risk=True),
    TriggerType("ticket_escalated", TicketEscalated, ticket_escalated, "state", "an escalated ticket is open"),
    TriggerType("ticket_resolved", TicketResolved, ticket_resolved, "event", "a ticket was resolved"),
    TriggerType("milestone_reached", MilestoneReached, milestone_reached, "event", "a milestone was completed"),
    TriggerType("expansion", Expansion, expansion, "state", "usage growing with most seats in use"),
    TriggerType("manual", Manual, manual, "event", "started by hand only"),
):
    register_trigger(_t)


def occurrences(inp: Inputs, trigger: TriggerParams) -> ir.Table | None:
    """The occurrences of one configured trigger on `inp.as_of` (None for a manual trigger)."""
    return TRIGGER_TYPES[trigger.type].build(inp, trigger)


def union_all(parts: Sequence[ir.Table]) -> ir.Table | None:
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p, distinct=False)
    return out
