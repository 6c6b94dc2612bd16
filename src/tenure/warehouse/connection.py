"""The warehouse: customer facts and computed snapshots, reached only through Ibis.

This module (with `tenure.warehouse.expr`) is the one place that imports Ibis and engine
drivers, so an upgrade of ibis/duckdb/sqlglot is a change to one folder, tested by the
three-engine suite. Engines are chosen by URL:

    duckdb:///path/file.duckdb    embedded default (also duckdb://:memory:)
    postgres://user@host:5432/db  PostgreSQL (postgresql:// works too)
    pyspark://local               Apache Spark in local mode (pyspark://local[4] for 4 threads)

Nothing here needs a DuckDB extension download: the machine may be offline.

A DuckDB file is shared by several processes (server, worker, commands): `connect(write=True)`
opens it under the project write lock and publishes a read-only snapshot on close;
`connect(write=False)` reads the newest snapshot (tenure.warehouse.processes; docs/operations.md).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import ibis
import ibis.expr.types as ir

from tenure.errors import WarehouseError
from tenure.schema import TABLES
from tenure.warehouse.types import IBIS_TYPES, ibis_schema  # noqa: F401 (re-exported)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

def _backend_name(url: str) -> str:
    scheme = urlparse(url).scheme.lower()
    if scheme == "duckdb":
        return "duckdb"
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return "postgres"
    if scheme == "pyspark":
        return "pyspark"
    raise WarehouseError(
        f"warehouse.url {url!r}: unsupported engine {scheme!r} (use duckdb://, postgres:// or pyspark://)"
    )


_spark_lock = threading.Lock()


def spark_session(master: str = "local[2]"):
    """One shared local Spark session per process (startup takes ~10 s, so it is reused)."""
    with _spark_lock:
        import os
        import tempfile

        from pyspark.sql import SparkSession

        # managed tables live in TENURE_SPARK_WAREHOUSE, or a fresh folder for this process
        location = os.environ.get("TENURE_SPARK_WAREHOUSE") or tempfile.mkdtemp(prefix="tenure-spark-")
        builder = (
            SparkSession.builder.master(master)
            .appName("tenure")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.warehouse.dir", location)
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.ansi.enabled", "false")
            .config("spark.driver.memory", "2g")
        )
        # more settings for the local session: TENURE_SPARK_CONF="key=value,key=value"
        for item in filter(None, (os.environ.get("TENURE_SPARK_CONF") or "").split(",")):
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"TENURE_SPARK_CONF: {item!r} is not key=value")
            builder = builder.config(key.strip(), value.strip())
        return builder.getOrCreate()


def _read_impossible_dates_as_missing(connection: Any) -> None:
    """PostgreSQL keeps BC and five-digit years, which Python's date cannot hold, and psycopg
    raises on reading one: a single stored row that predates the ingest boundary (which now
    rejects such dates) would fail every query that reads it and take a page down. On tenure's
    connections those values read as missing (NULL) instead, as they do through DuckDB's reader."""
    import psycopg
    import psycopg.adapt
    import psycopg.postgres

    for name in ("date", "timestamp", "timestamptz"):
        oid = psycopg.postgres.types[name].oid
        for fmt in (psycopg.pq.Format.TEXT, psycopg.pq.Format.BINARY):
            base = connection.adapters.get_loader(oid, fmt)
            if base is None or getattr(base, "tolerant", False):
                continue

            class Tolerant(psycopg.adapt.Loader):  # psycopg's C loaders cannot be subclassed: wrap one
                format = fmt
                tolerant = True

                def __init__(self, oid: int, context: Any = None, _base: Any = base) -> None:
                    super().__init__(oid, context)
                    self._inner = _base(oid, context)

                def load(self, data: Any) -> Any:
                    try:
                        return self._inner.load(data)
                    except psycopg.DataError:
                        return None

            connection.adapters.register_loader(oid, Tolerant)


class Warehouse:
    """A connection to the warehouse engine named by `url`."""

    checkpoint_on_close = False  # a DuckDB writer publishing its file after close sets it

    def __init__(self, url: str, *, threads: int | None = None, memory_limit: str | None = None,
                 read_only: bool = False):
        self.url = url
        self.backend = _backend_name(url)
        self.read_only = read_only
        self._after_close: list[Any] = []  # run once after the connection closes (publish, unlock)
        try:
            self.con = self._connect(url, threads, memory_limit)
        except WarehouseError:
            raise
        except Exception as err:  # engine-specific connection errors
            if "Could not set lock" in str(err):
                raise WarehouseError(_lock_message(url)) from None
            raise WarehouseError(f"cannot open warehouse {url!r}: {err}") from err

    # -- connection ---------------------------------------------------------------
    def _connect(self, url: str, threads: int | None, memory_limit: str | None):
        if self.backend == "duckdb":
            path = duckdb_path(url) or ":memory:"
            if path not in (":memory:",):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
            if threads:
                config["threads"] = threads
            if memory_limit:
                config["memory_limit"] = memory_limit
            con = ibis.duckdb.connect(path, read_only=self.read_only, **config)
            con.con.execute("SET TimeZone = 'UTC'")
            return con
        if self.backend == "postgres":
            parsed = urlparse(url)
            # JIT off for tenure's sessions: its health and metric queries are wide CASE
            # expressions that PostgreSQL's JIT compiles for seconds and then runs in milliseconds
            # (health scoring of a two-account company: 26.7 s with JIT, 0.6 s without)
            con = ibis.postgres.connect(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or 5432,
                user=parsed.username or "postgres",
                password=parsed.password,
                database=(parsed.path or "/postgres").lstrip("/") or "postgres",
                options="-c jit=off",
            )
            _read_impossible_dates_as_missing(con.con)
            return con
        # pyspark
        master = urlparse(url).netloc or "local"
        if master == "local":
            master = "local[2]"
        return ibis.pyspark.connect(spark_session(master))

    def cursor(self) -> Warehouse:
        """A Warehouse on the same database for use from another thread (a web server's worker
        threads): DuckDB gives each cursor its own connection to the same database, so queries
        run concurrently; PostgreSQL opens a new connection; Spark shares its session."""
        other = object.__new__(Warehouse)
        other.url, other.backend, other.read_only, other._after_close = self.url, self.backend, self.read_only, []
        if self.backend == "duckdb":
            other.con = ibis.duckdb.from_connection(self.con.con.cursor())
            other.con.con.execute("SET TimeZone = 'UTC'")
        elif self.backend == "postgres":
            other.con = self._connect(self.url, None, None)
        else:
            other.con = self.con
        return other

    def close(self) -> None:
        if self.checkpoint_on_close:  # the file alone then holds every committed write
            with contextlib.suppress(Exception):
                self.con.con.execute("CHECKPOINT")
        if self.backend != "pyspark":  # the Spark session is shared per process
            with contextlib.suppress(Exception):
                self.con.disconnect()
        hooks, self._after_close = self._after_close, []
        for hook in hooks:
            hook()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        return list(self.con.list_tables())

    def has_table(self, name: str) -> bool:
        return name in self.list_tables()

    def ensure_schema(self) -> list[str]:
        """Bring the warehouse tables to the latest schema version (tenure.warehouse.migrations;
        idempotent); returns the steps applied, empty when it is current."""
        from tenure.warehouse.migrations import migrate

        return migrate(self)

    def table(self, name: str) -> ir.Table:
        """The Ibis table expression of a warehouse table. Tables are made only by migrations:
        a defined table that is missing is an error saying to run `tenure db upgrade`."""
        try:
            return self.con.table(name)
        except Exception as err:
            if name in self.list_tables():
                raise
            if name in TABLES:
                raise WarehouseError(
                    f"warehouse table {name!r} does not exist yet: run `tenure db upgrade` to create or "
                    f"upgrade the warehouse tables") from err
            raise WarehouseError(f"no warehouse table {name!r}") from err

    # -- execution ----------------------------------------------------------------
    def execute(self, expr: ir.Expr, **kwargs: Any) -> pd.DataFrame | Any:
        return self.con.execute(expr, **kwargs)

    def to_pyarrow(self, expr: ir.Expr, params: Mapping[ir.Scalar, Any] | None = None) -> pa.Table:
        """The result as Arrow; `params` binds the expression's `ibis.param` values."""
        import pyarrow as pa

        try:
            return self.con.to_pyarrow(expr, params=params)
        except pa.ArrowInvalid:
            # PostgreSQL types a bare float literal as numeric, which Ibis' Arrow path rejects for
            # a double column; the pandas path converts it.
            if self.backend != "postgres":
                raise
            return pa.Table.from_pandas(self.con.execute(expr, params=params), preserve_index=False)

    def count(self, name: str) -> int:
        return int(self.execute(self.table(name).count()))

    def raw_sql(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Engine SQL, for bulk operations Ibis does not express (ingest, upsert). Returns rows
        (list of tuples) when the statement yields any, else None."""
        if self.backend == "duckdb":
            cur = self.con.con.execute(sql, params) if params is not None else self.con.con.execute(sql)
            try:
                return cur.fetchall()
            except Exception:
                return None
        if self.backend == "postgres":
            with self.con.con.cursor() as cur:
                cur.execute(sql, params)
                rows = cur.fetchall() if cur.description else None
            if self.con.con.info.transaction_status != 2:  # not inside an explicit transaction
                self.con.con.commit()
            return rows
        df = self.con._session.sql(sql)
        return [tuple(r) for r in df.collect()]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """All-or-nothing: statements inside are visible together or not at all, also if the
        process dies (DuckDB's WAL and PostgreSQL roll back an uncommitted transaction). Nested
        use joins the outer transaction (a savepoint on PostgreSQL)."""
        if self.backend == "duckdb":
            if getattr(self, "_in_transaction", False):  # joined to the caller's transaction
                yield self
                return
            raw = self.con.con
            raw.execute("BEGIN TRANSACTION")
            self._in_transaction = True
            try:
                yield self
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            else:
                raw.execute("COMMIT")
            finally:
                self._in_transaction = False
        elif self.backend == "postgres":
            raw = self.con.con
            with raw.transaction():
                yield self
        else:
            raise WarehouseError("transactions are not supported on Spark; load data with DuckDB or PostgreSQL")

    # -- bulk loading (used by ingestion) -------------------------------------------
    def staging_engine(self):
        """A raw DuckDB connection that validates and stages incoming files in-engine: the
        warehouse's own connection when it is DuckDB (so checks and loads share one
        transaction), otherwise a private in-memory DuckDB."""
        if self.backend == "duckdb":
            return self.con.con
        import duckdb

        if getattr(self, "_staging", None) is None:
            self._staging = duckdb.connect(
                config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
            )
            self._staging.execute("SET TimeZone = 'UTC'")
        return self._staging

    def load_temp(self, name: str, data: pa.Table) -> None:
        """Put an Arrow table into a temporary table `name` of the warehouse session (replacing
        it), inside the current transaction when there is one."""
        if self.backend == "duckdb":
            raw = self.con.con
            raw.register("__tenure_arrow", data)
            try:
                raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM __tenure_arrow')
            finally:
                raw.unregister("__tenure_arrow")
            return
        if self.backend != "postgres":
            raise WarehouseError("bulk loading needs DuckDB or PostgreSQL")
        import pyarrow as pa  # noqa: F401

        raw = self.con.con
        cols = ", ".join(f'"{f.name}" {_pg_type(f.type)}' for f in data.schema)
        with raw.cursor() as cur:
            cur.execute(f'DROP TABLE IF EXISTS "{name}"')
            cur.execute(f'CREATE TEMP TABLE "{name}" ({cols})')
            names = ", ".join(f'"{f}"' for f in data.schema.names)
            with cur.copy(f'COPY "{name}" ({names}) FROM STDIN') as copy:
                for batch in data.to_batches(max_chunksize=50_000):
                    for row in zip(*(col.to_pylist() for col in batch.columns)):
                        copy.write_row(row)
        if raw.info.transaction_status != 2:
            raw.commit()

    def append_arrow(self, name: str, data: pa.Table) -> int:
        """Append an Arrow table's rows to table `name` (columns matched by name), inside the
        current transaction when there is one; returns the rows appended. Snapshot writers
        delete what they replace, then call this."""
        if not data.num_rows:
            return 0
        temp = f"__append_{name}"
        self.load_temp(temp, data)
        names = ", ".join(f'"{c}"' for c in data.schema.names)
        self.raw_sql(f'INSERT INTO "{name}" ({names}) SELECT {names} FROM "{temp}"')
        self.raw_sql(f'DROP TABLE "{temp}"')
        return data.num_rows

    def insert(self, name: str, data: pa.Table | pd.DataFrame | ir.Table) -> None:
        self.con.insert(name, data)

    def create_table(self, name: str, data: pa.Table | pd.DataFrame | ir.Table | None = None, *,
                     schema: ibis.Schema | None = None, overwrite: bool = False, temp: bool = False) -> ir.Table:
        return self.con.create_table(name, data, schema=schema, overwrite=overwrite, temp=temp)

    def drop_table(self, name: str) -> None:
        self.con.drop_table(name, force=True)


def _pg_type(t) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_floating(t):
        return "DOUBLE PRECISION"
    if pa.types.is_decimal(t):
        return f"NUMERIC({t.precision},{t.scale})"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    return "TEXT"


def duckdb_path(url: str) -> str | None:
    """The file of a duckdb:// URL ("" for an in-memory database), None for other engines."""
    if _backend_name(url) != "duckdb":
        return None
    path = url[len("duckdb://"):]
    if path.startswith("/"):
        path = path[1:] if path.startswith("//") else path
    return "" if path in ("", ":memory:") else path


def _lock_message(url: str) -> str:
    path = duckdb_path(url) or url
    return (f"{path} is open in another program (a DuckDB shell, a notebook or an older tenure): close it "
            "and retry. tenure's own processes share the warehouse through its write lock and snapshots "
            "(see docs/operations.md)")


def connect(url: str | None = None, config: Any | None = None, *, write: bool = True,
            command: str | None = None, wait: float | None = None) -> Warehouse:
    """Open the warehouse named by `url`, or by the config's warehouse settings.

    On a DuckDB file several processes share the warehouse (tenure.warehouse.processes):
    `write=True` takes the project write lock (waiting up to `wait` seconds, None = as long as it
    takes, telling the user who writes; the TENURE_WRITE_WAIT environment variable sets it for
    commands) and opens the main file; closing the Warehouse publishes
    what was written and releases the lock. `write=False` opens the newest published snapshot
    read-only and never waits on a writer. PostgreSQL, Spark and in-memory DuckDB are opened as
    they are: their engines handle concurrency."""
    if url is None:
        if config is None:
            from tenure.config import load_config

            config = load_config()
        url = config.warehouse_url
        options = {"threads": config.warehouse.threads, "memory_limit": config.warehouse.memory_limit}
    else:
        options = {}
    path = duckdb_path(url)
    if not path:
        return Warehouse(url, **options)
    if write:
        if wait is None and os.environ.get("TENURE_WRITE_WAIT"):  # e.g. 0 in scripts: fail, don't wait
            wait = float(os.environ["TENURE_WRITE_WAIT"])
        return open_writer(path, command=command, wait=wait, **options)
    return open_reader(path, command=command, **options)


def open_writer(path: str | Path, *, command: str | None = None, wait: float | None = None,
                reentrant: bool = True, **options: Any) -> Warehouse:
    """The main DuckDB file, read-write, under the project write lock; close() checkpoints,
    publishes a snapshot when anything changed, and releases the lock (a writer opened inside
    another in the same process publishes when the outer one closes)."""
    from tenure.warehouse.processes import Snapshots, WriteLock

    lock = WriteLock(path, command).acquire(wait=wait, reentrant=reentrant)
    try:
        wh = Warehouse(f"duckdb://{path}", **options)
    except BaseException:
        lock.release()
        raise
    snapshots = Snapshots(path)

    def finish() -> None:
        try:
            if lock.outermost and snapshots.stale():
                snapshots.publish(lock)
        finally:
            lock.release()

    wh.checkpoint_on_close = True
    wh._after_close.append(finish)
    return wh


def open_reader(path: str | Path, *, command: str | None = None, **options: Any) -> Warehouse:
    """The newest published snapshot of a DuckDB file, read-only. When the main file holds
    writes nobody published (a writer killed after committing, or a first run), this publishes
    them first if no writer is busy; while one is, the current snapshot is used."""
    from tenure.warehouse.processes import Snapshots

    snapshots = Snapshots(path)
    for _ in range(5):
        cur = snapshots.current()
        if cur is None or not cur.path.exists():
            catch_up(path, command=command, wait=None, **options)
        elif snapshots.stale():
            catch_up(path, command=command, wait=0, **options)
        cur = snapshots.current()
        if cur is None:
            continue
        try:
            return Warehouse(f"duckdb://{cur.path}", read_only=True, **options)
        except WarehouseError:
            if cur.path.exists():
                raise
            # garbage-collected between reading the pointer and opening: read the pointer again
    raise WarehouseError(f"no published snapshot of {path} could be opened; run `tenure refresh` and retry")


def catch_up(path: str | Path, *, command: str | None = None, wait: float | None = 0, **options: Any) -> bool:
    """Publish the main file if it changed since the last snapshot (or none exists). Returns
    False without waiting when another writer is busy and `wait` is 0 (it will publish)."""
    try:
        wh = open_writer(path, command=command, wait=wait, reentrant=wait != 0, **options)
    except WarehouseError:
        if wait == 0:
            return False
        raise
    try:
        wh.ensure_schema()
    finally:
        wh.close()
    return True


def open_project(config_path=None, *, write: bool = True):
    """(config, warehouse) for a command: tenure.yaml from the path, TENURE_CONFIG or the nearest
    one. Commands that only read pass write=False: they read the newest published snapshot and
    run while a server, a worker or another command writes."""
    from tenure.config import load_config

    config = load_config(config_path)
    return config, connect(config=config, write=write)
