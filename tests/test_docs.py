"""Docs stay true: every schema column and every metric is documented."""

from pathlib import Path

from tenure.ingest.validate import REASONS
from tenure.metrics.registry import METRICS
from tenure.schema import INGESTIBLE, TABLES

DOCS = Path(__file__).parents[1] / "docs"


def test_every_ingestible_column_and_reason_is_in_data_formats():
    text = (DOCS / "data-formats.md").read_text()
    for name in INGESTIBLE:
        assert f"### {name}" in text, name
        for col in TABLES[name].file_columns:
            assert f"`{col.name}`" in text, (name, col.name)
    for reason in REASONS:
        assert f"`{reason}`" in text, reason


def test_every_metric_is_in_metrics_md_with_its_formula():
    text = (DOCS / "metrics.md").read_text()
    for m in METRICS:
        assert f"`{m.name}`" in text, m.name
        assert m.formula in text, (m.name, m.formula)


def test_personal_data_marks_in_data_formats_match_the_schema():
    """A column documented in data-formats.md says "personal data" exactly when its definition
    has personal=True."""
    import re

    table = None
    seen = 0
    for line in (DOCS / "data-formats.md").read_text().splitlines():
        heading = re.match(r"^### (\w+)$", line)
        if heading:
            table = heading.group(1)
        row = re.match(r"^\| `(\w+)` \|", line)
        if row and table in INGESTIBLE and row.group(1) in TABLES[table].column_names:
            personal = TABLES[table].column(row.group(1)).personal
            assert ("**personal data**" in line) == personal, (table, row.group(1))
            seen += personal
    assert seen == sum(c.personal for name in INGESTIBLE for c in TABLES[name].file_columns)


def test_columns_about_people_are_marked_personal():
    for table, column in [("contacts", "email"), ("contacts", "name"), ("usage_events", "user_id"),
                          ("tickets", "body"), ("survey_responses", "comment"), ("quarantine", "raw")]:
        assert TABLES[table].column(column).personal, (table, column)
    assert not TABLES["contract_lines"].column("arr").personal
