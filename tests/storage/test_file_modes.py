"""Files holding personal data are owner-only (0600 files, 0700 folders) even under a permissive umask."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from shouhu.filemodes import private_dir, private_umask
from shouhu.privacy.crypto import DEV_KEY_FILE, cipher_from_settings
from shouhu.settings import Settings, get_settings
from shouhu.storage import serving
from shouhu.storage.warehouse import Warehouse
from tests.ingest.sample import write_source


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def owner_only(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` (itself included) that others could read."""
    found = {str(folder): oct(mode(folder))} if mode(folder) & 0o077 else {}
    for p in folder.rglob("*"):
        if mode(p) & 0o077:
            found[str(p.relative_to(folder))] = oct(mode(p))
    return found


def test_warehouse_file_wal_and_folder_are_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data" / "nested"
    with Warehouse(f"duckdb:///{data / 'warehouse.duckdb'}") as wh:
        wh.write_table("party", pa.table({"name": ["张伟"], "id_number": ["11010519491231002X"]}))
        with wh.transaction() as tx:
            tx.execute("INSERT INTO party VALUES ('李娜', '110105491231002')")
        assert (data / "warehouse.duckdb").exists()
        assert owner_only(tmp_path / "data") == {}  # the WAL, while it exists, too
        wh.write_table("party", pa.table({"name": ["王芳"]}), append=True)
        assert owner_only(tmp_path / "data") == {}
    assert mode(tmp_path / "data") == mode(data) == 0o700
    assert mode(data / "warehouse.duckdb") == 0o600


def test_existing_world_readable_warehouse_is_tightened_on_open(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with Warehouse(f"duckdb:///{path}") as wh:
        wh.write_table("t", pa.table({"x": [1]}))
    path.chmod(0o644)
    with Warehouse(f"duckdb:///{path}") as wh:
        assert wh.read("t").num_rows == 1
    assert mode(path) == 0o600


def test_serving_database_and_its_journal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "serving.sqlite"
    url = f"sqlite:///{path}"
    serving.upgrade(url)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    engine = serving.engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (x TEXT)"))
            conn.execute(text("INSERT INTO probe VALUES ('13800138000')"))
            journal = Path(f"{path}-journal")
            assert journal.exists() and mode(journal) == 0o600
    finally:
        engine.dispose()
    assert owner_only(path.parent) == {}


def test_existing_world_readable_serving_database_is_tightened_on_open(tmp_path: Path) -> None:
    path = tmp_path / "serving.sqlite"
    serving.upgrade(f"sqlite:///{path}")
    path.chmod(0o644)
    serving.engine_for(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


def test_development_key_is_created_owner_only_and_old_keys_are_tightened(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    cipher_from_settings(settings)
    key = tmp_path / "data" / DEV_KEY_FILE
    assert mode(key) == 0o600 and mode(key.parent) == 0o700
    key.chmod(0o644)
    cipher_from_settings(settings)
    assert mode(key) == 0o600


def test_private_dir_leaves_existing_folders_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    private_dir(shared / "a" / "b")
    assert mode(shared) == 0o755  # the operator's folder
    assert mode(shared / "a") == mode(shared / "a" / "b") == 0o700


def test_private_umask_restores_the_umask() -> None:
    with private_umask():
        assert os.umask(0o077) & 0o077 == 0o077
    assert os.umask(0o022) == 0o022


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def test_cli_writes_owner_only_files_and_restores_the_umask(data_dir: Path, tmp_path: Path) -> None:
    from shouhu.cli.main import app

    runner = CliRunner()
    mapping, extract = write_source(tmp_path / "in")
    result = runner.invoke(app, ["ingest", str(extract), "--source", str(mapping), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["rows_loaded"] == 2
    exported = tmp_path / "out" / "model.md"
    exported.parent.mkdir()
    result = runner.invoke(app, ["model", "docs", "--out", str(exported)])
    assert result.exit_code == 0, result.stderr
    assert mode(exported) == 0o600  # an export: written by the command under the owner-only umask
    assert {p.name for p in data_dir.iterdir()} >= {"warehouse.duckdb", "serving.sqlite"}
    assert owner_only(data_dir) == {}
    assert os.umask(0o022) == 0o022  # the command gave the test process its umask back
