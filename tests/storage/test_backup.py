"""Backup and restore (issue 19 item 4): the published book's DuckDB warehouse and SQLite serving database,
and PostgreSQL, saved with a manifest and brought back with the same row counts; a damaged file is named;
a failed restore leaves the live database as it was; people erased after the backup stay erased."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.errors import InvalidInput
from shouhu.settings import get_settings
from shouhu.storage import backup
from shouhu.storage.serving import engine_for, upgrade
from tests.conftest import KEY, Published

runner = CliRunner()


@pytest.fixture
def live(published: Published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private copy of the published book's two databases, configured as the CLI's."""
    root = tmp_path / "live"
    root.mkdir()
    shutil.copy(published.warehouse_url.removeprefix("duckdb:///"), root / "warehouse.duckdb")
    shutil.copy(published.sqlite_path, root / "serving.sqlite")
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(root))
    monkeypatch.setenv("SHOUHU_ENCRYPTION_KEY", KEY)
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _rows(db: Path, sql: str) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute(sql).fetchone()[0])
    finally:
        con.close()


def _wh_rows(db: Path, sql: str) -> int:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return int(con.execute(sql).fetchone()[0])  # type: ignore[index]


def test_backup_then_restore_brings_both_databases_back(live: Path, tmp_path: Path) -> None:
    before = (_rows(live / "serving.sqlite", "SELECT count(*) FROM customer"),
              _wh_rows(live / "warehouse.duckdb", "SELECT count(*) FROM src_party"))
    assert before[0] > 100 and before[1] > 100
    code, out, err = cli("backup", "create", str(tmp_path / "b1"), "--json")
    assert code == 0, err
    manifest = json.loads(out)
    assert set(manifest["stores"]) == {"warehouse", "serving"}
    assert manifest["stores"]["serving"]["tables"]["customer"] == before[0]
    assert manifest["stores"]["serving"]["revision"]
    assert oct((tmp_path / "b1").stat().st_mode & 0o777) == "0o700"
    assert oct((tmp_path / "b1" / "serving.sqlite").stat().st_mode & 0o777) == "0o600"

    con = sqlite3.connect(live / "serving.sqlite")  # lose data in both stores
    con.execute("DELETE FROM customer")
    con.commit()
    con.close()
    import duckdb

    with duckdb.connect(str(live / "warehouse.duckdb")) as w:
        w.execute("DELETE FROM src_party")

    assert cli("backup", "restore", str(tmp_path / "b1"))[0] == 2  # asks for --yes
    code, out, err = cli("backup", "restore", str(tmp_path / "b1"), "--yes", "--json")
    assert code == 0, err
    assert set(json.loads(out)["restored"]) == {"warehouse", "serving"}
    assert (_rows(live / "serving.sqlite", "SELECT count(*) FROM customer"),
            _wh_rows(live / "warehouse.duckdb", "SELECT count(*) FROM src_party")) == before
    assert cli("status")[0] == 0  # the restored databases serve the CLI


def test_a_damaged_backup_file_is_named_and_nothing_is_restored(live: Path, tmp_path: Path) -> None:
    assert cli("backup", "create", str(tmp_path / "b"))[0] == 0
    damaged = tmp_path / "b" / "serving.sqlite"
    data = bytearray(damaged.read_bytes())
    data[5000] ^= 0xFF
    damaged.write_bytes(bytes(data))
    code, _, err = cli("backup", "verify", str(tmp_path / "b"))
    assert code != 0 and "serving.sqlite" in err and "checksum" in err
    code, _, err = cli("backup", "restore", str(tmp_path / "b"), "--yes")
    assert code != 0 and "checksum" in err


def test_a_restore_that_fails_its_check_leaves_the_live_database_in_place(live: Path, tmp_path: Path) -> None:
    manifest = backup.create([backup.store_of("serving", f"sqlite:///{live / 'serving.sqlite'}")], tmp_path / "b")
    entry = manifest["stores"]["serving"]
    entry["tables"]["customer"] += 1  # the manifest promises a row the file does not hold
    target = backup.store_of("serving", f"sqlite:///{tmp_path / 'elsewhere.sqlite'}")
    shutil.copy(live / "serving.sqlite", tmp_path / "elsewhere.sqlite")
    with pytest.raises(backup.BackupError, match="customer"):
        backup.restore_store(target, tmp_path / "b", entry)
    # a corrupt file is refused by the integrity check before it replaces anything
    (tmp_path / "b" / "serving.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    live_size = (live / "serving.sqlite").stat().st_size
    with pytest.raises(Exception):  # noqa: B017 - sqlite3.DatabaseError or BackupError, either stops it
        backup.restore_store(backup.store_of("serving", f"sqlite:///{live / 'serving.sqlite'}"), tmp_path / "b",
                             manifest["stores"]["serving"])
    assert (live / "serving.sqlite").stat().st_size == live_size
    assert not list(live.glob(".*.restoring"))


def test_people_erased_after_the_backup_stay_erased_after_a_restore(live: Path, tmp_path: Path) -> None:
    from shouhu.compliance import erasure
    from shouhu.storage.warehouse import Warehouse

    serving = f"sqlite:///{live / 'serving.sqlite'}"
    engine = engine_for(serving)
    with engine.connect() as conn:
        customer = conn.execute(text("SELECT customer_id FROM customer ORDER BY customer_id LIMIT 1")).scalar_one()
    assert cli("backup", "create", str(tmp_path / "b"))[0] == 0
    with Warehouse(f"duckdb:///{live / 'warehouse.duckdb'}") as wh:
        erasure.erase(engine, customer, warehouse=wh)
    engine.dispose()
    code, out, err = cli("backup", "restore", str(tmp_path / "b"), "--yes", "--json")
    assert code == 0, err
    assert json.loads(out)["erased_again"] == 1
    assert _rows(live / "serving.sqlite", f"SELECT count(*) FROM customer WHERE customer_id = '{customer}'") == 0
    assert _rows(live / "serving.sqlite",
                 f"SELECT count(*) FROM erased_subject WHERE customer_id = '{customer}'") == 1
    assert _wh_rows(live / "warehouse.duckdb",
                    f"SELECT count(*) FROM customer_360 WHERE customer_id = '{customer}'") == 0


def test_refuses_a_non_empty_folder_and_an_in_memory_database(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(InvalidInput, match="not empty"):
        backup.create([], tmp_path / "full")
    with pytest.raises(InvalidInput, match="in-memory"):
        backup.store_of("serving", "sqlite://")
    with pytest.raises(InvalidInput, match="no manifest"):
        backup.verify(tmp_path)


@pytest.mark.postgres
def test_postgresql_round_trip(pg_database: str, tmp_path: Path) -> None:
    upgrade(pg_database)
    engine = engine_for(pg_database)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE extra_facts (id int primary key, note text)"))
        conn.execute(text("INSERT INTO extra_facts SELECT g, '备注' || g FROM generate_series(1, 500) g"))
    store = backup.store_of("serving", pg_database)
    manifest = backup.create([store], tmp_path / "pg")
    assert manifest["stores"]["serving"]["tables"]["extra_facts"] == 500
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM extra_facts WHERE id > 10"))
    backup.restore_store(store, tmp_path / "pg", backup.verify(tmp_path / "pg")["stores"]["serving"])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), max(note) FROM extra_facts")).one() == (500, "备注99")
    engine.dispose()
