"""A generic survey CSV (`--format survey`): one row per respondent, tenure's own column names.

    response_id   the respondent's id (required)          account_id   master account id (required)
    responded_at  when answered, ISO 8601 (required)      survey_id    the survey (required)
    contact_id    who answered                           touchpoint   e.g. onboarding, support
    kind, score   the score question (nps 0-10, csat 1-5, ces 1-7): a survey_responses row
    comment       the score's comment

Every other column is a question, named `<question_id>:<type>` with type single, multi,
rating, ranking or text (a column without a type is a text question). A multi answer lists the
options chosen, a ranking answer the options from first to last, separated by `;`. Each answer
becomes survey_answers rows (tenure.ingest.connectors.surveys)."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tenure.errors import InputError
from tenure.ingest import readers
from tenure.ingest.connectors.base import ConnectorOutput
from tenure.ingest.connectors.surveys import Question, respondents_to_entities
from tenure.schema.facts import QUESTION_TYPES

FIXED = ("response_id", "account_id", "contact_id", "responded_at", "survey_id", "kind", "score", "comment",
         "touchpoint")
REQUIRED = ("response_id", "account_id", "responded_at", "survey_id")
QID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


def read(path: Path) -> ConnectorOutput:
    src = readers.detect(path)
    if src.fmt != "csv":
        raise InputError(f"{path}: a survey export is read as CSV")
    batches = [b for _, b in readers.iter_batches(src)]
    if not batches:
        raise InputError(f"{path}: the file has no header row; the first row must name the columns "
                         f"({', '.join(REQUIRED)}, then one column per question)")
    t = pa.Table.from_batches(batches)
    names = [c for c in t.column_names if c not in (readers.ROW, readers.ERROR)]
    lowered = {c.strip().lower(): c for c in names}
    missing = [c for c in REQUIRED if c not in lowered]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} in the header (it has: "
                         f"{', '.join(names)}); a survey CSV needs {', '.join(REQUIRED)}")
    has_score = "score" in lowered
    if has_score and "kind" not in lowered:
        raise InputError(f"{path}: column score needs a kind column (nps, csat or ces) beside it")
    n = t.num_rows

    def col(name: str) -> pa.Array | None:
        return t.column(lowered[name]).combine_chunks() if name in lowered else None

    questions: list[Question] = []
    for c in names:
        if c.strip().lower() in FIXED:
            continue
        qid, _, qtype = c.strip().partition(":")
        qtype = (qtype or "text").strip().lower()
        if not QID.match(qid.strip()):
            raise InputError(f"{path}: column {c!r}: a question column is named <question_id>:<type>, the id "
                             "made of letters, digits and _ (e.g. reason:single)")
        if qtype not in QUESTION_TYPES:
            raise InputError(f"{path}: column {c!r}: unknown question type {qtype!r}; one of "
                             f"{', '.join(QUESTION_TYPES)}")
        values = t.column(c).combine_chunks()
        qid = qid.strip()
        if qtype in ("multi", "ranking"):
            questions.append(Question(qid, qtype, qid, options=_option_columns(values, qtype), header=c))
        else:
            questions.append(Question(qid, qtype, qid, values=values, header=c))
    rows = t.column(readers.ROW).combine_chunks()
    kind = col("kind")
    entities = respondents_to_entities(
        rows=rows, response_id=col("response_id"), account_id=col("account_id"),
        contact_id=col("contact_id") if "contact_id" in lowered else pa.nulls(n, pa.string()),
        responded_at=col("responded_at"), survey_id=col("survey_id"), kind=kind, score=col("score"),
        comment=col("comment"), touchpoint=col("touchpoint"), questions=questions)
    if not has_score:
        entities.pop("survey_responses", None)
    return ConnectorOutput(source="survey", entities=entities)


def _option_columns(values: pa.Array, qtype: str) -> dict[str, pa.Array]:
    """A `;`-separated answer as one column per option (in the order options first appear): the
    option where chosen (multi), or its position from 1 (ranking); null elsewhere."""
    n = len(values)
    lists = pc.split_pattern(pc.fill_null(values, ""), ";")
    flat = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    parent = pc.list_parent_indices(lists)
    start = pc.take(lists.offsets.slice(0, n), parent)
    pos = pc.add(pc.subtract(pa.array(range(len(flat)), pa.int64()), pc.cast(start, pa.int64())), 1)
    items = pa.table({"p": pc.cast(parent, pa.int64()), "o": flat, "pos": pos}).filter(pc.not_equal(flat, ""))
    everyone = pa.table({"p": pa.array(range(n), pa.int64())})
    out: dict[str, pa.Array] = {}
    for o in pc.unique(items.column("o")).to_pylist():
        hits = items.filter(pc.equal(items.column("o"), o)).group_by("p").aggregate([("pos", "min")])
        joined = everyone.join(hits, "p", join_type="left outer").sort_by("p")
        rank = joined.column("pos_min").combine_chunks()
        out[o] = (pc.cast(rank, pa.string()) if qtype == "ranking"
                  else pc.if_else(pc.is_valid(rank), pa.array([o] * n, pa.string()), pa.nulls(n, pa.string())))
    return out
