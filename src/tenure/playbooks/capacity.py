"""CSM capacity: accounts and ARR per CSM against capacity by touch level, utilisation per CSM and
per team, unassigned accounts; and rebalancing moves that bring every CSM within capacity.

**Load.** An account served at touch level L (tenure.health.engagement: its engagement model's
touch) takes 1 / capacity[L].max_accounts of a CSM's account capacity and arr /
capacity[L].max_arr of its ARR capacity. A CSM's account utilisation and ARR utilisation are the
sums over its customers (ARR > 0 on the as-of day); its utilisation is the larger of the two, and
it is over capacity above 100%. So 10 high-touch accounts (of 25) and 30 mid-touch (of 75) are
0.4 + 0.4 = 80%. A team's utilisation is its members' load over their number (the team's
capacity is one CSM per member). Every sum is computed in the engine, one row per CSM.

**Rebalancing** (`rebalance`) is exact: a mixed-integer program solved by HiGHS
(scipy.optimize.milp, relative gap 0). Variables: x[a, c] = 1 when account a goes to CSM c,
for every account of a CSM over capacity (the movable accounts) and every CSM that serves the
account's segment (a team's `segments`, or else the segments it owns accounts of now). The other
CSMs' accounts stay and count as fixed load. Constraints: each movable account has one owner;
every CSM's account and ARR utilisation at most 100%. Objective: the ARR moved, then (as a
tie-break that can never trade against a cent of ARR) the number of moves. When no plan exists
the answer says so and why (which CSMs have no room in the segment). Moves are written through
the warehouse's one write path (tenure.warehouse.writes.upsert_arrow on accounts), with one
audit entry each, the account's open tasks follow their account, and the accounts table's
version goes up so the next refresh updates every page. Re-running after applying proposes
nothing: everyone is within capacity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tenure.config import Config
from tenure.errors import InputError
from tenure.health.engagement import engagement
from tenure.metrics.arr import arr_on
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import dt, ibis, ir

NO_TEAM = "(no team)"
SOURCE = "tenure capacity rebalance"


def _capacity_of(touch: ir.StringValue, config: Config, what: str) -> ir.FloatingValue:
    cap = config.operating_model.capacity
    missing = [t for t in ("high", "mid", "tech") if t not in cap]
    if missing:
        raise InputError(f"tenure.yaml operating_model.capacity has no touch level {', '.join(missing)}: "
                         "give max_accounts and max_arr for high, mid and tech")
    out: ir.Value = ibis.literal(float(getattr(cap["tech"], what)))
    for t in ("high", "mid"):
        out = ibis.ifelse(touch == t, ibis.literal(float(getattr(cap[t], what))), out)
    return out


def book(wh: Warehouse, config: Config, as_of: date) -> ir.Table:
    """Every customer (ARR > 0 on `as_of`) with owner, segment, tier, arr (reporting currency),
    engagement_model, touch and its load: account_load and arr_load (shares of one CSM)."""
    arr = arr_on(wh, config, as_of).filter(lambda t: t.arr > 0)
    acc = wh.table("accounts").select("account_id", "name", "owner", "segment", "tier")
    b = engagement(arr.join(acc, "account_id"), config.operating_model)
    owner = ibis.ifelse(b.owner.strip() == "", ibis.null().cast(dt.String(nullable=True)), b.owner)
    arr_f = b.arr.cast("float64")
    return b.mutate(owner=owner, arr=arr_f, account_load=1.0 / _capacity_of(b.touch, config, "max_accounts"),
                    arr_load=arr_f / _capacity_of(b.touch, config, "max_arr"))


def _per_csm(wh: Warehouse, b: ir.Table) -> pd.DataFrame:
    owned = b.filter(b.owner.notnull())
    agg = owned.group_by("owner").aggregate(
        accounts=owned.count(), arr=owned.arr.sum(),
        high=(owned.touch == "high").sum(), mid=(owned.touch == "mid").sum(), tech=(owned.touch == "tech").sum(),
        account_utilisation=owned.account_load.sum(), arr_utilisation=owned.arr_load.sum())
    per = wh.execute(agg)
    segs = wh.execute(owned.select("owner", "segment").distinct())
    by = segs.dropna().groupby("owner")["segment"].agg(lambda s: "|".join(sorted(s)))
    per["segments"] = per["owner"].map(by).fillna("")
    return per


@dataclass
class CapacityReport:
    """What `tenure capacity` shows (utilisation as a fraction: 1.0 = 100%)."""

    as_of: date
    currency: str
    csms: list[dict]
    teams: list[dict]
    unassigned: dict
    capacity: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": str(self.as_of), "currency": self.currency, "capacity": self.capacity, "csms": self.csms,
                "teams": self.teams, "unassigned": self.unassigned}


def _team_of(config: Config) -> dict[str, str]:
    return {m: name for name, t in config.operating_model.teams.items() for m in t.members}


def capacity(wh: Warehouse, config: Config, as_of: date, unassigned_limit: int = 20) -> CapacityReport:
    """Accounts, ARR and utilisation per CSM (every owner of a customer, and every team member,
    also with no accounts), per team, and the unassigned customers (count, ARR, the largest)."""
    b = book(wh, config, as_of)
    per = _per_csm(wh, b)
    team_of = _team_of(config)
    known = set(per["owner"]) if len(per) else set()
    extra = [m for m in team_of if m not in known]
    if extra:
        per = pd.concat([per, pd.DataFrame({"owner": extra})], ignore_index=True)
    per = per.fillna({"accounts": 0, "arr": 0.0, "high": 0, "mid": 0, "tech": 0, "account_utilisation": 0.0,
                      "arr_utilisation": 0.0, "segments": ""})
    per["utilisation"] = per[["account_utilisation", "arr_utilisation"]].max(axis=1)
    per["team"] = per["owner"].map(team_of).fillna(NO_TEAM)
    per["over_capacity"] = per["utilisation"] > 1 + 1e-9
    per = per.sort_values(["team", "owner"])
    csms = [{"csm": r.owner, "team": r.team, "accounts": int(r.accounts), "arr": round(float(r.arr), 2),
             "by_touch": {"high": int(r.high), "mid": int(r.mid), "tech": int(r.tech)},
             "segments": sorted({s for s in str(r.segments).split("|") if s}),
             "account_utilisation": round(float(r.account_utilisation), 4),
             "arr_utilisation": round(float(r.arr_utilisation), 4),
             "utilisation": round(float(r.utilisation), 4), "over_capacity": bool(r.over_capacity)}
            for r in per.itertuples()]
    teams = []
    for name, g in per.groupby("team", sort=True):  # one group per team (a handful)
        t = config.operating_model.teams.get(name)
        teams.append({"team": name, "manager": t.manager if t else None, "csms": int(len(g)),
                      "accounts": int(g["accounts"].sum()), "arr": round(float(g["arr"].sum()), 2),
                      "utilisation": round(float(g["utilisation"].sum() / max(len(g), 1)), 4),
                      "over_capacity": int(g["over_capacity"].sum())})
    none = b.filter(b.owner.isnull())
    totals = wh.execute(none.aggregate(accounts=none.count(), arr=none.arr.sum()))
    top = wh.execute(none.select("account_id", "name", "segment", "touch", "arr")
                     .order_by([ibis.desc("arr"), "account_id"]).limit(unassigned_limit))
    cap = {k: v.model_dump() for k, v in config.operating_model.capacity.items()}
    n_unassigned = int(totals["accounts"].iloc[0] or 0)
    arr_unassigned = totals["arr"].iloc[0]
    return CapacityReport(as_of, config.reporting_currency, csms, teams,
                          {"accounts": n_unassigned,
                           "arr": round(float(arr_unassigned), 2) if n_unassigned else 0.0,
                           "largest": [{**r, "arr": round(float(r["arr"]), 2)} for r in top.to_dict("records")]},
                          cap)


# -- rebalancing ---------------------------------------------------------------------------------

@dataclass
class Plan:
    """A rebalancing proposal: moves (account_id, segment, arr, from, to), the ARR moved, and each
    CSM's utilisation before and after. `feasible` False with `reason` when no plan exists."""

    as_of: date
    currency: str
    moves: list[dict]
    arr_moved: float
    before: dict[str, float]
    after: dict[str, float]
    feasible: bool = True
    reason: str | None = None
    applied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": str(self.as_of), "currency": self.currency, "feasible": self.feasible,
                "reason": self.reason, "applied": self.applied, "moves": self.moves,
                "arr_moved": round(self.arr_moved, 2), "utilisation_before": self.before,
                "utilisation_after": self.after}


def _serves(config: Config, accounts: pd.DataFrame, csms: list[str]) -> dict[str, set[str]]:
    """{csm: segments it serves}: its team's `segments` when listed, else those it owns now."""
    owned = accounts.dropna(subset=["owner"]).groupby("owner")["segment"].agg(lambda s: set(s.dropna()))
    out = {}
    for c in csms:
        team = config.operating_model.team_of(c)
        listed = config.operating_model.teams[team].segments if team else []
        out[c] = set(listed) if listed else set(owned.get(c, set()))
    return out


def solve(accounts: pd.DataFrame, serves: dict[str, set[str]]) -> tuple[pd.Series | None, str | None]:
    """The exact plan for `accounts` (account_id, owner, segment, arr, account_load, arr_load; one
    row per customer with an owner). Returns (new owner per row, None) or (None, why not).

    Movable: every account of a CSM over capacity. Minimises the ARR moved, then the moves."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    csms = sorted(serves)
    idx = {c: i for i, c in enumerate(csms)}
    load_a = accounts.groupby("owner")["account_load"].sum().reindex(csms, fill_value=0.0)
    load_r = accounts.groupby("owner")["arr_load"].sum().reindex(csms, fill_value=0.0)
    over = {c for c in csms if max(load_a[c], load_r[c]) > 1 + 1e-9}
    result = accounts["owner"].copy()
    if not over:
        return result, None
    movable = accounts[accounts["owner"].isin(over)].reset_index()
    fixed = accounts[~accounts["owner"].isin(over)]
    fixed_a = fixed.groupby("owner")["account_load"].sum().reindex(csms, fill_value=0.0).to_numpy()
    fixed_r = fixed.groupby("owner")["arr_load"].sum().reindex(csms, fill_value=0.0).to_numpy()
    # candidate (account, csm) pairs: the same segment, or the current owner (staying is always allowed)
    seg_of = {c: serves[c] for c in csms}
    pairs = pd.DataFrame([(i, idx[c]) for c in csms for i in
                          movable.index[movable["segment"].isin(seg_of[c]) | (movable["owner"] == c)]],
                         columns=["row", "csm"]) if len(movable) else pd.DataFrame(columns=["row", "csm"])
    n, m = len(pairs), len(movable)
    row, col = pairs["row"].to_numpy(dtype=int), pairs["csm"].to_numpy(dtype=int)
    stays = movable["owner"].map(idx).to_numpy()[row] == col
    cents = np.round(movable["arr"].to_numpy(dtype=float) * 100)[row]
    cost = np.where(stays, 0.0, cents * (m + 1) + 1)  # ARR in cents first, then the number of moves
    one_owner = LinearConstraint(coo_matrix((np.ones(n), (row, np.arange(n))), shape=(m, n)), 1, 1)
    wa = movable["account_load"].to_numpy(dtype=float)[row]
    wr = movable["arr_load"].to_numpy(dtype=float)[row]
    cap_a = LinearConstraint(coo_matrix((wa, (col, np.arange(n))), shape=(len(csms), n)), -np.inf, 1 + 1e-9 - fixed_a)
    cap_r = LinearConstraint(coo_matrix((wr, (col, np.arange(n))), shape=(len(csms), n)), -np.inf, 1 + 1e-9 - fixed_r)
    res = milp(cost, constraints=[one_owner, cap_a, cap_r], integrality=np.ones(n), bounds=Bounds(0, 1),
               options={"mip_rel_gap": 0, "presolve": True})
    if res.status != 0 or res.x is None:
        free = {c: round(max(0.0, 1 - max(fixed_a[idx[c]], fixed_r[idx[c]])), 4) for c in csms if c not in over}
        need = {c: round(max(load_a[c], load_r[c]) - 1, 4) for c in sorted(over)}
        return None, (f"no plan brings every CSM within capacity while keeping each account's segment: over "
                      f"capacity {need} (share of one CSM above 100%), room elsewhere {free}; add CSMs, list more "
                      "segments in operating_model.teams, or raise operating_model.capacity")
    chosen = pairs[res.x > 0.5]
    new_owner = pd.Series(np.array(csms, dtype=object)[chosen["csm"].to_numpy(dtype=int)],
                          index=movable.loc[chosen["row"].to_numpy(dtype=int), "index"].to_numpy())
    result.loc[new_owner.index] = new_owner
    return result, None


def plan(wh: Warehouse, config: Config, as_of: date) -> Plan:
    """The rebalancing proposal as of a day (nothing is written)."""
    cols = ["account_id", "owner", "segment", "arr", "account_load", "arr_load"]
    b = book(wh, config, as_of)
    accounts = wh.execute(b.filter(b.owner.notnull()).select(*cols).order_by("account_id"))
    csms = sorted(set(accounts["owner"]) | set(_team_of(config)))
    before = _utilisation(accounts, csms)
    owners, why = solve(accounts, _serves(config, accounts, csms))
    if owners is None:
        return Plan(as_of, config.reporting_currency, [], 0.0, before, before, feasible=False, reason=why)
    moved = accounts[owners != accounts["owner"]]
    moves = [{"account_id": r.account_id, "segment": r.segment, "arr": round(float(r.arr), 2), "from": r.owner,
              "to": owners[i]} for i, r in zip(moved.index, moved.itertuples())]
    after = _utilisation(accounts.assign(owner=owners), csms)
    return Plan(as_of, config.reporting_currency, moves, float(moved["arr"].sum()), before, after)


def _utilisation(accounts: pd.DataFrame, csms: list[str]) -> dict[str, float]:
    g = accounts.groupby("owner")[["account_load", "arr_load"]].sum().reindex(csms, fill_value=0.0)
    return {c: round(float(v), 4) for c, v in g.max(axis=1).items()}


def apply(wh: Warehouse, config: Config, p: Plan, *, actor: str) -> Plan:
    """Write the plan's moves: the new owners through the one write path, one audit entry per
    move, the moved accounts' open tasks to the new owner, and the accounts table's version."""
    from sqlalchemy import select

    from tenure.jobs.versions import bump_in
    from tenure.playbooks import tasks as task_service
    from tenure.state import audit
    from tenure.state.db import session_scope
    from tenure.state.models import TASK_OPEN_STATES, Task
    from tenure.warehouse.writes import upsert_arrow

    if not p.feasible:
        raise InputError(p.reason or "the plan is not feasible")
    if not p.moves:
        p.applied = True
        return p
    new_owner = {m["account_id"]: m["to"] for m in p.moves}
    a = wh.table("accounts")
    rows = wh.to_pyarrow(a.filter(a.account_id.isin(list(new_owner))))
    ids = rows.column("account_id").to_pylist()
    rows = rows.set_column(rows.schema.get_field_index("owner"), "owner",
                           pa.array([new_owner[i] for i in ids], rows.schema.field("owner").type))
    rows = rows.set_column(rows.schema.get_field_index("source"), "source",
                           pa.array([SOURCE] * len(ids), rows.schema.field("source").type))
    now = datetime.now(timezone.utc)
    rows = rows.set_column(rows.schema.get_field_index("ingested_at"), "ingested_at",
                           pa.array([now] * len(ids), type=pa.timestamp("us", tz="UTC")).cast(
                               rows.schema.field("ingested_at").type))
    with session_scope(config) as session:
        upsert_arrow(wh, "accounts", rows)
        for m in p.moves:
            audit.record(session, actor, "rebalance", "account", m["account_id"], {"owner": m["from"]},
                         {"owner": m["to"], "segment": m["segment"], "arr": m["arr"], "as_of": str(p.as_of)})
            open_ids = session.scalars(select(Task.id).where(Task.account_id == m["account_id"],
                                                             Task.owner == m["from"],
                                                             Task.state.in_(TASK_OPEN_STATES)))
            for tid in open_ids:
                task_service.reassign(session, tid, owner=m["to"], actor=actor)
        bump_in(session, ["accounts", "account_attributes"])
    p.applied = True
    return p
