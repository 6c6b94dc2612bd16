"""Experiments: did a playbook change anything? Each enrolment's arm (treatment or holdout) is
assigned by a stable hash and recorded when it is made (tenure.playbooks.engine.holdout_arm); here
the arms are compared on outcomes measured in the warehouse.

Outcomes, per enrolment, from the day it started (`started_on`):
- churn within `horizon` days: ARR on the start day and none `horizon` days later (the metrics
  layer's ARR; the same definition as the health validation and the backtest);
- renewal: still a customer (ARR > 0) on the day after the first renewal date within `horizon`
  days of the start (the one renewal rule, tenure.metrics.renewals), for enrolments with one;
- health after 60 days: the newest health score at most 60 days after the start, minus the newest
  score on or before the start.

Each comparison reports the effect (treatment minus holdout), its 95% confidence interval, a
two-sided p-value, the sample sizes, and the minimum detectable effect (80% power, 5% level) at
those sizes. Rates use the normal approximation (Wald interval, pooled z-test); the health
difference uses Welch's t. Below `min_per_arm` evaluable enrolments in either arm it says "not
enough data yet" instead of a number.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
from scipy import stats
from sqlalchemy import select

from tenure.metrics.arr import arr_on
from tenure.metrics.renewals import line_renewal_date
from tenure.playbooks.triggers import union_all
from tenure.state.db import session_scope
from tenure.state.models import PlaybookEnrolment
from tenure.warehouse.asof import require_as_of
from tenure.warehouse.expr import ibis, ir

ALPHA, POWER = 0.05, 0.80
NOT_ENOUGH = "not enough data yet"


def enrolments(config: Any, name: str) -> pa.Table:
    """account_id, arm, started_on of the playbook's trigger-started enrolments (one per account
    and start day), from the state DB."""
    with session_scope(config) as s:
        rows = s.execute(select(PlaybookEnrolment.account_id, PlaybookEnrolment.arm, PlaybookEnrolment.started_on)
                         .where(PlaybookEnrolment.playbook == name, PlaybookEnrolment.started_by == "trigger")
                         .distinct()).all()
    return pa.table({"account_id": pa.array([r[0] for r in rows], pa.string()),
                     "arm": pa.array([r[1] for r in rows], pa.string()),
                     "started_on": pa.array([r[2] for r in rows], pa.date32())})


def outcomes_expr(wh: Any, config: Any, enrolled: pa.Table, last_day: date, horizon: int, *,
                  churn_only: bool = False) -> ir.Table | None:
    """One row per enrolment with its outcomes (null where not yet measurable on `last_day`):
    churned (0/1), renewed (0/1), health_change (points). One ARR expression per distinct start
    day, all in one query. `churn_only`: account_id, arm, started_on and churned alone (the
    renewal outcome costs a query and an ARR expression per distinct renewal date)."""
    if enrolled.num_rows == 0:
        return None
    e = ibis.memtable(enrolled)
    days = sorted(set(enrolled.column("started_on").to_pylist()))
    parts = []
    lines = wh.table("contract_lines")
    for d in days:
        mine = e.filter(e.started_on == d)
        now = arr_on(wh, config, d).select("account_id", arr0=lambda t: t.arr)
        t = mine.left_join(now, "account_id").drop("account_id_right")
        if d + timedelta(days=horizon) <= last_day:
            later = arr_on(wh, config, d + timedelta(days=horizon)).select(la=lambda t: t.account_id,
                                                                            arr1=lambda t: t.arr)
            t = t.left_join(later, t.account_id == later.la).drop("la")
            churned = ibis.ifelse(t.arr0.fill_null(0) > 0, ibis.ifelse(t.arr1.fill_null(0) > 0, 0, 1),
                                  ibis.null("int64"))
        else:
            churned = ibis.null("int64")
        t = t.mutate(churned=churned)
        if churn_only:
            parts.append(t.select("account_id", "arm", "started_on", "churned"))
            continue
        live = lines.filter((lines.start_date <= d) & (lines.end_date.isnull() | (lines.end_date >= d)))
        ren = live.mutate(renews=line_renewal_date(live, d)).group_by("account_id").aggregate(
            renewal_date=lambda x: x.renews.min())
        ren = ren.select(ra=ren.account_id, renewal_date=ren.renewal_date)
        t = t.left_join(ren, t.account_id == ren.ra).drop("ra")
        parts.append(t.select("account_id", "arm", "started_on", "churned", "renewal_date"))
    u = union_all(parts)
    if churn_only:
        return u
    # renewal: the renewal date within the horizon and passed; renewed when ARR > 0 the day after
    due = u.filter(u.renewal_date.notnull() & (u.renewal_date <= u.started_on + ibis.interval(days=horizon))
                   & (u.renewal_date < last_day))
    ren_days = sorted({d for d in wh.to_pyarrow(due.select("renewal_date").distinct()).column(
        "renewal_date").to_pylist() if d is not None})
    renewed_parts = []
    for r in ren_days:
        after = arr_on(wh, config, r + timedelta(days=1)).filter(lambda x: x.arr > 0).select(
            aa=lambda x: x.account_id)
        renewed_parts.append(due.filter(due.renewal_date == r).left_join(after, due.account_id == after.aa).select(
            ra2=lambda x: x.account_id, rs=lambda x: x.started_on,
            renewed=lambda x: ibis.ifelse(x.aa.notnull(), 1, 0)))
    renewed = union_all(renewed_parts)
    if renewed is not None:
        u = u.left_join(renewed, (u.account_id == renewed.ra2) & (u.started_on == renewed.rs)).drop("ra2", "rs")
    else:
        u = u.mutate(renewed=ibis.null("int64"))
    # health change: newest score within 60 days after the start minus the newest at or before it
    hs = wh.table("health_scores").filter(lambda t: t.score.notnull())
    j = u.select(ja=u.account_id, js=u.started_on).distinct()
    h = hs.join(j, hs.account_id == j.ja)
    before = h.filter(h.as_of <= h.js)
    after = h.filter((h.as_of > h.js) & (h.as_of <= h.js + ibis.interval(days=60)) & (h.as_of <= last_day))
    b = before.group_by(["ja", "js"]).aggregate(bd=before.as_of.max())
    a = after.group_by(["ja", "js"]).aggregate(ad=after.as_of.max())
    sb = b.join(hs, (b.ja == hs.account_id) & (b.bd == hs.as_of)).select(b.ja, b.js, s0=hs.score)
    sa = a.join(hs, (a.ja == hs.account_id) & (a.ad == hs.as_of)).select(ka=a.ja, ks=a.js, s1=hs.score)
    change = sb.join(sa, (sb.ja == sa.ka) & (sb.js == sa.ks)).select(ca=sb.ja, cs=sb.js,
                                                                     health_change=sa.s1 - sb.s0)
    u = u.left_join(change, (u.account_id == change.ca) & (u.started_on == change.cs)).drop("ca", "cs")
    return u


def _rate_test(x_t: int, n_t: int, x_h: int, n_h: int, min_n: int) -> dict:
    out = {"treatment_n": n_t, "holdout_n": n_h, "treatment_rate": x_t / n_t if n_t else None,
           "holdout_rate": x_h / n_h if n_h else None}
    if min(n_t, n_h) < min_n:
        return {**out, "status": NOT_ENOUGH, "message": f"{NOT_ENOUGH}: {n_t} treated and {n_h} held out can be "
                f"measured; at least {min_n} in each arm are needed"}
    p_t, p_h = x_t / n_t, x_h / n_h
    diff = p_t - p_h
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_h * (1 - p_h) / n_h)
    pooled = (x_t + x_h) / (n_t + n_h)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_h))
    z = stats.norm.ppf(1 - ALPHA / 2)
    p_value = float(2 * stats.norm.sf(abs(diff) / se0)) if se0 > 0 else (1.0 if diff == 0 else 0.0)
    mde = (z + stats.norm.ppf(POWER)) * se0
    return {**out, "status": "measured", "effect": diff, "ci_low": diff - z * se, "ci_high": diff + z * se,
            "p_value": p_value, "mde": mde}


def _mean_test(t: dict, h: dict, min_n: int) -> dict:
    n_t, n_h = int(t.get("n") or 0), int(h.get("n") or 0)
    out = {"treatment_n": n_t, "holdout_n": n_h, "treatment_mean": t.get("mean"), "holdout_mean": h.get("mean")}
    if min(n_t, n_h) < max(min_n, 2):
        return {**out, "status": NOT_ENOUGH, "message": f"{NOT_ENOUGH}: {n_t} treated and {n_h} held out have a "
                f"health score 60 days on; at least {max(min_n, 2)} in each arm are needed"}
    v_t, v_h = float(t["var"] or 0.0), float(h["var"] or 0.0)
    diff = float(t["mean"]) - float(h["mean"])
    se = math.sqrt(v_t / n_t + v_h / n_h)
    if se == 0:
        return {**out, "status": NOT_ENOUGH, "message": f"{NOT_ENOUGH}: no variation in health change"}
    df = se ** 4 / ((v_t / n_t) ** 2 / (n_t - 1) + (v_h / n_h) ** 2 / (n_h - 1))
    q = stats.t.ppf(1 - ALPHA / 2, df)
    return {**out, "status": "measured", "effect": diff, "ci_low": diff - q * se, "ci_high": diff + q * se,
            "p_value": float(2 * stats.t.sf(abs(diff) / se, df)),
            "mde": (stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER)) * se}


def experiment_results(wh: Any, config: Any, name: str, *, horizon: int = 180, as_of: date | None = None,
                       min_per_arm: int = 30) -> dict:
    """The experiment of playbook `name`: churn, renewal and health-after-60-days by arm, each with
    effect (treatment - holdout), 95% CI, p-value, sample sizes and MDE, or "not enough data yet"."""
    last = as_of or require_as_of(wh, None)
    enrolled = enrolments(config, name)
    base = {"playbook": name, "horizon_days": horizon, "as_of": last.isoformat(), "enrolments": enrolled.num_rows,
            "arms": {}}
    u = outcomes_expr(wh, config, enrolled, last, horizon)
    if u is None:
        return {**base, "status": NOT_ENOUGH, "message": f"{NOT_ENOUGH}: the playbook has started no enrolments"}
    g = u.group_by("arm").aggregate(
        n=u.count(), churn_n=u.churned.count(), churned=u.churned.sum(),
        renew_n=u.renewed.count(), renewed=u.renewed.sum(),
        health_n=u.health_change.count(), health_mean=u.health_change.mean(), health_var=u.health_change.var())
    arms = {r["arm"]: r for r in wh.to_pyarrow(g).to_pylist()}
    t, h = arms.get("treatment", {}), arms.get("holdout", {})

    def n(d: dict, k: str) -> int:
        return int(d.get(k) or 0)

    res = {**base, "arms": {a: {"enrolments": n(r, "n")} for a, r in arms.items()},
           "churn": _rate_test(n(t, "churned"), n(t, "churn_n"), n(h, "churned"), n(h, "churn_n"), min_per_arm),
           "renewal": _rate_test(n(t, "renewed"), n(t, "renew_n"), n(h, "renewed"), n(h, "renew_n"), min_per_arm),
           "health_60d": _mean_test({"n": t.get("health_n"), "mean": t.get("health_mean"), "var": t.get("health_var")},
                                    {"n": h.get("health_n"), "mean": h.get("health_mean"), "var": h.get("health_var")},
                                    min_per_arm)}
    parts = []
    for key, label in (("churn", f"churn within {horizon} days"), ("renewal", "renewal"),
                       ("health_60d", "health after 60 days")):
        r = res[key]
        if r["status"] != "measured":
            parts.append(f"{label}: {NOT_ENOUGH}")
            continue
        unit = (lambda v: f"{v * 100:+.1f} pp") if key != "health_60d" else (lambda v: f"{v:+.1f} points")
        parts.append(f"{label}: {unit(r['effect'])} (95% CI {unit(r['ci_low'])} to {unit(r['ci_high'])}, "
                     f"p={r['p_value']:.3f}, n={r['treatment_n']}/{r['holdout_n']}, MDE {unit(r['mde'])})")
    res["message"] = "; ".join(parts)
    res["status"] = "measured" if any(res[k]["status"] == "measured" for k in ("churn", "renewal", "health_60d")) \
        else NOT_ENOUGH
    return res
