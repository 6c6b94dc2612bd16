"""Every validation rule names file, row, column, value and reason; good rows still load."""

from __future__ import annotations

import csv

import pytest

from tenure.errors import InputError
from tenure.ingest.pipeline import ingest_file


def _quarantine(res) -> list[dict]:
    with open(res.quarantine_path, newline="") as f:
        return list(csv.DictReader(f))


CASES = [
    # entity, header, bad row, column, reason
    ("contract_lines", "line_id,account_id,product,start_date,end_date,arr,currency",
     "L9,A1,core,2024-01-01,,-5,USD", "arr", "range"),
    ("contract_lines", "line_id,account_id,product,start_date,end_date,arr,currency",
     "L9,A1,core,2024-05-01,2024-04-30,5,USD", "end_date", "end_not_before_start"),
    ("contract_lines", "line_id,account_id,product,start_date,end_date,arr,currency",
     "L9,A1,core,30/01/2024,,5,USD", "start_date", "bad_date"),
    ("contract_lines", "line_id,account_id,product,start_date,end_date,arr,currency",
     "L9,A1,core,2024-01-01,,1.234,5,USD", "", "bad_row"),  # too many fields: quarantined, not fatal
    ("contract_lines", "line_id,account_id,product,start_date,end_date,arr,currency",
     "L9,ZZ,core,2024-01-01,,5,USD", "account_id", "unknown_account"),
    ("contract_lines", "line_id,account_id,product,start_date,end_date,arr,currency",
     "L9,A1,core,2024-01-01,,five,USD", "arr", "bad_number"),
    ("contract_lines", "line_id,account_id,product,start_date,end_date,arr,currency",
     "L9,A1,core,2024-01-01,,5,DOLLARS", "currency", "bad_currency"),
    ("contract_lines", "line_id,account_id,product,start_date,end_date,arr,currency",
     ",A1,core,2024-01-01,,5,USD", "line_id", "required"),
    ("survey_responses", "response_id,account_id,contact_id,kind,score,comment,responded_at",
     "R9,A1,,nps,11,,2024-01-01T00:00:00Z", "score", "range"),
    ("survey_responses", "response_id,account_id,contact_id,kind,score,comment,responded_at",
     "R9,A1,,csat,7,,2024-01-01T00:00:00Z", "score", "score_in_kind_range"),
    ("survey_responses", "response_id,account_id,contact_id,kind,score,comment,responded_at",
     "R9,A1,,stars,3,,2024-01-01T00:00:00Z", "kind", "enum"),
    ("survey_responses", "response_id,account_id,contact_id,kind,score,comment,responded_at",
     "R9,A1,,nps,3,,last tuesday", "responded_at", "bad_timestamp"),
    ("tickets", "ticket_id,account_id,opened_at,first_response_at,resolved_at,priority,status,csat,subject,body,"
     "escalated", "T9,A1,2024-01-02T00:00:00Z,,2024-01-01T00:00:00Z,high,solved,,s,b,false", "resolved_at",
     "resolved_not_before_opened"),
    ("tickets", "ticket_id,account_id,opened_at,first_response_at,resolved_at,priority,status,csat,subject,body,"
     "escalated", "T9,A1,2024-01-02T00:00:00Z,,,high,solved,,s,b,maybe", "escalated", "bad_bool"),
    ("invoices", "invoice_id,account_id,amount,currency,issued_at,due_at,paid_at",
     "I9,A1,10,USD,2024-02-01,2024-01-01,", "due_at", "due_not_before_issued"),
    ("contacts", "contact_id,account_id,email,name,title,role,active_from,active_to",
     "C9,A1,x@acme.com,X,CEO,exec sponsor,2024-05-01,2024-01-01", "active_to", "active_to_after_from"),
    ("opportunities", "opportunity_id,account_id,kind,amount,currency,stage,probability,close_date",
     "O9,A1,renewal,100,USD,Negotiation,1.5,2024-01-01", "probability", "range"),
    ("spend", "period,segment,amount,currency", "2024-13,SMB,10,USD", "period", "bad_month"),
    ("activities", "activity_id,account_id,kind,at,with_exec", "X9,A1,qbr,2024-01-01,2", "with_exec", "bad_bool"),
]


@pytest.mark.parametrize("entity,header,bad,column,reason", CASES)
def test_rule_rejects_row_and_loads_the_rest(loaded_accounts, config, write, entity, header, bad, column, reason):
    wh = loaded_accounts
    good = {
        "contract_lines": "L1,A1,core,2024-01-01,,100,USD",
        "survey_responses": "R1,A1,,nps,9,great,2024-01-01T00:00:00Z",
        "tickets": "T1,A1,2024-01-01T00:00:00Z,,,high,open,,s,b,false",
        "invoices": "I1,A1,10,USD,2024-01-01,2024-01-31,",
        "contacts": "C1,A1,a@acme.com,A,CEO,exec_sponsor,2024-01-01,",
        "opportunities": "O1,A1,renewal,100,USD,Negotiation,0.5,2024-06-01",
        "spend": "2024-01,SMB,10,USD",
        "activities": "X1,A1,qbr,2024-01-01T10:00:00Z,true",
    }[entity]
    path = write(f"{entity}.csv", f"{header}\n{good}\n{bad}\n")
    if reason is None:
        with pytest.raises(InputError, match=f"{entity}.csv"):
            ingest_file(wh, config, entity, path)
        return
    res = ingest_file(wh, config, entity, path)
    assert (res.rows_read, res.inserted, res.rejected) == (2, 1, 1)
    assert res.rejected_by_reason.get(reason) == 1
    assert res.exit_code == 1
    rows = _quarantine(res)
    assert any(r["column"] == column and r["reason"] == reason and r["row_number"] == "2"
               and r["file"].endswith(f"{entity}.csv") for r in rows), rows
    stored = wh.execute(wh.table("quarantine").filter(lambda t: t.run_id == res.run_id))
    assert set(stored["reason"]) >= {reason}
    kept = stored["message"] if reason == "bad_row" else stored["raw"]  # an unreadable row is kept as text
    assert kept.str.contains(bad.split(",")[0] or "A1").all()


def test_missing_required_column_is_a_file_error_naming_it(loaded_accounts, config, write):
    path = write("lines.csv", "line_id,account_id,product,start_date,arr,currency\nL1,A1,core,2024-01-01,1,USD\n")
    with pytest.raises(InputError, match="lines.csv: missing required column.*end_date"):
        ingest_file(loaded_accounts, config, "contract_lines", path)
    assert loaded_accounts.count("contract_lines") == 0


def test_csv_dialects_bom_and_gzip(loaded_accounts, config, write, tmp_path):
    import gzip

    text = "line_id;account_id;product;start_date;end_date;arr;currency\nL1;A1;core;2024/01/01;;1200.5;usd\n"
    res = ingest_file(loaded_accounts, config, "contract_lines", write("semi.csv", "\ufeff" + text))
    assert res.inserted == 1 and res.rejected == 0
    gz = tmp_path / "tab.tsv.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as f:
        f.write(text.replace(";", "\t").replace("L1", "L2"))
    assert ingest_file(loaded_accounts, config, "contract_lines", gz).inserted == 1
    row = loaded_accounts.execute(loaded_accounts.table("contract_lines").filter(lambda t: t.line_id == "L1"))
    assert str(row["arr"][0]) == "1200.50" and row["currency"][0] == "USD"


def test_enum_values_are_normalized_and_extra_account_columns_become_attributes(warehouse, config, write):
    path = write("acc.csv", "account_id,name,domain,segment,employees,plan\nA1,Acme,acme.com,Enterprise,1200,Gold\n")
    res = ingest_file(warehouse, config, "accounts", path)
    assert res.inserted == 1
    attrs = warehouse.execute(warehouse.table("account_attributes").order_by("name"))
    assert list(attrs["name"]) == ["employees", "plan"]
    assert attrs["value_number"][0] == 1200 and attrs["value"][1] == "Gold"
    contacts = write("c.csv", "contact_id,account_id,email,name,title,role\nC1,A1,a@acme.com,A,CEO,Exec Sponsor\n")
    ingest_file(warehouse, config, "contacts", contacts)
    assert warehouse.execute(warehouse.table("contacts"))["role"][0] == "exec_sponsor"


def test_parquet_and_jsonl_inputs(loaded_accounts, config, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"date": ["2024-01-01"], "currency": ["EUR"], "rate_to_reporting": [1.1]}),
                   tmp_path / "fx.parquet")
    assert ingest_file(loaded_accounts, config, "fx", tmp_path / "fx.parquet").inserted == 1
    (tmp_path / "fx.jsonl").write_text('{"date": "2024-02-01", "currency": "EUR", "rate_to_reporting": 1.2}\n')
    assert ingest_file(loaded_accounts, config, "fx", tmp_path / "fx.jsonl").inserted == 1
    assert loaded_accounts.count("fx") == 2


def test_strict_loads_nothing_but_quarantines(loaded_accounts, config, write):
    path = write("l.csv", "line_id,account_id,product,start_date,end_date,arr,currency\n"
                          "L1,A1,core,2024-01-01,,100,USD\nL2,A1,core,2024-01-01,,-1,USD\n")
    res = ingest_file(loaded_accounts, config, "contract_lines", path, strict=True)
    assert res.status == "rejected" and res.exit_code == 2 and res.loaded == 0
    assert loaded_accounts.count("contract_lines") == 0
    assert loaded_accounts.count("quarantine") == 1


def test_unknown_entity_and_missing_file(warehouse, config, tmp_path):
    with pytest.raises(InputError, match="unknown entity"):
        ingest_file(warehouse, config, "customers", tmp_path / "x.csv")
    with pytest.raises(InputError, match="no such file"):
        ingest_file(warehouse, config, "accounts", tmp_path / "missing.csv")
