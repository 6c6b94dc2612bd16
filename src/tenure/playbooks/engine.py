"""The playbook engine: evaluate every active playbook's triggers together in the warehouse, then
start, advance and finish enrolments in the state DB.

One run (`run_playbooks`):
1. versions and lifecycle: a changed file is a new version; a playbook that became paused or
   retired applies `on_pause` / `on_retire` to its open tasks;
2. every trigger of every active playbook, audience applied, as ONE warehouse query
   (`occurrences_expr`) for every account at once;
3. new occurrences only: a dedupe key seen before never fires again; a state trigger whose
   previous occurrence on the same subject has not cleared does not fire again; an account still
   in the playbook, or within its cooldown, is recorded but not started; a stable hash assigns the
   experiment's holdout, recorded when it is made;
4. the per-run cap: a playbook that would start more than `max_per_run` enrolments starts none and
   the run reports how many it would have started;
5. steps: actions run in the same transaction as the records (a task and its email commit
   together), waits park the enrolment, branches choose; waiting enrolments move on when their
   time has come or their condition holds;
6. exit goals and cleared triggers: enrolments leave and their tasks close with the reason
   (unless `keep_open`); escalation tasks not done by their due time move to the next level.

A dry run (and a preview) is the same run inside a transaction that is rolled back, so it shows
exactly what the real run would do.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.errors import InputError
from tenure.playbooks.actions import ACTION_TYPES, ActionBatch, ActionContext, Escalate, escalate_level
from tenure.playbooks.conditions import Condition, matching_accounts, past_accounts_table, past_day, past_fields
from tenure.playbooks.records import lifecycle, version_of
from tenure.playbooks.spec import Playbook, find, load_playbooks
from tenure.playbooks.triggers import TRIGGER_TYPES, Inputs, occurrences, union_all
from tenure.state.models import (TASK_OPEN_STATES, PlaybookEnrolment, PlaybookOccurrence, PlaybookRun,
                                 PlaybookStepRun, Task, User, utcnow)
from tenure.warehouse.expr import dt, ibis, ir

LIVE = ("active", "waiting")
TEXT = dt.String(nullable=True)


# -- 1. evaluation in the warehouse ------------------------------------------------------------

def occurrences_expr(wh: Any, config: Any, books: Sequence[Playbook], as_of: date, *,
                     static_audience: bool = False) -> ir.Table | None:
    """Every occurrence of every trigger of `books` on `as_of`, audience applied, per contact where
    a playbook says so: one Ibis expression (one query) with the trigger columns plus playbook,
    trigger_id, trigger_type, clears and dedupe_key. `static_audience` (backtests) applies only
    the audience conditions every past day can test from the facts alone (Condition.from_facts:
    descriptive fields, attributes, status and ARR), so no month end is refused. On a day before the last refresh the
    audience is tested on the accounts as they were that day (conditions.past_accounts_table), not
    on account_summary."""
    inp = Inputs(wh, config, as_of)
    wh = inp.wh  # table lookups cached for this evaluation
    parts = []
    past = None  # a day before the last refresh: the audience as it was then, not account_summary's
    if any(pb.audience for pb in books):
        past = past_day(wh, as_of)
    for pb in books:
        audience = [c for c in pb.audience if c.from_facts()] if static_audience else pb.audience
        members = (matching_accounts(wh, audience, as_of=past, config=config).account_id
                   if audience else None)  # once per playbook
        for trig in pb.trigger_params:
            t = occurrences(inp, trig)
            if t is None:
                continue
            if members is not None:
                t = t.filter(t.account_id.isin(members))
            if pb.per == "contact":
                t = _per_contact(wh, t, pb.contact_roles, as_of)
            parts.append(t.mutate(playbook=ibis.literal(pb.name).cast(TEXT),
                                  trigger_id=ibis.literal(trig.trigger_id).cast(TEXT),
                                  trigger_type=ibis.literal(trig.type).cast(TEXT),
                                  clears=ibis.literal(TRIGGER_TYPES[trig.type].kind == "state")))
    u = union_all(parts)
    if u is None:
        return None
    key = (u.playbook + "|" + u.trigger_id + "|" + u.account_id + "|" + u.contact_id.fill_null("") + "|"
           + u.subject + "|" + u.key)
    return u.mutate(dedupe_key=key)


def _per_contact(wh: Any, t: ir.Table, roles: list[str], as_of: date) -> ir.Table:
    """Account-level rows fanned out to the account's active contacts of `roles`; rows that
    already name a contact stay as they are."""
    c = wh.table("contacts")
    c = c.filter(c.role.isin(roles) & (c.active_from.isnull() | (c.active_from <= as_of))
                 & (c.active_to.isnull() | (c.active_to >= as_of)))
    c = c.select(ca=c.account_id, cid=c.contact_id.cast(TEXT))
    own = t.filter(t.contact_id.notnull())
    rest = t.filter(t.contact_id.isnull())
    fan = rest.join(c, rest.account_id == c.ca).mutate(contact_id=lambda x: x.cid).drop("ca", "cid")
    return own.union(fan.select(*t.columns), distinct=False)


def evaluate(wh: Any, config: Any, books: Sequence[Playbook], as_of: date) -> list[dict]:
    """The occurrences as rows, with the account's name, owner, segment and ARR (for previews)."""
    expr = occurrences_expr(wh, config, books, as_of)
    if expr is None:
        return []
    past = past_day(wh, as_of)  # before the last refresh: the account as it was that day
    a = (wh.table("account_summary") if past is None
         else past_accounts_table(wh, config, past, ["name", "owner", "segment", "arr"]))
    s = a.select(sa=a.account_id, account_name=a.name, owner=a.owner, segment=a.segment, arr=a.arr)
    j = expr.left_join(s, expr.account_id == s.sa).drop("sa")
    return wh.to_pyarrow(j.order_by(["playbook", "account_id", "trigger_id", "dedupe_key"])).to_pylist()


# -- the run -----------------------------------------------------------------------------------

@dataclass
class PlaybookResult:
    name: str
    version: int
    status: str
    fired: int = 0
    new: int = 0
    started: int = 0
    holdout: int = 0
    skipped: Counter = field(default_factory=Counter)
    capped: bool = False
    tasks: int = 0
    emails: int = 0
    webhooks: int = 0
    other_actions: int = 0
    advanced: int = 0
    exited: int = 0
    cleared: int = 0
    closed_tasks: int = 0
    escalated: int = 0
    accounts: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("name", "version", "status", "fired", "new", "started", "holdout",
                                           "capped", "tasks", "emails", "webhooks", "other_actions", "advanced",
                                           "exited", "cleared", "closed_tasks", "escalated")}
        d["skipped"] = dict(self.skipped)
        d["accounts"] = self.accounts
        return d


def holdout_arm(pb: Playbook, account_id: str) -> str:
    """treatment or holdout: a stable hash of the playbook, its salt and the account, so an account
    stays in the same arm however often the playbook fires on it."""
    share = pb.experiment.holdout
    if share <= 0:
        return "treatment"
    h = hashlib.sha256(f"{pb.experiment.salt}|{pb.name}|{account_id}".encode()).hexdigest()
    return "holdout" if int(h[:12], 16) / float(16 ** 12) < share else "treatment"


class _Run:
    """One engine run over one state-DB session (committed or rolled back by the caller)."""

    def __init__(self, wh: Any, config: Any, session: Session, as_of: date, now: datetime, run_id: int | None,
                 actor: str = "playbook") -> None:
        self.wh, self.config, self.session, self.as_of, self.now = wh, config, session, as_of, now
        self.run_id, self.actor = run_id, actor
        self._accounts: dict[str, dict] = {}
        self._asked: set[str] = set()  # every account load_accounts was asked for, found or not
        self._contacts: dict[str, list[dict]] = {}
        self._csm: dict[str, dict] = {}
        self._conditions: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        # the run's day when it is before the last refresh (conditions then read the facts of that
        # day, not account_summary); False until first needed
        self._past: date | None | bool = False
        # the actions' tasks and outbox messages, inserted together by write_actions
        self.batch = ActionBatch()

    def past(self) -> date | None:
        """The run's day when it is before the last refresh day (conditions.past_day), else None."""
        if self._past is False:
            self._past = past_day(self.wh, self.as_of)
        return self._past

    def write_actions(self) -> None:
        """Insert the tasks and messages the steps run so far made, then record those steps."""
        self.batch.write(self.session, settings=getattr(self.config, "tasks", None), now=self.now)

    # warehouse lookups for the accounts this run acts on (one query each, for all of them)
    def load_accounts(self, ids: Iterable[str]) -> None:
        ids = sorted({i for i in ids if i not in self._asked})
        if not ids:
            return
        self._asked.update(ids)
        s = self.wh.table("account_summary")
        wanted = _id_table(ids)
        for r in self.wh.to_pyarrow(s.filter(s.account_id.isin(wanted.account_id))).to_pylist():
            self._accounts[r["account_id"]] = r
        if self.past() is not None:
            # a day before the last refresh: what the facts say of that day replaces today's values
            # (who the account was, status, ARR, and health and risk when scored by then)
            p = past_accounts_table(self.wh, self.config, self._past, past_fields(self.wh, self._past))
            for r in self.wh.to_pyarrow(p.filter(p.account_id.isin(wanted.account_id))).to_pylist():
                self._accounts.setdefault(r["account_id"], {}).update(r)
        c = self.wh.table("contacts")
        c = c.filter(c.account_id.isin(wanted.account_id) & (c.active_from.isnull() | (c.active_from <= self.as_of))
                     & (c.active_to.isnull() | (c.active_to >= self.as_of)))
        cols = [x for x in ("contact_id", "account_id", "email", "name", "title", "role", "timezone", "locale")
                if x in c.columns]
        for r in self.wh.to_pyarrow(c.select(*cols)).to_pylist():
            self._contacts.setdefault(r["account_id"], []).append(r)
        owners = {a.get("owner") for a in self._accounts.values() if a.get("owner")} - set(self._csm)
        if owners:
            from sqlalchemy import or_

            users = self.session.scalars(select(User).where(or_(User.csm_key.in_(owners), User.username.in_(owners))))
            for u in users:
                self._csm[u.csm_key or u.username] = {"name": u.full_name or u.username, "email": u.email,
                                                      "username": u.username}

    def account(self, account_id: str) -> dict:
        return self._accounts.get(account_id) or {"account_id": account_id, "name": account_id}

    def holds(self, conditions: list[Condition], account_id: str) -> bool:
        """Whether the account meets every condition now. Each distinct condition list is one
        warehouse query for all the accounts this run acts on (those loaded so far), so only the
        accounts in play come back, never the whole company."""
        k = "|".join(c.model_dump_json() for c in conditions)
        domain, matched = self._conditions.get(k, (frozenset(), frozenset()))
        if account_id not in domain:
            # the accounts asked for, not only those found in account_summary: an account missing
            # from it would otherwise cost one query per account
            domain = frozenset({*domain, *self._asked, account_id})
            m = matching_accounts(self.wh, conditions, as_of=self.past(), config=self.config)
            m = m.filter(m.account_id.isin(_id_table(sorted(domain)).account_id))
            matched = frozenset(self.wh.to_pyarrow(m).column("account_id").to_pylist())
            self._conditions[k] = (domain, matched)
        return account_id in matched

    def context(self, pb: Playbook, version: int, e: PlaybookEnrolment, trigger: dict, key: str) -> ActionContext:
        acc = self.account(e.account_id)
        contacts = self._contacts.get(e.account_id, [])
        contact = next((c for c in contacts if c["contact_id"] == e.contact_id), None) if e.contact_id else None
        return ActionContext(session=self.session, config=self.config, playbook=pb, version=version,
                             enrolment_id=e.id, account=acc, contact=contact, trigger=trigger, occurrence_key=key,
                             now=self.now, csm=self._csm.get(acc.get("owner") or ""), contacts=contacts,
                             actor=f"playbook:{pb.name}", batch=self.batch)

    # steps
    def advance(self, pb: Playbook, version: int, e: PlaybookEnrolment, trigger: dict, key: str,
                res: PlaybookResult, resumed: bool = False) -> None:
        """Run the enrolment's steps from `e.step` until a wait or the end."""
        path = e.step
        while path is not None:
            step = pb.step_at(path)
            if step.wait is not None:
                w = step.wait
                if not resumed:
                    e.wait_started_at = self.now
                    e.wait_until = self.now + timedelta(days=w.days) if w.days else (
                        self.now + timedelta(days=w.max_days) if w.max_days else None)
                    if not (w.until and self.holds(w.until, e.account_id)):
                        e.status, e.step = "waiting", path
                        return
                resumed = False
                e.wait_started_at = e.wait_until = None
                path = _next(pb, path)
                continue
            if step.branch is not None:
                b = step.branch
                chosen = b.then if self.holds(b.if_, e.account_id) else b.else_
                path = f"{path}.{'then' if chosen is b.then else 'else'}.0" if chosen else _next(pb, path)
                continue
            ctx = self.context(pb, version, e, trigger, key)
            kind = ACTION_TYPES[step.action]
            done = kind.run(ctx, step.params, path)
            entry = res.accounts[-1] if res.accounts and res.accounts[-1].get("enrolment") == e.id else None
            # recorded once the batch is written: the step record names its task's id
            self.batch.after(lambda e=e, path=path, action=step.action, done=done, entry=entry: self._after_step(
                e, path, action, done, res, entry))
            path = _next(pb, path)
        e.status, e.step, e.finished_at = "completed", None, self.now
        e.exit_reason = e.exit_reason or "all steps done"

    def _after_step(self, e: PlaybookEnrolment, path: str, action: str, done: list[dict], res: PlaybookResult,
                    entry: dict | None) -> None:
        self._record(e, path, action, done, res)
        if entry is not None:
            entry.setdefault("actions", []).extend(_jsonable(done))

    def _record(self, e: PlaybookEnrolment, path: str, action: str, done: list[dict], res: PlaybookResult,
                level: int = 0) -> None:
        task = next((d for d in done if d.get("kind") == "task" and d.get("id")), None)
        due = None
        if task and task.get("due_at"):
            due = datetime.fromisoformat(task["due_at"])
        self.session.add(PlaybookStepRun(enrolment_id=e.id, step=path, action=action, level=level,
                                         task_id=task["id"] if task else None, due_at=due,
                                         result=_jsonable(done), created_at=self.now))
        for d in done:
            if d.get("skipped"):
                continue
            if d["kind"] == "task" and d.get("id"):
                res.tasks += 1
            elif d["kind"] == "email" and d.get("id"):
                res.emails += 1
            elif d["kind"] == "webhook" and d.get("id"):
                res.webhooks += 1
            elif d["kind"] not in ("task", "email", "webhook"):
                res.other_actions += 1

    def enrolment_tasks(self, enrolment_ids: Sequence[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        if enrolment_ids:
            for eid, tid in self.session.execute(select(PlaybookStepRun.enrolment_id, PlaybookStepRun.task_id).where(
                    PlaybookStepRun.enrolment_id.in_(list(enrolment_ids)), PlaybookStepRun.task_id.isnot(None))):
                out[eid].append(tid)
        return out

    def finish(self, pb: Playbook, enrolments: Sequence[PlaybookEnrolment], status: str, reason: str,
               close: bool) -> int:
        """End enrolments (exited/closed) and, when `close`, close their open tasks with the reason."""
        from tenure.playbooks.tasks import close_tasks

        for e in enrolments:
            e.status, e.step, e.finished_at, e.exit_reason = status, None, self.now, reason[:255]
            e.wait_until = e.wait_started_at = None
        if not close or not enrolments:
            return 0
        ids = [t for ts in self.enrolment_tasks([e.id for e in enrolments]).values() for t in ts]
        return close_tasks(self.session, ids, reason, actor=f"playbook:{pb.name}", now=self.now)


def _id_table(ids: Sequence[str]) -> ir.Table:
    """Account ids as an in-memory table for an IN (subquery) filter: a literal list of thousands
    of ids costs seconds to compile into SQL (every literal is an expression node)."""
    return ibis.memtable({"account_id": list(ids)}, schema={"account_id": "string"})


def _next(pb: Playbook, path: str) -> str | None:
    """The step after `path`: the next sibling, or after the branch that holds it."""
    parts = path.split(".")
    siblings = pb.steps if len(parts) == 1 else _branch_list(pb, parts[:-1])
    i = int(parts[-1])
    if i + 1 < len(siblings):
        return ".".join([*parts[:-1], str(i + 1)])
    if len(parts) == 1:
        return None
    return _next(pb, ".".join(parts[:-2]))


def _branch_list(pb: Playbook, parts: list[str]) -> list:
    step = pb.step_at(".".join(parts[:-1]))
    return step.branch.then if parts[-1] == "then" else step.branch.else_


def _jsonable(items: list[dict]) -> list[dict]:
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in d.items()} for d in items]


def _trigger_info(r: dict) -> dict:
    return {"type": r["trigger_type"], "id": r["trigger_id"], "subject": r.get("subject") or "",
            "detail": r.get("detail") or "",
            "value": r.get("value"), "occurred_on": r.get("occurred_on"), "key": r.get("key")}


def _chunks(items: Sequence, n: int = 500) -> Iterable[Sequence]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _apply_lifecycle(r: _Run, pb: Playbook, version: int, res: PlaybookResult) -> None:
    """A playbook that became paused or retired: its live enrolments stop (retired) and its open
    tasks close when on_pause / on_retire says so."""
    from tenure.playbooks.tasks import close_tasks

    before = lifecycle(r.session, pb, version, r.now)
    if before is None or pb.status not in ("paused", "retired"):
        return
    if pb.status == "retired":
        live = list(r.session.scalars(select(PlaybookEnrolment).where(PlaybookEnrolment.playbook == pb.name,
                                                                      PlaybookEnrolment.status.in_(LIVE))))
        r.finish(pb, live, "closed", f"playbook {pb.name} retired", close=False)
    if (pb.on_pause if pb.status == "paused" else pb.on_retire) == "close":
        ids = list(r.session.scalars(select(Task.id).where(Task.playbook == pb.name,
                                                           Task.state.in_(TASK_OPEN_STATES))))
        res.closed_tasks += close_tasks(r.session, ids, f"playbook {pb.name} {pb.status}",
                                        actor=f"playbook:{pb.name}", now=r.now)


def _start(r: _Run, pb: Playbook, version: int, rows: list[dict], res: PlaybookResult, dry_run: bool,
           started_by: str = "trigger") -> None:
    """Record new occurrences, start enrolments (within the cap) and run their first steps."""
    s = r.session
    keys = [x["dedupe_key"] for x in rows]
    seen: set[str] = set()
    for chunk in _chunks(keys):
        seen.update(s.scalars(select(PlaybookOccurrence.dedupe_key).where(PlaybookOccurrence.dedupe_key.in_(chunk))))
    open_subjects = set(s.execute(select(PlaybookOccurrence.trigger_id, PlaybookOccurrence.account_id,
                                         PlaybookOccurrence.contact_id, PlaybookOccurrence.subject).where(
        PlaybookOccurrence.playbook == pb.name, PlaybookOccurrence.clears.is_(True),
        PlaybookOccurrence.cleared_at.is_(None))).all())
    live = {(a, c) for a, c in s.execute(select(PlaybookEnrolment.account_id, PlaybookEnrolment.contact_id).where(
        PlaybookEnrolment.playbook == pb.name, PlaybookEnrolment.status.in_(LIVE)))}
    recent: set[str] = set()
    if pb.cooldown_days:
        since = r.now - timedelta(days=pb.cooldown_days)
        recent = set(s.scalars(select(PlaybookEnrolment.account_id).where(
            PlaybookEnrolment.playbook == pb.name, PlaybookEnrolment.started_at >= since,
            PlaybookEnrolment.arm == "treatment")))
    plan: list[tuple[dict, str]] = []  # (row, outcome)
    starting: set[tuple[str, str | None]] = set()
    for x in rows:
        if x["dedupe_key"] in seen:
            res.skipped["already_fired"] += 1
            continue
        seen.add(x["dedupe_key"])
        res.new += 1
        who = (x["account_id"], x.get("contact_id"))
        if x["clears"] and (x["trigger_id"], x["account_id"], x.get("contact_id"), x["subject"]) in open_subjects:
            res.skipped["still_open"] += 1
            continue
        if who in live or who in starting:
            outcome = "already_enrolled"
        elif x["account_id"] in recent:
            outcome = "cooldown"
        else:
            outcome = "holdout" if holdout_arm(pb, x["account_id"]) == "holdout" else "started"
            starting.add(who)
        plan.append((x, outcome))
    to_start = sum(1 for _, o in plan if o == "started")
    if to_start > pb.max_per_run:
        res.capped = True
        res.skipped["capped"] += to_start
        return
    r.load_accounts(x["account_id"] for x, o in plan if o == "started")
    # the occurrences, then the enrolments, each added together and flushed once (their ids)
    occs = []
    for x, outcome in plan:
        occs.append(PlaybookOccurrence(
            dedupe_key=x["dedupe_key"], playbook=pb.name, version=version, trigger_id=x["trigger_id"],
            trigger_type=x["trigger_type"], account_id=x["account_id"], contact_id=x.get("contact_id"),
            subject=x["subject"] or "", occurrence_key=x["key"][:200], occurred_on=x.get("occurred_on"),
            value=x.get("value"), detail=x.get("detail"), clears=bool(x["clears"]),
            outcome=outcome, run_id=r.run_id, created_at=r.now))
        if outcome not in ("started", "holdout"):
            res.skipped[outcome] += 1
    s.add_all(occs)
    s.flush()
    starts = []
    for (x, outcome), occ in zip(plan, occs):
        if outcome not in ("started", "holdout"):
            continue
        starts.append((x, outcome, PlaybookEnrolment(
            playbook=pb.name, version=version, account_id=x["account_id"], contact_id=x.get("contact_id"),
            occurrence_id=occ.id, arm="holdout" if outcome == "holdout" else "treatment", started_by=started_by,
            status="holdout" if outcome == "holdout" else "active", step=None if outcome == "holdout" else "0",
            started_at=r.now, started_on=r.as_of)))
    s.add_all([e for _, _, e in starts])
    s.flush()
    for x, outcome, e in starts:
        if outcome == "holdout":
            res.holdout += 1
            continue
        res.started += 1
        acc = r.account(x["account_id"])
        res.accounts.append({"account_id": x["account_id"], "name": acc.get("name"), "owner": acc.get("owner"),
                             "contact_id": x.get("contact_id"), "trigger": x["trigger_id"],
                             "detail": x.get("detail"), "enrolment": e.id, "actions": []})
        r.advance(pb, version, e, _trigger_info(x), x["dedupe_key"], res)
    r.write_actions()


def _resume_waiting(r: _Run, pb: Playbook, version: int, res: PlaybookResult) -> None:
    waiting = list(r.session.scalars(select(PlaybookEnrolment).where(PlaybookEnrolment.playbook == pb.name,
                                                                     PlaybookEnrolment.status == "waiting")))
    if not waiting:
        return
    r.load_accounts(e.account_id for e in waiting)
    occ = {o.id: o for o in r.session.scalars(select(PlaybookOccurrence).where(
        PlaybookOccurrence.id.in_([e.occurrence_id for e in waiting if e.occurrence_id])))}
    for e in waiting:
        step = pb.step_at(e.step)
        w = step.wait
        due = e.wait_until is not None and e.wait_until <= r.now
        met = bool(w and w.until) and r.holds(w.until, e.account_id)
        if w is not None and not (due or met):
            continue
        o = occ.get(e.occurrence_id)
        trig = ({"type": o.trigger_type, "id": o.trigger_id, "subject": o.subject, "detail": o.detail or "",
                 "value": o.value,
                 "occurred_on": o.occurred_on, "key": o.occurrence_key} if o else {"type": "manual", "id": "manual"})
        key = o.dedupe_key if o else f"{pb.name}|manual|{e.account_id}|{e.id}"
        e.status = "active"
        res.advanced += 1
        r.advance(pb, version, e, trig, key, res, resumed=w is not None)
    r.write_actions()


def _exit_and_clear(r: _Run, pb: Playbook, rows: list[dict], res: PlaybookResult) -> None:
    s = r.session
    live = list(s.scalars(select(PlaybookEnrolment).where(PlaybookEnrolment.playbook == pb.name,
                                                          PlaybookEnrolment.status.in_(LIVE))))
    if pb.exit_when and live:
        r.load_accounts(e.account_id for e in live)  # one condition query covers them all
        met = [e for e in live if r.holds(pb.exit_when, e.account_id)]
        res.closed_tasks += r.finish(pb, met, "exited", "goal met: " + "; ".join(c.describe() for c in pb.exit_when),
                                     not pb.keep_open)
        res.exited += len(met)
    # state triggers that no longer hold
    holding = {(x["trigger_id"], x["account_id"], x.get("contact_id"), x["subject"]) for x in rows if x["clears"]}
    open_occ = list(s.scalars(select(PlaybookOccurrence).where(
        PlaybookOccurrence.playbook == pb.name, PlaybookOccurrence.clears.is_(True),
        PlaybookOccurrence.cleared_at.is_(None))))
    cleared = [o for o in open_occ if (o.trigger_id, o.account_id, o.contact_id, o.subject) not in holding]
    if not cleared:
        return
    for o in cleared:
        o.cleared_at = r.now
    res.cleared += len(cleared)
    by_occ = {o.id: o for o in cleared}
    ens = list(s.scalars(select(PlaybookEnrolment).where(PlaybookEnrolment.occurrence_id.in_(list(by_occ)),
                                                         PlaybookEnrolment.status.in_((*LIVE, "completed")))))
    for e in ens:
        o = by_occ[e.occurrence_id]
        reason = f"trigger cleared: {o.trigger_id} no longer holds ({o.detail or o.occurrence_key})"
        if e.status in LIVE:
            res.closed_tasks += r.finish(pb, [e], "exited", reason, not pb.keep_open)
            res.exited += 1
        elif not pb.keep_open:
            from tenure.playbooks.tasks import close_tasks

            ids = r.enrolment_tasks([e.id]).get(e.id, [])
            res.closed_tasks += close_tasks(s, ids, reason, actor=f"playbook:{pb.name}", now=r.now)


def _escalate(r: _Run, pb: Playbook, version: int, res: PlaybookResult) -> None:
    """Escalation tasks past their due time and still open move to the next level of the path."""
    s = r.session
    q = (select(PlaybookStepRun, PlaybookEnrolment, Task)
         .join(PlaybookEnrolment, PlaybookEnrolment.id == PlaybookStepRun.enrolment_id)
         .join(Task, Task.id == PlaybookStepRun.task_id)
         .where(PlaybookEnrolment.playbook == pb.name, PlaybookStepRun.action == "escalate",
                PlaybookStepRun.escalated_at.is_(None), PlaybookStepRun.due_at <= r.now,
                Task.state.in_(TASK_OPEN_STATES)))
    due = list(s.execute(q).all())
    if not due:
        return
    from tenure.playbooks.tasks import close_tasks

    r.load_accounts(e.account_id for _, e, _ in due)
    occ = {o.id: o for o in s.scalars(select(PlaybookOccurrence).where(
        PlaybookOccurrence.id.in_([e.occurrence_id for _, e, _ in due if e.occurrence_id])))}
    for sr, e, task in due:
        step = pb.step_at(sr.step)
        p = step.params
        if not isinstance(p, Escalate) or sr.level + 1 >= len(p.path):
            continue
        o = occ.get(e.occurrence_id)
        key = o.dedupe_key if o else f"{pb.name}|manual|{e.account_id}|{e.id}"
        trig = {"type": o.trigger_type if o else "manual", "id": o.trigger_id if o else "manual",
                "subject": o.subject if o else "",
                "detail": (o.detail if o else "") or ""}
        ctx = r.context(pb, version, e, trig, key)
        ctx.batch = None  # written now: the record below names the new task
        done = escalate_level(ctx, p, sr.step, sr.level + 1)
        sr.escalated_at = r.now
        r._record(e, sr.step, "escalate", done, res, level=sr.level + 1)
        close_tasks(s, [task.id], f"escalated to level {sr.level + 2} (not done within {p.sla_hours:g} h)",
                    actor=f"playbook:{pb.name}", now=r.now)
        res.escalated += 1


def run_playbooks(wh: Any, config: Any, *, as_of: date | None = None, dry_run: bool = False,
                  names: Sequence[str] | None = None, trigger: str = "cli", now: datetime | None = None,
                  books: Sequence[Playbook] | None = None, include_drafts: bool = False,
                  progress: Callable[[str], None] | None = None,
                  fence: Callable[[Session], None] | None = None) -> dict:
    """Evaluate the active playbooks (or `names`) and act; returns what happened per playbook.

    `dry_run` does everything inside a transaction that is rolled back. `include_drafts` (the
    preview) treats draft and paused playbooks as active, in a dry run only. `fence(session)` is
    called before the commit (a worker's lease check: a worker that lost its lease writes nothing)."""
    from tenure.state.db import make_engine, ensure_current
    from tenure.warehouse.asof import require_as_of

    if include_drafts and not dry_run:
        raise InputError("draft playbooks can be previewed (a dry run), not run")
    books = list(books if books is not None else load_playbooks(config))
    if names:
        books = [find(books, n) for n in names]
    day = as_of or require_as_of(wh, None)
    now = now or utcnow()
    say = progress or (lambda text: None)
    ensure_current(config)
    session = Session(make_engine(config), expire_on_commit=False)
    out: dict[str, Any] = {"as_of": day.isoformat(), "dry_run": dry_run, "playbooks": []}
    try:
        run_row = PlaybookRun(as_of=day, trigger=trigger, status="running", started_at=now)
        session.add(run_row)
        session.flush()
        r = _Run(wh, config, session, day, now, run_row.id)
        versions = {}
        results: dict[str, PlaybookResult] = {}
        for pb in books:
            versions[pb.name] = version_of(session, pb, create=True)
            results[pb.name] = PlaybookResult(pb.name, versions[pb.name], pb.status)
            _apply_lifecycle(r, pb, versions[pb.name], results[pb.name])
        acting = [pb for pb in books if pb.status == "active" or (include_drafts and pb.status != "retired")]
        say(f"evaluating {len(acting)} playbook(s)")
        rows = evaluate(wh, config, acting, day)
        by_book: dict[str, list[dict]] = defaultdict(list)
        for x in rows:
            by_book[x["playbook"]].append(x)
        for pb in acting:
            res, v = results[pb.name], versions[pb.name]
            res.fired = len(by_book[pb.name])
            say(f"{pb.name}: {res.fired} occurrence(s)")
            _start(r, pb, v, by_book[pb.name], res, dry_run)
            if res.capped:
                continue
            _resume_waiting(r, pb, v, res)
            _exit_and_clear(r, pb, by_book[pb.name], res)
            _escalate(r, pb, v, res)
        out["playbooks"] = [results[pb.name].to_dict() for pb in books]
        out["capped"] = [res.name for res in results.values() if res.capped]
        totals = Counter()
        for res in results.values():
            totals.update({k: getattr(res, k) for k in ("fired", "started", "tasks", "emails", "webhooks",
                                                         "closed_tasks", "exited", "escalated", "holdout")})
        out["totals"] = dict(totals)
        run_row.status = "capped" if out["capped"] else "done"
        run_row.finished_at = utcnow()
        run_row.result = {"totals": out["totals"], "capped": out["capped"]}
        out["run_id"] = None if dry_run else run_row.id
        if dry_run:
            session.rollback()
        else:
            from tenure.state.models import PlaybookState

            for pb in acting:
                st = session.get(PlaybookState, pb.name)
                if st is not None:
                    st.last_run_at = now
            if fence is not None:
                fence(session)
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return out


def start_manually(wh: Any, config: Any, name: str, account_ids: Sequence[str], *, actor: str,
                   as_of: date | None = None, now: datetime | None = None, dry_run: bool = False) -> dict:
    """Start a playbook by hand on one account or a batch (a CSM from the account page or the
    portfolio). An account already in the playbook is not started twice; a second start on the
    same day is the same occurrence."""
    from tenure.warehouse.asof import require_as_of

    pb = find(load_playbooks(config), name)
    if pb.status != "active":
        raise InputError(f"playbook {name!r} is {pb.status}; only an active playbook can be started "
                         "(set status: active in its file)")
    day = as_of or require_as_of(wh, None)
    now = now or utcnow()
    ids = list(dict.fromkeys(a for a in account_ids if a))
    if not ids:
        raise InputError("name at least one account to start the playbook on")
    s = wh.table("account_summary")
    known = set(wh.to_pyarrow(s.filter(s.account_id.isin(ids)).select("account_id")).column("account_id").to_pylist())
    missing = [a for a in ids if a not in known]
    if missing:
        from tenure.errors import NotFoundError

        raise NotFoundError(f"no account {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} "
                            "(run `tenure refresh` if it was just loaded)")
    rows = [{"playbook": pb.name, "trigger_id": "manual", "trigger_type": "manual", "account_id": a,
             "contact_id": None, "subject": "", "key": f"{actor}@{day.isoformat()}", "occurred_on": day,
             "value": None, "detail": f"started by {actor}", "clears": False,
             "dedupe_key": f"{pb.name}|manual|{a}||{actor}@{day.isoformat()}"} for a in ids]
    return _one_off(wh, config, pb, rows, day, now, dry_run, started_by=actor)


def _one_off(wh, config, pb, rows, day, now, dry_run, started_by) -> dict:
    from tenure.state.db import ensure_current, make_engine

    ensure_current(config)
    session = Session(make_engine(config), expire_on_commit=False)
    try:
        run_row = PlaybookRun(as_of=day, trigger="manual", status="running", started_at=now)
        session.add(run_row)
        session.flush()
        r = _Run(wh, config, session, day, now, run_row.id)
        v = version_of(session, pb, create=True)
        res = PlaybookResult(pb.name, v, pb.status, fired=len(rows))
        _start(r, pb, v, rows, res, dry_run, started_by=started_by)
        run_row.status, run_row.finished_at = ("capped" if res.capped else "done"), utcnow()
        run_row.result = res.to_dict()
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return res.to_dict()


def preview(wh: Any, config: Any, name: str, *, as_of: date | None = None, now: datetime | None = None) -> dict:
    """What `name` would do now (a draft too): the run's report in a rolled-back transaction, and
    every occurrence with its trigger values (those already acted on included)."""
    from tenure.warehouse.asof import require_as_of

    pb = find(load_playbooks(config), name)
    day = as_of or require_as_of(wh, None)
    report = run_playbooks(wh, config, as_of=day, dry_run=True, names=[name], include_drafts=True, now=now)
    report["occurrences"] = [_jsonable([r])[0] for r in evaluate(wh, config, [pb], day)]
    return report
