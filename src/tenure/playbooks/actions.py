"""Playbook actions: what a step does, as a registry later stages add to (`register_action`).

Built in: create_task, send_email, webhook, escalate, set_field, enrol_survey. Each action type
has a pydantic model of its fields (validated when the playbook file loads, so a bad field is
reported with its file and line) and a `run(ctx, params) -> list[dict]` that writes its rows in
the caller's state-DB session: the task, the outbox message announcing it and the playbook's own
records commit in one transaction or not at all. In a dry run (`ctx.dry_run`) nothing is written
and the returned dicts say what would be done.

Every row an action writes carries a dedupe key derived from the trigger occurrence and the step
(`ctx.key(step)`), so running a step twice creates nothing the second time.

Templates (titles, bodies, subjects, webhook text) are Jinja2, rendered in a sandbox with these
names: account (the account_summary row), contact (the contact the playbook runs for, or None),
trigger (type, id, detail, value, occurred_on, key), playbook (name, title, version), csm (the
owner's name and email when known).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TEMPLATE_NAMES = frozenset({"account", "contact", "trigger", "playbook", "csm"})
_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class ActionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def templates(self) -> dict[str, str]:
        """The template fields of this action (name -> text), checked at load time."""
        return {}


def template_problem(params: ActionParams) -> list[tuple[str, str]]:
    """(field, message) for each template that does not parse or names an unknown variable."""
    out = []
    for name, text in params.templates().items():
        try:
            names = meta.find_undeclared_variables(_env.parse(text))
        except TemplateSyntaxError as err:
            out.append((name, f"template error: {err.message} (template line {err.lineno})"))
            continue
        unknown = sorted(names - TEMPLATE_NAMES)
        if unknown:
            out.append((name, f"unknown template name(s) {', '.join(unknown)}; use {', '.join(sorted(TEMPLATE_NAMES))}"))
    return out


class _Lenient(dict):
    """A mapping whose missing keys render as empty text instead of failing a whole run."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name, "")


@lru_cache(maxsize=512)
def _template(text: str):
    """A template compiled once per text (compiling costs far more than rendering)."""
    return _env.from_string(text)


def render(text: str, ctx: ActionContext) -> str:
    values = {"account": _Lenient(ctx.account), "contact": _Lenient(ctx.contact or {}),
              "trigger": _Lenient(ctx.trigger), "playbook": _Lenient(ctx.playbook_info),
              "csm": _Lenient(ctx.csm or {})}
    return _template(text).render(**values)


def bounded_key(key: str, limit: int = 255) -> str:
    """`key` itself when short enough, else its readable start and a hash of the whole."""
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return key[: limit - 25] + "#" + digest


@dataclass
class ActionContext:
    """What an action needs to act on one enrolment."""

    session: Any
    config: Any
    playbook: Any  # tenure.playbooks.spec.Playbook
    version: int
    enrolment_id: int | None
    account: dict[str, Any]
    contact: dict[str, Any] | None
    trigger: dict[str, Any]
    occurrence_key: str
    now: datetime
    dry_run: bool = False
    csm: dict[str, Any] | None = None
    contacts: list[dict[str, Any]] = field(default_factory=list)  # the account's active contacts
    actor: str = "playbook"
    batch: ActionBatch | None = None  # when set, tasks and outbox messages are written by batch.write

    @property
    def playbook_info(self) -> dict[str, Any]:
        return {"name": self.playbook.name, "title": self.playbook.title or self.playbook.name,
                "version": self.version}

    def key(self, step: str, *parts: str) -> str:
        return bounded_key("|".join((self.occurrence_key, step, *parts)))


class ActionBatch:
    """The tasks and outbox messages of many enrolments' actions, written together: one INSERT ..
    ON CONFLICT DO NOTHING per 500 tasks (with their audit entries) and per 500 messages, in the
    caller's transaction, instead of a few statements per action. An action adds its row and the
    item it returns; `write` fills in the items' ids (None where the dedupe key existed already or
    repeats an earlier row of the batch, as one-by-one inserts would) and then runs the callbacks
    added with `after` (the engine's step records, which need the task ids)."""

    def __init__(self) -> None:
        self._tasks: list[tuple[dict[str, Any], dict[str, Any], str]] = []
        self._messages: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._after: list[Callable[[], None]] = []

    def __len__(self) -> int:
        return len(self._tasks) + len(self._messages) + len(self._after)

    def add_task(self, row: dict[str, Any], item: dict[str, Any], actor: str) -> None:
        self._tasks.append((row, item, actor))

    def add_message(self, message: dict[str, Any], item: dict[str, Any]) -> None:
        self._messages.append((message, item))

    def after(self, fn: Callable[[], None]) -> None:
        self._after.append(fn)

    def write(self, session: Any, *, settings: Any = None, now: datetime | None = None) -> None:
        from sqlalchemy import select

        from tenure.notify.outbox import enqueue_many
        from tenure.playbooks.tasks import create_tasks
        from tenure.state.models import Task

        tasks, messages, after = self._tasks, self._messages, self._after
        self._tasks, self._messages, self._after = [], [], []
        by_actor: dict[str, list[tuple[dict, dict]]] = {}
        for row, item, actor in tasks:
            by_actor.setdefault(actor, []).append((row, item))
        for actor, pairs in by_actor.items():
            ids = create_tasks(session, [r for r, _ in pairs], actor=actor, settings=settings, now=now)
            made: dict[str, int] = {}
            for start in range(0, len(ids), 500):
                chunk = list(ids[start:start + 500])
                for key, tid in session.execute(select(Task.dedupe_key, Task.id).where(Task.id.in_(chunk))):
                    made[key] = tid
            for row, item in pairs:
                tid = made.pop(row["dedupe_key"], None)  # pop: a repeated key is not created twice
                item.update(id=tid, created=tid is not None)
        if messages:
            for (_, item), mid in zip(messages, enqueue_many(session, [m for m, _ in messages])):
                item["id"] = mid
        for fn in after:
            fn()


# -- the built-in action types -----------------------------------------------------------------

OwnerRule = str  # account_owner | manager | queue:<name> | round_robin:<team> | fewest_open:<team>


def _check_owner(v: str) -> str:
    head, _, rest = v.partition(":")
    if head in ("account_owner", "manager") and not rest:
        return v
    if head in ("queue", "round_robin", "fewest_open") and rest:
        return v
    raise ValueError("owner is account_owner, manager, queue:<name>, round_robin:<team> or fewest_open:<team>")


class CreateTask(ActionParams):
    title: str = Field(..., min_length=1, description="template")
    body: str = Field("", description="template")
    type: str | None = Field(None, description="task type (default: the playbook's task_type)")
    reason: str | None = None
    owner: OwnerRule = Field("account_owner", description="account_owner, manager, queue:<name>, "
                             "round_robin:<team> or fewest_open:<team>")
    due_days: float | None = Field(None, gt=0, description="due this many days after creation (default: the type's)")
    priority: str = "normal"
    checklist: list[str] = Field(default_factory=list)

    @field_validator("owner")
    @classmethod
    def _owner(cls, v: str) -> str:
        return _check_owner(v)

    def templates(self) -> dict[str, str]:
        return {"title": self.title, "body": self.body, **({"reason": self.reason} if self.reason else {})}


def _owner_of(ctx: ActionContext, rule: str) -> tuple[str | None, str | None]:
    """(owner, queue) of a new task on the context's account."""
    import pandas as pd

    from tenure.playbooks.tasks import assign_owners

    head, _, rest = rule.partition(":")
    if head == "queue":
        return None, rest
    if head == "account_owner":  # the rule of tenure.playbooks.tasks.assign_owners, without a query
        owner = ctx.account.get("owner")
        return (owner, None) if owner else (None, "unassigned")
    frame = pd.DataFrame({"account_id": [ctx.account.get("account_id")], "owner": [ctx.account.get("owner")]})
    if ctx.dry_run and head in ("round_robin", "fewest_open"):
        return f"({head} in team {rest})", None
    if ctx.batch is not None and len(ctx.batch) and head in ("round_robin", "fewest_open"):
        # these rules count the team's tasks in the state DB: the batch's tasks count too
        ctx.batch.write(ctx.session, settings=getattr(ctx.config, "tasks", None), now=ctx.now)
    owner = assign_owners(ctx.session, frame, head, rest or None,
                          model=getattr(ctx.config, "operating_model", None)).iloc[0]
    return (owner, None) if owner else (None, "unassigned")


def _task_row(ctx: ActionContext, p: CreateTask, step: str, *, owner: str | None, queue: str | None,
              title: str | None = None, due_days: float | None = None, priority: str | None = None,
              suffix: tuple[str, ...] = ()) -> dict[str, Any]:
    days = due_days if due_days is not None else p.due_days
    return dict(account_id=ctx.account["account_id"], contact_id=(ctx.contact or {}).get("contact_id"),
                type=p.type or ctx.playbook.task_type, reason=render(p.reason, ctx).strip() or None if p.reason else None,
                title=title or render(p.title, ctx),
                body=render(p.body, ctx), owner=owner, queue=queue,
                due_at=ctx.now + timedelta(days=days) if days is not None else None,
                priority=priority or p.priority, checklist=list(p.checklist), playbook=ctx.playbook.name,
                playbook_version=ctx.version, dedupe_key=ctx.key(step, *suffix))


def create_task(ctx: ActionContext, p: CreateTask, step: str) -> list[dict]:
    owner, queue = _owner_of(ctx, p.owner)
    row = _task_row(ctx, p, step, owner=owner, queue=queue)
    if ctx.dry_run:
        return [{"kind": "task", "title": row["title"], "owner": owner or f"queue {queue}", "type": row["type"],
                 "priority": row["priority"]}]
    item = {"kind": "task", "id": None, "title": row["title"], "owner": owner or f"queue {queue}", "created": False}
    if ctx.batch is not None:
        ctx.batch.add_task(row, item, ctx.actor)
        return [item]
    from tenure.playbooks.tasks import create_tasks

    ids = create_tasks(ctx.session, [row], actor=ctx.actor, settings=getattr(ctx.config, "tasks", None), now=ctx.now)
    item.update(id=ids[0] if ids else None, created=bool(ids))
    return [item]


class SendEmail(ActionParams):
    to: str = Field("contact", description="contact (the playbook's contact), role:<role> (the account's active "
                    "contacts of that role), or csm (the account's owner)")
    subject: str = Field(..., min_length=1, description="template")
    body: str = Field(..., min_length=1, description="template (plain text)")
    category: str = Field("playbooks", description="unsubscribe category")
    review: bool = Field(False, description="hold the email until the CSM releases it")
    from_csm: bool = Field(True, description="sent in the CSM's name, replies to the CSM")

    @field_validator("to")
    @classmethod
    def _to(cls, v: str) -> str:
        if v in ("contact", "csm") or (v.startswith("role:") and len(v) > 5):
            return v
        raise ValueError("to is contact, csm or role:<role>")

    def templates(self) -> dict[str, str]:
        return {"subject": self.subject, "body": self.body}


def _recipients(ctx: ActionContext, to: str) -> list[dict[str, Any]]:
    if to == "csm":
        return [ctx.csm] if ctx.csm and ctx.csm.get("email") else []
    if to == "contact":
        return [ctx.contact] if ctx.contact and ctx.contact.get("email") else []
    role = to.split(":", 1)[1]
    return [c for c in ctx.contacts if c.get("role") == role and c.get("email")]


def send_email(ctx: ActionContext, p: SendEmail, step: str) -> list[dict]:
    out = []
    for r in _recipients(ctx, p.to):
        # the template's `contact` is the person written to (a role's contact, not the playbook's)
        mine = replace(ctx, contact=r) if p.to.startswith("role:") else ctx
        subject = " ".join(render(p.subject, mine).split())
        payload = {"to": r["email"], "to_name": r.get("name") or "", "subject": subject, "text": render(p.body, mine)}
        if p.from_csm and ctx.csm:
            payload.update(from_name=ctx.csm.get("name") or "", reply_to=ctx.csm.get("email") or None)
            payload = {k: v for k, v in payload.items() if v is not None}
        # who reviews it when held (the account's task owner: tenure.access.Access.email) and for which account
        payload.update({k: ctx.account[k] for k in ("owner", "account_id") if ctx.account.get(k)})
        item = {"kind": "email", "to": r["email"], "subject": subject, "held_for_review": p.review}
        if not ctx.dry_run:
            message = dict(channel="email", payload=payload, dedupe_key=ctx.key(step, r["email"]),
                           category=p.category, hold_for_review=p.review, recipient_tz=r.get("timezone") or None)
            _enqueue(ctx, message, item)
        out.append(item)
    if not out:
        out.append({"kind": "email", "skipped": f"no email address for {p.to}"})
    return out


class Webhook(ActionParams):
    url: str = Field(..., pattern=r"^https?://", description="where to POST")
    format: Literal["json", "slack"] = Field("json", description="json (the occurrence) or slack (a text message)")
    text: str = Field("{{ playbook.title }}: {{ account.name }} — {{ trigger.detail }}",
                      description="template: the Slack message text")

    def templates(self) -> dict[str, str]:
        return {"text": self.text}


def webhook(ctx: ActionContext, p: Webhook, step: str) -> list[dict]:
    text = render(p.text, ctx)
    if p.format == "slack":
        payload: dict[str, Any] = {"url": p.url, "format": "slack", "text": text}
    else:
        payload = {"url": p.url, "body": {
            "playbook": ctx.playbook.name, "version": ctx.version, "account_id": ctx.account.get("account_id"),
            "account_name": ctx.account.get("name"), "contact_id": (ctx.contact or {}).get("contact_id"),
            "trigger": {k: (str(v) if v is not None else None) for k, v in ctx.trigger.items()}, "text": text}}
    item = {"kind": "webhook", "url": p.url, "format": p.format}
    if not ctx.dry_run:
        _enqueue(ctx, dict(channel="webhook", payload=payload, dedupe_key=ctx.key(step)), item)
    return [item]


def _enqueue(ctx: ActionContext, message: dict[str, Any], item: dict[str, Any]) -> None:
    """Add an outbox message (its id into `item`): now, or with the context's batch."""
    item["id"] = None
    if ctx.batch is not None:  # checked when the batch is written (InputError naming the dedupe key)
        ctx.batch.add_message(message, item)
        return
    from tenure.notify.outbox import enqueue

    msg = enqueue(ctx.session, **message)
    item["id"] = msg.id if msg is not None else None


class Escalate(ActionParams):
    """A task that moves up `path` when it is not done within `sla_hours` at each level."""

    title: str = Field(..., min_length=1, description="template")
    body: str = Field("", description="template")
    path: list[OwnerRule] = Field(..., min_length=1, description="owners in order, e.g. [account_owner, manager, "
                                  "queue:cs-leadership]")
    sla_hours: float = Field(48, gt=0, description="hours each level has before the next takes over")
    priority: str = "high"
    type: str | None = None
    reason: str | None = None

    @field_validator("path")
    @classmethod
    def _owners(cls, v: list[str]) -> list[str]:
        return [_check_owner(x) for x in v]

    def templates(self) -> dict[str, str]:
        return {"title": self.title, "body": self.body, **({"reason": self.reason} if self.reason else {})}


def escalate_level(ctx: ActionContext, p: Escalate, step: str, level: int) -> list[dict]:
    """Create the task of `level` on the path (0 = first); the engine calls it again with the
    next level when a level's task is not done by its due time."""
    owner, queue = _owner_of(ctx, p.path[level])
    as_task = CreateTask(title=p.title, body=p.body, type=p.type, reason=p.reason, priority=p.priority)
    title = render(p.title, ctx) + (f" (escalated, level {level + 1})" if level else "")
    row = _task_row(ctx, as_task, step, owner=owner, queue=queue, title=title, due_days=p.sla_hours / 24,
                    suffix=(f"level{level}",))
    item = {"kind": "task", "title": title, "owner": owner or f"queue {queue}", "escalation_level": level}
    if ctx.dry_run:
        return [item]
    if ctx.batch is not None:
        item.update(id=None, created=False, due_at=row["due_at"].isoformat())
        ctx.batch.add_task(row, item, ctx.actor)
        return [item]
    from tenure.playbooks.tasks import create_tasks

    ids = create_tasks(ctx.session, [row], actor=ctx.actor, settings=getattr(ctx.config, "tasks", None), now=ctx.now)
    item.update(id=ids[0] if ids else None, created=bool(ids), due_at=row["due_at"].isoformat())
    return [item]


def escalate(ctx: ActionContext, p: Escalate, step: str) -> list[dict]:
    return escalate_level(ctx, p, step, 0)


class SetField(ActionParams):
    """Set a field (or a tag) on the account in the state DB (table account_fields)."""

    field: str | None = Field(None, min_length=1, max_length=100, description="field name")
    value: str = Field("", description="template")
    tag: str | None = Field(None, min_length=1, max_length=90, description="a tag to add (field tag:<name>)")

    @model_validator(mode="after")
    def _one(self) -> SetField:
        if (self.field is None) == (self.tag is None):
            raise ValueError("set_field needs exactly one of `field` or `tag`")
        return self

    def templates(self) -> dict[str, str]:
        return {"value": self.value}

    @property
    def name(self) -> str:
        return self.field or f"tag:{self.tag}"


def set_field(ctx: ActionContext, p: SetField, step: str) -> list[dict]:
    value = render(p.value, ctx) if p.field else "1"
    item = {"kind": "field", "name": p.name, "value": value}
    if not ctx.dry_run:
        from tenure.playbooks.records import set_account_field

        set_account_field(ctx.session, ctx.account["account_id"], p.name, value,
                          source=f"playbook:{ctx.playbook.name}", now=ctx.now)
    return [item]


class EnrolSurvey(ActionParams):
    """Enrol contacts in a survey program; the voice-of-the-customer stage sends it."""

    program: str = Field(..., min_length=1, max_length=100)
    roles: list[str] = Field(default_factory=lambda: ["champion", "exec_sponsor"],
                             description="the account's active contacts of these roles (or the playbook's contact)")


def enrol_survey(ctx: ActionContext, p: EnrolSurvey, step: str) -> list[dict]:
    people = [ctx.contact] if ctx.contact else [c for c in ctx.contacts if c.get("role") in p.roles]
    out = []
    for c in people:
        item = {"kind": "survey", "program": p.program, "contact_id": c.get("contact_id")}
        if not ctx.dry_run:
            from tenure.playbooks.records import enrol_in_survey

            item["created"] = enrol_in_survey(ctx.session, p.program, ctx.account["account_id"], c.get("contact_id"),
                                              ctx.playbook.name, ctx.key(step, c.get("contact_id") or ""), ctx.now)
        out.append(item)
    return out or [{"kind": "survey", "program": p.program, "skipped": "no contact of roles " + ", ".join(p.roles)}]


@dataclass(frozen=True)
class ActionType:
    name: str
    params: type[ActionParams]
    run: Callable[[ActionContext, Any, str], list[dict]]
    description: str


ACTION_TYPES: dict[str, ActionType] = {}


def register_action(a: ActionType) -> ActionType:
    """Add an action type (a later stage's: the voice-of-the-customer stage makes enrol_survey send)."""
    ACTION_TYPES[a.name] = a
    return a


for _a in (
    ActionType("create_task", CreateTask, create_task, "create a task for the CSM, its manager or a queue"),
    ActionType("send_email", SendEmail, send_email, "send an email from a template (through the outbox)"),
    ActionType("webhook", Webhook, webhook, "POST JSON or a Slack message (through the outbox, HMAC-signed)"),
    ActionType("escalate", Escalate, escalate, "a task that moves up a path when not done within its SLA"),
    ActionType("set_field", SetField, set_field, "set a field or tag on the account"),
    ActionType("enrol_survey", EnrolSurvey, enrol_survey, "enrol contacts in a survey program"),
):
    register_action(_a)

# Action types later stages add (each module calls register_action when imported). Imported by
# name here, as tenure.voc.cli assembles its parts, so a playbook naming one validates wherever
# playbooks are loaded; a module not written yet is simply absent.
LATER_STAGE_ACTIONS = ("tenure.voc.actions",)


def _load_later_stage_actions() -> None:
    import importlib

    for name in LATER_STAGE_ACTIONS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise


_load_later_stage_actions()
