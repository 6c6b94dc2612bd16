"""Ranking by the ARR behind each topic, request group and churn reason, on DuckDB and PostgreSQL,
with the expected order and amounts computed here from the hand-made company's ARR and risk
(tests/voc/curation_company.py), and the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tenure.cli import app
from tenure.state.db import session_scope
from tenure.voc import corpus, corrections, ranking, topics
from tests.voc import curation_company as cc

TOPICS = {"Billing": "billing OR invoic*", "Reliability": "crash*", "Praise": "love OR thanks"}


def _expected(members: dict[str, set[str]]) -> list[tuple[str, float, float | None]]:
    """(label, ARR, ARR at risk) per group from the texts' accounts, biggest ARR first."""
    out = []
    for label, ids in members.items():
        accounts = {cc.ACCOUNT_OF[i] for i in ids}
        risky = [cc.ARR[a] * cc.RISK[a] for a in accounts if a in cc.RISK]
        out.append((label, sum(cc.ARR[a] for a in accounts), sum(risky) if risky else None))
    return sorted(out, key=lambda r: (-r[1], r[0]))


@pytest.fixture
def company(warehouse, tmp_path):
    config = cc.make_config(tmp_path)
    cc.build(warehouse, config)
    with session_scope(config) as s:
        for name, query in TOPICS.items():
            topics.add_topic(s, name, query, actor="ana")
        topics.untag(s, "Billing", ["ticket:T1"], actor="ana")  # C's ticket: not about billing after all
        topics.tag(s, "Reliability", ["survey:S1"], actor="ana")
    return warehouse, config


def test_topics_requests_and_churn_reasons_are_ranked_by_the_arr_behind_them(company):
    wh, config = company
    texts = corpus.load(wh)
    members = {name: set(texts["text_id"][topics.match(q, texts["text"]).to_numpy()]) for name, q in TOPICS.items()}
    members["Billing"] -= {"ticket:T1"}
    members["Reliability"] |= {"survey:S1"}
    with session_scope(config) as s:
        rows = ranking.ranked(wh, s, config, "topics", cc.AS_OF, use_embeddings=False)
        by_risk = ranking.ranked(wh, s, config, "topics", cc.AS_OF, by="arr_at_risk", use_embeddings=False)
        scoped = ranking.ranked(wh, s, config, "topics", cc.AS_OF, accounts=["B", "C"], use_embeddings=False)
        requests = ranking.ranked(wh, s, config, "requests", cc.AS_OF, use_embeddings=False)
    expected = _expected(members)
    # Billing: A + B = 15,000 (at risk 1,000 + 2,500); Reliability: A + B (tagged S1) = 15,000 too
    assert [(r["label"], r["arr"], r["arr_at_risk"]) for r in rows] == [
        (label, pytest.approx(arr), None if risk is None else pytest.approx(risk)) for label, arr, risk in expected]
    assert [r["label"] for r in rows] == ["Billing", "Reliability", "Praise"]
    assert [(r["n"], r["accounts"]) for r in rows] == [(2, 2), (2, 2), (1, 1)]
    assert rows[2]["arr_at_risk"] is None  # C has no risk score
    assert [r["label"] for r in by_risk] == ["Billing", "Reliability", "Praise"]
    # the quotes come from the accounts with the most ARR, linked to them
    assert [(q["text_id"], q["account_id"], q["account_name"]) for q in rows[0]["quotes"]] == [
        ("survey:S1", "A", "Alpha Co"), ("survey:S2", "B", "Beta GmbH")]
    # a principal's book: only B and C's texts count
    assert [(r["label"], r["arr"]) for r in scoped] == [("Billing", 5000.0), ("Reliability", 5000.0),
                                                       ("Praise", 2000.0)]
    # "export to Excel" (A) and "Excel export" (B) are one request; C asks for a Salesforce sync
    assert [(r["label"], r["accounts"], r["arr"]) for r in requests] == [("Excel export", 2, 15000.0),
                                                                         ("Salesforce sync", 1, 2000.0)]
    assert requests[0]["arr_at_risk"] == pytest.approx(10_000 * 0.1 + 5_000 * 0.5)

    with session_scope(config) as s:
        rows = ranking.ranked(wh, s, config, "churn", cc.AS_OF, use_embeddings=False)
    # D left on 2026-04-01 with 3,000: its recorded reason (price) and its exit comment (competitor)
    assert [(r["key"], r["churned_arr"], r["arr"], r["n"]) for r in rows] == [
        ("competitor", 3000.0, 0.0, 1), ("price", 3000.0, 0.0, 1)]
    assert rows[1]["quotes"][0]["text"] == "Too expensive after the increase"
    assert rows[1]["detail"] == config.churn_taxonomy.categories["price"].description

    # sentiment per group counts people's corrections over the model's
    scores = {i: 0.5 for i in cc.TEXT_IDS}  # the model finds every text positive
    with session_scope(config) as s:
        corrections.correct(s, "survey:S2", label="negative", model_score=0.5, actor="ana")
        felt = ranking.ranked(wh, s, config, "topics", cc.AS_OF, use_embeddings=False, sentiment=True,
                              model_scores=scores)
    billing = next(r for r in felt if r["label"] == "Billing")
    # S1 0.5 (the model's), S2 corrected to negative (-0.6): mean -0.05, half of the texts negative
    assert billing["sentiment"] == pytest.approx(-0.05) and billing["negative_share"] == 0.5


@pytest.fixture
def project(tmp_path, monkeypatch):
    from tenure.config import write_default_config
    from tenure.warehouse import connect

    write_default_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    for var in ("TENURE_CONFIG", "TENURE_WAREHOUSE_URL", "TENURE_STATE_URL"):
        monkeypatch.delenv(var, raising=False)
    from tenure.config import load_config

    config = load_config(tmp_path / "tenure.yaml")
    with connect(config=config) as wh:
        wh.ensure_schema()
        cc.build(wh, config)
    return tmp_path


def test_cli_curates_topics_and_ranks_them(project):
    runner = CliRunner()

    def run(*args):
        res = runner.invoke(app, ["voc", *args], terminal_width=200)
        assert res.exit_code == 0, res.output
        return res.output

    run("topics", "add", "Finance")
    run("topics", "add", "Billing", "--query", "billing OR invoic*", "--parent", "Finance", "--user", "ana")
    assert "1 of 1" in run("topics", "untag", "Billing", "ticket:T1")
    listed = json.loads(run("topics", "list", "--json"))
    assert [(t["path"], t["untags"]) for t in listed] == [("Finance", 0), ("Finance / Billing", 1)]
    ranked = json.loads(run("rank", "--by", "topics", "--as-of", "2026-06-30", "--no-embeddings", "--json"))
    assert [(r["label"], r["arr"]) for r in ranked["rows"]] == [("Finance", 15000.0), ("Finance / Billing", 15000.0)]
    table = run("rank", "--by", "topics", "--as-of", "2026-06-30", "--no-embeddings")
    assert "$15k" in table and "Alpha Co" in table
    assert "no corrections yet" in run("agreement")
    bad = runner.invoke(app, ["voc", "topics", "add", "Oops", "--query", "billing AND"])
    assert bad.exit_code != 0 and "a term is missing" in str(bad.exception)
