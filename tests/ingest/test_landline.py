"""Issue 12 item 11: a landline in the mobile column is kept as a secondary contact, not quarantined."""

from __future__ import annotations

from pathlib import Path

import pytest

from shouhu.ingest import ingest_file, load_mapping_file
from shouhu.ingest.validate import Invalid, normalise_landline
from shouhu.model.masking import mask
from shouhu.storage.warehouse import Warehouse
from tests.ingest.sample import HEADER, MAPPING

ROWS = [
    "L001,张伟,男,1980-01-01,,13800138000,1",  # mobile
    "L002,李娜,女,1980-01-01,,010-12345678,1",  # Beijing landline
    "L003,王芳,女,1980-01-01,,0571-88886666,1",  # Hangzhou landline
    "L004,赵强,男,1980-01-01,,(021) 6123 4567,1",  # Shanghai, spaces and brackets
    "L005,钱七,男,1980-01-01,,12345,1",  # neither: still quarantined
    "L006,孙八,男,1980-01-01,,010-0234567,1",  # local number cannot start with 0: quarantined
]


@pytest.mark.parametrize(("raw", "expected"), [
    ("010-12345678", "010-12345678"), ("0571-88886666", "0571-88886666"), ("(0571)8888 6666", "0571-88886666"),
    ("+86 10 12345678", "010-12345678"), ("0755-2345678", "0755-2345678"),
])
def test_landline_normalised(raw: str, expected: str) -> None:
    assert normalise_landline(raw) == expected


@pytest.mark.parametrize("raw", ["13812345678", "010-0234567", "12345678", "0571-123", "abc"])
def test_not_a_landline(raw: str) -> None:
    with pytest.raises(Invalid, match="landline"):
        normalise_landline(raw)


def test_landline_is_masked_with_its_area_code() -> None:
    assert mask("landline", "0571-88886666") == "0571-****6666"
    assert mask("landline", "010-12345678") == "010-****5678"


def test_landlines_in_the_mobile_column_are_kept_as_secondary_contacts(warehouse_url: str, tmp_path: Path) -> None:
    mapping = tmp_path / "demo_crm.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    extract = tmp_path / "customers.csv"
    extract.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    with Warehouse(warehouse_url) as wh:
        result = ingest_file(wh, extract, load_mapping_file(mapping))
        assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (6, 4, 2)
        by_id = {r["record_id"]: r for r in wh.read("src_party").to_pylist()}
        assert (by_id["L001"]["phone"], by_id["L001"]["landline"]) == ("13800138000", None)
        assert (by_id["L002"]["phone"], by_id["L002"]["landline"]) == (None, "010-12345678")
        assert by_id["L003"]["landline"] == "0571-88886666" and by_id["L004"]["landline"] == "021-61234567"
        quarantined = wh.query("SELECT row_number, field FROM ingest_quarantine ORDER BY row_number")
        assert [(int(r[0]), r[1]) for r in quarantined] == [(6, "phone"), (7, "phone")]
