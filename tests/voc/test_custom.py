"""Custom surveys: definitions refused with the key named, branching walked by hand, answer sets
validated with each question's problem named, and answers recorded through the ingest path."""

from __future__ import annotations

from datetime import datetime

import pytest

from tenure.config import config_from_dict
from tenure.errors import ConfigError, InputError
from tenure.voc import custom

# An exit survey, worked by hand:
#   reason (single)      -> price: ask price_gap (rating, page "why"), then skip to end when
#                           the gap is at least 4
#                        -> product: ask missing (multi, page "why")
#   price_gap (rating 1-5), missing (multi, max 2): both on page "why", shown by reason
#   rank (ranking of 3), comments (text, optional)
EXIT = {
    "title": "Why are you leaving?",
    "purpose": "exit",
    "questions": [
        {"id": "reason", "type": "single", "text": "Main reason?", "options": ["Price", "Product", "Other"],
         "skip_to": [{"when": {"question": "reason", "equals": "Other"}, "to": "comments"}]},
        {"id": "price_gap", "type": "rating", "text": "How far off was the price?", "page": "why",
         "scale_min": 1, "scale_max": 5, "show_if": [{"question": "reason", "equals": "Price"}],
         "skip_to": [{"when": {"question": "price_gap", "at_least": 4}, "to": "end"}]},
        {"id": "missing", "type": "multi", "text": "What was missing?", "page": "why", "max_choices": 2,
         "options": ["Reports", "API", "SSO"], "show_if": [{"question": "reason", "any_of": ["Product"]}]},
        {"id": "rank", "type": "ranking", "text": "Rank what matters", "options": ["Price", "Support", "Features"]},
        {"id": "comments", "type": "text", "text": "Anything else?", "required": False, "max_length": 50},
    ],
}


@pytest.fixture(scope="module")
def survey():
    return config_from_dict({"custom_surveys": {"exit": EXIT}}, env={}).custom_surveys["exit"]


def ids(qs):
    return [q.id for q in qs]


def test_branching_walks_each_route_by_hand(survey):
    assert custom.next_question(survey, {}).id == "reason"
    # price: price_gap is asked; a gap of 4 ends the survey
    assert ids(custom.next_page(survey, {"reason": "Price"})) == ["price_gap"]
    assert custom.next_question(survey, {"reason": "Price", "price_gap": 4}) is None
    assert ids(custom.path(survey, {"reason": "Price", "price_gap": 2})) == ["reason", "price_gap", "rank",
                                                                              "comments"]
    # product: missing is asked, price_gap never
    assert ids(custom.next_page(survey, {"reason": "product"})) == ["missing"]
    assert "price_gap" not in ids(custom.path(survey, {"reason": "Product", "missing": ["API"]}))
    # other: jumps straight to the comments
    assert ids(custom.path(survey, {"reason": "Other"})) == ["reason", "comments"]
    assert custom.next_question(survey, {"reason": "Other", "comments": None}) is None


def test_validation_names_each_question_and_what_to_do(survey):
    clean, errors = custom.validate(survey, {"reason": "Product", "missing": ["API", "SSO", "Reports"],
                                             "price_gap": 3, "rank": ["Price", "Price"], "bogus": 1})
    by = {e.question: e.message for e in errors}
    assert "at most 2" in by["missing"]
    assert "given twice" in by["rank"]
    assert "no such question" in by["bogus"]
    assert "not asked" in by["price_gap"]  # hidden by the branching: refused, not stored
    clean, errors = custom.validate(survey, {"reason": "Price", "price_gap": 9}, complete=False)
    assert [str(e) for e in errors] == ["price_gap: 9 is off the scale; give 1 to 5"]
    with pytest.raises(InputError, match="rank: an answer is required"):
        custom.validated(survey, {"reason": "Price", "price_gap": 2})
    ok = custom.validated(survey, {"reason": " price ", "price_gap": "2", "rank": ["support", "Price", "Features"]})
    assert ok == {"reason": "Price", "price_gap": 2, "rank": ["Support", "Price", "Features"], "comments": None}
    _, errors = custom.validate(survey, {"reason": "Other", "comments": "x" * 51})
    assert "shorten it to 50" in errors[0].message


def test_bad_definitions_are_refused_naming_the_question():
    def bad(questions, match):
        with pytest.raises(ConfigError, match=match):
            config_from_dict({"custom_surveys": {"s": {"title": "t", "questions": questions}}}, env={})

    bad([{"id": "a", "type": "single", "text": "?", "options": ["x"]}], "'a' .single. needs at least two")
    bad([{"id": "a", "type": "rating", "text": "?"},
         {"id": "b", "type": "text", "text": "?", "show_if": [{"question": "c", "answered": True}]}],
        "show_if refers to 'c'")
    bad([{"id": "a", "type": "single", "text": "?", "options": ["x", "y"],
          "skip_to": [{"when": {"question": "a", "equals": "z"}, "to": "end"}]}], "'z' is not an option of 'a'")
    bad([{"id": "a", "type": "rating", "text": "?"},
         {"id": "b", "type": "text", "text": "?", "skip_to": [{"when": {"question": "b", "answered": True},
                                                                "to": "a"}]}], "not a question of a later page")
    bad([{"id": "a", "type": "rating", "text": "?", "show_if": [], "skip_to": []},
         {"id": "a", "type": "text", "text": "?"}], "'a' is listed twice")


def test_answer_rows_one_per_answer_and_record_is_idempotent(survey, warehouse, tmp_path):
    from tenure.ingest.pipeline import ingest_file

    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}, "custom_surveys": {"exit": EXIT}},
                              base_dir=tmp_path, env={})
    acc = tmp_path / "acc.csv"
    acc.write_text("account_id,name\nA1,Acme\n")
    ingest_file(warehouse, config, "accounts", acc)
    answers = custom.validated(survey, {"reason": "Product", "missing": ["SSO", "API"],
                                        "rank": ["Features", "Support", "Price"], "comments": "bye"})
    rows = custom.answer_rows("exit", survey, answers, response_id="r1", account_id="A1", contact_id="c1",
                              answered_at=datetime(2026, 5, 1, 12))
    assert [r["answer_id"] for r in rows] == ["r1:reason", "r1:missing:1", "r1:missing:2", "r1:rank:1",
                                              "r1:rank:2", "r1:rank:3", "r1:comments"]
    assert [(r["choice"], r["number"]) for r in rows if r["question_id"] == "rank"] == [
        ("Features", "1"), ("Support", "2"), ("Price", "3")]
    first = custom.record(warehouse, config, rows)
    assert first.inserted == 7 and first.rejected == 0
    again = custom.record(warehouse, config, rows)
    assert again.inserted == 0 and again.unchanged == 7
    stored = warehouse.execute(warehouse.table("survey_answers"))
    assert len(stored) == 7 and set(stored["text"].dropna()) == {"bye"}


def test_pages_group_neighbours_and_a_jump_inside_a_page_waits_for_its_answer():
    s = config_from_dict({"custom_surveys": {"onb": {"title": "Onboarding", "purpose": "onboarding", "questions": [
        {"id": "role", "type": "single", "text": "Your role?", "options": ["Admin", "User"], "page": "you"},
        {"id": "team", "type": "rating", "text": "Team size?", "scale_min": 1, "scale_max": 9, "page": "you"},
        {"id": "setup", "type": "rating", "text": "Setup ease?", "page": "setup",
         "skip_to": [{"when": {"question": "setup", "at_most": 2}, "to": "help"}]},
        {"id": "docs", "type": "single", "text": "Docs useful?", "options": ["Yes", "No"], "page": "setup"},
        {"id": "help", "type": "text", "text": "What would have helped?", "required": False},
    ]}}}, env={}).custom_surveys["onb"]
    assert [ids(p) for p in custom.pages(s)] == [["role", "team"], ["setup", "docs"], ["help"]]
    assert ids(custom.next_page(s, {})) == ["role", "team"]
    assert ids(custom.next_page(s, {"role": "Admin", "team": 3})) == ["setup"]  # docs waits for setup's jump
    assert ids(custom.next_page(s, {"role": "Admin", "team": 3, "setup": 1})) == ["help"]
    assert ids(custom.next_page(s, {"role": "Admin", "team": 3, "setup": 4})) == ["docs"]
    assert custom.progress(s, {"role": "Admin", "team": 3}) == (1, 3)
