"""The access policy without HTTP: books, company-wide figures and records (tenure.access)."""

from __future__ import annotations

import pytest

from tenure.access import BOOK_DIMENSIONS, FIGURES, RECORDS, OutOfScope, Principal, policy


def principal(owners: frozenset[str] | None, name: str = "someone") -> Principal:
    return Principal(1, name, "csm" if owners is not None else "executive", None, frozenset({"read"}), owners,
                     "token")


EVERYTHING = policy(principal(None, "cco"))
CSM = policy(principal(frozenset({"csm01"}), "csm01"))
MANAGER = policy(principal(frozenset({"csm02", "csm01"}), "manager"))
NOBODY = policy(principal(frozenset(), "newcomer"))


def test_account_reads_are_scoped_to_the_sorted_book():
    assert EVERYTHING.owners is None and EVERYTHING.everything
    assert CSM.owners == ["csm01"] and MANAGER.owners == ["csm01", "csm02"] and NOBODY.owners == []


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_is_company_wide_for_every_book(name):
    for acc in (EVERYTHING, CSM, MANAGER, NOBODY):
        fig = acc.figure(name, ["segment"])
        assert fig.dims == ("segment",) and fig.owners is None
        rows = [{"group": {"segment": "smb"}}, {"group": {"segment": "enterprise"}}]
        assert fig.keep(rows) == rows


@pytest.mark.parametrize("dim", BOOK_DIMENSIONS)
def test_a_breakdown_by_a_book_dimension_keeps_the_books_groups(dim):
    rows = [{"group": {dim: "x", "owner": o}} for o in ("csm01", "csm02", "csm03", None)]
    fig = MANAGER.figure("metrics", [dim])
    assert "owner" in fig.dims and fig.dims[0] == dim
    assert [r["group"]["owner"] for r in fig.keep(rows)] == ["csm01", "csm02"]
    assert CSM.figure("bridge", [dim]).keep(rows) == rows[:1]
    assert NOBODY.figure("bridge", [dim]).keep(rows) == []
    assert EVERYTHING.figure("metrics", [dim]).keep(rows) == rows and EVERYTHING.figure("metrics", [dim]).dims == (dim,)


def test_unknown_figures_and_records_are_bugs_not_refusals():
    with pytest.raises(KeyError):
        CSM.figure("salaries")
    with pytest.raises(KeyError):
        EVERYTHING.records("salaries")


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_records_need_a_book_of_everything(name):
    EVERYTHING.records(name)
    assert EVERYTHING.sees_records(name)
    for acc in (CSM, MANAGER, NOBODY):
        assert not acc.sees_records(name)
        with pytest.raises(OutOfScope, match="book of business is limited"):
            acc.records(name)


def test_the_accounts_behind_a_figure_are_the_books():
    assert EVERYTHING.accounts_behind({"segment": "smb"}) == [{"segment": "smb"}]
    assert MANAGER.accounts_behind({"segment": "smb"}) == [{"segment": "smb", "owner": "csm01"},
                                                           {"segment": "smb", "owner": "csm02"}]
    assert CSM.accounts_behind({"owner": "csm01"}) == [{"owner": "csm01"}]
    with pytest.raises(OutOfScope, match="'csm03' is not in manager's book"):
        MANAGER.accounts_behind({"owner": "csm03"})
    with pytest.raises(OutOfScope, match="empty"):
        NOBODY.accounts_behind({})


def test_one_account_is_opened_only_inside_the_book():
    EVERYTHING.account("A1", "csm03")
    EVERYTHING.account("A2", None)
    MANAGER.account("A1", "csm02")
    for acc, owner in ((CSM, "csm02"), (MANAGER, "csm03"), (CSM, None), (NOBODY, "csm01")):
        with pytest.raises(OutOfScope, match="account A1 is not in .*'s book of business"):
            acc.account("A1", owner)
