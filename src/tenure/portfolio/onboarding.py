"""The onboarding read model (the /onboarding page): the accounts onboarding in the principal's book
of business, their plan, milestones done / due / overdue, status (on track, behind, stuck, or
"no_plan" for a segment without a plan), days since the contract start, and time to value by
segment and cohort.

Which accounts are onboarding is the health band "onboarding" of account_summary (tenure.health.
onboarding decided it when the summary was built); the start is the summary's customer_since (the
first day with ARR), the day is the summary's as_of. Plan, milestones and status come from
tenure.health.onboarding_plans; time to value is the registry metric's source rows
(tenure.metrics.compute.ttv_rows): days from account creation to the first-value milestone, for
the accounts created in a period.

    onboarding_view(wh, config, owners, *, owner=None, segment=None, status=None, page=1,
                    page_size=50) -> OnboardingView
    time_to_value(wh, config, as_of, *, quarters=4) -> {"segments": [...], "cohorts": [...]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tenure.config import Config
from tenure.errors import InputError
from tenure.health.onboarding_plans import STATUSES, plan_milestones, plan_status
from tenure.metrics.compute import ttv_rows
from tenure.metrics.periods import add_months, month_end, Period
from tenure.portfolio.read import Page, owners_list, table
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis, ir

__all__ = ["NO_PLAN", "ONBOARDING_STATUSES", "OnboardingView", "onboarding_view", "time_to_value"]

NO_PLAN = "no_plan"
ONBOARDING_STATUSES = (*STATUSES, NO_PLAN)
_RANK = {"stuck": 0, "behind": 1, "on_track": 2, NO_PLAN: 3}
MAX_PAGE_SIZE = 500


@dataclass
class OnboardingView:
    as_of: date | None
    plans: list[str]
    counts: dict[str, int]            # status -> accounts, over the whole filtered set
    page: Page
    segments: list[str] = field(default_factory=list)   # filter choices inside the book
    owners: list[dict] = field(default_factory=list)     # [{key, name}]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _onboarding(wh: Warehouse, owners: list[str] | None) -> ir.Table:
    s = table(wh, "account_summary")
    s = s.filter(s.band == "onboarding")
    if owners is not None:
        s = s.filter(s.owner.isin(owners) if owners else ibis.literal(False))
    return s.select("account_id", "name", "owner", "owner_name", "segment", "arr", "as_of",
                    start=s.customer_since)


def onboarding_view(wh: Warehouse, config: Config, owners: Sequence[str] | None, *, owner: str | None = None,
                    segment: str | None = None, status: str | None = None, page: int = 1,
                    page_size: int = 50) -> OnboardingView:
    """The onboarding accounts in the book of `owners` (None = all), filtered, the most slipped first
    (stuck, behind, on track, no plan; then days of slippage, then ARR), one page of them with their
    milestones, and the count per status over the whole filtered set (counted in the engine)."""
    if status and status not in ONBOARDING_STATUSES:
        raise InputError(f"status {status!r}: use one of {', '.join(ONBOARDING_STATUSES)}")
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InputError(f"page must be 1 or more and page_size 1 to {MAX_PAGE_SIZE}")
    owners = owners_list(owners)
    base = _onboarding(wh, owners)
    as_of = wh.execute(base.as_of.max())
    as_of = None if as_of is None or as_of != as_of else _day(as_of)
    plans = config.onboarding_plans
    choices = wh.to_pyarrow(base.select("segment", "owner", "owner_name").distinct()).to_pylist()
    segments = sorted({r["segment"] for r in choices if r["segment"]})
    names = sorted({(r["owner"], r["owner_name"] or r["owner"]) for r in choices if r["owner"]}, key=lambda x: x[1])
    if owner:
        base = base.filter(base.owner == owner)
    if segment:
        base = base.filter(base.segment == segment)
    st = plan_status(wh, plans, base, as_of) if as_of is not None else None
    if st is not None:
        t = base.left_join(st.drop("segment", "start"), "account_id").drop("account_id_right")
        t = t.mutate(status=t.status.fill_null(NO_PLAN))
    else:
        t = base.mutate(status=ibis.literal(NO_PLAN), plan=ibis.null("string"), days_since_start=ibis.null("int64"),
                        milestones=ibis.null("int64"), done=ibis.null("int64"), overdue=ibis.null("int64"),
                        required=ibis.null("int64"), required_done=ibis.null("int64"),
                        required_due=ibis.null("int64"), progress=ibis.null("float64"),
                        expected_progress=ibis.null("float64"), slippage_days=ibis.null("int64"),
                        next_milestone=ibis.null("string"), next_due_on=ibis.null("date"))
    t = t.mutate(days_since_start=ibis.literal(as_of).delta(t.start, unit="day") if as_of else ibis.null("int64"))
    counted = wh.to_pyarrow(t.group_by("status").aggregate(n=t.account_id.count())).to_pylist()
    counts = {s: 0 for s in ONBOARDING_STATUSES}
    counts.update({r["status"]: int(r["n"]) for r in counted})
    if status:
        t = t.filter(t.status == status)
    rank = t.status.cases(*_RANK.items(), else_=9)
    t = t.order_by([rank, ibis.desc(t.slippage_days.fill_null(0)), ibis.desc(t.arr), t.account_id])
    rows = wh.to_pyarrow(t.limit(page_size, offset=(page - 1) * page_size)).to_pylist()
    total = counts[status] if status else sum(counts.values())
    if rows and plans.plans and as_of is not None:
        shown = base.filter(base.account_id.isin([r["account_id"] for r in rows]))
        ms = plan_milestones(wh, plans, shown, as_of)
        ms = ms.order_by([ms.account_id, ms.due_on, ms.position])
        per: dict[str, list[dict]] = {}
        for m in wh.to_pyarrow(ms).to_pylist():
            per.setdefault(m["account_id"], []).append(m)
        for r in rows:
            r["milestone_rows"] = per.get(r["account_id"], [])
    for r in rows:
        r.setdefault("milestone_rows", [])
        r["arr"] = float(r["arr"]) if r.get("arr") is not None else None
    return OnboardingView(as_of=as_of, plans=[p.name for p in plans.plans], counts=counts,
                          page=Page(rows=rows, total=total, page=page, page_size=page_size),
                          segments=segments, owners=[{"key": k, "name": n} for k, n in names])


def _day(v: Any) -> date:
    return v.date() if hasattr(v, "date") and callable(v.date) else v


def time_to_value(wh: Warehouse, config: Config, as_of: date, *, quarters: int = 4) -> dict[str, list[dict]]:
    """Time to value (the registry metric time_to_value_days' source rows) by segment for the
    accounts created in the 12 months ending with the as-of month, and by segment for each of the
    last `quarters` calendar quarters' cohorts (accounts created in that quarter)."""
    last = date(as_of.year, as_of.month, 1)
    year = Period(f"{add_months(last, -11):%Y-%m}..{last:%Y-%m}", add_months(last, -11), month_end(last))
    cohorts = []
    q0 = date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    for k in range(quarters):
        first = add_months(q0, -3 * k)
        label = f"{first.year}-Q{(first.month - 1) // 3 + 1}"
        cohorts.extend(ttv_rows(wh, config, Period(label, first, month_end(add_months(first, 2))), ["segment"]))
    return {"segments": ttv_rows(wh, config, year, ["segment"]), "cohorts": cohorts}
