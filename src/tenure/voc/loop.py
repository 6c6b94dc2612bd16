"""Closing the loop: every detractor and low rating followed up, and how well and how fast.

A response *needs a loop* when the playbooks' `survey` trigger would fire on it at its default
threshold (tenure.playbooks.triggers.Survey: NPS 0-6, CSAT 1-2; CES 1-3 when asked for): one
definition, shared with the shipped playbooks `detractor-follow-up` and `low-csat-follow-up`.

The loop of a response is the task(s) a playbook made for it, found through the playbook records
(state DB): the occurrence whose `trigger_type` is `survey` has the response id as its key
(`occurrence_key`), its enrolment's step runs name the tasks. Status per response:

    closed    a task done with an outcome (the loop is closed when the first one was)
    overdue   a task still open past its SLA (`sla_due_at`, else its due time)
    open      a task still open, within its SLA
    none      no task (no active playbook fired, a holdout, or every task skipped without being done)

Time to close = from the answer (`responded_at`) to the task's `closed_at`, in hours: what the
customer waited. Summaries count the responses answered within a period: closure rate (closed /
responses needing a loop, with its Wilson 95% interval), median and p90 time to close, by team
(tenure.yaml `operating_model.teams`) and by CSM (the task's owner, else the account's owner).

`reply` writes to the respondent through the outbox in the CSM's name (category "survey") and
records it on the task (a comment, and the checklist item "Reply to the customer" ticked)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.errors import InputError, NotFoundError
from tenure.metrics.periods import Period, parse_period
from tenure.metrics.surveys import wilson_interval
from tenure.playbooks.triggers import Survey
from tenure.state.models import (TASK_OPEN_STATES, PlaybookEnrolment, PlaybookOccurrence, PlaybookStepRun, Task,
                                 User, utcnow)

LOOP_STATUSES = ("open", "closed", "overdue", "none")
DEFAULT_KINDS = ("nps", "csat")
REPLY_ITEM = "Reply to the customer"
NO_TEAM = "(no team)"
NO_OWNER = "(unassigned)"
_DAYS = re.compile(r"^\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}$")

STATUS_COLUMNS = ("response_id", "account_id", "contact_id", "kind", "score", "responded_at", "status",
                  "task_id", "task_state", "owner", "outcome", "task_created_at", "closed_at", "sla_due_at",
                  "hours_to_close", "playbook")


def threshold(kind: str) -> int:
    """The highest score of `kind` that needs a loop (the survey trigger's default)."""
    return Survey(type="survey", kind=kind).threshold


def _chunks(items: Sequence, n: int = 500):
    for i in range(0, len(items), n):
        yield items[i:i + n]


def needing_loop(wh: Any, *, kinds: Sequence[str] = DEFAULT_KINDS, first_day: date | None = None,
                 last_day: date | None = None, response_ids: Sequence[str] | None = None,
                 account_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """The warehouse's responses that need a loop (score at or below their kind's threshold),
    answered between first_day and last_day (inclusive) when given; one row each with the
    account's owner."""
    from tenure.warehouse.expr import ibis

    s = wh.table("survey_responses")
    cond = ibis.or_(*[(s.kind == k) & (s.score <= threshold(k)) for k in kinds])
    s = s.filter(cond)
    if first_day is not None:
        s = s.filter(s.responded_at >= first_day)
    if last_day is not None:
        s = s.filter(s.responded_at < last_day + timedelta(days=1))
    if response_ids is not None:
        ids = list(response_ids) or [""]  # none asked: match nothing (an empty IN list is not SQL)
        s = s.filter(s.response_id.isin(ids))
    if account_ids is not None:
        s = s.filter(s.account_id.isin(list(account_ids)))
    a = wh.table("accounts")
    a = a.select(aid=a.account_id, account_owner=a.owner)
    j = s.left_join(a, s.account_id == a.aid)
    j = j.select("response_id", "account_id", "contact_id", "kind", "score", "responded_at", "account_owner")
    df = wh.to_pyarrow(j).to_pandas()
    df["responded_at"] = pd.to_datetime(df["responded_at"])
    return df


def loop_tasks(session: Session, response_ids: Sequence[str]) -> pd.DataFrame:
    """The tasks the playbooks made for these responses (through their survey occurrences):
    response_id, task_id, state, owner, outcome, created_at, closed_at, sla_due_at, due_at, playbook."""
    rows = []
    ids = sorted(set(response_ids))
    for chunk in _chunks(ids):
        q = (select(PlaybookOccurrence.occurrence_key, Task.id, Task.state, Task.owner, Task.outcome,
                    Task.created_at, Task.closed_at, Task.sla_due_at, Task.due_at, Task.playbook)
             .join(PlaybookEnrolment, PlaybookEnrolment.occurrence_id == PlaybookOccurrence.id)
             .join(PlaybookStepRun, PlaybookStepRun.enrolment_id == PlaybookEnrolment.id)
             .join(Task, Task.id == PlaybookStepRun.task_id)
             .where(PlaybookOccurrence.trigger_type == "survey", PlaybookOccurrence.occurrence_key.in_(chunk)))
        rows.extend(session.execute(q).all())
    cols = ["response_id", "task_id", "task_state", "owner", "outcome", "task_created_at", "closed_at",
            "sla_due_at", "due_at", "playbook"]
    df = pd.DataFrame(rows, columns=cols)
    return df.drop_duplicates("task_id")


def _status_frame(responses: pd.DataFrame, tasks: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """One row per response: its loop status and the task that decides it (vectorised)."""
    t = tasks.copy()
    for c in ("task_created_at", "closed_at", "sla_due_at", "due_at"):
        t[c] = pd.to_datetime(t[c])
    live = t["task_state"].isin(TASK_OPEN_STATES)
    limit = t["sla_due_at"].fillna(t["due_at"])
    done = (t["task_state"] == "done") & t["outcome"].notna()
    t["status"] = np.select([done, live & limit.notna() & (limit < now), live], ["closed", "overdue", "open"],
                            default="none")
    # the task that decides: a closed one first (the earliest closed), then overdue, open, none
    rank = {"closed": 0, "overdue": 1, "open": 2, "none": 3}
    t["_rank"] = t["status"].map(rank)
    t["_when"] = t["closed_at"].where(t["status"] == "closed", t["task_created_at"])
    t = t.sort_values(["response_id", "_rank", "_when", "task_id"]).drop_duplicates("response_id")
    out = responses.merge(t.drop(columns=["_rank", "_when", "due_at"]), on="response_id", how="left")
    out["status"] = out["status"].fillna("none")
    closed = out["status"] == "closed"
    hours = (out["closed_at"] - out["responded_at"]).dt.total_seconds() / 3600
    out["hours_to_close"] = hours.where(closed)
    out["owner"] = out["owner"].where(out["owner"].notna(), out["account_owner"])
    return out


def status(session: Session, wh: Any, *, response_ids: Sequence[str] | None = None,
           account_id: str | None = None, kinds: Sequence[str] = DEFAULT_KINDS, first_day: date | None = None,
           last_day: date | None = None, now: datetime | None = None) -> pd.DataFrame:
    """The loop status of each response that needs a loop (of one account, of given response ids,
    or answered within first_day..last_day): columns STATUS_COLUMNS (status in LOOP_STATUSES;
    task_id and the task's fields empty where there is no task; owner: the task's, else the
    account's owner). Responses that need no loop (a promoter) are not returned."""
    now = now or utcnow()
    resp = needing_loop(wh, kinds=kinds, first_day=first_day, last_day=last_day, response_ids=response_ids,
                        account_ids=[account_id] if account_id else None)
    tasks = loop_tasks(session, resp["response_id"].tolist())
    out = _status_frame(resp, tasks, now)
    out = out.sort_values(["responded_at", "response_id"], ascending=[False, True]).reset_index(drop=True)
    out["task_id"] = out["task_id"].astype("Int64")
    return out[list(STATUS_COLUMNS)]


def _quantile(x: pd.Series, q: float) -> float | None:
    x = x.dropna()
    return float(np.quantile(x, q)) if len(x) else None


def _group_rows(df: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    rows = []
    for name, g in df.groupby(key, sort=True, dropna=False):
        rows.append({key: name, **_counts(g)})
    rows.sort(key=lambda r: (-r["responses"], str(r[key])))
    return rows


def _counts(g: pd.DataFrame) -> dict[str, Any]:
    n = int(len(g))
    c = g["status"].value_counts()
    closed = int(c.get("closed", 0))
    row: dict[str, Any] = {"responses": n, **{s: int(c.get(s, 0)) for s in LOOP_STATUSES}}
    if n:
        rate, _, low, high = wilson_interval(closed, n)
        row.update(closure_rate=rate, closure_low=low, closure_high=high)
    else:
        row.update(closure_rate=None, closure_low=None, closure_high=None)
    row.update(median_hours=_quantile(g["hours_to_close"], 0.5), p90_hours=_quantile(g["hours_to_close"], 0.9))
    return row


def period_of(period: str | Period | None, *, today: date | None = None, days: int = 90) -> Period:
    """A period given as text (2026-09, 2026-Q3, 2026, 2025-10..2026-09, or days
    2026-09-01..2026-09-30), a Period, or None: the `days` days ending today."""
    if isinstance(period, Period):
        return period
    if period and _DAYS.match(period.strip()):
        a, b = (date.fromisoformat(x) for x in period.strip().split(".."))
        if b < a:
            raise InputError(f"period {period!r}: the last day is before the first")
        return Period(period.strip(), a, b)
    if period:
        return parse_period(period)
    today = today or utcnow().date()
    first = today - timedelta(days=days - 1)
    return Period(f"{first.isoformat()}..{today.isoformat()}", first, today)


def summary(session: Session, wh: Any, config: Any, *, period: str | Period | None = None,
            kinds: Sequence[str] = DEFAULT_KINDS, account_id: str | None = None,
            owners: Sequence[str] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Loop closure over the responses answered in `period` (default: the last 90 days): overall,
    by team and by CSM. Keys: period {label, first_day, last_day}, kinds, thresholds, overall
    (responses, open, closed, overdue, none, closure_rate with closure_low/high (Wilson 95%),
    median_hours, p90_hours), by_team, by_csm (the same per group, with `team` / `csm`).
    `owners` restricts to responses whose CSM is one of them (an access scope)."""
    now = now or utcnow()
    p = period_of(period, today=now.date())
    df = status(session, wh, kinds=kinds, first_day=p.first_day, last_day=p.last_day, account_id=account_id,
                now=now)
    df["csm"] = df["owner"].fillna(NO_OWNER)
    if owners is not None:
        df = df[df["csm"].isin(list(owners))]
    model = getattr(config, "operating_model", None)
    teams = {m: name for name, t in (model.teams.items() if model else ()) for m in t.members}
    df["team"] = df["csm"].map(teams).fillna(NO_TEAM)
    return {"period": {"label": p.label, "first_day": p.first_day, "last_day": p.last_day},
            "kinds": list(kinds), "thresholds": {k: threshold(k) for k in kinds},
            "overall": _counts(df), "by_team": _group_rows(df, "team"), "by_csm": _group_rows(df, "csm")}


# -- replying to the customer ------------------------------------------------------------------

def _response_of_task(session: Session, task: Task) -> str:
    q = (select(PlaybookOccurrence.occurrence_key)
         .join(PlaybookEnrolment, PlaybookEnrolment.occurrence_id == PlaybookOccurrence.id)
         .join(PlaybookStepRun, PlaybookStepRun.enrolment_id == PlaybookEnrolment.id)
         .where(PlaybookStepRun.task_id == task.id, PlaybookOccurrence.trigger_type == "survey"))
    rid = session.scalars(q).first()
    if rid is None:
        raise InputError(f"task {task.id} was not made for a survey response (no survey playbook fired it); "
                         "reply from your own mail client")
    return rid


def _csm(session: Session, owner: str | None) -> dict[str, Any]:
    if not owner:
        return {}
    from sqlalchemy import or_

    u = session.scalars(select(User).where(or_(User.csm_key == owner, User.username == owner))).first()
    return {"name": u.full_name or u.username, "email": u.email} if u else {}


def reply(session: Session, wh: Any, config: Any, task_id: int, *, text: str, subject: str | None = None,
          actor: str, now: datetime | None = None) -> dict[str, Any]:
    """Reply to the respondent of a survey task: an email through the outbox (category "survey",
    in the name of the task's owner, replies going to them), written in the caller's transaction
    with a comment on the task and its checklist item "Reply to the customer" ticked. The same
    text twice sends once. Returns {message_id (None: already sent), to, subject, task_id, response_id}."""
    from tenure.notify.outbox import enqueue
    from tenure.playbooks.tasks import add_comment, check_item

    if not text or not text.strip():
        raise InputError("the reply text is empty: write what you want the customer to read (--text or --file)")
    task = session.get(Task, task_id)
    if task is None:
        raise NotFoundError(f"no task {task_id} (tenure tasks list shows the tasks you may work)")
    rid = _response_of_task(session, task)
    s = wh.table("survey_responses")
    resp = wh.to_pyarrow(s.filter(s.response_id == rid).select("contact_id", "kind", "score", "responded_at")
                         ).to_pylist()
    if not resp:
        raise NotFoundError(f"response {rid!r} of task {task_id} is not in the warehouse's survey_responses "
                            "(was it deleted? run `tenure refresh`)")
    r = resp[0]
    if not r["contact_id"]:
        raise InputError(f"response {rid!r} (task {task_id}) has no contact_id: the respondent is unknown, "
                         "so there is no address to reply to")
    c = wh.table("contacts")
    contact = wh.to_pyarrow(c.filter(c.contact_id == r["contact_id"]).select(
        *[x for x in ("email", "name", "timezone") if x in c.columns])).to_pylist()
    if not contact or not contact[0].get("email"):
        raise InputError(f"contact {r['contact_id']!r} (response {rid!r}, task {task_id}) has no email in the "
                         "contacts table; add it there and ingest again")
    to = contact[0]
    csm = _csm(session, task.owner)
    subject = " ".join((subject or "Thank you for your feedback").split())
    payload = {"to": to["email"], "to_name": to.get("name") or "", "subject": subject, "text": text.strip()}
    if csm.get("name"):
        payload["from_name"] = csm["name"]
    if csm.get("email"):
        payload["reply_to"] = csm["email"]
    if task.owner:
        payload["owner"] = task.owner
    digest = hashlib.sha256(f"{subject}\n{text.strip()}".encode()).hexdigest()[:16]
    msg = enqueue(session, channel="email", payload=payload, dedupe_key=f"voc-reply|{task_id}|{digest}",
                  category="survey", recipient_tz=to.get("timezone") or None)
    if msg is not None:
        add_comment(session, task_id, f"Reply emailed to {to['email']} ({r['kind'].upper()} {r['score']}): "
                    f"{subject}\n\n{text.strip()}", actor=actor)
        items = [i.get("item") for i in (task.checklist or [])]
        if REPLY_ITEM in items and not task.checklist[items.index(REPLY_ITEM)].get("done"):
            check_item(session, task_id, items.index(REPLY_ITEM), True, actor=actor)
    return {"message_id": msg.id if msg is not None else None, "to": to["email"], "subject": subject,
            "task_id": task_id, "response_id": rid}


# -- the demo ------------------------------------------------------------------------------------

DEMO_SEED = 5
DEMO_CLOSED_SHARE = 0.6  # of the demo's follow-ups, the share its CSMs close (the rest stay open)


def demo_step(wh: Any, config: Any, out: Any) -> dict[str, Any]:
    """After the demo's survey wave: run the survey playbooks on the wave's day (the wave's
    detractors and low ratings become tasks for their CSMs), then play the CSMs' part: about 60%
    of those follow-ups are done with an outcome 2 to 60 hours after the answer (seeded), the rest
    stay open, so the loop has closed, open and overdue responses to show."""
    from tenure.playbooks.engine import run_playbooks
    from tenure.playbooks.tasks import transition
    from tenure.state.db import session_scope
    from tenure.warehouse.asof import latest_event_day

    day = latest_event_day(wh) or utcnow().date()
    names = ["detractor-follow-up", "low-csat-follow-up"]
    try:
        report = run_playbooks(wh, config, as_of=day, names=names, trigger="demo",
                               now=datetime.combine(day, datetime.min.time()) + timedelta(hours=20))
    except (InputError, NotFoundError) as err:  # the playbooks are not installed
        return {"skipped": str(err)}
    made = sum(p["tasks"] for p in report["playbooks"])
    rng = np.random.default_rng(DEMO_SEED)
    closed = 0
    with session_scope(config) as session:
        st = status(session, wh, first_day=day, last_day=day)
        st = st[st.task_id.notna() & (st.task_state == "open")].sort_values("response_id")
        for rid, tid, owner, answered in st[["response_id", "task_id", "owner", "responded_at"]].itertuples(
                index=False, name=None):
            if rng.random() >= DEMO_CLOSED_SHARE:
                continue
            when = answered.to_pydatetime() + timedelta(hours=float(rng.uniform(2, 60)))
            transition(session, int(tid), "done", outcome="resolved", actor=owner or "demo",
                       comment=f"Called back about response {rid}; agreed next steps.", now=when)
            closed += 1
    with session_scope(config) as session:
        s = summary(session, wh, config, period=Period(f"{day}..{day}", day, day))["overall"]
    return {"tasks": made, "closed": closed, "overall": s,
            "hints": [f"tenure voc loop --period {day}..{day}   # the wave's detractors: {s['responses']} to "
                      f"follow up, {s['closed']} closed, {s['open'] + s['overdue']} still open ({s['overdue']} overdue)"]}
