"""A command's as-of day: one parser and one message for every command that takes --as-of."""

from __future__ import annotations

from datetime import date

import pytest

from tenure.errors import InputError
from tenure.warehouse import Warehouse
from tenure.warehouse.asof import require_as_of


def test_require_as_of_parses_or_says_what_is_wrong(tmp_path):
    wh = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    wh.ensure_schema()
    try:
        assert require_as_of(wh, "2026-06-30") == date(2026, 6, 30)
        with pytest.raises(InputError, match="is not a date"):
            require_as_of(wh, "30/06/2026")
        with pytest.raises(InputError, match="no events in the warehouse yet"):
            require_as_of(wh, None)
    finally:
        wh.close()
