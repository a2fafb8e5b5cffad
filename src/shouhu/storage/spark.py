"""Local PySpark for the warehouse: the session, its scratch space, and moving tables in and out.

Imported only when a Spark warehouse is opened, so ``pyspark`` stays an optional extra
(``shouhu[spark]``). Nothing is downloaded at run time: the session runs ``local[2]`` with no
Maven packages; the only jar is the string-similarity UDF jar that Splink ships inside its wheel.

Spark has no multi-statement transactions. That is fine for the refresh pipeline: every step
rebuilds its marts from scratch, and the only write users see, ``publish``, goes to the serving
database in one SQLAlchemy transaction.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shouhu.errors import ConfigError, MissingExtra

MASTER = "local[2]"
SHUFFLE_PARTITIONS = 8
# The driver is the whole cluster in local mode. 4 GB is ample for a few million records on a
# 24 GB machine; raise it with SHOUHU_SPARK_DRIVER_MEMORY for bigger books.
DRIVER_MEMORY = "4g"


def require_spark(feature: str = "the Spark warehouse") -> None:
    """Raise :class:`MissingExtra` unless pyspark can be imported, :class:`ConfigError` without Java."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise MissingExtra(feature, "spark") from None
    if not java_available():
        raise ConfigError(f"{feature} needs Java 17 (Debian: apt-get install openjdk-17-jre-headless) on PATH "
                          "or in JAVA_HOME")


def java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and (Path(home) / "bin" / "java").exists()))


@dataclass
class SparkHandle:
    """A running local session and the scratch directory it writes tables and checkpoints to."""

    session: Any
    workdir: Path
    owned: bool  # we started the session: stopping it and removing workdir is ours to do

    def close(self) -> None:
        if not self.owned:
            return
        with contextlib.suppress(Exception):
            self.session.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_session(app_name: str = "shouhu", *, driver_memory: str | None = None) -> SparkHandle:
    """Start a local SparkSession with a fresh scratch directory (warehouse, checkpoints, spill).

    If a session is already active in this process (a notebook, a test session), it is reused and
    left running on close; its own warehouse directory and checkpoint directory are kept.
    """
    require_spark()
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    active = SparkSession.getActiveSession()
    if active is not None:
        workdir = Path(str(active.conf.get("spark.sql.warehouse.dir", tempfile.gettempdir())).removeprefix("file:"))
        _ensure_checkpoint_dir(active, workdir.parent / "checkpoints")
        return SparkHandle(active, workdir.parent, owned=False)
    workdir = Path(tempfile.mkdtemp(prefix="shouhu-spark-"))
    memory = driver_memory or os.environ.get("SHOUHU_SPARK_DRIVER_MEMORY", DRIVER_MEMORY)
    builder = (
        SparkSession.builder.appName(app_name)
        .master(MASTER)
        .config("spark.driver.memory", memory)
        .config("spark.sql.shuffle.partitions", str(SHUFFLE_PARTITIONS))
        .config("spark.default.parallelism", str(SHUFFLE_PARTITIONS))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(workdir / "warehouse"))
        .config("spark.local.dir", str(workdir / "local"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={workdir / 'derby'}")
        .config("spark.jars", similarity_jar_location())  # shipped inside splink: no download
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        # INT96 (the default) reads back as nanoseconds; the other engines keep microseconds
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    _ensure_checkpoint_dir(session, workdir / "checkpoints")
    return SparkHandle(session, workdir, owned=True)


def _ensure_checkpoint_dir(session: Any, path: Path) -> None:
    # Splink breaks long lineages by writing parquet to the checkpoint directory.
    if session.sparkContext._jsc.sc().getCheckpointDir().isEmpty():
        session.sparkContext.setCheckpointDir(str(path))


def connect(handle: SparkHandle) -> Any:
    """The Ibis backend on ``handle``'s session."""
    import ibis

    return ibis.pyspark.connect(handle.session)


def splink_api(session: Any) -> Any:
    from splink.backends.spark import SparkAPI

    # parquet under the checkpoint directory: memory stays flat however big the book is
    return SparkAPI(spark_session=session, break_lineage_method="parquet")  # type: ignore[no-untyped-call]


def query(session: Any, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in session.sql(sql).collect()]


def write_parquet_table(session: Any, name: str, path: Path) -> None:
    """Create (or replace) managed table ``name`` from a parquet file or folder at ``path``."""
    session.read.parquet(str(path)).write.mode("overwrite").format("parquet").saveAsTable(name)


def materialize(con: Any, name: str, expr: Any) -> None:
    """Create or replace managed table ``name`` from an Ibis expression, with exactly its Ibis types.

    Ibis drops a cast it believes is a no-op, but Spark's own functions do not always return the
    type Ibis infers (``EXTRACT(year ...)`` is INT where Ibis says int64), so the table would drift
    from the expression's schema. Casting every column to the Ibis schema keeps the tables, and so
    the marts copied back, typed the same on every engine.
    """
    from ibis.backends.pyspark.datatypes import PySparkSchema
    from pyspark.sql import functions as F

    con._run_pre_execute_hooks(expr)  # registers in-memory tables the expression reads
    df = con._session.sql(con.compile(expr))
    target = PySparkSchema.from_ibis(expr.schema())
    df = df.select([F.col(f"`{f.name}`").cast(f.dataType).alias(f.name) for f in target.fields])
    df.write.mode("overwrite").format("parquet").saveAsTable(name)


def export_parquet(session: Any, name: str, path: Path) -> None:
    """Write table ``name`` as parquet (a folder of part files) that the other engines read back unchanged.

    Ibis maps its zone-less ``timestamp`` to Spark's session-zone TIMESTAMP; written as is, parquet
    would mark it UTC-adjusted and DuckDB would read a TIMESTAMPTZ. The session zone is UTC, so
    the wall-clock value is the UTC value: write it as a zone-less timestamp (microseconds).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType, TimestampType

    df = session.table(name)
    cols = [F.col(f"`{f.name}`").cast(TimestampNTZType()).alias(f.name) if isinstance(f.dataType, TimestampType)
            else F.col(f"`{f.name}`") for f in df.schema.fields]
    df.select(cols).write.mode("overwrite").parquet(str(path))
