"""The generator and ingestion agree: every planted defect is quarantined, nothing else is."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from shouhu.ingest import ingest_file, plan_book
from shouhu.storage.warehouse import Warehouse
from tests.conftest import BookFactory


def planted(book: Path) -> set[tuple[str, int, str]]:
    with (book / "bad_rows.csv").open(encoding="utf-8", newline="") as fh:
        return {(r["path"], int(r["row_number"]), r["field"]) for r in csv.DictReader(fh)}


def load_book(book: Path, url: str) -> list[tuple[str, int, str]]:
    with Warehouse(url) as wh:
        for item in plan_book(book):
            result = ingest_file(wh, item.path, item.mapping, item.extract, chunk_rows=2_000)
            assert result.rows_in == result.rows_loaded + result.rows_quarantined
        rows = wh.query("SELECT f.file_path, q.row_number, q.field FROM ingest_quarantine q "
                        "JOIN ingest_file f ON f.file_id = q.file_id AND f.source = q.source "
                        "AND f.entity = q.entity")
    return [(Path(p).relative_to(book.resolve()).as_posix(), int(n), f) for p, n, f in rows]


def test_quarantine_equals_the_planted_defects(make_book: BookFactory, warehouse_url: str) -> None:
    book = make_book(customers=600, seed=11)
    found = load_book(book, warehouse_url)
    assert len(found) == len(set(found))  # one defect per bad row, as planted
    assert set(found) == planted(book)
    manifest = json.loads((book / "manifest.json").read_text(encoding="utf-8"))
    assert sum(x["bad_rows"] for x in manifest["extracts"]) == len(found) > 0


def test_every_extract_loads_with_its_rows_and_lineage(make_book: BookFactory, tmp_path: Path) -> None:
    book = make_book(customers=600, seed=11)
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    load_book(book, url)
    manifest = json.loads((book / "manifest.json").read_text(encoding="utf-8"))
    with Warehouse(url) as wh:
        loaded = {(s, f): n for s, f, n in wh.query("SELECT source, file_name, rows_loaded FROM ingest_file")}
        for item in manifest["extracts"]:
            key = (item["source"], Path(item["path"]).name)
            assert loaded[key] == item["rows"] - item["bad_rows"], item["path"]
        # lineage points back at real rows of real files
        assert wh.query("SELECT COUNT(*) FROM src_party WHERE _row_number < 1 OR _file_id IS NULL")[0][0] == 0
        channels = {r[0] for r in wh.query("SELECT DISTINCT channel FROM src_party")}
        assert {"agent", "bancassurance", "broker", "internet", "direct"} <= channels
