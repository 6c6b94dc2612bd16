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
