"""Every file of the hostile corpus (corpus.py) is either refused with a clear error naming the
file, or loaded row by row: bad rows quarantined naming file, row, column and reason, good rows
stored with exactly the values the file held. Nothing is silently changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenure.config import config_from_dict
from tenure.errors import InputError
from tenure.ingest.pipeline import ingest_file
from tenure.schema import TABLES

from .conftest import ACCOUNTS, FX, one, quarantined
from .corpus import CASES, Case, Err

CATEGORIES = {"encodings", "shapes", "orders", "types", "ranges", "references", "sizes"}


def test_the_corpus_is_large_and_covers_every_category():
    assert len(CASES) >= 60
    assert {c.category for c in CASES} == CATEGORIES
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One warehouse for the corpus (accounts A1-A3, fx EUR/GBP); each case empties its table."""
    from tenure.warehouse import Warehouse

    root = tmp_path_factory.mktemp("hostile")
    config = config_from_dict({"ingest": {"runs_dir": str(root / "runs")}}, base_dir=root, env={})
    wh = Warehouse(f"duckdb:///{root / 'corpus.duckdb'}")
    wh.ensure_schema()
    (root / "accounts.csv").write_text(ACCOUNTS)
    (root / "fx.csv").write_text(FX)
    ingest_file(wh, config, "accounts", root / "accounts.csv")
    ingest_file(wh, config, "fx", root / "fx.csv")
    yield wh, root
    wh.close()


def _write(case: Case, folder: Path) -> tuple[Path, list[str]]:
    folder.mkdir(parents=True)
    if callable(case.files):
        path = case.files(folder)
        return path, [path.name]
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
    if len(case.files) == 1:
        (name,) = case.files
        return folder / name, [name]
    return folder, list(case.files)


def _stored(wh, entity: str):
    return wh.execute(wh.table(entity))


def _same(stored, expected) -> bool:
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return not isinstance(stored, str) and float(stored) == float(expected)
    return stored == expected


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_file(shared, case: Case):
    wh, root = shared
    entity = case.entity
    table = TABLES[entity]
    if entity != "accounts":
        wh.raw_sql(f'DELETE FROM "{entity}"')
        if entity == "usage_events":
            wh.raw_sql("DELETE FROM usage_daily")
    before = len(_stored(wh, entity))
    path, names = _write(case, root / case.id)
    config = config_from_dict({"ingest": {"runs_dir": str(root / "runs"), **case.config}}, base_dir=root, env={})

    if isinstance(case.expect, Err):
        with pytest.raises(InputError) as err:
            ingest_file(wh, config, entity, path)
        msg = str(err.value)
        assert any(n in msg for n in [*names, path.name]), f"the error does not name the file: {msg}"
        assert "Traceback" not in msg
        import re

        assert re.search(case.expect.pattern, msg), msg
        assert len(_stored(wh, entity)) == before, "a refused file loaded rows"
        return

    res = one(ingest_file(wh, config, entity, path))
    q = quarantined(res)
    got = {(int(r["row_number"]), r["column"], r["reason"]) for r in q}
    assert got == set(case.expect.rejected), q
    for r in q:
        assert any(Path(r["file"]).name == n for n in names), r
        assert r["message"] and (r["column"] or r["reason"] == "bad_row"), r
    assert res.rejected == len({(r["file"], r["row_number"]) for r in q})
    stored = _stored(wh, entity)
    if isinstance(case.expect.loaded, int):
        assert len(stored) - before == case.expect.loaded
    elif entity == "usage_events":
        assert len(stored) == len(case.expect.loaded)
    else:
        (key,) = table.key
        new = set(stored[key]) - ({"A1", "A2", "A3"} if entity == "accounts" else set())
        assert new == set(case.expect.loaded)
    if case.expect.warning:
        assert any(case.expect.warning in w for w in res.warnings), res.warnings
    for k, cols in case.expect.values.items():
        (key,) = table.key
        row = stored[stored[key] == k].iloc[0]
        for col, want in cols.items():
            assert _same(row[col], want), (k, col, row[col], want)
