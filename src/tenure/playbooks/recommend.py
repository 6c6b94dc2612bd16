"""Play recommendations: for an at-risk account, the playbook whose experiment measured the
biggest cut in churn for accounts like it (same segment, same health band when enrolled), with the
evidence; until an experiment has shown one, it says so.

The evidence is the experiment analysis of tenure.playbooks.experiments (the same outcomes, the
same test: churn within `horizon` days, treatment minus holdout, 95% Wald interval, pooled z-test,
"not enough data yet" below `min_per_arm` measurable enrolments per arm), split by the segment and
band of the account's newest health score on or before the day the enrolment started. A playbook
is suggested only when its interval lies wholly below zero (it cut churn, at the 5% level); among
several, the biggest measured cut wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tenure.playbooks.experiments import NOT_ENOUGH, _rate_test, enrolments, outcomes_expr
from tenure.playbooks.spec import Playbook, playbooks_folder, validate_folder
from tenure.warehouse.asof import require_as_of
from tenure.warehouse.expr import ibis


def _pp(v: float) -> str:
    return f"{v * 100:+.1f} pp"


def cell_results(wh: Any, config: Any, name: str, *, horizon: int = 180, as_of: date | None = None,
                 min_per_arm: int = 30) -> list[dict]:
    """Playbook `name`'s experiment on churn within `horizon` days, per (segment, band) at the
    start of each enrolment: [{segment, band, **the experiment's churn comparison}]."""
    last = as_of or require_as_of(wh, None)
    enrolled = enrolments(config, name)
    # only enrolments whose horizon has passed can be measured (and each start day costs a query)
    enrolled = enrolled.filter(pc.less_equal(enrolled["started_on"], pa.scalar(last - timedelta(days=horizon),
                                                                             pa.date32())))
    u = outcomes_expr(wh, config, enrolled, last, horizon, churn_only=True)
    if u is None:
        return []
    u = u.filter(u.churned.notnull())
    hs = wh.table("health_scores")
    k = u.select(ka=u.account_id, ks=u.started_on).distinct()
    h = hs.join(k, (hs.account_id == k.ka) & (hs.as_of <= k.ks))
    h = h.mutate(rk=ibis.row_number().over(group_by=[h.ka, h.ks], order_by=h.as_of.desc()))
    h = h.filter(h.rk == 0).select(ha=h.ka, hd=h.ks, segment=h.segment, band=h.band)
    j = u.left_join(h, (u.account_id == h.ha) & (u.started_on == h.hd))
    g = j.group_by([j.segment, j.band, j.arm]).aggregate(n=j.count(), churned=j.churned.sum())
    cells: dict[tuple, dict] = {}
    for r in wh.to_pyarrow(g).to_pylist():
        cells.setdefault((r["segment"], r["band"]), {})[r["arm"]] = r
    out = []
    for (segment, band), arms in sorted(cells.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        t, ho = arms.get("treatment", {}), arms.get("holdout", {})
        test = _rate_test(int(t.get("churned") or 0), int(t.get("n") or 0), int(ho.get("churned") or 0),
                          int(ho.get("n") or 0), min_per_arm)
        out.append({"segment": segment, "band": band, **{k: (float(v) if k in ("effect", "ci_low", "ci_high", "mde")
                                                             else v) for k, v in test.items()}})
    return out


def play_evidence(wh: Any, config: Any, *, horizon: int = 180, as_of: date | None = None, min_per_arm: int = 30,
                  books: Sequence[Playbook] | None = None) -> dict:
    """Every playbook that holds accounts out, its experiment per (segment, band):
    {"horizon_days", "as_of", "playbooks": [{name, title, cells: cell_results(...)}]}."""
    if books is None:
        books, _ = validate_folder(playbooks_folder(config), config.tasks)
    last = as_of or require_as_of(wh, None)
    out = []
    for pb in books:
        if pb.experiment.holdout <= 0:
            continue
        out.append({"name": pb.name, "title": pb.title or pb.name,
                    "cells": cell_results(wh, config, pb.name, horizon=horizon, as_of=last, min_per_arm=min_per_arm)})
    return {"horizon_days": horizon, "as_of": last.isoformat(), "playbooks": out}


def recommend(evidence: dict, accounts: Iterable[dict]) -> list[dict]:
    """Per account ({account_id, segment, band, ...}): {account_id, segment, band, playbook, title,
    evidence, message}. `playbook` is None when no experiment has shown a cut in churn for accounts
    like it; `message` then says what is known (nothing, too few, or an interval that includes 0)."""
    horizon = evidence.get("horizon_days", 180)
    books = evidence.get("playbooks", [])
    by_cell: dict[tuple, list[tuple[dict, dict]]] = {}
    for pb in books:
        for c in pb["cells"]:
            by_cell.setdefault((c["segment"], c["band"]), []).append((pb, c))
    out = []
    for a in accounts:
        seg, band = a.get("segment"), a.get("band")
        like = f"{seg or 'unsegmented'} accounts enrolled while {band or 'unscored'}"
        base = {"account_id": a["account_id"], "segment": seg, "band": band, "playbook": None, "title": None,
                "evidence": None}
        if not books:
            out.append({**base, "message": "No playbook holds accounts out yet, so no experiment can show which "
                                           "play works."})
            continue
        found = by_cell.get((seg, band), [])
        measured = [(pb, c) for pb, c in found if c["status"] == "measured"]
        proven = [(pb, c) for pb, c in measured if c["ci_high"] < 0]
        if proven:
            pb, c = min(proven, key=lambda x: (x[1]["effect"], x[0]["name"]))
            out.append({**base, "playbook": pb["name"], "title": pb["title"], "evidence": c,
                        "message": f"{pb['title']}: churn within {horizon} days {_pp(c['effect'])} for {like} "
                                   f"(95% CI {_pp(c['ci_low'])} to {_pp(c['ci_high'])}, p={c['p_value']:.3f}, "
                                   f"n={c['treatment_n']}/{c['holdout_n']})"})
        elif measured:
            pb, c = min(measured, key=lambda x: (x[1]["effect"], x[0]["name"]))
            out.append({**base, "evidence": c,
                        "message": f"No play has shown a cut in churn for {like} yet: the best, {pb['title']}, "
                                   f"{_pp(c['effect'])} (95% CI {_pp(c['ci_low'])} to {_pp(c['ci_high'])}, "
                                   f"n={c['treatment_n']}/{c['holdout_n']}) could be no effect."})
        elif found:
            n = max(found, key=lambda x: min(x[1]["treatment_n"], x[1]["holdout_n"]))[1]
            out.append({**base, "evidence": n,
                        "message": f"{NOT_ENOUGH} for {like}: {n['treatment_n']} treated and {n['holdout_n']} "
                                   f"held out have been measured so far."})
        else:
            out.append({**base, "message": f"{NOT_ENOUGH} for {like}: no experiment has measured any yet."})
    return out


def evidence_key(config: Any) -> tuple:
    """What the evidence depends on besides the warehouse's data version: each playbook's number
    of enrolments by arm (a cache key; one grouped count in the state DB)."""
    from sqlalchemy import func, select

    from tenure.state.db import session_scope
    from tenure.state.models import PlaybookEnrolment

    with session_scope(config) as s:
        rows = s.execute(select(PlaybookEnrolment.playbook, PlaybookEnrolment.arm, func.count())
                         .group_by(PlaybookEnrolment.playbook, PlaybookEnrolment.arm)).all()
    return tuple(sorted((str(p), str(a), int(n)) for p, a, n in rows))
