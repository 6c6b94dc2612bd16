"""SurveyMonkey's CSV export of all responses (`--format surveymonkey`) -> survey_responses and
survey_answers.

The export has two header rows: the first names each question (once, over all its columns),
the second what each column holds ("Response", "Open-Ended Response", an option's text, or
"Other (please specify)"). The respondent columns come first: Respondent ID, Collector ID,
Start Date, End Date, IP Address, Email Address, First Name, Last Name, Custom Data 1. Data rows
are numbered from 1 = the first respondent (the file's third line).

  Respondent ID -> response_id ("sm-" + id)     End Date (MM/DD/YYYY hh:mm:ss AM/PM) -> responded_at
  Email Address -> contact_id (lower case)      Custom Data 1 (an account id passed in the link), else
                                                the email's domain -> the account
  the NPS question (the first "Response" column whose question asks how likely one is to
    recommend, every answer a number, optionally followed by a label) -> survey_responses (kind
    nps; a score off 0-10 is quarantined, with the respondent's answers)
  every other question, numbered q1, q2, ... in the order of the export -> survey_answers:
    one "Response" column: numbers -> rating, text -> single choice
    "Open-Ended Response" -> text
    one column per option: cells holding the option's text -> multi (one row per option chosen);
      cells holding numbers -> ranking (the number is the option's rank); cells holding other
      text -> a matrix: each row of the grid a single-choice question q<k>_<row>
    "Other (please specify)" -> a text answer (choice "Other") of the same question
The survey is survey_id "surveymonkey-<file name>". The respondent
columns IP Address, First Name, Last Name and Collector ID are not stored."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from tenure.errors import InputError
from tenure.ingest.connectors.base import ConnectorOutput
from tenure.ingest.connectors.surveys import (
    Question, blank, clean, identities, is_number, leading_number, respondents_to_entities, row_numbers,
)

META = ("Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address", "First Name",
        "Last Name", "Custom Data 1")
NPS_TEXT = re.compile(r"recommend", re.IGNORECASE)
US_TIME = (r"^\s*(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
           r"\s*(?P<p>[AaPp][Mm])?\s*$")


def us_time_to_iso(a: pa.Array) -> pa.Array:
    """SurveyMonkey's 03/02/2026 02:05:11 PM -> 2026-03-02T14:05:11 (UTC as exported); other
    values unchanged (so validation names them)."""
    n = len(a)
    m = pc.extract_regex(pc.fill_null(a, ""), US_TIME)
    ok = pc.is_valid(m)

    def part(name: str, width: int) -> pa.Array:
        return pc.utf8_lpad(pc.fill_null(pc.struct_field(m, name), "0"), width, "0")

    hour = pc.cast(pc.if_else(ok, pc.struct_field(m, "H"), "0"), pa.int64())
    ampm = pc.utf8_upper(pc.fill_null(pc.struct_field(m, "p"), ""))
    hour = pc.if_else(pc.equal(ampm, "PM"), pc.add(pc.remainder(hour, 12), 12),
                      pc.if_else(pc.equal(ampm, "AM"), pc.remainder(hour, 12), hour))
    hh = pc.utf8_lpad(pc.cast(hour, pa.string()), 2, "0")
    sec = pc.utf8_lpad(pc.if_else(pc.equal(pc.fill_null(pc.struct_field(m, "S"), ""), ""), "00",
                                  pc.struct_field(m, "S")), 2, "0")
    iso = pc.binary_join_element_wise(part("y", 4), pa.array(["-"] * n), part("m", 2), pa.array(["-"] * n),
                                      part("d", 2), pa.array(["T"] * n), hh, pa.array([":"] * n), part("M", 2),
                                      pa.array([":"] * n), sec, "")
    return pc.if_else(ok, iso, a)


def _read_grid(path: Path) -> tuple[list[str], list[str], pa.Table]:
    """(first header row, second header row, the data rows), every cell as text (ids such as
    007 keep their zeros)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            width = len(next(csv.reader(f), []))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read as a SurveyMonkey CSV export (save it as UTF-8 CSV): {err}") from None
    names = [f"c{i}" for i in range(width)]
    try:
        t = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=names),
                           parse_options=pacsv.ParseOptions(newlines_in_values=True),
                           convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                                                strings_can_be_null=False))
    except pa.ArrowInvalid as err:
        raise InputError(f"{path}: cannot read as a SurveyMonkey CSV export: {err}") from None
    if t.num_rows < 2:
        raise InputError(f"{path}: a SurveyMonkey export has two header rows (questions, then what each column "
                         "holds); this file has fewer than two rows")
    first = [v or "" for v in t.slice(0, 1).to_pylist()[0].values()]
    second = [v or "" for v in t.slice(1, 1).to_pylist()[0].values()]
    return first, second, t.slice(2)


def read(path: Path) -> ConnectorOutput:
    path = Path(path)
    first, second, data = _read_grid(path)
    first = [f.strip().lstrip("\ufeff") for f in first]
    if "Respondent ID" not in first:
        raise InputError(f"{path}: not a SurveyMonkey export: the first header row has no 'Respondent ID' column "
                         f"(it starts: {', '.join(first[:5])})")
    meta = {name: i for i, name in enumerate(first) if name in META}
    for need in ("End Date",):
        if need not in meta:
            raise InputError(f"{path}: the SurveyMonkey export has no {need!r} column; export all responses with "
                             "the respondent columns")
    if "Custom Data 1" not in meta and "Email Address" not in meta:
        raise InputError(f"{path}: neither 'Email Address' nor 'Custom Data 1' is exported: there is no way to tell "
                         "which account answered; export with the respondent columns")
    n = data.num_rows
    cols = [data.column(i).combine_chunks() for i in range(data.num_columns)]

    # group the question columns: a question starts where the first header row names one
    groups: list[tuple[str, list[int]]] = []
    for i, title in enumerate(first):
        if i in meta.values():
            continue
        if title:
            groups.append((title, [i]))
        elif groups:
            groups[-1][1].append(i)
        else:
            raise InputError(f"{path}: column {i + 1} has no question above it in the first header row")

    nps_score = None
    nps_header = ""
    questions: list[Question] = []
    for k, (title, idx) in enumerate(groups, start=1):
        qid = f"q{k}"
        subs = [second[i].strip() for i in idx]
        other = next((cols[i] for i, s in zip(idx, subs) if s.lower().startswith("other")), None)
        main = [(i, s) for i, s in zip(idx, subs) if not s.lower().startswith("other")]
        if len(main) == 1 and main[0][1].lower() in ("response", "open-ended response", ""):
            values = cols[main[0][0]]
            answered = pc.invert(blank(values))
            numeric = pc.all(pc.or_(pc.invert(answered), is_number(leading_number(clean(values))))).as_py()
            if main[0][1].lower() == "open-ended response":
                questions.append(Question(qid, "text", title, values=values, other=other, header=title))
            elif numeric and NPS_TEXT.search(title) and nps_score is None:
                nps_score, nps_header = values, title
            elif numeric and pc.any(answered).as_py():
                questions.append(Question(qid, "rating", title, values=values, other=other, header=title))
            else:
                questions.append(Question(qid, "single", title, values=values, other=other, header=title))
            continue
        cells = [cols[i] for i, _ in main]
        labels = [s or f"option {j}" for j, (_, s) in enumerate(main, start=1)]
        is_multi = all(pc.all(pc.or_(blank(c), pc.equal(pc.utf8_lower(clean(c)), o.lower()))).as_py()
                       for c, o in zip(cells, labels))
        any_number = any(pc.any(is_number(leading_number(clean(c)))).as_py() for c in cells)
        if is_multi:
            options = {o: pc.if_else(blank(c), pa.nulls(n, pa.string()), pa.array([o] * n, pa.string()))
                       for o, c in zip(labels, cells)}
            questions.append(Question(qid, "multi", title, options=options, other=other, header=title))
        elif any_number:  # ranks (a cell that is not a number is refused with its respondent)
            questions.append(Question(qid, "ranking", title, options=dict(zip(labels, cells)), other=other,
                                      header=title))
        else:  # a matrix: each row of the grid is a single-choice question of its own
            for j, (o, c) in enumerate(zip(labels, cells), start=1):
                questions.append(Question(f"{qid}_{j}", "single", f"{title} — {o}", values=c, header=title))
            if other is not None:
                questions.append(Question(f"{qid}_other", "text", f"{title} — other", values=other, header=title))

    def meta_col(name: str) -> pa.Array:
        return cols[meta[name]] if name in meta else pa.nulls(n, pa.string())

    email = pc.utf8_lower(clean(meta_col("Email Address")))
    custom = clean(meta_col("Custom Data 1"))
    account_key = pc.if_else(pc.is_valid(custom), custom, email)
    rid = clean(meta_col("Respondent ID"))
    survey = "surveymonkey-" + re.sub(r"[^a-z0-9_-]+", "-", path.stem.lower()).strip("-")
    entities = respondents_to_entities(
        rows=row_numbers(n), response_id=pc.if_else(pc.is_valid(rid), pc.binary_join_element_wise(
            pa.array(["sm"] * n), rid, "-"), rid),
        account_id=account_key, contact_id=email, responded_at=us_time_to_iso(clean(meta_col("End Date"))),
        survey_id=pa.array([survey] * n, pa.string()),
        kind=pa.array(["nps"] * n, pa.string()) if nps_score is not None else None, score=nps_score,
        comment=None, touchpoint=None, questions=questions, score_header=nps_header)
    return ConnectorOutput(source="surveymonkey", entities=entities, identities=identities(account_key, email),
                           identity_source="surveymonkey")

