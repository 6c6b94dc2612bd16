"""`tenure voc sentiment` and `tenure voc themes` on a CSV file."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from tenure.cli import app

runner = CliRunner()


def write(tmp_path, text: str, name: str = "comments.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sentiment_writes_id_score_label(tmp_path):
    src = write(tmp_path, "cid,comment\nx1,Support was quick and kind!\nx2,Billing charged us twice &amp; nobody answered.\nx3,\n")
    out = tmp_path / "out" / "scores.csv"
    res = runner.invoke(app, ["voc", "sentiment", str(src), "--text-col", "comment", "--id-col", "cid", "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    assert list(got.columns) == ["id", "sentiment", "label"]
    assert got["id"].tolist() == ["x1", "x2", "x3"]
    assert got["label"].tolist() == ["positive", "negative", "neutral"]
    assert "33.3% negative" in res.output and "3 texts" in res.output


def test_themes_reads_tsv_and_numbers_rows(tmp_path):
    rows = ["text"] + [f"invoice billing problem {i}" for i in range(4)] + [f"slow dashboard reports {i}" for i in range(4)]
    src = write(tmp_path, "\n".join(rows) + "\n", "c.tsv")
    out = tmp_path / "themes.csv"
    res = runner.invoke(app, ["voc", "themes", str(src), "--text-col", "text", "--out", str(out), "--k", "2"])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    assert got["id"].tolist() == list(range(1, 9))
    assert got["theme_id"].nunique() == 2
    assert got.groupby("theme_id")["id"].apply(lambda s: sorted(s)).tolist() in ([[1, 2, 3, 4], [5, 6, 7, 8]], [[5, 6, 7, 8], [1, 2, 3, 4]])


def test_errors_name_the_file_and_column(tmp_path):
    src = write(tmp_path, "id,text\n1,a\n1,b\n")
    res = runner.invoke(app, ["voc", "sentiment", str(src), "--text-col", "body", "--out", str(tmp_path / "o.csv")])
    assert res.exit_code != 0
    message = str(res.exception)  # tenure.cli.main prints it as one line
    assert "no column 'body'" in message and "comments.csv" in message
    res = runner.invoke(app, ["voc", "sentiment", str(src), "--text-col", "text", "--id-col", "id", "--out", str(tmp_path / "o.csv")])
    assert res.exit_code != 0 and "row 3" in str(res.exception) and "appears more than once" in str(res.exception)
