"""The warehouse: where batch work happens, reached through Ibis.

One small interface over DuckDB (default, a file under the data directory), PostgreSQL and a
local PySpark session (``spark://local``, the optional extra ``shouhu[spark]``; see
:mod:`shouhu.storage.spark`, imported only when a Spark warehouse is opened). Only this package
imports database drivers. Backends declare what they can do in :class:`Capabilities`; callers ask
instead of checking backend names.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import ibis
import pyarrow as pa

from shouhu.errors import ConfigError, ShouhuError, StorageError, UnknownName
from shouhu.filemodes import private_dir, private_file, private_umask

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENGINES = ("duckdb", "postgres", "spark")
SPARK_URL = "spark://local"


@dataclass(frozen=True)
class Capabilities:
    transactional_ddl: bool = True
    concurrent_writers: bool = False
    transactions: bool = True  # Spark has none: ``transaction()`` refuses there


def quote_ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return f'"{name}"'


def sql_literal(value: object) -> str:
    """A SQL literal for the few values we inline (ids, counts, timestamps). Never user SQL."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def duckdb_memory_limit() -> str:
    """DuckDB may use 80% of RAM by default, which leaves the Python side of a 1M-customer refresh
    too little (it was killed by the OOM killer). Default: 40% of physical memory;
    ``SHOUHU_DUCKDB_MEMORY_LIMIT`` (e.g. ``8GB``) overrides it."""
    configured = os.environ.get("SHOUHU_DUCKDB_MEMORY_LIMIT")
    if configured:
        return configured
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, int(total * 0.4 / 2**30))}GB"


def _connect(url: str, read_only: bool = False) -> tuple[str, Any]:
    parsed = urlparse(url)
    scheme = parsed.scheme.split("+")[0]
    if scheme == "duckdb":
        path = unquote(parsed.path)
        if parsed.netloc:  # duckdb://relative/path
            path = parsed.netloc + path
        if path in ("", "/", "/:memory:"):
            path = ":memory:"
        if path != ":memory:":
            private_dir(Path(path).parent)
        if read_only and path != ":memory:":
            return "duckdb", ibis.duckdb.connect(path, read_only=True, memory_limit=duckdb_memory_limit())
        with private_umask():  # the file and its WAL are created owner-only (0600)
            con = ibis.duckdb.connect(path, memory_limit=duckdb_memory_limit())
        if path != ":memory:":
            _tighten_duckdb(path)
        return "duckdb", con
    if scheme in ("postgres", "postgresql"):
        return "postgres", ibis.postgres.connect(
            host=parsed.hostname or "localhost",
            port=parsed.port or 5432,
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            database=parsed.path.lstrip("/") or None,
        )
    raise UnknownName("warehouse engine in URL", scheme or url, list(ENGINES))


def _tighten_duckdb(path: str) -> None:
    """Owner-only database file and WAL, also for files written by older versions (0644)."""
    private_file(path)
    private_file(f"{path}.wal")


class Warehouse:
    """A connection to the warehouse. Use as a context manager or call :meth:`close`."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        """``read_only`` opens a DuckDB file without taking the writer's lock (the web server's reads),
        so that ``shouhu refresh`` can run meanwhile in another process; other engines ignore it."""
        self.url = url
        self._spark: Any = None  # shouhu.storage.spark.SparkHandle when engine == "spark"
        try:
            if urlparse(url).scheme == "spark":
                self.engine, self.con = "spark", self._connect_spark(url)
            else:
                self.engine, self.con = _connect(url, read_only)
        except ShouhuError:  # UnknownName, MissingExtra: already clear
            raise
        except Exception as e:
            raise ConfigError(f"cannot open the warehouse at {_redact(url)}: {e}") from e
        # A DuckDB file opened for writing: its files are kept owner-only (see _run).
        self._file: str | None = None
        if self.engine == "duckdb" and not read_only:
            row = self.con.con.execute(
                "SELECT file FROM pragma_database_list WHERE name = current_database()").fetchone()
            self._file = str(row[0]) if row and row[0] else None
        spark = self.engine == "spark"
        self.capabilities = Capabilities(concurrent_writers=self.engine == "postgres",
                                         transactional_ddl=not spark, transactions=not spark)

    @classmethod
    def spark(cls, *, app_name: str = "shouhu") -> Warehouse:
        """A warehouse on a local Spark session (``local[2]``), started now; empty unless the session
        was already running in this process. Needs ``shouhu[spark]`` and Java 17."""
        return cls(f"{SPARK_URL}?app={app_name}")

    def _connect_spark(self, url: str) -> Any:
        from urllib.parse import parse_qs

        from shouhu.storage import spark

        if urlparse(url).netloc not in ("local", ""):
            raise UnknownName("Spark master in URL", urlparse(url).netloc, ["local"])
        app = parse_qs(urlparse(url).query).get("app", ["shouhu"])[0]
        self._spark = spark.start_session(app)
        return spark.connect(self._spark)

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._spark is not None:  # stops the session only if this warehouse started it
            self._spark.close()
            return
        with contextlib.suppress(Exception):
            self.con.disconnect()

    # -- reading ---------------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        # Ibis registers in-memory tables as temporary views; they are not ours to list.
        return sorted(t for t in self.con.list_tables() if not t.startswith("ibis_"))

    def has_table(self, name: str) -> bool:
        return name in self.con.list_tables()

    def table(self, name: str) -> Any:
        """An Ibis table expression, for pipeline steps written once for every engine."""
        return self._run(f"open table {name}", lambda: self.con.table(name))

    def read(self, name: str) -> pa.Table:
        return self._run(f"read table {name}", lambda: self.con.table(name).to_pyarrow())

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run a read-only SQL statement and return its rows."""

        def run() -> list[tuple[Any, ...]]:
            if self._spark is not None:
                from shouhu.storage import spark

                return spark.query(self._spark.session, sql)
            cur = self.con.raw_sql(sql)
            rows: list[tuple[Any, ...]] = list(cur.fetchall())
            if cur is not self.con.con:  # DuckDB hands back the connection itself
                cur.close()
            return rows

        result: list[tuple[Any, ...]] = self._run(f"query {sql[:60]!r}", run)
        return result

    # -- writing ---------------------------------------------------------------------------
    def ensure_table(self, name: str, schema: pa.Schema) -> None:
        if not self.has_table(name):
            self._run(f"create table {name}", lambda: self.con.create_table(name, schema=ibis.schema(schema)))

    def write_table(self, name: str, data: pa.Table, *, append: bool = False) -> None:
        """Create (or replace) ``name`` from ``data``; with ``append``, add rows to an existing table."""
        if append and self.has_table(name):
            self._run(f"insert into {name}", lambda: self.con.insert(name, data))
        else:
            self._run(f"create table {name}", lambda: self.con.create_table(name, data, overwrite=True))
            self.analyze(name)

    def analyze(self, name: str) -> None:
        """Refresh the planner's statistics. PostgreSQL has none for a new table and then picks nested loops
        (a 600-customer 360 build took 280 s instead of 1.4 s); DuckDB keeps its own."""
        if self.engine == "postgres":
            self._run(f"analyze {name}", lambda: self.con.raw_sql(f"ANALYZE {quote_ident(name)}").close())

    def materialize(self, name: str, expr: Any) -> None:
        """Create or replace ``name`` from an Ibis expression, computed inside the engine (no round trip)."""
        if self._spark is not None:
            from shouhu.storage import spark

            self._run(f"create table {name}", lambda: spark.materialize(self.con, name, expr))
            return
        self._run(f"create table {name}", lambda: self.con.create_table(name, expr, overwrite=True))
        self.analyze(name)

    # -- moving tables between warehouses ----------------------------------------------------
    def export_parquet(self, name: str, path: Path) -> None:
        """Write table ``name`` to parquet at ``path`` (a file; a folder of part files on Spark)."""
        if self._spark is not None:
            from shouhu.storage import spark

            session = self._spark.session
            self._run(f"export {name}", lambda: spark.export_parquet(session, name, path))
        else:
            self._run(f"export {name}", lambda: self.con.to_parquet(self.con.table(name), str(path)))

    def import_parquet(self, name: str, path: Path) -> None:
        """Create (or replace) table ``name`` from the parquet file or folder at ``path``."""
        if self._spark is not None:
            from shouhu.storage import spark

            session = self._spark.session
            self._run(f"import {name}", lambda: spark.write_parquet_table(session, name, path))
        else:
            import pyarrow.parquet as pq

            self.write_table(name, pq.read_table(str(path)))

    def copy_tables_to(self, target: Warehouse, names: list[str], workdir: Path) -> None:
        """Copy tables ``names`` into ``target`` (replacing them there), through parquet files in ``workdir``."""
        for name in names:
            path = workdir / f"{name}.parquet"
            self.export_parquet(name, path)
            target.import_parquet(name, path)

    @property
    def supports_splink(self) -> bool:
        return self.engine == "duckdb" or self._spark is not None

    def splink_api(self) -> Any:
        """A Splink database API on this warehouse's own connection, so linking runs in the engine."""
        if self.engine == "duckdb":
            from splink.backends.duckdb import DuckDBAPI

            return DuckDBAPI(connection=self.con.con)
        if self._spark is not None:
            from shouhu.storage import spark

            return spark.splink_api(self._spark.session)
        raise StorageError(f"identity resolution runs on DuckDB or Spark; this warehouse is {self.engine}",
                           engine=self.engine)

    def add_missing_columns(self, name: str, schema: pa.Schema) -> list[str]:
        """Add the columns of ``schema`` that table ``name`` lacks (tables made by an older version);
        only string and integer columns, which every engine spells the same. Returns the added names."""
        present = set(self._run(f"open table {name}", lambda: self.con.table(name).columns))
        sql_types = {pa.string(): "VARCHAR", pa.int64(): "BIGINT"}
        added = []
        for f in schema:
            if f.name not in present:
                ddl = f"ALTER TABLE {quote_ident(name)} ADD COLUMN {quote_ident(f.name)} {sql_types[f.type]}"
                self._run(f"add column {f.name} to {name}", lambda ddl=ddl: self._execute_ddl(ddl))
                added.append(f.name)
        return added

    def _execute_ddl(self, sql: str) -> None:
        cur = self.con.raw_sql(sql)
        if cur is not self.con.con and hasattr(cur, "close"):
            cur.close()

    def drop_table(self, name: str) -> None:
        self._run(f"drop table {name}", lambda: self.con.drop_table(name, force=True))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        """Run SQL statements atomically: all of them commit, or none (also if the process dies).

        Spark has no multi-statement transactions, so there this refuses rather than pretend: load
        into DuckDB or PostgreSQL and run the pipeline with ``refresh --engine spark``. (The refresh
        stays safe on Spark: its only user-visible write, publish, is one serving-database transaction.)
        """
        if not self.capabilities.transactions:
            raise StorageError(f"the {self.engine} warehouse has no transactions; load data into DuckDB or "
                               "PostgreSQL and refresh with --engine spark", engine=self.engine)
        raw = self.con.con
        if self.engine == "duckdb":
            with private_umask() if self._file else contextlib.nullcontext():
                raw.begin()
                tx = _Transaction(lambda sql: raw.execute(sql))
                try:
                    yield tx
                except BaseException:
                    raw.rollback()
                    raise
                raw.commit()
            if self._file:
                _tighten_duckdb(self._file)
        else:
            with raw.transaction(), raw.cursor() as cur:
                yield _Transaction(lambda sql: cur.execute(sql))

    def _run(self, what: str, fn: Any) -> Any:
        try:
            if self._file is None:
                return fn()
            with private_umask():  # DuckDB creates its WAL on the first write, with the umask's mode
                result = fn()
            _tighten_duckdb(self._file)  # files another connection (Splink's SQL) created meanwhile
            return result
        except Exception as e:
            raise StorageError(f"{self.engine} warehouse failed to {what}: {e}", engine=self.engine) from e


class _Transaction:
    def __init__(self, execute: Any) -> None:
        self._execute = execute

    def execute(self, sql: str) -> None:
        try:
            self._execute(sql)
        except Exception as e:
            raise StorageError(f"statement failed inside a transaction ({sql[:80]!r}): {e}") from e


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url
