"""The fact model is defined once and consistently."""

from tenure.schema import ALL_TABLES, INGESTIBLE, TABLES
from tenure.schema.facts import FACT_TABLES


def test_every_fact_table_has_lineage_and_a_natural_key():
    for t in FACT_TABLES:
        assert {"source", "ingested_at"} <= set(t.column_names), t.name
        assert t.key, t.name
        for k in t.key:
            assert not t.column(k).nullable, (t.name, k)


def test_every_column_is_documented_and_references_resolve():
    for t in ALL_TABLES:
        assert t.description
        for c in t.columns:
            assert c.description, (t.name, c.name)
            if c.references:
                table, col = c.references.split(".")
                assert col in TABLES[table].column_names


def test_ingestible_entities_match_the_issue_formats():
    assert set(INGESTIBLE) == {
        "accounts", "contacts", "contract_lines", "invoices", "usage_events", "tickets",
        "survey_responses", "survey_invitations", "survey_answers", "opportunities", "activities", "milestones", "churn_reasons",
        "spend", "costs", "fx",
    }
