"""``refresh --engine spark``: the same pipeline on local PySpark publishes the same marts as DuckDB.

One small book is refreshed twice from identical copies of its DuckDB warehouse: once on DuckDB
(engine ``auto``), once on Spark, each into its own SQLite serving database with the same
encryption key. The marts must be equal: identity clusters (the same partition and the same
customer ids), golden customers, households, the customer 360 (floats within 1e-9), tags,
provenance and the steward review queue, in the serving databases and in the two warehouses.

Needs pyspark (``shouhu[spark]``) and Java 17. Skipped with the reason when either is missing,
except under SHOUHU_REQUIRE_SERVICES=1 (CI), where a missing one fails the run.
One Spark session serves the whole test session; the two refreshes run once per module.
"""

from __future__ import annotations

import base64
import math
import shutil
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shouhu.errors import MissingExtra, StorageError, UnknownName
from shouhu.pipeline.refresh import SPARK_STEPS, refresh
from shouhu.settings import Settings
from shouhu.storage import runs
from shouhu.storage.serving import engine_for
from shouhu.storage.warehouse import Warehouse
from tests.conftest import REQUIRE, BookFactory

AS_OF = date(2026, 10, 31)
BOOK = {"customers": 300, "seed": 5}
KEY = base64.b64encode(bytes(range(32))).decode()
# serving table -> key columns (a unique row order)
MARTS = {
    "identity_record": ("unique_id",),
    "customer": ("customer_id",),
    "customer_provenance": ("customer_id",),
    "household_member": ("customer_id",),
    "customer_360": ("customer_id",),
    "customer_tag": ("customer_id", "tag"),
    "identity_review": ("unique_id_l", "unique_id_r"),
}
WAREHOUSE_MARTS = {
    "identity_cluster": ("unique_id",),
    "identity_pair": ("unique_id_l", "unique_id_r"),
    "customer": ("customer_id",),
    "customer_provenance": ("customer_id", "field"),
    "household_member": ("customer_id",),
    "customer_360": ("customer_id",),
    "customer_tag": ("customer_id", "tag"),
}


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'shouhu[spark]')"
    from shouhu.storage.spark import java_available

    return None if java_available() else "Java 17 is not on PATH or in JAVA_HOME"


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local Spark session for the test session; Warehouse.spark() reuses it and leaves it running."""
    reason = _spark_missing()
    if reason:
        if REQUIRE:
            pytest.fail(f"Spark is required in CI: {reason}")
        pytest.skip(reason)
    from shouhu.storage.spark import start_session

    handle = start_session("shouhu-tests")
    yield handle.session
    handle.close()


def _settings(base: Path, warehouse: Path) -> Settings:
    return Settings(data_dir=base / "data", warehouse_url=f"duckdb:///{warehouse}",
                    serving_url=f"sqlite:///{base / 'serving.sqlite'}", encryption_key=KEY)


@pytest.fixture(scope="module")
def both(spark_session: Any, make_book: BookFactory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Settings]:
    """engine -> settings of a finished refresh of the same book (auto = DuckDB, spark)."""
    from shouhu.ingest import ingest_file, plan_book

    book = make_book(**BOOK)
    loaded = tmp_path_factory.mktemp("spark-book") / "warehouse.duckdb"
    with Warehouse(f"duckdb:///{loaded}") as wh:
        for item in plan_book(book):
            ingest_file(wh, item.path, item.mapping, item.extract)
    out = {}
    for engine in ("auto", "spark"):
        base = tmp_path_factory.mktemp(engine)
        shutil.copy(loaded, base / "warehouse.duckdb")
        settings = _settings(base, base / "warehouse.duckdb")
        refresh(settings, as_of=AS_OF, engine=engine)
        out[engine] = settings
    return out


def serving_rows(settings: Settings, table: str, keys: tuple[str, ...]) -> tuple[list[str], list[tuple[Any, ...]]]:
    engine = engine_for(settings.serving)
    try:
        with engine.connect() as conn:
            result = conn.execute(text(f"SELECT * FROM {table} ORDER BY {', '.join(keys)}"))
            return list(result.keys()), [tuple(r) for r in result]
    finally:
        engine.dispose()


def warehouse_rows(settings: Settings, table: str, keys: tuple[str, ...]) -> tuple[list[str], list[tuple[Any, ...]]]:
    with Warehouse(settings.warehouse) as wh:
        data = wh.read(table).sort_by([(k, "ascending") for k in keys])
        types = [str(t) for t in data.schema.types]
        return [f"{n}:{t}" for n, t in zip(data.column_names, types, strict=True)], \
            [tuple(r.values()) for r in data.to_pylist()]


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    return bool(a == b)


def differences(cols: list[str], left: list[tuple[Any, ...]], right: list[tuple[Any, ...]],
                skip: tuple[str, ...] = ()) -> list[str]:
    """Human-readable differences between two row lists in the same order (empty when equal)."""
    if len(left) != len(right):
        return [f"{len(left)} rows on DuckDB, {len(right)} on Spark"]
    out = []
    for x, y in zip(left, right, strict=True):
        for c, u, v in zip(cols, x, y, strict=True):
            if not c.endswith(skip) and not same(u, v):
                out.append(f"{x[0]} {c}: duckdb={u!r} spark={v!r}")
    return out


@pytest.mark.spark
def test_the_run_log_says_spark(both: dict[str, Settings]) -> None:
    [run] = runs.list_runs(both["spark"].serving)
    assert run["status"] == "succeeded" and run["engine"] == "spark"
    assert [s["step"] for s in run["steps"]] == list(SPARK_STEPS)
    [auto] = runs.list_runs(both["auto"].serving)
    assert auto["engine"] == "duckdb"


@pytest.mark.spark
def test_identity_clusters_are_the_same_partition_with_the_same_ids(both: dict[str, Settings]) -> None:
    def clusters(s: Settings) -> tuple[dict[str, str], set[frozenset[str]]]:
        cols, rows = serving_rows(s, "identity_record", ("unique_id",))
        uid, cid = cols.index("unique_id"), cols.index("customer_id")
        of = {r[uid]: r[cid] for r in rows}
        groups: dict[str, set[str]] = {}
        for uid, cid in of.items():
            groups.setdefault(cid, set()).add(uid)
        return of, {frozenset(g) for g in groups.values()}

    duck_of, duck_groups = clusters(both["auto"])
    spark_of, spark_groups = clusters(both["spark"])
    assert len(duck_of) > 300 and any(len(g) > 1 for g in duck_groups)
    assert spark_groups == duck_groups
    assert spark_of == duck_of


@pytest.mark.spark
@pytest.mark.parametrize("table", list(MARTS))
def test_published_marts_are_equal(both: dict[str, Settings], table: str) -> None:
    cols, duck = serving_rows(both["auto"], table, MARTS[table])
    spark_cols, spark = serving_rows(both["spark"], table, MARTS[table])
    assert spark_cols == cols
    assert duck, f"no {table} rows to compare"
    # *_enc is AES-GCM with a random nonce: different bytes for equal values. Masks and blind
    # indexes (same key) are compared; the plaintext is compared in the warehouse test below.
    assert differences(cols, duck, spark, skip=("_enc",)) == []


@pytest.mark.spark
@pytest.mark.parametrize("table", list(WAREHOUSE_MARTS))
def test_warehouse_marts_are_equal_with_the_same_types(both: dict[str, Settings], table: str) -> None:
    cols, duck = warehouse_rows(both["auto"], table, WAREHOUSE_MARTS[table])
    spark_cols, spark = warehouse_rows(both["spark"], table, WAREHOUSE_MARTS[table])
    assert spark_cols == cols  # names and Arrow types
    assert differences(cols, duck, spark) == []


@pytest.mark.spark
def test_the_warehouse_holds_the_same_tables_whichever_engine_ran(both: dict[str, Settings]) -> None:
    with Warehouse(both["auto"].warehouse) as a, Warehouse(both["spark"].warehouse) as b:
        assert b.list_tables() == a.list_tables()


@pytest.mark.spark
def test_a_spark_warehouse_refuses_transactions(spark_session: Any) -> None:
    with Warehouse.spark() as wh:
        assert wh.engine == "spark" and not wh.capabilities.transactions
        with pytest.raises(StorageError, match="no transactions"), wh.transaction():
            pass
    assert not spark_session.sparkContext._jsc.sc().isStopped()  # a shared session is left running


def test_unknown_engine_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownName, match="auto, spark"):
        refresh(_settings(tmp_path, tmp_path / "w.duckdb"), engine="flink")


def test_without_pyspark_the_error_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    with pytest.raises(MissingExtra, match=r"refresh --engine spark.*shouhu\[spark\]"):
        refresh(_settings(tmp_path, tmp_path / "w.duckdb"), engine="spark")
    with pytest.raises(MissingExtra, match=r"shouhu\[spark\]"):
        Warehouse("spark://local")
