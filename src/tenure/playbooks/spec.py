"""Playbooks as reviewable config: one YAML file per playbook in the folder named by
`playbooks.folder` in tenure.yaml, validated with pydantic. Every error names the file, the line
and the field (pydantic's error location is mapped back to the YAML node it came from), so a
reviewer sees exactly what to fix. docs/playbooks.md documents every field.

CONTRACT:
    load_playbooks(config) -> list[Playbook]                 every file in the folder (raises on errors)
    load_file(path) -> Playbook                              one file
    validate_folder(folder) -> (list[Playbook], list[Problem])   never raises for a bad file
    Playbook.content_hash -> str                              what makes a new version
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from tenure.errors import ConfigError
from tenure.playbooks.actions import ACTION_TYPES, ActionParams, template_problem
from tenure.playbooks.conditions import Condition
from tenure.playbooks.triggers import TRIGGER_TYPES, TriggerParams

STATUSES = ("draft", "active", "paused", "retired")
NAME_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Wait(_Strict):
    """Wait a number of days, until a condition holds, or both (whichever comes first when both
    are given; `max_days` caps a wait on a condition)."""

    days: float | None = Field(None, gt=0, description="wait this many days")
    until: list[Condition] | None = Field(None, description="wait until every condition holds (checked each run)")
    max_days: float | None = Field(None, gt=0, description="give up waiting on `until` after this many days")

    @model_validator(mode="after")
    def _something(self) -> Wait:
        if self.days is None and not self.until:
            raise ValueError("a wait needs `days`, `until` (conditions) or both")
        return self


class Step(_Strict):
    """One step: exactly one of `action` (with its fields), `wait`, or `branch`."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    action: str | None = Field(None, description="an action type: " + ", ".join(sorted(ACTION_TYPES)))
    wait: Wait | None = None
    branch: Branch | None = None
    name: str | None = Field(None, description="a label shown in results")
    _params: Any = PrivateAttr(None)

    @model_validator(mode="after")
    def _exactly_one(self) -> Step:
        given = [k for k in ("action", "wait", "branch") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a step is exactly one of `action`, `wait` or `branch`")
        if self.action is None and self.model_extra:
            raise ValueError(f"unknown field(s) {', '.join(sorted(self.model_extra))} on a {given[0]} step")
        if self.action is not None and self.action not in ACTION_TYPES:
            raise ValueError(f"unknown action {self.action!r}; actions are {', '.join(sorted(ACTION_TYPES))}")
        return self

    @property
    def params(self) -> ActionParams | None:
        """The action's own fields, validated by its type (set by `parse`)."""
        return self._params


class Branch(_Strict):
    """Go one way or another on a condition checked when the step is reached."""

    if_: list[Condition] = Field(..., alias="if", min_length=1, description="conditions (all must hold)")
    then: list[Step] = Field(default_factory=list, description="steps when they hold")
    else_: list[Step] = Field(default_factory=list, alias="else", description="steps when they do not")


Step.model_rebuild()


class Experiment(_Strict):
    holdout: float = Field(0.0, ge=0, lt=1, description="share of fired accounts held out (no actions), by a "
                           "stable hash of the playbook and the account")
    salt: str = Field("", description="change it to draw a fresh assignment")


class Playbook(_Strict):
    """One playbook file."""

    name: str = Field(..., pattern=NAME_PATTERN, description="unique name (lower case, digits, _ and -)")
    title: str | None = Field(None, description="what people see")
    description: str = ""
    status: Literal["draft", "active", "paused", "retired"] = Field(
        "draft", description="draft (preview only), active, paused (no new firings), retired")
    per: Literal["account", "contact"] = Field("account", description="fire once per account, or per contact")
    contact_roles: list[str] = Field(default_factory=lambda: ["champion", "exec_sponsor"],
                                     description="for per: contact, the roles an account-level trigger fans out to")
    triggers: list[dict[str, Any]] = Field(..., min_length=1, description="any one of them fires the playbook")
    audience: list[Condition] = Field(default_factory=list, description="only accounts meeting every condition")
    steps: list[Step] = Field(..., min_length=1)
    exit_when: list[Condition] = Field(default_factory=list,
                                       description="the goal: an account meeting every condition leaves")
    cooldown_days: float = Field(0, ge=0, description="no new start on an account within this many days of the last")
    max_per_run: int = Field(500, ge=1, description="a run that would start more stops before creating anything")
    keep_open: bool = Field(False, description="keep tasks open when the trigger clears or the goal is met")
    on_pause: Literal["keep_open", "close"] = Field("keep_open", description="open tasks when paused")
    on_retire: Literal["keep_open", "close"] = Field("close", description="open tasks when retired")
    experiment: Experiment = Field(default_factory=Experiment)
    task_type: str = Field("lifecycle", description="default type of the tasks it creates (risk, renewal, "
                           "expansion, onboarding, lifecycle)")

    file: str = Field("", exclude=True)
    _triggers: list[TriggerParams] = PrivateAttr(default_factory=list)

    @field_validator("triggers")
    @classmethod
    def _typed(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return v

    @property
    def trigger_params(self) -> list[TriggerParams]:
        return self._triggers

    @property
    def content_hash(self) -> str:
        """sha256 of what the playbook does (everything but its status): a new hash is a new version."""
        body = self.model_dump(mode="json", by_alias=True, exclude={"status", "file"})
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()

    def walk_steps(self) -> list[tuple[str, Step]]:
        """(path, step) of every step, branches included: '0', '2.then.0', ..."""
        out: list[tuple[str, Step]] = []

        def walk(steps: list[Step], prefix: str) -> None:
            for i, s in enumerate(steps):
                path = f"{prefix}{i}"
                out.append((path, s))
                if s.branch is not None:
                    walk(s.branch.then, f"{path}.then.")
                    walk(s.branch.else_, f"{path}.else.")

        walk(self.steps, "")
        return out

    def step_at(self, path: str) -> Step:
        node: list[Step] = self.steps
        parts = path.split(".")
        step = node[int(parts[0])]
        i = 1
        while i < len(parts):
            node = step.branch.then if parts[i] == "then" else step.branch.else_
            step = node[int(parts[i + 1])]
            i += 2
        return step


# -- errors that name the file, the line and the field -----------------------------------------


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


def _node_line(root: yaml.Node | None, loc: tuple[Any, ...], key_error: bool = False) -> int | None:
    """The 1-based line of the YAML node at `loc` (the deepest node found on the way)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for i, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(part):
                    last = i == len(loc) - 1
                    node = k if (key_error and last) else v
                    line = node.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


ALIASES = {"in_": "in", "from_": "from", "if_": "if", "else_": "else"}


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + ALIASES.get(str(part), str(part))
    return out


def _yaml_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """pydantic's location with its union/model tags removed and aliases restored."""
    return tuple(ALIASES.get(p, p) if isinstance(p, str) else p for p in loc
                 if not (isinstance(p, str) and (p.startswith("function-") or p in ("Step", "Condition"))))


def _problems_of(err: ValidationError, file: str, root: yaml.Node | None, prefix: tuple = ()) -> list[Problem]:
    out = []
    for e in err.errors():
        loc = prefix + _yaml_loc(tuple(e["loc"]))
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        else:
            msg = e["msg"].removeprefix("Value error, ")
            value = e.get("input")
            if e["type"] not in ("missing",) and not isinstance(value, (dict, list)) and value is not None:
                msg += f" (got {value!r})"
        out.append(Problem(file, _node_line(root, loc, key_error=e["type"] == "extra_forbidden"), _field(loc), msg))
    return out


def parse(text: str, file: str, tasks: Any = None) -> tuple[Playbook | None, list[Problem]]:
    """Validate one playbook file's text; returns the playbook or the problems found. With `tasks`
    (tenure.yaml `tasks:`), task types, fixed reasons and priorities are checked against it too."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        return None, [Problem(file, mark.line + 1 if mark else None, "", f"not valid YAML: "
                              f"{getattr(err, 'problem', None) or err}")]
    if not isinstance(data, dict):
        return None, [Problem(file, 1, "", "a playbook file is a mapping of fields (name, triggers, steps, ...)")]
    problems: list[Problem] = []
    pb: Playbook | None = None
    try:
        pb = Playbook.model_validate(data)
    except ValidationError as err:
        problems += _problems_of(err, file, root)
    triggers: list[TriggerParams] = []
    raw_triggers = data.get("triggers") if isinstance(data.get("triggers"), list) else []
    for i, raw in enumerate(raw_triggers):
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind not in TRIGGER_TYPES:
            problems.append(Problem(file, _node_line(root, ("triggers", i, "type")), f"triggers[{i}].type",
                                    f"unknown trigger type {kind!r}; types are {', '.join(sorted(TRIGGER_TYPES))}"))
            continue
        try:
            triggers.append(TRIGGER_TYPES[kind].params.model_validate(raw))
        except ValidationError as err:
            problems += _problems_of(err, file, root, ("triggers", i))
    ids = [t.trigger_id for t in triggers]
    for dup in sorted({x for x in ids if ids.count(x) > 1}):
        problems.append(Problem(file, _node_line(root, ("triggers",)), "triggers",
                                f"two triggers are both called {dup!r}; give one an `id`"))
    params: dict[str, ActionParams] = {}
    for path, raw in _raw_steps(data.get("steps")):
        kind = raw.get("action")
        if kind not in ACTION_TYPES:
            continue  # reported by the Playbook model
        loc = _step_loc(path)
        fields = {k: v for k, v in raw.items() if k not in ("action", "name", "wait", "branch")}
        try:
            validated = ACTION_TYPES[kind].params.model_validate(fields)
        except ValidationError as err:
            problems += _problems_of(err, file, root, loc)
            continue
        for field_name, message in template_problem(validated):
            problems.append(Problem(file, _node_line(root, (*loc, field_name)), _field((*loc, field_name)), message))
        params[path] = validated
    if tasks is not None and pb is not None:
        problems += _task_vocabulary(pb, params, tasks, file, root)
    if problems or pb is None:
        return None, problems
    for path, step in pb.walk_steps():
        if step.action is not None:
            step._params = params[path]
    pb._triggers = triggers
    pb.file = file
    return pb, []


def _task_vocabulary(pb: Playbook, params: dict[str, ActionParams], tasks: Any, file: str,
                     root: yaml.Node | None) -> list[Problem]:
    """Task types, fixed (non-template) reasons and priorities of task-making steps, checked
    against tenure.yaml `tasks:` so a run never fails on them."""
    out: list[Problem] = []
    types = getattr(tasks, "types", {}) or {}
    if pb.task_type not in types:
        out.append(Problem(file, _node_line(root, ("task_type",)), "task_type",
                           f"{pb.task_type!r} is not a task type in tenure.yaml tasks.types ({', '.join(types)})"))
    for path, p in params.items():
        if not hasattr(p, "priority") or not hasattr(p, "type"):
            continue
        loc = _step_loc(path)
        kind = p.type or pb.task_type
        if p.type is not None and p.type not in types:
            out.append(Problem(file, _node_line(root, (*loc, "type")), _field((*loc, "type")),
                               f"{p.type!r} is not a task type in tenure.yaml tasks.types ({', '.join(types)})"))
        allowed = types[kind].reasons if kind in types else []
        reason = getattr(p, "reason", None)
        if reason and "{" not in reason and allowed and reason not in allowed:
            out.append(Problem(file, _node_line(root, (*loc, "reason")), _field((*loc, "reason")),
                               f"{reason!r} is not a reason of task type {kind} ({', '.join(allowed)})"))
        if p.priority not in (getattr(tasks, "priorities", {}) or {}):
            out.append(Problem(file, _node_line(root, (*loc, "priority")), _field((*loc, "priority")),
                               f"{p.priority!r} is not a priority in tenure.yaml tasks.priorities "
                               f"({', '.join(tasks.priorities)})"))
    return out


def _raw_steps(steps: Any, prefix: str = "") -> list[tuple[str, dict]]:
    """(path, raw mapping) of every step in the file's data, branches included."""
    out: list[tuple[str, dict]] = []
    if not isinstance(steps, list):
        return out
    for i, s in enumerate(steps):
        if not isinstance(s, dict):
            continue
        path = f"{prefix}{i}"
        out.append((path, s))
        b = s.get("branch")
        if isinstance(b, dict):
            out += _raw_steps(b.get("then"), f"{path}.then.")
            out += _raw_steps(b.get("else"), f"{path}.else.")
    return out


def _step_loc(path: str) -> tuple[Any, ...]:
    parts = path.split(".")
    loc: list[Any] = ["steps", int(parts[0])]
    i = 1
    while i < len(parts):
        loc += ["branch", parts[i], int(parts[i + 1])]
        i += 2
    return tuple(loc)


def load_file(path: str | Path) -> Playbook:
    path = Path(path)
    pb, problems = parse(path.read_text(encoding="utf-8"), path.name)
    if problems:
        raise ConfigError("\n".join(str(p) for p in problems))
    return pb


def playbook_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []


def validate_folder(folder: str | Path, tasks: Any = None) -> tuple[list[Playbook], list[Problem]]:
    """Every playbook file in `folder`: the valid ones, and the problems of the others (with
    names used twice reported on the second file)."""
    folder = Path(folder)
    books: list[Playbook] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in playbook_files(folder):
        pb, found = parse(path.read_text(encoding="utf-8"), path.name, tasks)
        problems += found
        if pb is None:
            continue
        if pb.name in seen:
            problems.append(Problem(path.name, 1, "name", f"{pb.name!r} is also the name of {seen[pb.name]}; "
                                    "each playbook needs its own name"))
            continue
        seen[pb.name] = path.name
        books.append(pb)
    return books, problems


def playbooks_folder(config: Any) -> Path:
    return config.resolve_path(config.playbooks.folder)


def load_playbooks(config: Any) -> list[Playbook]:
    """The playbooks of the project's folder; a ConfigError listing every problem if any file is bad."""
    books, problems = validate_folder(playbooks_folder(config), getattr(config, "tasks", None))
    if problems:
        raise ConfigError("invalid playbooks:\n" + "\n".join(f"  {p}" for p in problems))
    return books


def find(books: list[Playbook], name: str) -> Playbook:
    from tenure.errors import NotFoundError

    for b in books:
        if b.name == name:
            return b
    raise NotFoundError(f"no playbook named {name!r}; known: {', '.join(b.name for b in books) or 'none'} "
                        "(see `tenure playbooks list`)")
