"""tenure's PostgreSQL sessions run without JIT (its wide CASE expressions compiled for seconds)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.postgres


def test_postgres_sessions_have_jit_off(pg_url):
    from tenure.warehouse import Warehouse

    wh = Warehouse(pg_url)
    try:
        assert wh.raw_sql("SHOW jit")[0][0] == "off"
        other = wh.cursor()  # a web server thread's own connection
        assert other.raw_sql("SHOW jit")[0][0] == "off"
        other.close()
    finally:
        wh.close()
