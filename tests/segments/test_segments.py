"""Segments: count on every engine, members, CSV/Excel export without sensitive columns, saved definitions."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from shouhu.errors import InvalidInput, StorageError, UnknownName
from shouhu.segments import (
    SENSITIVE_COLUMNS,
    RuleError,
    Segment,
    count_segment,
    export_segment,
    list_segments,
    load_segment,
    save_segment,
    segment_members,
)
from tests.segments.conftest import PutCustomers

CUSTOMERS: list[dict[str, Any]] = [
    {"customer_id": "S1", "city": "上海市", "age": 32, "children_count": 1, "youngest_child_age": 3,
     "annual_income": 400_000.0, "sa_critical_illness": 300_000.0, "channels": "agent,bancassurance"},
    {"customer_id": "S2", "city": "北京市", "age": 36, "children_count": 2, "youngest_child_age": 8,
     "annual_income": 2_000_000.0, "claims_paid": 50_000.0, "channels": "internet"},
    {"customer_id": "S3", "city": "上海市", "age": 61, "children_count": 0, "annual_income": None,
     "last_contact_at": None, "days_since_last_contact": None},
    {"customer_id": "S4", "city": "=HYPERLINK(\"http://x\")", "age": 45, "children_count": 3,
     "youngest_child_age": None, "primary_agent_id": "+86 138"},
]


@pytest.mark.parametrize(("rule", "expected"), [
    ("age >= 30 and age < 40 and children_count > 0", 2),
    ('city in ("上海市", "北京市")', 3),
    ("sa_critical_illness < annual_income * 3", 2),
    ('channels contains "bancassurance"', 1),
    ("days_since_last_contact >= 365 or last_contact_at is null", 1),
    ("not youngest_child_age < 6", 3),
    ("annual_income / children_count > 100万", 0),
    ('last_contact_at >= "2026-01-01"', 3),
])
def test_count_on_every_engine(warehouse_url: str, put_customers: PutCustomers, rule: str, expected: int) -> None:
    wh = put_customers(CUSTOMERS, warehouse_url)
    assert count_segment(wh, rule) == expected


def test_count_with_required_tags(put_customers: PutCustomers) -> None:
    wh = put_customers(CUSTOMERS)
    assert count_segment(wh, "age < 40") == 2
    assert count_segment(wh, "age < 40", tags=["high_net_worth"]) == 1
    assert count_segment(wh, Segment("x", "age < 40", tags=("有幼儿",))) == 1
    with pytest.raises(UnknownName, match="valid choices"):
        count_segment(wh, "age < 40", tags=["nope"])


def test_bad_rule_and_missing_table(put_customers: PutCustomers, tmp_path: Path) -> None:
    wh = put_customers(CUSTOMERS)
    with pytest.raises(RuleError):
        count_segment(wh, "open('x')")
    wh.drop_table("customer_360")
    with pytest.raises(StorageError, match="refresh pipeline"):
        count_segment(wh, "age > 1")


def test_members_leave_out_sensitive_columns(put_customers: PutCustomers) -> None:
    wh = put_customers(CUSTOMERS)
    members = segment_members(wh, "age < 40")
    assert members.column("customer_id").to_pylist() == ["S1", "S2"]
    assert not SENSITIVE_COLUMNS & set(members.column_names)
    assert {"annual_income", "claims_paid"} == SENSITIVE_COLUMNS
    chosen = segment_members(wh, "age < 40", ["customer_id", "annual_income"], include_sensitive=True)
    assert chosen.column("annual_income").to_pylist() == [400_000.0, 2_000_000.0]
    with pytest.raises(InvalidInput, match="sensitive"):
        segment_members(wh, "age < 40", ["customer_id", "annual_income"])
    with pytest.raises(UnknownName, match="customer_360 column"):
        segment_members(wh, "age < 40", ["customer_id", "salary"])
    assert segment_members(wh, "true", limit=1).num_rows == 1


def test_export_csv_is_utf8_with_bom_and_safe(put_customers: PutCustomers, tmp_path: Path) -> None:
    wh = put_customers(CUSTOMERS)
    result = export_segment(wh, "true", tmp_path / "out" / "客群.csv")
    raw = result.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and result.rows == 4
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["city"] for r in rows][:3] == ["上海市", "北京市", "上海市"]
    assert not SENSITIVE_COLUMNS & set(rows[0]) and "400000" not in raw.decode("utf-8-sig")
    assert rows[3]["city"].startswith("'=") and rows[3]["primary_agent_id"] == "'+86 138"  # CSV injection
    assert not list(tmp_path.glob("out/.*partial"))


def test_export_csv_zh_header_and_empty_segment(put_customers: PutCustomers, tmp_path: Path) -> None:
    wh = put_customers(CUSTOMERS)
    export_segment(wh, "age > 100", tmp_path / "empty.csv", columns=["customer_id", "city"], header="zh")
    assert (tmp_path / "empty.csv").read_text(encoding="utf-8-sig").strip() == '"客户号","城市"'


def test_export_xlsx_reads_back(put_customers: PutCustomers, tmp_path: Path) -> None:
    import openpyxl

    wh = put_customers(CUSTOMERS)
    result = export_segment(wh, 'city == "上海市"', tmp_path / "seg.xlsx", header="zh")
    sheet = openpyxl.load_workbook(result.path).active
    values = list(sheet.values)
    assert values[0][:3] == ("客户号", "家庭号", "家庭角色") and "年收入(元)" not in values[0]
    assert [v[0] for v in values[1:]] == ["S1", "S3"] and result.rows == 2
    city = values[0].index("城市")
    assert values[1][city] == "上海市"
    out = export_segment(wh, "age > 40", tmp_path / "f.xlsx", columns=["customer_id", "city", "age"])
    row = list(openpyxl.load_workbook(out.path).active.values)[2]
    assert row == ("S4", "=HYPERLINK(\"http://x\")", 45)  # stored as text, not a formula
    with_income = export_segment(wh, "true", tmp_path / "s.xlsx", include_sensitive=True)
    assert "annual_income" in next(iter(openpyxl.load_workbook(with_income.path).active.values))


def test_export_refuses_unknown_format(put_customers: PutCustomers, tmp_path: Path) -> None:
    wh = put_customers(CUSTOMERS)
    with pytest.raises(UnknownName, match="csv, xlsx"):
        export_segment(wh, "true", tmp_path / "x.json")


def test_saved_segments_round_trip(tmp_path: Path) -> None:
    saved = save_segment(tmp_path, "上海宝妈", 'city == "上海市" and youngest_child_age < 6', "少儿重疾活动",
                         tags=["高净值"])
    assert saved.tags == ("high_net_worth",) and saved.saved_at
    assert load_segment(tmp_path, "上海宝妈") == saved
    assert [s.name for s in list_segments(tmp_path)] == ["上海宝妈"]
    data = json.loads((tmp_path / "segments" / "上海宝妈.json").read_text(encoding="utf-8"))
    assert data["rule"].startswith("city")


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", ".hidden", "", "x" * 65, "a.b", "_x"])
def test_segment_names_cannot_escape_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="segment name"):
        save_segment(tmp_path, name, "age > 1")


def test_save_refuses_bad_rule_and_load_lists_choices(tmp_path: Path) -> None:
    with pytest.raises(RuleError):
        save_segment(tmp_path, "bad", "age >")
    save_segment(tmp_path, "ok", "age > 1")
    with pytest.raises(UnknownName, match="ok"):
        load_segment(tmp_path, "missing")
