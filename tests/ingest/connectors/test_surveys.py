"""Survey imports (`tenure ingest --format survey|delighted|surveymonkey`): each export maps to
survey_responses and survey_answers by hand-worked values, loads through the one validation,
identity and quarantine path, re-imports change nothing, and hostile files are refused with
file, row and column — never half a respondent."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tenure.errors import InputError
from tenure.ingest.connectors import delighted, survey_csv, surveymonkey
from tenure.ingest.pipeline import ingest_file

FIX = Path(__file__).parents[2] / "fixtures" / "connectors"
GENERIC = FIX / "survey" / "exit-2026.csv"
DELIGHTED = FIX / "delighted" / "responses.csv"
MONKEY = FIX / "surveymonkey" / "onboarding-pulse.csv"

MASTER = ("account_id,name,domain,segment\nA1,Acme Inc,acme.com,Enterprise\nA2,Beta One,beta-one.com,SMB\n"
          "A3,Gamma Media,gamma.tv,SMB\n")


@pytest.fixture
def master(warehouse, config, write):
    """A fresh warehouse (DuckDB and PostgreSQL) with the three master accounts."""
    ingest_file(warehouse, config, "accounts", write("acc.csv", MASTER))
    return warehouse


@pytest.fixture(scope="module")
def _duck(tmp_path_factory):
    from tenure.config import config_from_dict
    from tenure.warehouse import Warehouse

    folder = tmp_path_factory.mktemp("survey-imports")
    config = config_from_dict({"ingest": {"runs_dir": str(folder / "runs")}}, base_dir=folder, env={})
    wh = Warehouse(f"duckdb:///{folder / 'wh.duckdb'}")
    wh.ensure_schema()
    (folder / "acc.csv").write_text(MASTER)
    ingest_file(wh, config, "accounts", folder / "acc.csv")
    yield wh, config
    wh.close()


@pytest.fixture
def duck(_duck):
    """One DuckDB warehouse for the module (fast), emptied of survey rows before each test:
    (warehouse, config)."""
    wh, config = _duck
    for table in ("survey_responses", "survey_answers", "quarantine", "account_identities"):
        wh.raw_sql(f'DELETE FROM "{table}"')
    return wh, config


def rows(wh, table):
    return wh.execute(wh.table(table)).sort_values(wh.table(table).columns[0]).to_dict("records")


def quarantine(wh):
    q = wh.execute(wh.table("quarantine"))
    return sorted(zip(q["entity"], q["row_number"], q["column"], q["reason"], q["message"]))


# ---------------------------------------------------------------------------------------------
# mapping by hand


def test_generic_csv_mapping_by_hand():
    out = survey_csv.read(GENERIC)
    resp = {r["response_id"]: r for r in out.entities["survey_responses"].to_pylist()}
    assert set(resp) == {"g-1", "g-2"}  # g-3 gave no score: answers only
    assert resp["g-1"]["score"] == "3" and resp["g-1"]["kind"] == "nps"
    ans = {r["answer_id"]: r for r in out.entities["survey_answers"].to_pylist()}
    assert ans["g-2:missing:1"]["choice"] == "API" and ans["g-2:missing:2"]["choice"] == "SSO"
    # g-2 ranked Features;Price;Support: Features first
    ranks = {r["choice"]: r["number"] for r in ans.values() if r["response_id"] == "g-2" and r["question_id"] == "rank"}
    assert ranks == {"Features": "1", "Price": "2", "Support": "3"}
    assert ans["g-1:price_gap"]["number"] == "4" and ans["g-3:comments"]["text"] == "We merged with another company"
    assert len(ans) == 17


def test_delighted_mapping_by_hand():
    out = delighted.read(DELIGHTED)
    r = {x["response_id"]: x for x in out.entities["survey_responses"].to_pylist()}
    assert r["dl-3051"]["score"] == "9" and r["dl-3051"]["contact_id"] == "maria.lopez@acme.com"
    assert r["dl-3053"]["responded_at"] == "2026-03-03 15:00:00Z"  # Unix 1772550000
    assert r["dl-3053"]["account_id"] == "A1"  # the Account ID property wins over the email
    assert {x["survey_id"] for x in r.values()} == {"delighted-nps"}
    assert "survey_answers" not in out.entities


def test_surveymonkey_two_header_rows_by_hand():
    out = surveymonkey.read(MONKEY)
    resp = {x["response_id"]: x for x in out.entities["survey_responses"].to_pylist()}
    assert {k: v["score"] for k, v in resp.items()} == {"sm-114230001": "9", "sm-114230002": "3", "sm-114230003": "8"}
    assert resp["sm-114230001"]["responded_at"] == "2026-03-02T14:05:11"  # End Date 02:05:11 PM
    assert resp["sm-114230002"]["responded_at"] == "2026-03-03T09:20:47"
    ans = out.entities["survey_answers"].to_pylist()
    by = {(a["response_id"], a["question_id"], a["choice"]): a for a in ans}
    assert {a["question_type"] for a in ans} == {"rating", "multi", "ranking", "text"}
    assert by[("sm-114230001", "q2", None)]["number"] == "4"  # onboarding satisfaction: a rating
    assert by[("sm-114230002", "q3", "Other")]["text"] == "Slack digest"  # Other (please specify)
    assert by[("sm-114230003", "q4", "Features")]["number"] == "1"
    assert [a["choice"] for a in ans if a["response_id"] == "sm-114230003" and a["question_id"] == "q3"] == [
        "Dashboards", "Alerts"]
    assert not any(a["question_id"] == "q1" for a in ans)  # the NPS question went to survey_responses


# ---------------------------------------------------------------------------------------------
# end to end, idempotent


def test_imports_load_and_reimport_changes_nothing(duck):
    master, config = duck
    for fmt, path, counts in (("survey", GENERIC, {"survey_responses": 2, "survey_answers": 17}),
                              ("delighted", DELIGHTED, {"survey_responses": 4}),
                              ("surveymonkey", MONKEY, {"survey_responses": 3, "survey_answers": 20})):
        first = {r.entity: r for r in ingest_file(master, config, "all", path, fmt=fmt)}
        assert {k: r.inserted for k, r in first.items()} == counts, fmt
        assert all(r.rejected == 0 and r.status == "loaded" for r in first.values()), fmt
        again = {r.entity: r for r in ingest_file(master, config, "all", path, fmt=fmt)}
        assert {k: (r.inserted, r.updated, r.unchanged) for k, r in again.items()} == {
            k: (0, 0, n) for k, n in counts.items()}, fmt
    got = {r["response_id"]: r["account_id"] for r in rows(master, "survey_responses") if r["source"] == "delighted"}
    assert got == {"dl-3051": "A1", "dl-3052": "A3", "dl-3053": "A1", "dl-3054": "A2"}  # gamma.tv: by email domain


# ---------------------------------------------------------------------------------------------
# hostile input


def test_surveymonkey_loads_on_every_engine(master, config):
    res = {r.entity: r for r in ingest_file(master, config, "all", MONKEY, fmt="surveymonkey")}
    assert (res["survey_responses"].inserted, res["survey_answers"].inserted) == (3, 20)
    got = {r["response_id"]: r["account_id"] for r in rows(master, "survey_responses")}
    assert got == {"sm-114230001": "A1", "sm-114230002": "A3", "sm-114230003": "A2"}


def _monkey(write, name, data_rows):
    lines = MONKEY.read_text().splitlines()
    return write(name, "\n".join(lines[:2] + data_rows) + "\n")


def test_bad_score_and_bad_date_are_quarantined_with_row_and_column_and_never_half_applied(duck, write):
    master, config = duck
    lines = MONKEY.read_text().splitlines()
    good = lines[2]
    bad_score = lines[3].replace(",3,2,,Alerts", ",11,2,,Alerts")  # NPS 11
    bad_date = lines[4].replace("03/04/2026 11:41:15 AM", "13/45/2026 11:41:15 AM")
    path = _monkey(write, "pulse.csv", [good, bad_score, bad_date])
    res = {r.entity: r for r in ingest_file(master, config, "all", path, fmt="surveymonkey")}
    assert res["survey_responses"].inserted == 1 and res["survey_responses"].rejected == 2
    assert res["survey_answers"].inserted == 7 and res["survey_answers"].rejected == 2  # rows 2 and 3 whole
    q = quarantine(master)
    assert ("survey_responses", 2, "score", "range", ) == q[[x[:2] for x in q].index(("survey_responses", 2))][:4]
    assert ("survey_responses", 3, "responded_at", "bad_timestamp") in [x[:4] for x in q]
    assert ("survey_answers", 3, "answered_at", "bad_timestamp") in [x[:4] for x in q]
    linked = [x for x in q if x[0] == "survey_answers" and x[1] == 2]
    assert linked and linked[0][3] == "bad_row" and "score" in linked[0][4]
    # the run's quarantine.csv names file, row and column
    with open(res["survey_answers"].quarantine_path, newline="") as f:
        got = list(csv.DictReader(f))
    assert {(r["file"], r["row_number"]) for r in got} == {(str(path), "2"), (str(path), "3")}
    stored = rows(master, "survey_answers")
    assert {r["response_id"] for r in stored} == {"sm-114230001"}


def test_an_unreadable_answer_keeps_the_response_out_too(duck, write):
    master, config = duck
    lines = MONKEY.read_text().splitlines()
    bad_rank = lines[2].replace(",2,1,3,Faster", ",2,first,3,Faster")  # a rank that is not a number
    path = _monkey(write, "pulse.csv", [bad_rank, lines[3]])
    res = {r.entity: r for r in ingest_file(master, config, "all", path, fmt="surveymonkey")}
    assert res["survey_responses"].rejected == 1 and res["survey_responses"].inserted == 1
    assert res["survey_responses"].rejected_by_reason == {"bad_row": 1}
    assert {r["response_id"] for r in rows(master, "survey_responses")} == {"sm-114230002"}
    assert {r["response_id"] for r in rows(master, "survey_answers")} == {"sm-114230002"}


def test_strict_loads_nothing_of_either_table(duck, write):
    master, config = duck
    text = GENERIC.read_text().replace("nps,6,", "nps,ten,")
    res = ingest_file(master, config, "all", write("exit.csv", text), fmt="survey", strict=True)
    assert [r.status for r in res] == ["rejected", "rejected"]
    assert not rows(master, "survey_responses") and not rows(master, "survey_answers")
    q = quarantine(master)
    assert ("survey_responses", 2, "score", "bad_integer") in [x[:4] for x in q]


def test_wrong_account_and_unknown_kind_name_the_row(duck, write):
    master, config = duck
    text = (GENERIC.read_text().replace("g-2,A2", "g-2,A9")
            .replace("g-1,A1,c-11,2026-04-02T09:15:00Z,exit-2026,nps", "g-1,A1,c-11,2026-04-02T09:15:00Z,exit-2026,nsp")
            .replace("g-3,A3", ",A3"))  # a respondent without an id
    res = {r.entity: r for r in ingest_file(master, config, "all", write("exit.csv", text), fmt="survey")}
    assert res["survey_responses"].rejected_by_reason == {"enum": 1, "unknown_account": 1}
    q = [x[:4] for x in quarantine(master)]
    assert ("survey_responses", 1, "kind", "enum") in q and ("survey_answers", 2, "account_id", "unknown_account") in q
    assert ("survey_answers", 3, "response_id", "required") in q


@pytest.mark.parametrize("reader,text,match", [
    (survey_csv.read, "response_id,account_id,responded_at\nr,A1,2026-01-01\n", "missing column.*survey_id"),
    (survey_csv.read, "response_id,account_id,responded_at,survey_id,why:essay\nr,A1,2026-01-01,s,x\n",
     "unknown question type 'essay'"),
    (survey_csv.read, "response_id,account_id,responded_at,survey_id,score\nr,A1,2026-01-01,s,9\n",
     "score needs a kind column"),
    (delighted.read, "Email,Comment\na@acme.com,hi\n", "not a Delighted export: no column for response_id"),
    (surveymonkey.read, "Respondent ID,Collector ID\n", "two header rows"),
    (surveymonkey.read, "Name,Q\n,Response\nx,1\n", "no 'Respondent ID'"),
])
def test_missing_columns_are_refused_before_anything_loads(write, reader, text, match):
    with pytest.raises(InputError, match=match):
        reader(write("bad.csv", text))
