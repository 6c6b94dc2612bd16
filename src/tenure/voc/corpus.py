"""The texts the voice of the customer analyses: one row per text, whatever its source.

Columns: text_id, source, account_id, contact_id, at (timestamp, UTC), text.

| source        | from                                        | text_id                     |
| ---           | ---                                         | ---                         |
| survey        | survey_responses.comment                    | survey:<response_id>        |
| survey_answer | survey_answers.text (custom surveys)        | answer:<answer_id>          |
| ticket        | tickets.subject and body ("subject. body")  | ticket:<ticket_id>          |
| activity      | activities.notes, when the table has one    | activity:<activity_id>      |
| churn_reason  | churn_reasons.detail                        | churn:<account_id>:<date>   |
| note          | the state DB's account notes (CSM notes)    | note:<id>                   |

A text id is stable: it is made of the source row's natural key, so a person's tag, untag or
sentiment correction on it holds across runs. Only rows with some text are kept. The warehouse
part is one Ibis expression (a union of one select per source), filtered and bounded in the engine:
`load` keeps the newest `limit` texts (ties by text id), so a big warehouse hands over a bounded
frame. The activities table has no free-text column in the fact model today; a `notes` column,
when a warehouse has one, is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta

import pandas as pd

from tenure.errors import InputError
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import dt, ibis, ir

__all__ = ["COLUMNS", "DEFAULT_LIMIT", "SOURCES", "corpus_expr", "load", "texts_by_id", "source_of", "uniform"]

SOURCES = ("survey", "survey_answer", "ticket", "activity", "churn_reason", "note")
COLUMNS = ("text_id", "source", "account_id", "contact_id", "at", "text")
DEFAULT_LIMIT = 50_000
ACTIVITY_TEXT_COLUMNS = ("notes", "note", "summary", "description")
_PREFIX = {"survey": "survey:", "survey_answer": "answer:", "ticket": "ticket:", "activity": "activity:",
           "churn_reason": "churn:", "note": "note:"}


def source_of(text_id: str) -> str:
    """The source of a text id ("survey:R1" -> "survey"); an InputError names an unknown prefix."""
    for source, prefix in _PREFIX.items():
        if str(text_id).startswith(prefix):
            return source
    raise InputError(f"text id {text_id!r}: unknown source; text ids start with "
                     f"{', '.join(_PREFIX.values())} (see `tenure voc topics show` or docs/voc.md)")


def _sources(sources: Iterable[str] | None) -> tuple[str, ...]:
    if sources is None:
        return SOURCES
    chosen = tuple(sources)
    unknown = [s for s in chosen if s not in SOURCES]
    if unknown:
        raise InputError(f"unknown text source(s) {', '.join(unknown)}: choose from {', '.join(SOURCES)}")
    return chosen


STRING, TIMESTAMP = dt.String(nullable=True), dt.Timestamp(nullable=True)


def uniform(t: ir.Table) -> ir.Table:
    """`t` with every string and timestamp column nullable, so parts of a union agree (a column that
    is NOT NULL in one table and nullable in another is a schema conflict to Ibis)."""
    return t.cast({c: (TIMESTAMP if typ.is_timestamp() else STRING) for c, typ in t.schema().items()
                   if typ.is_string() or typ.is_timestamp()})


def _shape(text_id, source: str, account_id, contact_id, at, text) -> dict:
    return {"text_id": text_id.cast(STRING), "source": ibis.literal(source, "string").cast(STRING),
            "account_id": account_id.cast(STRING), "contact_id": contact_id.cast(STRING),
            "at": at.cast(TIMESTAMP), "text": text.cast(STRING)}


def _has_text(t: ir.Table) -> ir.Table:
    return t.filter(t.text.notnull() & (t.text.strip().length() > 0))


def corpus_expr(wh: Warehouse, *, sources: Iterable[str] | None = None, since: date | None = None,
                until: date | None = None) -> ir.Table:
    """The warehouse's texts as one expression (COLUMNS), from `since` to `until` inclusive (days,
    UTC). Sources whose table is missing are skipped; "note" lives in the state DB (see `load`)."""
    chosen = _sources(sources)
    tables = set(wh.list_tables())
    parts: list[ir.Table] = []
    null = ibis.null().cast("string")
    if "survey" in chosen and "survey_responses" in tables:
        s = wh.table("survey_responses")
        parts.append(s.select(**_shape(ibis.literal("survey:") + s.response_id, "survey", s.account_id,
                                       s.contact_id, s.responded_at, s.comment)))
    if "survey_answer" in chosen and "survey_answers" in tables:
        a = wh.table("survey_answers")
        parts.append(a.select(**_shape(ibis.literal("answer:") + a.answer_id, "survey_answer", a.account_id,
                                       a.contact_id, a.answered_at, a.text)))
    if "ticket" in chosen and "tickets" in tables:
        t = wh.table("tickets")
        subject, body = t.subject.fill_null("").strip(), t.body.fill_null("").strip()
        joined = ibis.ifelse((subject != "") & (body != ""), subject + ". " + body, subject + body)
        parts.append(t.select(**_shape(ibis.literal("ticket:") + t.ticket_id, "ticket", t.account_id, null,
                                       t.opened_at, joined)))
    if "activity" in chosen and "activities" in tables:
        act = wh.table("activities")
        col = next((c for c in ACTIVITY_TEXT_COLUMNS if c in act.columns), None)
        if col is not None:
            parts.append(act.select(**_shape(ibis.literal("activity:") + act.activity_id, "activity",
                                             act.account_id, null, act["at"], act[col])))
    if "churn_reason" in chosen and "churn_reasons" in tables:
        c = wh.table("churn_reasons")
        day = c["at"].cast("date")
        parts.append(c.select(**_shape(ibis.literal("churn:") + c.account_id + ":" + day.cast("string"),
                                       "churn_reason", c.account_id, null, day, c.detail)))
    if not parts:
        empty = pd.DataFrame({k: pd.Series(dtype="object") for k in COLUMNS})
        empty["at"] = pd.Series(dtype="datetime64[ns]")
        return ibis.memtable(empty, schema={"text_id": "string", "source": "string", "account_id": "string",
                                            "contact_id": "string", "at": "timestamp", "text": "string"})
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p, distinct=False)
    out = _has_text(out)
    if since is not None:
        out = out.filter(out["at"] >= ibis.literal(datetime.combine(since, time()), "timestamp"))
    if until is not None:
        out = out.filter(out["at"] < ibis.literal(datetime.combine(until + timedelta(days=1), time()), "timestamp"))
    return out


def _notes(session, since: date | None, until: date | None, limit: int | None,
           ids: Sequence[int] | None = None) -> pd.DataFrame:
    from sqlalchemy import select

    from tenure.state.models import Note

    q = select(Note.id, Note.account_id, Note.created_at, Note.body)
    if ids is not None:
        q = q.where(Note.id.in_(list(ids)))
    if since is not None:
        q = q.where(Note.created_at >= datetime.combine(since, time()))
    if until is not None:
        q = q.where(Note.created_at < datetime.combine(until + timedelta(days=1), time()))
    q = q.order_by(Note.created_at.desc(), Note.id.desc())
    if limit:
        q = q.limit(limit)
    rows = session.execute(q).all()
    df = pd.DataFrame(rows, columns=["id", "account_id", "at", "text"])
    df = df[df["text"].fillna("").str.strip() != ""]
    return pd.DataFrame({"text_id": "note:" + df["id"].astype(str), "source": "note", "account_id": df["account_id"],
                         "contact_id": None, "at": pd.to_datetime(df["at"]), "text": df["text"]})


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reindex(columns=list(COLUMNS))
    df["at"] = pd.to_datetime(df["at"])
    df = df.astype({"text_id": "object", "source": "object", "account_id": "object", "text": "object"})
    df["contact_id"] = df["contact_id"].astype("object").where(df["contact_id"].notna(), None)
    return df.reset_index(drop=True)


def load(wh: Warehouse, *, session=None, sources: Iterable[str] | None = None, since: date | None = None,
         until: date | None = None, limit: int | None = DEFAULT_LIMIT) -> pd.DataFrame:
    """The texts as a DataFrame (COLUMNS), newest first, at most `limit` (None: all) of the warehouse's
    and as many again of the state DB's notes when `session` is given and "note" is a chosen source."""
    if limit is not None and limit < 1:
        raise InputError(f"--limit {limit}: give at least 1 text (or none for all)")
    chosen = _sources(sources)
    expr = corpus_expr(wh, sources=[s for s in chosen if s != "note"], since=since, until=until)
    expr = expr.order_by([expr["at"].desc(), expr.text_id])
    if limit is not None:
        expr = expr.limit(limit)
    frames = [wh.execute(expr)]
    if session is not None and "note" in chosen:
        frames.append(_notes(session, since, until, limit))
    frames = [f for f in frames if len(f)]
    if not frames:
        return _frame(pd.DataFrame(columns=list(COLUMNS)))
    df = _frame(pd.concat(frames, ignore_index=True))
    df = df.sort_values(["at", "text_id"], ascending=[False, True], kind="stable")
    return (df.head(limit) if limit is not None else df).reset_index(drop=True)


def texts_by_id(wh: Warehouse, text_ids: Sequence[str], *, session=None) -> pd.DataFrame:
    """The texts with these ids (COLUMNS); ids that name no text are simply absent."""
    ids = [str(i) for i in text_ids]
    if not ids:
        return _frame(pd.DataFrame(columns=list(COLUMNS)))
    sources = sorted({source_of(i) for i in ids})
    frames = []
    wh_sources = [s for s in sources if s != "note"]
    if wh_sources:
        expr = corpus_expr(wh, sources=wh_sources)
        frames.append(wh.execute(expr.filter(expr.text_id.isin(ids))))
    if "note" in sources and session is not None:
        wanted = [int(i[5:]) for i in ids if i.startswith("note:") and i[5:].isdigit()]
        frames.append(_notes(session, None, None, None, ids=wanted))
    frames = [f for f in frames if len(f)]
    if not frames:
        return _frame(pd.DataFrame(columns=list(COLUMNS)))
    return _frame(pd.concat(frames, ignore_index=True))
