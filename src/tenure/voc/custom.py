"""Custom surveys: several questions (single or multiple choice, rating, ranking, text) with
branching, defined in tenure.yaml `custom_surveys` (tenure.config.CustomSurvey).

Answers are a mapping question id -> value:

    single   the option chosen (str)          multi    the options chosen (list[str])
    rating   the value on the scale (int)     ranking  every option, first = best (list[str])
    text     the text (str)                   None     asked but left blank (optional questions)

Branching is decided here, by pure functions, so the public page, the CLI and the tests walk a
survey the same way:

- `show_if` on a question: it is asked only when all its conditions hold on earlier pages'
  answers (a hidden question is never asked, and an answer to it is refused);
- `skip_to` on a question: once it is answered, the first rule that holds jumps to a later
  question (or to the end); the questions in between are not asked.

`path(survey, answers)` is the questions asked so far and next, `next_question` / `next_page` the
first unanswered ones, `validate(survey, answers)` refuses an answer set naming each question and
what to do, and `answer_rows` turns a finished answer set into survey_answers rows (one per
answer; one per option chosen or ranked), which `record` loads through the one ingest path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from tenure.config import END_OF_SURVEY, AnswerCondition, Config, CustomQuestion, CustomSurvey
from tenure.errors import InputError, NotFoundError
from tenure.ingest.pipeline import IngestResult, ingest_table
from tenure.notify.signing import project_secret
from tenure.voc.tokens import check_form_nonce, form_nonce, link_token, read_link_token
from tenure.warehouse import Warehouse

Answers = Mapping[str, Any]


@dataclass(frozen=True)
class AnswerError:
    """One problem with an answer set: the question (or '' for the set) and what to do."""

    question: str
    message: str

    def __str__(self) -> str:
        return f"{self.question}: {self.message}" if self.question else self.message


def get_survey(config: Config, survey_id: str) -> CustomSurvey:
    survey = config.custom_surveys.get(survey_id)
    if survey is None:
        known = ", ".join(sorted(config.custom_surveys)) or "none defined (tenure.yaml custom_surveys)"
        raise NotFoundError(f"no custom survey {survey_id!r}; known: {known}")
    return survey


# ---------------------------------------------------------------------------------------------
# conditions and the path


def _norm(v: Any) -> str:
    return str(v).strip().lower()


def holds(c: AnswerCondition, answers: Answers) -> bool:
    """Whether condition `c` holds on the answers so far (an unanswered question matches only
    answered: false)."""
    value = answers.get(c.question)
    given = value is not None and value != "" and value != []
    if c.answered is not None:
        return given == c.answered
    if not given:
        return False
    if c.any_of is not None:
        wanted = {_norm(o) for o in c.any_of}
        chosen = value if isinstance(value, list) else [value]
        return any(_norm(o) in wanted for o in chosen)
    if c.equals is not None:
        if isinstance(c.equals, str):
            return _norm(value) == _norm(c.equals)
        return _number(value) == float(c.equals)
    n = _number(value)
    if n is None:
        return False
    return (c.at_least is None or n >= c.at_least) and (c.at_most is None or n <= c.at_most)


def _number(v: Any) -> float | None:
    try:
        n = float(v)
    except (TypeError, ValueError):
        return None
    return n if math.isfinite(n) else None


def path(survey: CustomSurvey, answers: Answers) -> list[CustomQuestion]:
    """The questions asked, in order, given the answers so far: hidden ones (show_if) and skipped
    ones (skip_to) are left out, and it stops at a skip to the end. Past a question not answered
    yet, the later questions are listed as if it jumped nowhere (its jump is decided when it is
    answered), so only the part up to the first unanswered question is settled."""
    out: list[CustomQuestion] = []
    skipping_to: str | None = None
    for q in survey.questions:
        if skipping_to is not None:
            if q.id != skipping_to:
                continue
            skipping_to = None
        if not all(holds(c, answers) for c in q.show_if):
            continue
        out.append(q)
        if q.id not in answers:
            continue  # unanswered: its skip rules are not decided yet; later questions still listed
        for rule in q.skip_to:
            if holds(rule.when, answers):
                if rule.to == END_OF_SURVEY:
                    return out
                skipping_to = rule.to
                break
    return out


def next_question(survey: CustomSurvey, answers: Answers) -> CustomQuestion | None:
    """The first question on the path not answered yet; None when the survey is complete."""
    return next((q for q in path(survey, answers) if q.id not in answers), None)


def pages(survey: CustomSurvey) -> list[list[CustomQuestion]]:
    """The survey's pages: runs of questions sharing a `page` name; a question without one is a
    page of its own."""
    out: list[list[CustomQuestion]] = []
    prev: CustomQuestion | None = None
    for q in survey.questions:
        if prev is not None and q.page is not None and q.page == prev.page:
            out[-1].append(q)
        else:
            out.append([q])
        prev = q
    return out


def next_page(survey: CustomSurvey, answers: Answers) -> list[CustomQuestion]:
    """The questions to show on the next page: the first unanswered question and the unanswered
    questions of its page that are on the path (show_if only looks at earlier pages, so the whole
    page is decided). Empty when the survey is complete."""
    first = next_question(survey, answers)
    if first is None:
        return []
    asked = {q.id for q in path(survey, answers)}
    page = next(p for p in pages(survey) if first in p)
    start = page.index(first)
    out = []
    for q in page[start:]:
        if q.id in asked and q.id not in answers:
            out.append(q)
            if any(r.when.question == q.id for r in q.skip_to):
                break  # a jump after this one: the rest of the page waits for its answer
    return out


def progress(survey: CustomSurvey, answers: Answers) -> tuple[int, int]:
    """(pages done, pages in all) for a progress line: pages of the current path count, unseen
    pages count as still to come."""
    done = sum(1 for p in pages(survey) if any(q.id in answers for q in p))
    return done, len(pages(survey))


# ---------------------------------------------------------------------------------------------
# checking one answer and an answer set


def check_answer(q: CustomQuestion, value: Any) -> tuple[Any, str | None]:
    """(the answer in its canonical form, None) or (None, what is wrong). Options are matched
    without regard to case or surrounding spaces and returned as written in the definition."""
    if value is None or value == "" or value == []:
        return None, ("an answer is required" if q.required else None)
    by_norm = {_norm(o): o for o in q.options}
    if q.type == "single":
        if isinstance(value, list):
            return None, "choose one option"
        o = by_norm.get(_norm(value))
        return (o, None) if o else (None, f"{str(value)[:80]!r} is not an option; choose one of "
                                          f"{', '.join(q.options)}")
    if q.type in ("multi", "ranking"):
        items = value if isinstance(value, list) else [value]
        chosen = []
        for item in items:
            o = by_norm.get(_norm(item))
            if o is None:
                return None, f"{str(item)[:80]!r} is not an option; choose from {', '.join(q.options)}"
            if o in chosen:
                return None, f"{o!r} is given twice"
            chosen.append(o)
        if q.type == "multi" and q.max_choices is not None and len(chosen) > q.max_choices:
            return None, f"choose at most {q.max_choices} options (got {len(chosen)})"
        if q.type == "ranking" and len(chosen) != len(q.options):
            missing = [o for o in q.options if o not in chosen]
            return None, f"rank every option (missing: {', '.join(missing)})"
        return chosen, None
    if q.type == "rating":
        n = _number(value)
        if n is None or n != int(n):
            return None, f"{str(value)[:40]!r} is not a whole number from {q.scale_min} to {q.scale_max}"
        if not q.scale_min <= n <= q.scale_max:
            return None, f"{int(n)} is off the scale; give {q.scale_min} to {q.scale_max}"
        return int(n), None
    text = str(value).strip()
    if "\x00" in text:
        return None, "the text holds a NUL character"
    if len(text) > q.max_length:
        return None, f"the text is {len(text):,} characters; shorten it to {q.max_length:,}"
    return (text or None), (None if text or not q.required else "an answer is required")


def validate(survey: CustomSurvey, answers: Answers, *, complete: bool = True) -> tuple[dict[str, Any],
                                                                                         list[AnswerError]]:
    """Check an answer set against the definition: (canonical answers, errors). Unknown
    questions, answers to questions the branching does not ask, and bad values are errors; with
    `complete`, so is a required question on the path left unanswered."""
    errors: list[AnswerError] = []
    known = {q.id: q for q in survey.questions}
    for qid in answers:
        if qid not in known:
            errors.append(AnswerError(qid, f"no such question in this survey (questions: {', '.join(known)})"))
    clean: dict[str, Any] = {}
    for qid, value in answers.items():
        if qid in known:
            v, err = check_answer(known[qid], value)
            if err:
                errors.append(AnswerError(qid, err))
            else:
                clean[qid] = v
    asked = {q.id for q in path(survey, clean)}
    for qid in list(clean):
        if qid not in asked:
            errors.append(AnswerError(qid, "this question is not asked given the earlier answers (branching); "
                                           "leave it out"))
            del clean[qid]
    if complete:
        for q in path(survey, clean):
            if q.id not in clean and q.id not in answers:
                if q.required:
                    errors.append(AnswerError(q.id, "an answer is required"))
                else:
                    clean[q.id] = None
    return clean, errors


def validated(survey: CustomSurvey, answers: Answers, *, survey_id: str = "") -> dict[str, Any]:
    """The canonical answers, or InputError listing every problem (question: what to do)."""
    clean, errors = validate(survey, answers)
    if errors:
        where = f"survey {survey_id}: " if survey_id else ""
        raise InputError(where + "; ".join(str(e) for e in errors))
    return clean


def parse_form(q: CustomQuestion, form: Mapping[str, Sequence[str]]) -> tuple[Any, str | None]:
    """(a question's answer from a submitted HTML form, None) or (None, what is wrong). Field
    `q_<id>`; multi: several values; ranking: `q_<id>_<n>` = the rank 1..n given to the n-th
    option (select boxes). The answer still goes through check_answer."""
    name = f"q_{q.id}"
    if q.type == "multi":
        return [v for v in form.get(name, []) if v], None
    if q.type == "ranking":
        ranks: dict[str, int] = {}
        for i, o in enumerate(q.options):
            raw = (form.get(f"{name}_{i}") or [""])[0].strip()
            if raw:
                n = _number(raw)
                if n is None or n != int(n) or not 1 <= n <= len(q.options):
                    return None, f"give {o!r} a rank from 1 to {len(q.options)}"
                ranks[o] = int(n)
        if not ranks:
            return [], None
        if sorted(ranks.values()) != list(range(1, len(q.options) + 1)):
            return None, f"give each option a different rank, from 1 to {len(q.options)}"
        return [o for o, _ in sorted(ranks.items(), key=lambda kv: kv[1])], None
    values = form.get(name) or [""]
    return values[0], None


# ---------------------------------------------------------------------------------------------
# survey_answers rows


ROW_COLUMNS = ("answer_id", "response_id", "survey_id", "question_id", "question_type", "account_id", "contact_id",
               "answered_at", "choice", "number", "text", "question")


def answer_rows(survey_id: str, survey: CustomSurvey, answers: Answers, *, response_id: str, account_id: str,
                contact_id: str | None, answered_at: datetime) -> list[dict[str, str | None]]:
    """survey_answers rows (values as text, as a file would carry them) of a validated answer
    set: one per answer; one per option chosen (multi) or ranked (ranking, number = rank)."""
    by_id = {q.id: q for q in survey.questions}
    when = answered_at.isoformat(sep=" ")
    rows: list[dict[str, str | None]] = []
    for qid, value in answers.items():
        q = by_id[qid]
        if value is None:
            continue
        base = {"response_id": response_id, "survey_id": survey_id, "question_id": qid, "question_type": q.type,
                "account_id": account_id, "contact_id": contact_id, "answered_at": when, "question": q.text,
                "choice": None, "number": None, "text": None}
        if q.type in ("multi", "ranking"):
            for i, o in enumerate(value, start=1):
                rows.append({**base, "answer_id": f"{response_id}:{qid}:{i}", "choice": o,
                             "number": str(i) if q.type == "ranking" else None})
        elif q.type == "single":
            rows.append({**base, "answer_id": f"{response_id}:{qid}", "choice": value})
        elif q.type == "rating":
            rows.append({**base, "answer_id": f"{response_id}:{qid}", "number": str(value)})
        else:
            rows.append({**base, "answer_id": f"{response_id}:{qid}", "text": value})
    return rows


def rows_table(rows: Sequence[Mapping[str, str | None]]) -> pa.Table:
    return pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in ROW_COLUMNS})


def record(wh: Warehouse, config: Config, rows: Sequence[Mapping[str, str | None]], *,
           source: str = "tenure-survey", label: str = "custom survey") -> IngestResult:
    """Load survey_answers rows through the one ingest path (validation, quarantine, upsert by
    answer_id: recording the same answers twice changes nothing). Returns the ingest result."""
    return ingest_table(wh, config, "survey_answers", rows_table(rows), source=source, file_label=label)


# ---------------------------------------------------------------------------------------------
# what was answered (read from the warehouse, counted in the engine)


def answer_counts(wh: Warehouse) -> dict[str, dict[str, Any]]:
    """survey_id -> {respondents, answers, last_answered} over survey_answers (custom surveys
    and imported exports alike)."""
    if not wh.has_table("survey_answers"):
        return {}
    t = wh.table("survey_answers")
    agg = t.group_by("survey_id").aggregate(respondents=t.response_id.nunique(), answers=t.count(),
                                            last_answered=t.answered_at.max())
    df = wh.execute(agg)
    return {r["survey_id"]: {"respondents": int(r["respondents"]), "answers": int(r["answers"]),
                             "last_answered": r["last_answered"]} for r in df.to_dict("records")}


def question_summary(wh: Warehouse, survey_id: str) -> list[dict[str, Any]]:
    """Per question and option: answers, and the mean number (rating, or the mean rank of an
    option in a ranking), for one survey; counted in the engine."""
    t = wh.table("survey_answers")
    t = t.filter(t.survey_id == survey_id)
    agg = t.group_by(["question_id", "question_type", "choice"]).aggregate(
        answers=t.count(), respondents=t.response_id.nunique(), mean=t.number.mean())
    df = wh.execute(agg.order_by(["question_id", "choice"]))
    return [{k: (None if v != v else v) for k, v in r.items()} for r in df.to_dict("records")]


# ---------------------------------------------------------------------------------------------
# links, the page's signed state, and the inbox of finished answers
#
# A custom survey's link is a share-link token (tenure.voc.tokens.link_token) whose "program" is
# `custom:<survey>:<issued, Unix seconds>:<contact>`, signed with the project secret: the
# survey, account, contact and age cannot be edited, and it expires `expiry_days` after it was
# issued. Between pages the answers so far travel in the form, signed (HMAC over the response,
# the token and the answers), so the page keeps no session and a respondent cannot change an
# earlier page's answers behind the branching's back. Every POST carries the response's form
# nonce (tenure.voc.tokens.form_nonce): a page that was never shown cannot be posted (CSRF).
# A finished answer set is written as one JSON file to the inbox (`<runs_dir>/custom_surveys/`)
# and `sync_inbox` loads the inbox through the ingest path (the worker's job, or
# `tenure voc custom sync`): the public page never writes the warehouse itself.

LINK_PREFIX = "custom:"
_STATE = b"tenure-custom-survey-state:"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Claim:
    survey_id: str
    account_id: str
    contact_id: str | None
    issued_at: datetime


def link_for(config: Config, survey_id: str, account_id: str, contact_id: str | None = None, *,
             now: datetime | None = None) -> str:
    """The token of a link to a custom survey for an account (and a contact)."""
    get_survey(config, survey_id)
    if ":" in survey_id or "\n" in (contact_id or ""):
        raise InputError(f"survey id {survey_id!r} / contact {contact_id!r}: ':' and new lines are not allowed")
    issued = int((now or _now()).replace(tzinfo=timezone.utc).timestamp())
    program = f"{LINK_PREFIX}{survey_id}:{issued}:{contact_id or ''}"
    return link_token(project_secret(config), program, account_id)


def read_link(config: Config, token: str | None, *, now: datetime | None = None) -> tuple[str, Claim | None]:
    """(status, claim): status ok, invalid (forged, edited, unknown survey), expired or paused."""
    got = read_link_token(project_secret(config), token)
    if not got or not got[0].startswith(LINK_PREFIX):
        return "invalid", None
    survey_id, _, rest = got[0][len(LINK_PREFIX):].partition(":")
    issued, _, contact = rest.partition(":")
    survey = config.custom_surveys.get(survey_id)
    if survey is None or not issued.isdigit():
        return "invalid", None
    claim = Claim(survey_id, got[1], contact or None,
                  datetime.fromtimestamp(int(issued), timezone.utc).replace(tzinfo=None))
    if survey.status != "active":
        return "paused", claim
    if (now or _now()) > claim.issued_at + timedelta(days=survey.expiry_days):
        return "expired", claim
    return "ok", claim


def new_response_id() -> str:
    """A response id for one visit: 'c' and 16 URL-safe characters (96 bits)."""
    return "c" + secrets.token_urlsafe(12)


def nonce(config: Config, response_id: str) -> str:
    return form_nonce(project_secret(config), response_id)


def check_nonce(config: Config, response_id: str | None, value: str | None) -> bool:
    return bool(response_id) and check_form_nonce(project_secret(config), str(response_id), value)


def sign_state(config: Config, response_id: str, token: str, answers: Answers) -> str:
    """The answers so far as text for a hidden field: base64(JSON).mac."""
    body = base64.urlsafe_b64encode(json.dumps(answers, sort_keys=True, separators=(",", ":")).encode()).decode()
    mac = hmac.new(project_secret(config), _STATE + f"{response_id}\n{token}\n{body}".encode(),
                   hashlib.sha256).hexdigest()[:32]
    return f"{body}.{mac}"


def read_state(config: Config, response_id: str, token: str, state: str | None) -> dict[str, Any] | None:
    """The answers of a genuine state field; None when it was forged or edited."""
    if not state or len(state) > 200_000 or state.count(".") != 1:
        return None
    body, mac = state.split(".")
    want = hmac.new(project_secret(config), _STATE + f"{response_id}\n{token}\n{body}".encode(),
                    hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(want, mac):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def inbox(config: Config) -> Path:
    return config.runs_dir / "custom_surveys"


def save_finished(config: Config, claim: Claim, response_id: str, answers: Answers, *,
                  now: datetime | None = None) -> Path:
    """Write a finished, validated answer set to the inbox (atomically: a reader never sees half
    a file). The file is named by the response, so a repeated POST rewrites the same file."""
    survey = get_survey(config, claim.survey_id)
    rows = answer_rows(claim.survey_id, survey, answers, response_id=response_id, account_id=claim.account_id,
                       contact_id=claim.contact_id, answered_at=now or _now())
    folder = inbox(config)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{response_id}.json"
    tmp = folder / f".{response_id}.{secrets.token_hex(4)}.tmp"
    tmp.write_text(json.dumps(rows), encoding="utf-8")
    os.replace(tmp, path)
    return path


def pending(config: Config) -> list[Path]:
    folder = inbox(config)
    return sorted(folder.glob("c*.json")) if folder.is_dir() else []


def sync_inbox(config: Config, wh: Warehouse, *, limit: int = 5000) -> IngestResult | None:
    """Load the inbox's finished answer sets into survey_answers through the ingest path (one
    run), then remove the files it loaded. Rows the validation refuses (e.g. an account that is
    not in the warehouse yet) are quarantined like any file's; their files stay for the next
    run. Idempotent: answer ids are the natural key."""
    files = pending(config)[:limit]
    if not files:
        return None
    rows: list[dict[str, Any]] = []
    owner: list[Path] = []
    for f in files:
        for r in json.loads(f.read_text(encoding="utf-8")):
            rows.append(r)
            owner.append(f)
    result = record(wh, config, rows, label=str(inbox(config)))
    refused: set[Path] = set()
    if result.rejected:
        q = wh.table("quarantine")
        bad = wh.execute(q.filter(q.run_id == result.run_id).select("row_number"))
        refused = {owner[int(n) - 1] for n in bad["row_number"]}
    for f in files:
        if f not in refused:
            f.unlink(missing_ok=True)
    return result
