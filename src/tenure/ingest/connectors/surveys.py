"""What the survey exports share (the generic survey CSV, Delighted, SurveyMonkey): one row per
respondent in, survey_responses (the score question) and survey_answers (every other
question, one row per answer) out.

Every row carries the data row it came from (`__row`, 1 = the first respondent), so a rejected
response or answer is quarantined with its file, row and column. A respondent is loaded whole or
not at all: when the score cannot be a score of its kind, the respondent's answers are refused
too (reason bad_row, naming the score), and when an answer's number cannot be read, the
respondent's response is refused (naming the question) — so an import never leaves half a
respondent behind. Dates, accounts and ids are shared by both tables, so validation refuses them
in both. All of it is done per column with Arrow compute, never per row in Python."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from tenure.ingest import readers
from tenure.schema.facts import SURVEY_SCORE_RANGE

STR = pa.string()


def blank(a: pa.Array) -> pa.Array:
    """True where a text value is missing or only spaces."""
    return pc.fill_null(pc.equal(pc.utf8_trim_whitespace(a), ""), True)


def clean(a: pa.Array) -> pa.Array:
    """Trimmed text, empty -> null."""
    t = pc.utf8_trim_whitespace(a.cast(STR))
    return pc.if_else(pc.equal(t, ""), pa.nulls(len(a), STR), t)


def nulls(n: int) -> pa.Array:
    return pa.nulls(n, STR)


def const(value: str | None, n: int) -> pa.Array:
    return pa.array([value] * n, STR)


def leading_number(a: pa.Array) -> pa.Array:
    """'9', '9 - Very likely', ' 10 ' -> '9', '9', '10'; anything else unchanged (so validation
    names the bad value)."""
    extracted = pc.extract_regex(pc.fill_null(a, ""), r"^\s*(?P<n>-?\d+(?:\.\d+)?)(?:\s*[-–:].*)?\s*$")
    n = pc.struct_field(extracted, "n")
    return pc.if_else(pc.is_valid(extracted), n, a)


def is_number(a: pa.Array) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(a, r"^\s*-?\d+(\.\d+)?\s*$"), False)


@dataclass
class Question:
    """One question's answers as columns of the respondents' table.

    single / text / rating: `values` is one column (the option, the text, the number).
    multi: `options` maps each option to a column that is non-empty when it was chosen.
    ranking: `options` maps each option to a column holding its rank (1 = first).
    `other` is an "other (please specify)" text column of a choice question."""

    question_id: str
    type: str
    text: str
    values: pa.Array | None = None
    options: dict[str, pa.Array] | None = None
    other: pa.Array | None = None
    header: str = ""  # the column(s) in the export, named in messages


def _answers_of(q: Question, base: dict[str, pa.Array], n: int) -> list[pa.Table]:
    """survey_answers rows of one question (only where answered; a respondent without an id
    gives rows without one, which validation quarantines as `required`)."""
    parts: list[pa.Table] = []

    def part(suffix: str, answered: pa.Array, choice: pa.Array, number: pa.Array, text: pa.Array) -> None:
        mask = answered
        rid = base["response_id"]
        aid = pc.binary_join_element_wise(rid, const(f"{q.question_id}{suffix}", n), ":")
        cols = {**base, "answer_id": aid, "question_id": const(q.question_id, n), "question_type": const(q.type, n),
                "choice": choice, "number": number, "text": text, "question": const(q.text, n)}
        parts.append(pa.table(cols).filter(mask))

    if q.type in ("single", "text", "rating"):
        v = clean(q.values)
        answered = pc.invert(blank(q.values))
        if q.type == "single":
            part("", answered, v, nulls(n), nulls(n))
        elif q.type == "rating":
            part("", answered, nulls(n), leading_number(v), nulls(n))
        else:
            part("", answered, nulls(n), nulls(n), v)
    else:
        for i, (option, col) in enumerate((q.options or {}).items(), start=1):
            answered = pc.invert(blank(col))
            number = leading_number(clean(col)) if q.type == "ranking" else nulls(n)
            part(f":{i}", answered, const(option, n), number, nulls(n))
    if q.other is not None:
        part(":other", pc.invert(blank(q.other)), const("Other", n), nulls(n), clean(q.other))
    return parts


ANSWER_COLUMNS = ("answer_id", "response_id", "survey_id", "question_id", "question_type", "account_id",
                  "contact_id", "answered_at", "choice", "number", "text", "question", readers.ROW, readers.ERROR)
RESPONSE_COLUMNS = ("response_id", "account_id", "contact_id", "kind", "score", "comment", "responded_at",
                    "survey_id", "touchpoint", readers.ROW, readers.ERROR)


def _bad_numbers(questions: list[Question], n: int) -> tuple[pa.Array, pa.Array]:
    """Per respondent: an answer whose number cannot be read (rating, ranking), and which."""
    bad = pa.array([False] * n)
    which = nulls(n)
    for q in questions:
        cols = [q.values] if q.type == "rating" else list((q.options or {}).values()) if q.type == "ranking" else []
        for col in cols:
            wrong = pc.and_(pc.invert(blank(col)), pc.invert(is_number(leading_number(clean(col)))))
            which = pc.if_else(pc.and_(wrong, pc.invert(bad)), const(f"{q.question_id} ({q.header or q.text})", n),
                               which)
            bad = pc.or_(bad, wrong)
    return bad, which


def respondents_to_entities(*, rows: pa.Array, response_id: pa.Array, account_id: pa.Array,
                            contact_id: pa.Array, responded_at: pa.Array, survey_id: pa.Array,
                            kind: pa.Array | None, score: pa.Array | None, comment: pa.Array | None,
                            touchpoint: pa.Array | None, questions: list[Question],
                            score_header: str = "score") -> dict[str, pa.Table]:
    """The survey_responses and survey_answers rows of a respondents' table (columns of text)."""
    n = len(rows)
    rid = clean(response_id)
    entities: dict[str, pa.Table] = {}
    bad_answer, bad_which = _bad_numbers(questions, n)

    # the score: a respondent who left it empty has no response row (not an error)
    score_bad = pa.array([False] * n)
    if score is not None and kind is not None:
        s = leading_number(clean(score))
        has = pc.invert(blank(score))
        k = pc.utf8_lower(pc.fill_null(clean(kind), ""))
        in_range = pa.array([False] * n)
        for name, (lo, hi) in SURVEY_SCORE_RANGE.items():
            num = pc.cast(pc.if_else(is_number(s), s, None), pa.float64())
            ok = pc.and_(pc.equal(k, name), pc.and_(pc.greater_equal(num, lo), pc.less_equal(num, hi)))
            ok = pc.and_(ok, pc.equal(pc.floor(num), num))
            in_range = pc.or_(in_range, pc.fill_null(ok, False))
        score_bad = pc.and_(has, pc.invert(in_range))
        err = pc.if_else(bad_answer, pc.binary_join_element_wise(
            const("the respondent's answer to ", n), bad_which,
            const(" is not a number, so the response is not loaded either; fix it and import again", n), ""),
            nulls(n))
        resp = pa.table({
            "response_id": rid, "account_id": clean(account_id), "contact_id": clean(contact_id),
            "kind": k, "score": s, "comment": clean(comment) if comment is not None else nulls(n),
            "responded_at": clean(responded_at), "survey_id": clean(survey_id),
            "touchpoint": clean(touchpoint) if touchpoint is not None else nulls(n),
            readers.ROW: rows, readers.ERROR: err,
        })
        entities["survey_responses"] = resp.filter(has)

    if questions:
        err = pc.if_else(score_bad, const(f"the respondent's score ({score_header}) is not a score of its survey "
                                          "kind, so the answers are not loaded either; fix it and import again", n),
                         nulls(n))
        base = {"response_id": rid, "survey_id": clean(survey_id), "account_id": clean(account_id),
                "contact_id": clean(contact_id), "answered_at": clean(responded_at), readers.ROW: rows,
                readers.ERROR: err}
        parts = [p for q in questions for p in _answers_of(q, base, n)]
        answers = pa.concat_tables(parts) if parts else None
        if answers is not None:
            entities["survey_answers"] = answers.select(list(ANSWER_COLUMNS)).sort_by(
                [(readers.ROW, "ascending")])
    return entities


def row_numbers(n: int, first: int = 1) -> pa.Array:
    return pa.array(range(first, first + n), pa.int64())


def identities(account_key: pa.Array, email: pa.Array) -> pa.Table:
    """Identity records of the respondents' accounts: external_id = the account key the export
    carries (a master id, a CRM id or the email), email for the email-domain rule."""
    t = pa.table({"external_id": clean(account_key), "email": clean(email)}).filter(
        pc.is_valid(clean(account_key)))
    return t.group_by("external_id").aggregate([("email", "min")]).rename_columns(["external_id", "email"])
