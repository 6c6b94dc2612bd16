"""The portfolio list, its export and an account's owner (DuckDB and PostgreSQL), on the
hand-worked company."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from tenure.errors import InputError, NotFoundError
from tenure.portfolio.accounts import MAX_PAGE_SIZE, AccountFilter, export_accounts, list_accounts, owner_of

from .conftest import AS_OF


def ids(rows):
    return [r["account_id"] for r in rows]


def test_scoping_by_owner(book):
    every = AccountFilter(status=None)
    assert sorted(ids(list_accounts(book, every).rows)) == ["A", "B", "C", "D", "E"]
    mine = list_accounts(book, AccountFilter(status=None, owners=["csm1"]))
    assert sorted(ids(mine.rows)) == ["A", "C"] and mine.total == 2
    none = list_accounts(book, AccountFilter(status=None, owners=[]))
    assert none.rows == [] and none.total == 0
    assert ids(list_accounts(book, AccountFilter(status=None, owners=["csm1", "csm2"]), sort="account_id",
                             descending=False).rows) == ["A", "B", "C", "E"]
    assert export_accounts(book, AccountFilter(status=None, owners=[])).num_rows == 0
    assert export_accounts(book, AccountFilter(status=None, owners=["csm2"])).column("account_id").to_pylist() \
        == ["B", "E"]


def test_filters_sort_and_paging(book):
    page = list_accounts(book, AccountFilter())  # customers, by ARR, highest first
    assert ids(page.rows) == ["B", "A"] and page.total == 2 and page.pages == 1
    assert ids(list_accounts(book, AccountFilter(), sort="arr", descending=False).rows) == ["A", "B"]
    p2 = list_accounts(book, AccountFilter(status=None), sort="name", descending=False, page=2, page_size=2)
    assert ids(p2.rows) == ["D", "E"]  # Alpha, Beta | Delta, Epsilon | Gamma
    assert (p2.total, p2.pages, p2.page, p2.page_size) == (5, 3, 2, 2)
    past = list_accounts(book, AccountFilter(status=None), page=9, page_size=2)
    assert past.rows == [] and past.total == 5
    assert list_accounts(book, AccountFilter(), page_size=10_000).page_size == MAX_PAGE_SIZE
    assert ids(list_accounts(book, AccountFilter(q="BETA", status=None)).rows) == ["B"]  # name
    assert ids(list_accounts(book, AccountFilter(q="gamma.co", status=None)).rows) == ["C"]  # domain
    assert ids(list_accounts(book, AccountFilter(q="50%", status=None)).rows) == []  # % is literal text
    assert ids(list_accounts(book, AccountFilter(q="o'brien", status=None)).rows) == []  # a quote is a value
    assert ids(list_accounts(book, AccountFilter(status="churned")).rows) == ["C"]
    assert sorted(ids(list_accounts(book, AccountFilter(status="prospect")).rows)) == ["D", "E"]
    assert ids(list_accounts(book, AccountFilter(segment="Enterprise")).rows) == ["B"]
    assert ids(list_accounts(book, AccountFilter(band="green")).rows) == ["A"]
    assert ids(list_accounts(book, AccountFilter(min_risk=0.3)).rows) == ["B"]
    assert ids(list_accounts(book, AccountFilter(renewal_within_days=100)).rows) == ["B"]
    assert ids(list_accounts(book, AccountFilter(segment=["SMB", "Enterprise"], owner="csm1")).rows) == ["A"]
    # nulls last either way; band sorts by severity
    assert ids(list_accounts(book, AccountFilter(status=None), sort="risk").rows)[:2] == ["B", "A"]
    assert ids(list_accounts(book, AccountFilter(status=None), sort="risk", descending=False).rows)[:2] == ["A", "B"]
    assert ids(list_accounts(book, AccountFilter(), sort="band", descending=False).rows) == ["B", "A"]
    with pytest.raises(InputError, match="cannot sort by"):
        list_accounts(book, AccountFilter(), sort="drop table")


def test_the_same_question_binds_new_values(book):
    # the question is built once per shape; each call binds its own values
    assert ids(list_accounts(book, AccountFilter(segment="SMB", status=None), sort="account_id").rows) == \
        ["E", "D", "C", "A"]
    assert ids(list_accounts(book, AccountFilter(segment="Enterprise", status=None), sort="account_id").rows) == ["B"]
    assert ids(list_accounts(book, AccountFilter(status=None, owners=["csm2"])).rows) == ["B", "E"]
    assert ids(list_accounts(book, AccountFilter(status=None, owners=["csm1"])).rows) == ["A", "C"]


def test_rows_are_plain_values(book):
    row = next(r for r in list_accounts(book, AccountFilter()).rows if r["account_id"] == "A")
    assert row["arr"] == 2400.0 and isinstance(row["arr"], float)
    assert row["renewal_date"] == date(2026, 12, 31) and type(row["renewal_date"]) is date
    assert row["customer_since"] == date(2025, 1, 1) and row["as_of"] == AS_OF
    assert row["risk_drivers"] == [{"feature": "nps_latest", "effect": 0.5}]
    t = export_accounts(book, AccountFilter())
    assert isinstance(t, pa.Table) and t.column("account_id").to_pylist() == ["B", "A"]
    assert pa.types.is_floating(t.schema.field("arr").type)


def test_owner_of(book):
    assert owner_of(book, "A") == "csm1" and owner_of(book, "D") is None
    with pytest.raises(NotFoundError):
        owner_of(book, "nope")


def test_values_are_bound_by_the_engine_not_written_into_the_sql(book):
    from tenure.warehouse import prepared

    list_accounts(book, AccountFilter(q="zeta-unique", owners=["csm-unique"]))
    sqls = [p.sql for (url, _key, _paged), p in prepared._cache.items() if url == book.url]
    assert sqls and not any("zeta-unique" in s or "csm-unique" in s for s in sqls)
    assert any("$own0" in s or "%(own0)s" in s for s in sqls)
