"""One contract, every warehouse backend present (DuckDB always; PostgreSQL when reachable)."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest

from shouhu.errors import ConfigError, StorageError, UnknownName
from shouhu.storage.warehouse import Warehouse, quote_ident, sql_literal

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("day", pa.date32()),
                    ("at", pa.timestamp("us")), ("amount", pa.float64()), ("ok", pa.bool_())])


def make_rows(n: int, start: int = 0) -> pa.Table:
    return pa.Table.from_pydict({
        "id": list(range(start, start + n)), "name": [f"张{i}" for i in range(start, start + n)],
        "day": [date(2020, 1, 1 + i % 28) for i in range(n)],
        "at": [datetime(2021, 5, 6, 7, 8, i % 60) for i in range(n)],
        "amount": [i * 1.5 for i in range(n)], "ok": [i % 2 == 0 for i in range(n)],
    }, schema=SCHEMA)


def test_create_table_from_arrow_round_trips_types(warehouse_url: str) -> None:
    # Also the guard for the ibis 12 + sqlglot 30 pitfall: create_table emitted invalid DuckDB SQL.
    with Warehouse(warehouse_url) as wh:
        wh.write_table("t", make_rows(3))
        got = wh.read("t").sort_by("id")
        assert got.column("name").to_pylist() == ["张0", "张1", "张2"]
        assert got.column("day").to_pylist()[1] == date(2020, 1, 2)
        assert got.column("at").to_pylist()[2].replace(tzinfo=None) == datetime(2021, 5, 6, 7, 8, 2)
        assert got.column("ok").to_pylist() == [True, False, True]


def test_append_and_replace(warehouse_url: str) -> None:
    with Warehouse(warehouse_url) as wh:
        wh.write_table("t", make_rows(2))
        wh.write_table("t", make_rows(3, start=2), append=True)
        assert wh.query("SELECT COUNT(*), SUM(id) FROM t")[0] == (5, 10)
        wh.write_table("t", make_rows(1))
        assert wh.query("SELECT COUNT(*) FROM t")[0][0] == 1


def test_ensure_table_is_idempotent_and_empty(warehouse_url: str) -> None:
    with Warehouse(warehouse_url) as wh:
        wh.ensure_table("e", SCHEMA)
        wh.write_table("e", make_rows(2), append=True)
        wh.ensure_table("e", SCHEMA)  # must not wipe it
        assert wh.query("SELECT COUNT(*) FROM e")[0][0] == 2
        assert "e" in wh.list_tables()
        assert not any(t.startswith("ibis_") for t in wh.list_tables())


def test_transaction_commits_all_or_nothing(warehouse_url: str) -> None:
    with Warehouse(warehouse_url) as wh:
        wh.write_table("t", make_rows(3))
        with pytest.raises(StorageError, match="inside a transaction"), wh.transaction() as tx:
            tx.execute("DELETE FROM t WHERE id = 0")
            tx.execute("INSERT INTO no_such_table VALUES (1)")
        assert wh.query("SELECT COUNT(*) FROM t")[0][0] == 3  # the DELETE was rolled back
        with wh.transaction() as tx:
            tx.execute("DELETE FROM t WHERE id = 0")
            tx.execute("CREATE TABLE t2 AS SELECT * FROM t")
            tx.execute("DROP TABLE t")
        assert wh.query("SELECT COUNT(*) FROM t2")[0][0] == 2
        assert not wh.has_table("t")


def test_backend_errors_say_what_and_where(warehouse_url: str) -> None:
    with Warehouse(warehouse_url) as wh, pytest.raises(StorageError, match="read table missing_table"):
        wh.read("missing_table")


def test_data_survives_reconnect(warehouse_url: str) -> None:
    with Warehouse(warehouse_url) as wh:
        wh.write_table("keep", make_rows(4))
    with Warehouse(warehouse_url) as wh:
        assert wh.query("SELECT COUNT(*) FROM keep")[0][0] == 4


def test_unknown_engine_lists_choices() -> None:
    with pytest.raises(UnknownName, match="duckdb, postgres"):
        Warehouse("mysql://x/y")


def test_unreachable_postgres_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot open the warehouse"):
        Warehouse("postgresql://nobody:secret@127.0.0.1:1/none")


def test_sql_helpers_refuse_injection() -> None:
    assert sql_literal("it's") == "'it''s'"
    assert sql_literal(None) == "NULL"
    assert quote_ident("src_party") == '"src_party"'
    with pytest.raises(ValueError):
        quote_ident('x"; DROP TABLE y; --')
