"""`tenure metrics explain` in table mode: rows add up to the footer, the title is readable, and
--lines prints the lines."""

from __future__ import annotations

from typer.testing import CliRunner

from tenure.cli import app

runner = CliRunner()


def _write(path, text):
    path.write_text(text.strip() + "\n")


def test_explain_table_adds_up_and_lists_lines(tmp_project):
    _write(tmp_project / "acc.csv", """
account_id,name,segment
A,Acme,SMB
B,Beta,SMB
C,Core,SMB
""")
    _write(tmp_project / "lines.csv", """
line_id,account_id,product,start_date,end_date,arr,currency
a1,A,core,2025-01-01,2026-08-10,1000,USD
b1,B,core,2025-01-01,2026-08-20,300,USD
c1,C,core,2025-01-01,2026-09-05,200,USD
""")
    for entity, f in (("accounts", "acc.csv"), ("contract_lines", "lines.csv")):
        assert runner.invoke(app, ["ingest", entity, f]).exit_code == 0
    res = runner.invoke(app, ["metrics", "explain", "churned_arr", "--period", "2026-Q3", "--where", "segment=SMB",
                              "--limit", "2"], terminal_width=200)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "churned_arr 2026-Q3 where segment=SMB: 2 of 3 accounts" in out
    assert "{" not in out  # no Python dict in the title
    assert "… 1 more" in out and "200.00" in out  # the hidden account's own sum
    assert "1,500.00" in out  # the footer total equals the numerator
    assert "numerator (sum of contributions): 1,500.00" in out
    res = runner.invoke(app, ["metrics", "explain", "churned_arr", "--period", "2026-Q3", "--lines"],
                        terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "3 accounts" in res.output and "of 3" not in res.output
    for line_id in ("a1", "b1", "c1"):
        assert f" {line_id} " in res.output
