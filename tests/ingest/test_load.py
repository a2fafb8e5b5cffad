"""Loading on every warehouse backend: accounting, quarantine, idempotence, atomicity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shouhu.errors import MappingError, SourceFileError, UnknownName
from shouhu.ingest import files_for_source, ingest_file, load_mapping, load_mapping_file
from shouhu.storage.warehouse import Warehouse
from tests.ingest.sample import BAD, write_source


def counts(wh: Warehouse) -> tuple[int, int, int]:
    def n(table: str) -> int:
        return int(wh.query(f"SELECT COUNT(*) FROM {table}")[0][0]) if wh.has_table(table) else 0

    return n("src_party"), n("ingest_quarantine"), n("ingest_file")


def test_rows_in_equals_loaded_plus_quarantined(warehouse_url: str, tmp_path: Path) -> None:
    mapping_path, extract = write_source(tmp_path, good_copies=3)
    with Warehouse(warehouse_url) as wh:
        result = ingest_file(wh, extract, load_mapping_file(mapping_path))
        assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (6 + len(BAD), 6, len(BAD))
        party = wh.read("src_party").to_pylist()
        assert {r["_source"] for r in party} == {"demo_crm"}
        assert {r["channel"] for r in party} == {"agent"}
        by_id = {r["record_id"]: r for r in party}
        assert by_id["C0_2"]["id_number"] == "11010519491231002X"  # 15 digits became 18
        assert by_id["C0_2"]["phone"] == "13900000000"
        assert by_id["C0_1"]["gender"] == "M"


def test_quarantine_names_file_row_field_and_reason(warehouse_url: str, tmp_path: Path) -> None:
    mapping_path, extract = write_source(tmp_path)
    with Warehouse(warehouse_url) as wh:
        ingest_file(wh, extract, load_mapping_file(mapping_path))
        rows = wh.query("SELECT file_name, row_number, field, reason, value, raw_record "
                        "FROM ingest_quarantine ORDER BY row_number")
    assert [(r[1], r[2]) for r in rows] == [(4 + i, field) for i, field in enumerate(BAD.values())]
    assert all(r[0] == "customers.csv" and r[3] for r in rows)
    id_row = next(r for r in rows if r[2] == "id_number")
    assert "110105198001010011" not in id_row[4]  # sensitive values are masked
    assert json.loads(id_row[5])["身份证号"] == "110105198001010011"  # …but nothing is lost


def test_same_file_twice_adds_nothing(warehouse_url: str, tmp_path: Path) -> None:
    mapping_path, extract = write_source(tmp_path)
    mapping = load_mapping_file(mapping_path)
    with Warehouse(warehouse_url) as wh:
        first = ingest_file(wh, extract, mapping)
        before = counts(wh)
        again = ingest_file(wh, extract, mapping)
        copy = tmp_path / "customers_copy.csv"
        copy.write_bytes(extract.read_bytes())
        renamed = ingest_file(wh, copy, mapping)
        assert counts(wh) == before
    assert first.status == "loaded" and again.status == renamed.status == "skipped"
    assert again.rows_loaded == first.rows_loaded


def test_gbk_file_loads_with_detected_encoding(warehouse_url: str, tmp_path: Path) -> None:
    mapping_path, extract = write_source(tmp_path, encoding="gbk")
    with Warehouse(warehouse_url) as wh:
        ingest_file(wh, extract, load_mapping_file(mapping_path))
        names = {r[0] for r in wh.query("SELECT name FROM src_party")}
    assert names == {"张伟", "李娜"}


def test_wrong_forced_encoding_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    from shouhu.errors import EncodingError

    mapping_path, extract = write_source(tmp_path, encoding="gbk")
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        with pytest.raises(EncodingError, match=r"customers\.csv.*not valid utf-8"):
            ingest_file(wh, extract, load_mapping_file(mapping_path), encoding="utf-8")
        assert counts(wh) == (0, 0, 0)


def test_missing_required_column_names_the_field(tmp_path: Path) -> None:
    mapping_path, extract = write_source(tmp_path)
    extract.write_text(extract.read_text(encoding="utf-8").replace("姓名", "名字", 1), encoding="utf-8")
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh, \
            pytest.raises(MappingError, match="name ← '姓名'"):
        ingest_file(wh, extract, load_mapping_file(mapping_path))


def test_unknown_source_and_unmatched_file(tmp_path: Path) -> None:
    with pytest.raises(UnknownName, match="unknown source 'nope'"):
        load_mapping("nope", tmp_path)
    mapping_path, _ = write_source(tmp_path)
    odd = tmp_path / "other.csv"
    odd.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(MappingError, match="no extract"):
        load_mapping_file(mapping_path).extract_for_file(odd.name)
    with pytest.raises(SourceFileError, match="no such file"):
        files_for_source(tmp_path / "missing", load_mapping_file(mapping_path))


def test_user_mapping_dir_is_searched(tmp_path: Path) -> None:
    write_source(tmp_path)
    assert load_mapping("demo_crm", tmp_path).source == "demo_crm"


CHILD = """
import sys
from pathlib import Path
from shouhu.ingest import ingest_file, load_mapping_file
from shouhu.storage.warehouse import Warehouse
with Warehouse(sys.argv[1]) as wh:
    ingest_file(wh, Path(sys.argv[2]), load_mapping_file(Path(sys.argv[3])), chunk_rows=50)
"""


@pytest.mark.parametrize("point", ["after_stage", "in_transaction"])
def test_killed_mid_load_leaves_nothing_and_rerun_completes(
    warehouse_url: str, tmp_path: Path, point: str
) -> None:
    mapping_path, extract = write_source(tmp_path, good_copies=200)
    env = os.environ | {"SHOUHU_FAULT_INJECT": point}
    proc = subprocess.run([sys.executable, "-c", CHILD, warehouse_url, str(extract), str(mapping_path)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 77, proc.stderr  # it really died at the fault point
    with Warehouse(warehouse_url) as wh:
        assert counts(wh) == (0, 0, 0)
        result = ingest_file(wh, extract, load_mapping_file(mapping_path), chunk_rows=50)
        assert result.status == "loaded"
        assert counts(wh) == (400, len(BAD), 1)
        assert int(wh.query("SELECT COUNT(DISTINCT record_id) FROM src_party")[0][0]) == 400
        assert not [t for t in wh.list_tables() if t.startswith("_stage")]
