"""Staging: temporary tables where incoming rows are checked before they are written.

Rows are staged in a DuckDB engine: the warehouse's own connection when the warehouse is
DuckDB (so checks and the final write share one transaction and nothing is copied), otherwise
a private in-memory DuckDB. `Stage.to_warehouse` hands a staged result to the warehouse
session as a temp table, which tenure.warehouse.writes then writes from. Names carry a random
tag, so concurrent runs never collide; `with Stage(wh) as stage:` drops everything it made."""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from tenure.warehouse.sql import ident

if TYPE_CHECKING:  # pragma: no cover
    from tenure.warehouse.connection import Warehouse


class Stage:
    """Temp tables of one run in the staging engine."""

    def __init__(self, wh: Warehouse):
        self.wh = wh
        self.con = wh.staging_engine()
        self.tag = uuid.uuid4().hex[:8]
        self.created: list[str] = []
        self.in_warehouse: list[str] = []

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop_all()

    def name(self, base: str) -> str:
        return f"__{base}_{self.tag}"

    def sql(self, query: str, params: list | None = None):
        return self.con.execute(query, params) if params else self.con.execute(query)

    def temp_from_arrow(self, base: str, data: pa.Table | pa.RecordBatch, append: bool = False) -> str:
        """Stage Arrow rows as temp table `base` (replacing it, or appending to it)."""
        name = self.name(base)
        self.con.register("__tenure_in", data)
        try:
            if append:
                self.con.execute(f"INSERT INTO {name} SELECT * FROM __tenure_in")
            else:
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM __tenure_in")
                self.created.append(name)
        finally:
            self.con.unregister("__tenure_in")
        return name

    def temp_as(self, base: str, query: str) -> str:
        name = self.name(base)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")
        self.created.append(name)
        return name

    def scalar(self, query: str) -> Any:
        return self.con.execute(query).fetchone()[0]

    def arrow(self, query: str) -> pa.Table:
        res = self.con.execute(query)
        return res.to_arrow_table() if hasattr(res, "to_arrow_table") else res.fetch_arrow_table()

    def types(self, table: str) -> dict[str, str]:
        return {r[0]: r[1] for r in self.con.execute(f"DESCRIBE {table}").fetchall()}

    def known_accounts(self) -> str:
        """The master account ids as staging view/table __known_accounts (for reference checks)."""
        if self.wh.backend == "duckdb":
            self.con.execute("CREATE OR REPLACE TEMP VIEW __known_accounts AS SELECT account_id FROM main.accounts")
        else:
            ids = self.wh.to_pyarrow(self.wh.table("accounts").select("account_id"))
            self.con.register("__tenure_ids", ids)
            self.con.execute("CREATE OR REPLACE TEMP TABLE __known_accounts AS SELECT * FROM __tenure_ids")
            self.con.unregister("__tenure_ids")
        return "__known_accounts"

    def to_warehouse(self, base: str, query: str) -> str:
        """Materialize a staging query as a temp table the warehouse session can read (inside
        the warehouse's current transaction); returns its name."""
        if self.wh.backend == "duckdb":
            return self.temp_as(base, query)
        name = self.name(base)
        self.wh.load_temp(name, self.arrow(query))
        self.in_warehouse.append(name)
        return name

    def share(self, table: str) -> str:
        """A staged table made readable by the warehouse session (on DuckDB it already is)."""
        if self.wh.backend == "duckdb":
            return table
        return self.to_warehouse(f"{table}_wh", f"SELECT * FROM {table}")

    def drop_warehouse_temp(self, name: str) -> None:
        """Drop a table made by to_warehouse (on DuckDB it is a staging table, dropped at the end)."""
        if name in self.in_warehouse:
            self.wh.raw_sql(f"DROP TABLE IF EXISTS {ident(name)}")
            self.in_warehouse.remove(name)

    def drop_all(self) -> None:
        for name in reversed(self.created):
            with contextlib.suppress(Exception):
                self.con.execute(f"DROP TABLE IF EXISTS {name}")
        self.created.clear()
        for name in list(self.in_warehouse):
            with contextlib.suppress(Exception):
                self.drop_warehouse_temp(name)
