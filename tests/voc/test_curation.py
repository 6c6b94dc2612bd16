"""Curation: the corpus, topics with manual tags that survive reruns, sentiment corrections and the
agreement report, the churn-reason taxonomy (hand-made company: tests/voc/curation_company.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from tenure.errors import InputError
from tenure.state.db import session_scope
from tenure.state.models import AuditLog
from tenure.voc import corpus, corrections, topics
from tenure.voc.churn_taxonomy import classify, classify_churn
from tests.voc import curation_company as cc


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    from tenure.warehouse import Warehouse

    tmp = tmp_path_factory.mktemp("curation")
    config = cc.make_config(tmp)
    wh = Warehouse(f"duckdb:///{tmp / 'wh.duckdb'}")
    wh.ensure_schema()
    cc.build(wh, config)
    yield wh, config
    wh.close()


def test_corpus_has_every_source_with_stable_ids_and_only_texts(company):
    wh, _ = company
    df = corpus.load(wh)
    assert set(df["text_id"]) == cc.TEXT_IDS  # S5 has no comment
    assert dict(zip(df["text_id"], df["account_id"])) == cc.ACCOUNT_OF
    assert df.set_index("text_id").loc["ticket:T1", "text"] == "Invoice question. Can you add support for Salesforce sync?"
    assert df.set_index("text_id").loc["churn:D:2026-03-31", "source"] == "churn_reason"
    # bounded: the newest texts first
    assert list(corpus.load(wh, limit=2)["text_id"]) == ["ticket:T2", "ticket:T1"]
    assert set(corpus.load(wh, since=date(2026, 6, 3), until=date(2026, 6, 5))["text_id"]) == {"survey:S3", "ticket:T1"}
    assert list(corpus.texts_by_id(wh, ["survey:S2", "survey:nope"])["text_id"]) == ["survey:S2"]
    with pytest.raises(InputError, match="unknown source"):
        corpus.source_of("chat:1")


@pytest.mark.parametrize("query, expected", [
    ("invoice", {"survey:S2", "ticket:T1"}),
    ("invoic* OR billing", {"survey:S1", "survey:S2", "ticket:T1"}),
    ('"excel export" OR "export to excel"', {"survey:S1", "survey:S2"}),
    ("excel AND NOT billing", {"survey:S2"}),
    ("excel billing", {"survey:S1"}),  # side by side: AND
    ("(crash* OR invoice) NOT salesforce", {"survey:S2", "ticket:T2"}),
])
def test_topic_queries_match_whole_words_phrases_and_operators(company, query, expected):
    df = corpus.load(company[0])
    assert set(df["text_id"][topics.match(query, df["text"]).to_numpy()]) == expected


@pytest.mark.parametrize("query, message", [
    ("billing AND", "a term is missing at character 12"), ("(billing", "')' is missing"),
    ('"credit card', "no closing quote"), ("NOT billing", "at least one term that is not under NOT"),
    ("billing )", "')' is not expected here at character 9"),
])
def test_bad_queries_say_where_and_what(query, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        topics.parse_query(query, topic="Billing")
    assert "topic 'Billing'" in str(err.value)


def test_manual_tags_survive_a_rerun_and_an_untag_beats_a_keyword(company, state_url):
    wh, _ = company
    texts = corpus.load(wh)
    with session_scope(state_url) as s:
        topics.add_topic(s, "Finance", "", actor="ana")
        topics.add_topic(s, "Billing", "billing OR invoic*", parent="Finance", actor="ana")
        topics.add_topic(s, "Reliability", "crash*", actor="ana")
        assert topics.tag(s, "Billing", ["survey:S3"], actor="ana") == 1
        assert topics.untag(s, "Billing", ["survey:S2"], actor="ana") == 1  # matches "invoice"
        assert topics.tag(s, "Billing", ["survey:S3"], actor="ana") == 0  # already tagged: no change
    expected = {("Billing", "survey:S1", "keyword"), ("Billing", "ticket:T1", "keyword"),
                ("Billing", "survey:S3", "manual"), ("Finance", "survey:S1", "child"),
                ("Finance", "ticket:T1", "child"), ("Finance", "survey:S3", "child"),
                ("Reliability", "ticket:T2", "keyword")}
    for _run in range(2):  # a rerun (new session, texts read again) keeps every tag and untag
        with session_scope(state_url) as s:
            m = topics.memberships(s, corpus.load(wh)[["text_id", "text"]])
        assert set(zip(m["topic"], m["text_id"], m["how"])) == expected
    # editing the query keeps the people's decisions
    with session_scope(state_url) as s:
        topics.update_topic(s, "Billing", query="invoice", actor="bo")
        m = topics.memberships(s, texts[["text_id", "text"]])
        assert set(m[m["topic"] == "Billing"]["text_id"]) == {"ticket:T1", "survey:S3"}
        # an untag on the parent wins over the roll-up from its child
        topics.untag(s, "Finance", ["ticket:T1"], actor="bo")
        m = topics.memberships(s, texts[["text_id", "text"]])
        assert set(m[m["topic"] == "Finance"]["text_id"]) == {"survey:S3"}
        with pytest.raises(InputError, match="one of its children"):
            topics.update_topic(s, "Finance", parent="Billing", actor="bo")
        with pytest.raises(InputError, match="unknown source"):
            topics.tag(s, "Billing", ["S1"], actor="bo")
    with session_scope(state_url) as s:
        audit = s.execute(select(AuditLog.entity, AuditLog.action, AuditLog.actor)).all()
    assert ("voc_topic", "create", "ana") in audit and ("voc_topic", "update", "bo") in audit
    assert [a for a in audit if a[0] == "voc_topic_tag"] == [
        ("voc_topic_tag", "tag", "ana"), ("voc_topic_tag", "untag", "ana"), ("voc_topic_tag", "untag", "bo")]


def test_a_correction_is_applied_wherever_sentiment_is_read_and_counted_in_agreement(state_url):
    texts = pd.DataFrame({"text_id": ["survey:S1", "survey:S2", "survey:S3", "ticket:T2"],
                          "text": ["a", "b", "c", "d"]})
    lo, hi = (float(x) for x in __import__("tenure.voc.sentiment", fromlist=["thresholds"]).thresholds())
    pos, neg, neu = min(hi + 0.3, 0.99), max(lo - 0.3, -0.99), (lo + hi) / 2
    model = [pos, neg, neu, pos]
    with session_scope(state_url) as s:
        # S1: the model says positive, a person says negative; S2: the person confirms negative;
        # S3: the model says neutral, the person positive with a score of their own
        corrections.correct(s, "survey:S1", label="negative", model_score=pos, actor="ana")
        corrections.correct(s, "survey:S2", label="negative", model_score=neg, actor="ana")
        corrections.correct(s, "survey:S3", score=0.9, model_score=neu, note="sarcasm-free praise", actor="bo")
        with pytest.raises(InputError, match="not one of negative, neutral, positive"):
            corrections.correct(s, "survey:S1", label="angry", actor="ana")
        with pytest.raises(InputError, match="outside -1 to 1"):
            corrections.correct(s, "survey:S1", score=3, actor="ana")
    with session_scope(state_url) as s:
        eff = corrections.effective(s, texts, model_scores=model).set_index("text_id")
        a = corrections.agreement(s)
        audit = s.scalars(select(AuditLog.entity_id).where(AuditLog.entity == "sentiment_correction")).all()
    assert list(eff["label"]) == ["negative", "negative", "positive", "positive"]
    assert list(eff["corrected"]) == [True, True, True, False]
    assert eff.loc["survey:S1", "score"] == corrections.LABEL_SCORE["negative"]  # label only, model disagreed
    assert eff.loc["survey:S2", "score"] == pytest.approx(neg)  # label only, model agreed: its score kept
    assert eff.loc["survey:S3", "score"] == 0.9 and eff.loc["ticket:T2", "score"] == pytest.approx(pos)
    # by hand: model pos/neg/neu vs people neg/neg/pos -> 1 of 3 agree; p_e = (1*2 + 1*0 + 1*1) / 9 = 1/3,
    # kappa = (1/3 - 1/3) / (1 - 1/3) = 0
    assert (a.n, a.agreeing) == (3, 1) and a.share == pytest.approx(1 / 3) and a.kappa == pytest.approx(0.0)
    assert a.confusion["positive"]["negative"] == 1 and a.confusion["neutral"]["positive"] == 1
    assert a.confusion["negative"]["negative"] == 1
    assert sorted(audit) == ["survey:S1", "survey:S2", "survey:S3"]
    # a second correction replaces the first; removing it brings the model back
    with session_scope(state_url) as s:
        corrections.correct(s, "survey:S1", label="positive", model_score=pos, actor="bo")
        assert corrections.agreement(s).agreeing == 2
        assert corrections.remove(s, "survey:S1", actor="bo")
        eff = corrections.effective(s, texts, model_scores=model).set_index("text_id")
    assert eff.loc["survey:S1", "label"] == "positive" and not eff.loc["survey:S1", "corrected"]


def test_kappa_is_one_when_people_always_agree_and_undefined_without_corrections(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    with session_scope(url) as s:
        assert corrections.agreement(s).kappa is None
        corrections.correct(s, "survey:1", label="negative", model_label="negative", actor="a")
        corrections.correct(s, "survey:2", label="positive", model_label="positive", actor="a")
        a = corrections.agreement(s)
    assert (a.share, a.kappa) == (1.0, 1.0)


def test_churn_taxonomy_classifies_reasons_and_comments_with_confidence(company):
    wh, config = company
    tax = config.churn_taxonomy
    out = classify(["Too expensive after the increase", "", "We switched to a competitor.",
                    "We went with a cheaper competitor", "The weather was lovely"], tax,
                   recorded=["pricing", "champion left", None, None, None], use_embeddings=False)
    assert list(out["category"]) == ["price", "champion_left", "competitor", "competitor", "other"]
    assert list(out["method"]) == ["keyword", "recorded", "keyword", "keyword", "none"]
    # "pricing" is no category name, but a keyword (plus "expensive"); "went with" and "competitor"
    # against "cheaper": 2 of 3 hits
    assert list(out["confidence"]) == [1.0, 1.0, 1.0, 0.667, 0.0]
    df = classify_churn(wh, config, use_embeddings=False).set_index("text_id")
    # D's reason and D's comment 15 days before it churned; not the other accounts' comments
    assert set(df.index) == {"churn:D:2026-03-31", "survey:S4"}
    assert df.loc["churn:D:2026-03-31", ["category", "method"]].tolist() == ["price", "recorded"]
    assert df.loc["survey:S4", ["category", "method"]].tolist() == ["competitor", "keyword"]


def test_default_taxonomy_is_the_one_in_the_default_tenure_yaml():
    import yaml

    from tenure.config import DEFAULT_CONFIG_YAML, ChurnTaxonomy, Config

    shipped = ChurnTaxonomy.model_validate(yaml.safe_load(DEFAULT_CONFIG_YAML)["churn_taxonomy"])
    assert shipped == Config().churn_taxonomy and "other" not in shipped.categories


def test_csm_notes_join_the_corpus_when_a_state_session_is_given(company, tmp_path):
    from tenure.state import users
    from tenure.state.models import Note

    wh, _ = company
    with session_scope(f"sqlite:///{tmp_path / 's.db'}") as s:
        author = users.create_user(s, "ana", "correct horse battery", "csm", actor="admin")
        s.flush()
        s.add(Note(account_id="C", author_id=author.id, body="They would love a dark mode."))
        s.add(Note(account_id="C", author_id=author.id, body="   "))
        s.flush()
        texts = corpus.load(wh, session=s)
        one = corpus.texts_by_id(wh, ["note:1", "survey:S1"], session=s)
    assert set(texts["text_id"]) == cc.TEXT_IDS | {"note:1"}
    assert texts.set_index("text_id").loc["note:1", ["source", "account_id"]].tolist() == ["note", "C"]
    assert set(one["text_id"]) == {"note:1", "survey:S1"}


def test_feature_requests_are_extracted_and_grouped_under_a_readable_label():
    from tenure.voc.requests import extract, group

    texts = pd.DataFrame({"text_id": [f"survey:{i}" for i in range(8)], "account_id": list("AABBCCDD"), "text": [
        "Great tool. It would be great if you could add an export to Excel.", "Please add Excel export!",
        "Feature request: more filters", "Can you add support for Salesforce sync?", "Love it, thanks.",
        "SSO support is missing", "I wish there was a dark mode", "Filters please, we need filters"]})
    g = group(extract(texts), use_embeddings=False)
    got = dict(zip(g["text_id"], g["group_label"]))
    assert got == {"survey:0": "Excel export", "survey:1": "Excel export", "survey:2": "Filters",
                   "survey:3": "Salesforce sync", "survey:5": "SSO support", "survey:6": "Dark mode",
                   "survey:7": "Filters"}
    assert set(g[g["group_label"] == "Excel export"]["group_id"]) == {"excel-export"}
