"""Replay a playbook's triggers over history: how often it would have fired and on which accounts,
and, for risk triggers, how many of those accounts churned within the horizon (precision) and how
many churned accounts it caught (recall).

The trigger evaluation is the engine's (`occurrences_expr`) on each month end, all month ends in
one query; an occurrence counts once (its dedupe key), like a real run. Churn means what it means
everywhere in tenure (tenure.health.validate): ARR on the day and none `horizon` days later, by
the metrics layer's ARR. Facts are read as they are now, so a month end's triggers may see
corrections recorded later. The audience is tested on the accounts as they were on each month end
(tenure.playbooks.conditions.past_accounts_table: descriptive fields and attributes as in force
then, status and ARR on the day), never on today's account summary, which would drop exactly the
accounts that churned since. Conditions on health, risk and renewal fields are not applied (their
history may not reach back to every month end); `audience_not_applied` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pyarrow as pa

from tenure.metrics.arr import arr_on
from tenure.playbooks.engine import occurrences_expr
from tenure.playbooks.spec import Playbook
from tenure.playbooks.triggers import TRIGGER_TYPES, union_all
from tenure.warehouse.asof import require_as_of
from tenure.warehouse.expr import ibis


def month_ends(last: date, months: int) -> list[date]:
    """The last day of each of the `months` months up to `last` (the last one is `last` itself)."""
    out = [last]
    d = last.replace(day=1) - timedelta(days=1)
    while len(out) < months:
        out.append(d)
        d = d.replace(day=1) - timedelta(days=1)
    return sorted(out)


def backtest(wh: Any, config: Any, pb: Playbook, *, months: int = 12, horizon: int = 180,
             as_of: date | None = None, progress: Callable[[str], None] | None = None) -> dict:
    say = progress or (lambda text: None)
    last = as_of or require_as_of(wh, None)
    days = month_ends(last, months)
    say(f"evaluating {len(days)} month ends")
    parts = []
    for d in days:
        e = occurrences_expr(wh, config, [pb], d, static_audience=True)
        if e is not None:
            parts.append(e.select("dedupe_key", "account_id", "trigger_id", occurred=ibis.literal(d, "date")))
    u = union_all(parts)
    if u is None:
        return {"playbook": pb.name, "months": months, "firings": 0, "accounts": 0, "by_date": [], "churn": None,
                "audience_not_applied": [c.describe() for c in pb.audience if not c.from_facts()]}
    # each occurrence counts on the first month end it shows up (dedupe key), as the engine would
    first = u.group_by(["dedupe_key", "account_id"]).aggregate(on=u.occurred.min())
    per_day = first.group_by("on").aggregate(fired=first.account_id.nunique(),
                                             accounts=first.account_id.collect(distinct=True))
    rows = wh.to_pyarrow(per_day.order_by("on")).to_pylist()
    totals = wh.to_pyarrow(first.aggregate(firings=first.count(), accounts=first.account_id.nunique())).to_pylist()[0]
    skipped = [c.describe() for c in pb.audience if not c.from_facts()]
    out = {"playbook": pb.name, "months": months, "horizon_days": horizon, "from": days[0].isoformat(),
           "audience_not_applied": skipped,
           "to": days[-1].isoformat(), "firings": int(totals["firings"] or 0), "accounts": int(totals["accounts"] or 0),
           "by_date": [{"as_of": r["on"].isoformat(), "fired": int(r["fired"]), "accounts": sorted(r["accounts"])}
                       for r in rows]}
    risk = any(TRIGGER_TYPES[t.type].risk for t in pb.trigger_params)
    out["churn"] = _churn_quality(wh, config, first, days, last, horizon, say) if risk else None
    return out


def _churn_quality(wh, config, first, days, last, horizon, say) -> dict:
    """Precision and recall of the firings against churn within `horizon` days, over the month ends
    whose horizon has passed by `last`."""
    evaluable = [d for d in days if d + timedelta(days=horizon) <= last]
    if not evaluable:
        return {"dates": 0, "fired_evaluable": 0, "fired_churned": 0, "churned": 0, "precision": None, "recall": None,
                "message": f"no month end is {horizon} days before the last data day yet"}
    say(f"measuring churn within {horizon} days on {len(evaluable)} month ends")
    parts = []
    for d in evaluable:
        now = arr_on(wh, config, d).filter(lambda t: t.arr > 0).select("account_id")
        later = arr_on(wh, config, d + timedelta(days=horizon)).filter(lambda t: t.arr > 0).select("account_id")
        # membership tests as IN filters: portable (PostgreSQL has no ANTI JOIN keyword)
        churned = now.filter(~now.account_id.isin(later.account_id))
        fired = first.filter(first.on == d).select("account_id").distinct()
        fired = fired.filter(fired.account_id.isin(now.account_id))
        # caught: churning accounts the playbook had fired on within the horizon before d
        recent = first.filter((first.on <= d) & (first.on > d - timedelta(days=horizon))).select("account_id")
        caught = churned.filter(churned.account_id.isin(recent.account_id))
        hit = fired.filter(fired.account_id.isin(churned.account_id))
        row = ibis.memtable(pa.table({"d": [d]}))
        for name, t in (("fired", fired), ("hit", hit), ("churned", churned), ("caught", caught)):
            row = row.cross_join(t.aggregate(**{name: t.count()}))
        parts.append(row)
    u = union_all(parts)
    agg = wh.to_pyarrow(u.aggregate(fired=u.fired.sum(), hit=u.hit.sum(), churned=u.churned.sum(),
                                    caught=u.caught.sum())).to_pylist()[0]
    fired, hit, churned, caught = (int(agg[k] or 0) for k in ("fired", "hit", "churned", "caught"))
    return {"dates": len(evaluable), "fired_evaluable": fired, "fired_churned": hit, "churned": churned,
            "churned_caught": caught, "precision": round(hit / fired, 4) if fired else None,
            "recall": round(caught / churned, 4) if churned else None,
            "definition": f"precision: firings on accounts that churned within {horizon} days; recall: accounts "
                          f"churning within {horizon} days of a month end that the playbook had fired on in the "
                          f"{horizon} days before it"}
