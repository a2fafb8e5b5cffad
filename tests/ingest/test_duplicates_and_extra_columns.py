"""Outside-style extracts (GBK with CRLF, UTF-8 with BOM) with repeated record ids and unmapped columns:
the first occurrence loads, later ones are quarantined with a reason; ignored columns are reported."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from shouhu.ingest import ingest_file, load_mapping_file
from shouhu.ingest.load import FILE_TABLE, already_loaded, ensure_ingest_tables
from shouhu.settings import get_settings
from shouhu.storage.warehouse import Warehouse

MAPPING = """
source = "outside_bank"
channel = "bancassurance"
zh = "外部银行"

[extracts.party]
files = ["kh_*.csv"]
encoding = "auto"
[extracts.party.columns]
record_id = "客户号"
name = "客户姓名"
gender = "性别"
birth_date = "出生日期"
id_number = "证件号码"
phone = "手机号码"
[extracts.party.constants]
channel = "bancassurance"
[extracts.party.values.gender]
"1" = "M"
"2" = "F"
[extracts.party.date_formats]
birth_date = "%Y%m%d"
"""

# Written by hand the way a bank's export looks: extra columns (备注, 客户经理) the mapping does not use,
# K001 three times (an identical copy, then a row with another phone), K003 twice.
ROWS = [
    "客户号,客户姓名,性别,出生日期,证件号码,手机号码,备注,客户经理",
    "K001,张伟,1,19491231,11010519491231002X,13800138000,老客户,王经理",     # row 2: loaded
    "K002,李娜,2,19491231,110105491231002,13900000000,,李经理",              # row 3
    "K001,张伟,1,19491231,11010519491231002X,13800138000,老客户,王经理",     # row 4: identical copy
    "K003,王芳,2,19900101,,13900000001,,",                                  # row 5
    "K001,张伟,1,19491231,11010519491231002X,13700000000,换号,王经理",       # row 6: different values
    "K004,赵强,1,1980-13-01,,13900000002,,",                                # row 7: bad date (not a duplicate)
    "K003,王芳,2,19900101,,13900000001,,",                                  # row 8: identical copy
]


def write(folder: Path, name: str, encoding: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    mapping = folder / "outside_bank.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    extract = folder / name
    extract.write_bytes("\r\n".join(ROWS).encode(encoding) + b"\r\n")
    return mapping, extract


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_repeated_ids_are_quarantined_after_the_first(warehouse_url: str, tmp_path: Path, encoding: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    mapping, extract = write(tmp_path, f"kh_{encoding}.csv", encoding)
    caplog.set_level(logging.WARNING, logger="shouhu.ingest")
    with Warehouse(warehouse_url) as wh:
        result = ingest_file(wh, extract, load_mapping_file(mapping))
        party = wh.read("src_party").to_pylist()
        quarantine = wh.query("SELECT row_number, field, reason, value FROM ingest_quarantine ORDER BY row_number")
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined, result.rows_duplicate) == (7, 3, 4, 3)
    assert sorted(r["record_id"] for r in party) == ["K001", "K002", "K003"]
    k001 = next(r for r in party if r["record_id"] == "K001")
    assert (k001["_row_number"], k001["phone"]) == (2, "13800138000")  # the first occurrence won
    assert [(r[0], r[1]) for r in quarantine] == [(4, "record_id"), (6, "record_id"), (7, "birth_date"),
                                                  (8, "record_id")]
    reasons = {r[0]: r[2] for r in quarantine}
    assert reasons[4].startswith("duplicate record_id record_id=K001") and "identical copy of row 2" in reasons[4]
    assert "different values of row 2" in reasons[6]
    assert "identical copy of row 5" in reasons[8]
    assert result.extra_columns == ("备注", "客户经理")  # the BOM is not part of the first column's name
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert extract.name in logged and "3 rows repeat the key" in logged and "备注, 客户经理" in logged
    assert "13700000000" not in logged and "11010519491231002X" not in logged


def test_loading_the_same_file_again_still_reports_both(tmp_path: Path) -> None:
    mapping, extract = write(tmp_path, "kh_1.csv", "gbk")
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        ingest_file(wh, extract, load_mapping_file(mapping))
        again = ingest_file(wh, extract, load_mapping_file(mapping))
    assert (again.status, again.rows_duplicate, again.extra_columns) == ("skipped", 3, ("备注", "客户经理"))
    assert len(again.warnings()) == 2


def test_a_file_without_duplicates_or_extra_columns_has_no_warnings(tmp_path: Path) -> None:
    mapping, extract = write(tmp_path, "kh_2.csv", "utf-8")
    extract.write_text("\n".join(",".join(line.split(",")[:6]) for line in ROWS[:4:2]) + "\n", encoding="utf-8")
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        result = ingest_file(wh, extract, load_mapping_file(mapping))
    assert (result.rows_loaded, result.rows_duplicate, result.extra_columns, result.warnings()) == (1, 0, (), [])


def test_ingest_file_table_of_an_older_version_gains_the_new_columns(warehouse_url: str, tmp_path: Path) -> None:
    old = pa.schema([("file_id", pa.string()), ("source", pa.string()), ("entity", pa.string()),
                     ("file_name", pa.string()), ("file_path", pa.string()), ("file_bytes", pa.int64()),
                     ("encoding", pa.string()), ("rows_in", pa.int64()), ("rows_loaded", pa.int64()),
                     ("rows_quarantined", pa.int64()), ("loaded_at", pa.timestamp("us")), ("seconds", pa.float64())])
    with Warehouse(warehouse_url) as wh:
        wh.write_table(FILE_TABLE, pa.table({"file_id": ["f"], "source": ["s"], "entity": ["party"],
                                             "file_name": ["old.csv"], "file_path": ["/x"], "file_bytes": [1],
                                             "encoding": ["utf-8"], "rows_in": [1], "rows_loaded": [1],
                                             "rows_quarantined": [0], "loaded_at": [None], "seconds": [0.1]},
                                            schema=old))
        ensure_ingest_tables(wh)
        previous = already_loaded(wh, "f", "s", "party")
        assert previous is not None and (previous.rows_duplicate, previous.extra_columns) == (0, ())
        mapping, extract = write(tmp_path, "kh_3.csv", "gbk")
        assert ingest_file(wh, extract, load_mapping_file(mapping)).rows_duplicate == 3


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def test_status_reports_duplicates_and_ignored_columns(data_dir: Path, tmp_path: Path) -> None:
    from shouhu.cli.main import app

    runner = CliRunner()
    mapping, extract = write(tmp_path / "in", "kh_20261101.csv", "gbk")
    result = runner.invoke(app, ["ingest", str(extract), "--source", str(mapping)])
    assert result.exit_code == 0, result.stderr
    assert "3 rows repeat the key" in result.stdout and "备注, 客户经理" in result.stdout

    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.stderr
    [source] = json.loads(result.stdout)["sources"]
    assert (source["source"], source["rows_quarantined"], source["rows_duplicate"]) == ("outside_bank", 4, 3)
    assert source["extra_columns"] == ["备注", "客户经理"]
    assert source["warnings"] == [{"file": "kh_20261101.csv", "rows_duplicate": 3,
                                   "extra_columns": ["备注", "客户经理"]}]

    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # rich wraps long lines
    assert "outside_bank/kh_20261101.csv: 3 rows repeat the key of an earlier row" in text
    assert "ignored (未映射的列已忽略): 备注, 客户经理" in text
