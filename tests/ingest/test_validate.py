"""Value parsers, field rules and chunk validation."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouhu.errors import MappingError
from shouhu.ingest.mapping import ExtractMapping
from shouhu.ingest.validate import (
    Invalid,
    Validated,
    _display,
    arrow_schema,
    check_columns,
    convert,
    normalise_id_number,
    normalise_phone,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_float,
    parse_int,
    to_text,
    validate_chunk,
)
from shouhu.model.schema import CONSENT, PARTY, TOUCHPOINT
from tests.ingest.factories import (
    PARTY_COLUMNS,
    id_check_char,
    make_chunk,
    make_extract_mapping,
    make_id_number,
    make_id_number_15,
    party_record,
)

AS_OF = date(2024, 6, 30)


# -- numbers --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "expected"), [
    ("42", 42), (" -7 ", -7), ("1,234,567", 1234567), (5, 5), (5.0, 5), ("3.0", 3), ("1e3", 1000),
])
def test_parse_int_ok(raw: object, expected: int) -> None:
    value = parse_int(raw)
    assert value == expected and type(value) is int


@pytest.mark.parametrize("raw", ["abc", "1.5", 2.5, "", "nan", "inf", float("nan"), float("inf"), True, "¥5"])
def test_parse_int_rejects(raw: object) -> None:
    with pytest.raises(Invalid, match="whole number"):
        parse_int(raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("1,234.50", 1234.5), ("¥1,000", 1000.0), ("￥ 88000.5", 88000.5), (3, 3.0), (2.25, 2.25), ("-0.5", -0.5),
])
def test_parse_float_ok(raw: object, expected: float) -> None:
    value = parse_float(raw)
    assert value == expected and type(value) is float


@pytest.mark.parametrize("raw", ["abc", "", "NaN", "inf", "-Infinity", float("nan"), float("-inf"), False])
def test_parse_float_rejects(raw: object) -> None:
    with pytest.raises(Invalid):
        parse_float(raw)


# -- dates ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "fmt", "expected"), [
    ("2024-02-29", None, date(2024, 2, 29)),
    (" 1980-01-02 ", None, date(1980, 1, 2)),
    ("2024-01-31T23:59:59", None, date(2024, 1, 31)),
    ("2024-01-31 08:00", None, date(2024, 1, 31)),
    ("19800102", "%Y%m%d", date(1980, 1, 2)),
    (19800102, "%Y%m%d", date(1980, 1, 2)),
    (19800102.0, "%Y%m%d", date(1980, 1, 2)),  # int column with nulls (JSON lines, Parquet)
    ("1980/1/2", "%Y/%m/%d", date(1980, 1, 2)),
    (date(2001, 5, 6), None, date(2001, 5, 6)),
    (datetime(2001, 5, 6, 23, 0), None, date(2001, 5, 6)),
    (pd.Timestamp("2001-05-06 12:00"), None, date(2001, 5, 6)),
])
def test_parse_date_ok(raw: object, fmt: str | None, expected: date) -> None:
    value = parse_date(raw, fmt)
    assert value == expected and type(value) is date


@pytest.mark.parametrize(("raw", "fmt"), [
    ("2023-02-30", None), ("2023-13-01", None), ("2023-00-10", None), ("not a date", None),
    ("20230230", "%Y%m%d"), ("20231301", "%Y%m%d"), ("2023-01-01", "%Y%m%d"), ("1980/01/02", None),
])
def test_parse_date_rejects(raw: str, fmt: str | None) -> None:
    with pytest.raises(Invalid, match="not a valid date") as exc:
        parse_date(raw, fmt)
    assert (fmt or "YYYY-MM-DD") in str(exc.value)


@pytest.mark.parametrize(("raw", "fmt", "expected"), [
    ("2024-01-31T08:30:00", None, datetime(2024, 1, 31, 8, 30)),
    ("2024-01-31 08:30:00", None, datetime(2024, 1, 31, 8, 30)),
    ("2024-01-31", None, datetime(2024, 1, 31)),
    ("2024-01-31T20:00:00+00:00", None, datetime(2024, 2, 1, 4, 0)),
    ("2024-01-31T20:00:00Z", None, datetime(2024, 2, 1, 4, 0)),
    ("2024-01-31T08:00:00+08:00", None, datetime(2024, 1, 31, 8, 0)),
    ("2024-01-31T09:00:00+09:00", None, datetime(2024, 1, 31, 8, 0)),
    ("20240131 083000", "%Y%m%d %H%M%S", datetime(2024, 1, 31, 8, 30)),
    (date(2024, 1, 31), None, datetime(2024, 1, 31)),
    (datetime(2024, 1, 31, 8, 30), None, datetime(2024, 1, 31, 8, 30)),
    (datetime(2024, 1, 31, 20, 0, tzinfo=UTC), None, datetime(2024, 2, 1, 4, 0)),
    (datetime(2024, 1, 31, 8, 0, tzinfo=timezone(timedelta(hours=-5))), None, datetime(2024, 1, 31, 21, 0)),
])
def test_parse_datetime_ok(raw: object, fmt: str | None, expected: datetime) -> None:
    value = parse_datetime(raw, fmt)
    assert value == expected
    assert value.tzinfo is None


@pytest.mark.parametrize("raw", ["2024-01-32T00:00:00", "yesterday", "2024-01-31T25:00"])
def test_parse_datetime_rejects(raw: str) -> None:
    with pytest.raises(Invalid, match="date-time"):
        parse_datetime(raw)


# -- booleans -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "expected"), [
    ("是", True), ("否", False), ("1", True), ("0", False), (1, True), (0, False), (1.0, True),
    ("yes", True), ("NO", False), (" Y ", True), ("true", True), ("False", False), ("已同意", True),
    ("不同意", False), (True, True), (False, False),
])
def test_parse_bool_ok(raw: object, expected: bool) -> None:
    assert parse_bool(raw) is expected


@pytest.mark.parametrize("raw", ["maybe", "2", 2, "对", "-1"])
def test_parse_bool_rejects(raw: object) -> None:
    with pytest.raises(Invalid, match="yes/no"):
        parse_bool(raw)


# -- resident ID numbers --------------------------------------------------------------------------
def test_id_check_char_factory_matches_known_numbers() -> None:
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("11010519800101001") == "6"


def test_valid_id_with_x_and_lowercase_x() -> None:
    assert normalise_id_number("11010519491231002X") == "11010519491231002X"
    assert normalise_id_number(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize("raw", [
    "110105194912310021",  # wrong check char (should be X)
    "11010519491231002Y",
    "11010519800101001X",  # should be 6
    "11010519491231002",  # 17
    "11010519491231002X1",  # 19
    "",
    "1101051949123100",  # 16
    "11010549123100A",  # 15 but not digits
    "110105194902300020",  # Feb 30th; check char computed below to isolate the date rule
])
def test_invalid_id_numbers(raw: str) -> None:
    if raw.startswith("1101051949023000"):
        raw = raw[:17] + id_check_char(raw[:17])
    with pytest.raises(Invalid):
        normalise_id_number(raw)


def test_unknown_region_is_rejected() -> None:
    with pytest.raises(Invalid):
        normalise_id_number(make_id_number("000000", date(1980, 1, 1), 1))
    with pytest.raises(Invalid):  # 南山区 440305 exists from 1983 on only
        normalise_id_number(make_id_number("440305", date(1950, 1, 1), 1))
    assert normalise_id_number(make_id_number("440305", date(1995, 1, 1), 1))


def test_15_digit_id_is_converted_to_18() -> None:
    body = "110105" + "19" + "491231" + "002"
    expected = body + id_check_char(body)
    assert expected == "11010519491231002X"
    assert normalise_id_number("110105491231002") == expected
    body = "31010419800101123"
    assert normalise_id_number("310104800101123") == body + id_check_char(body)


# (region code, first birth year it is valid for in stdnum's region table; e.g. 440305 南山区 only
# exists from 1983 on, so an ID 440305 1950... is rejected as an unknown birth place)
REGIONS = [("110105", 1920), ("310101", 1920), ("110101", 1920), ("310104", 1920), ("440305", 1990)]


@st.composite
def resident_ids(draw: st.DrawFn, last_year: int = 2020) -> tuple[str, date, int]:
    region, first_year = draw(st.sampled_from(REGIONS))
    birth = draw(st.dates(date(first_year, 1, 1), date(last_year, 12, 31)))
    seq = draw(st.integers(0, 999))
    return region, birth, seq


@settings(max_examples=150, deadline=None)
@given(resident_ids())
def test_property_valid_18_digit_ids_are_unchanged(parts: tuple[str, date, int]) -> None:
    id18 = make_id_number(*parts)
    assert normalise_id_number(id18) == id18
    assert normalise_id_number(id18.lower()) == id18


@settings(max_examples=150, deadline=None)
@given(resident_ids(last_year=1999))
def test_property_15_digit_form_normalises_back(parts: tuple[str, date, int]) -> None:
    id15 = make_id_number_15(*parts)
    assert len(id15) == 15
    assert normalise_id_number(id15) == make_id_number(*parts)


@settings(max_examples=200, deadline=None)
@given(resident_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_property_any_single_substitution_is_detected(parts: tuple[str, date, int], pos: int,
                                                      new: str) -> None:
    # MOD 11-2: every weight is non-zero mod 11 and a digit change d is in 1..9, so w*d != 0 mod 11:
    # a single substitution always changes the checksum; hence "invalid", never "another valid ID".
    id18 = make_id_number(*parts)
    if pos < 17 and new == "X":
        new = "0"
    if new == id18[pos]:
        new = str((int(new) + 1) % 10) if new != "X" else "0"
    mutated = id18[:pos] + new + id18[pos + 1:]
    assert mutated != id18
    with pytest.raises(Invalid):
        normalise_id_number(mutated)


# -- phones ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [
    "13812345678", "+8613812345678", "+86 138 1234 5678", "0086 13812345678", "008613812345678",
    "8613812345678", "138-1234-5678", "(138) 1234-5678", " 138 1234 5678 ",
])
def test_phone_normalised(raw: str) -> None:
    assert normalise_phone(raw) == "13812345678"


@pytest.mark.parametrize("raw", [
    "12345", "010-12345678", "021 6543 2100", "0755-86013388", "12812345678", "1381234567",
    "138123456789", "86138123456", "+1 415 555 0100", "", "abcdefghijk",
])
def test_phone_rejected(raw: str) -> None:
    with pytest.raises(Invalid, match="mobile"):
        normalise_phone(raw)


# -- field rules through convert() ----------------------------------------------------------------
def test_email_rule() -> None:
    f = PARTY.field("email")
    assert convert(f, " zhang.wei@example.com.cn ", None, AS_OF) == "zhang.wei@example.com.cn"
    for bad in ["zhang.example.com", "zhang@example", "zhang wei@example.com", "@example.com"]:
        with pytest.raises(Invalid, match="email"):
            convert(f, bad, None, AS_OF)


def test_json_rule_object_vs_array() -> None:
    f = TOUCHPOINT.field("properties")
    assert json.loads(convert(f, '{"页面": "首页", "n": 1}', None, AS_OF)) == {"页面": "首页", "n": 1}
    assert json.loads(convert(f, {"a": [1, 2]}, None, AS_OF)) == {"a": [1, 2]}  # native from JSON lines
    with pytest.raises(Invalid, match="JSON object"):
        convert(f, "[1, 2]", None, AS_OF)
    with pytest.raises(Invalid, match="JSON object"):
        convert(f, [1, 2], None, AS_OF)
    with pytest.raises(Invalid, match="not valid JSON"):
        convert(f, "{'a': 1}", None, AS_OF)


def test_past_date_rule() -> None:
    f = PARTY.field("birth_date")
    assert convert(f, "2024-06-30", None, AS_OF) == AS_OF
    assert convert(f, "1900-01-01", None, AS_OF) == date(1900, 1, 1)
    with pytest.raises(Invalid, match="future"):
        convert(f, "2024-07-01", None, AS_OF)
    with pytest.raises(Invalid, match="before 1900"):
        convert(f, "1899-12-31", None, AS_OF)
    created = PARTY.field("created_at")  # datetime field with the same rule
    assert convert(created, "2024-06-30T23:59:59", None, AS_OF) == datetime(2024, 6, 30, 23, 59, 59)
    with pytest.raises(Invalid, match="future"):
        convert(created, "2024-07-01T00:00:00", None, AS_OF)


def test_non_negative_rule() -> None:
    f = PARTY.field("annual_income")
    assert convert(f, "0", None, AS_OF) == 0.0
    assert convert(f, "¥120,000", None, AS_OF) == 120000.0
    with pytest.raises(Invalid, match="negative"):
        convert(f, "-0.01", None, AS_OF)


def test_enum_rule_without_value_map() -> None:
    f = PARTY.field("gender")
    assert convert(f, "M", None, AS_OF) == "M"
    with pytest.raises(Invalid, match="not one of"):
        convert(f, "男", None, AS_OF)


def test_enum_with_and_without_mapping_value_map() -> None:
    rows = [party_record(gender="男"), party_record(gender="F"), party_record(gender="X")]
    with_map = validate_chunk(make_chunk(rows), make_extract_mapping(), source="s", file_id="f", as_of=AS_OF)
    assert with_map.rows.column("gender").to_pylist() == ["M", "F"]
    assert [(p.row_number, p.field) for p in with_map.problems] == [(4, "gender")]
    no_map = validate_chunk(make_chunk(rows), make_extract_mapping(values={}), source="s", file_id="f", as_of=AS_OF)
    assert no_map.rows.column("gender").to_pylist() == ["F"]
    assert [(p.row_number, p.field) for p in no_map.problems] == [(2, "gender"), (4, "gender")]


@pytest.mark.parametrize("blank", ["", "  ", "\t", None, float("nan"), pd.NaT])
def test_required_blank_rejected_optional_blank_is_none(blank: object) -> None:
    with pytest.raises(Invalid, match="required"):
        convert(PARTY.field("record_id"), blank, None, AS_OF)
    with pytest.raises(Invalid, match="required"):
        convert(CONSENT.field("granted"), blank, None, AS_OF)
    for name in ("city", "birth_date", "annual_income", "id_number", "phone", "created_at"):
        assert convert(PARTY.field(name), blank, None, AS_OF) is None


def test_to_text_whole_floats_and_strip() -> None:
    assert to_text(13800138000.0) == "13800138000"
    assert to_text(13800138000) == "13800138000"
    assert to_text(" a ") == "a"
    assert to_text(1.5) == "1.5"


# -- validate_chunk -------------------------------------------------------------------------------
def run(rows: list[dict[str, object]], *, mapping: ExtractMapping | None = None,
        row_numbers: list[int] | None = None, broken: list[tuple[int, str, str]] | None = None) -> Validated:
    chunk = make_chunk(rows, row_numbers, broken or [])
    return validate_chunk(chunk, mapping or make_extract_mapping(), source="agent_crm", file_id="file-1",
                          as_of=AS_OF)


def test_valid_rows_are_typed_with_lineage() -> None:
    rows = [
        party_record(),
        party_record(record_id="C002", name="李娜", gender="女", phone="+86 139-0000-0000",
                     id_number="110105491231002", annual_income="88,000.5"),
    ]
    result = run(rows, row_numbers=[2, 7])
    assert result.problems == [] and result.rejected_rows == 0
    t = result.rows
    assert t.schema == arrow_schema(PARTY)
    assert t.num_rows == 2
    got = t.to_pylist()
    assert got[0]["record_id"] == "C001" and got[0]["channel"] == "agent" and got[0]["gender"] == "M"
    assert got[0]["birth_date"] == date(1949, 12, 31)
    assert got[1]["id_number"] == "11010519491231002X"  # 15 → 18
    assert got[1]["phone"] == "13900000000"
    assert got[1]["annual_income"] == 88000.5
    assert got[0]["email"] is None and got[0]["created_at"] is None  # unmapped optional fields
    assert [r["_source"] for r in got] == ["agent_crm"] * 2
    assert [r["_file_id"] for r in got] == ["file-1"] * 2
    assert [r["_row_number"] for r in got] == [2, 7]


def test_constants_fill_every_row() -> None:
    rows = [party_record(record_id=f"C{i}") for i in range(3)]
    result = run(rows, mapping=make_extract_mapping(constants={"channel": "bancassurance", "city": "北京"}))
    assert result.rows.column("channel").to_pylist() == ["bancassurance"] * 3
    assert result.rows.column("city").to_pylist() == ["北京"] * 3


def test_invalid_constant_is_a_problem_on_every_row() -> None:
    result = run([party_record(), party_record()], mapping=make_extract_mapping(constants={"channel": "tv"}))
    assert result.rejected_rows == 2
    assert {p.field for p in result.problems} == {"channel"}


def test_row_with_two_bad_fields_counts_once() -> None:
    rows = [party_record(), party_record(record_id="C002", phone="12345", annual_income="abc"), party_record()]
    result = run(rows)
    assert result.rejected_rows == 1
    assert result.rows.num_rows == 2
    assert result.rows.column("_row_number").to_pylist() == [2, 4]
    assert sorted((p.row_number, p.field) for p in result.problems) == [(3, "annual_income"), (3, "phone")]


def test_sensitive_values_are_masked_in_problems() -> None:
    good_id = make_id_number("110105", date(1980, 5, 17), 123)
    bad_id = good_id[:17] + ("1" if good_id[17] == "0" else "0")
    rows = [party_record(name="欧阳娜娜", id_number=bad_id, phone="1381234567", annual_income="-987654")]
    result = run(rows)
    by_field = {p.field: p for p in result.problems}
    assert set(by_field) == {"id_number", "phone", "annual_income"}
    for clear, p in [(bad_id, by_field["id_number"]), ("1381234567", by_field["phone"]),
                     ("987654", by_field["annual_income"])]:
        assert clear not in p.value
        assert "*" in p.value
    assert by_field["id_number"].value == bad_id[:3] + "*" * 11 + bad_id[-4:]
    assert by_field["phone"].value == "138***4567"
    for p in result.problems:
        assert "欧阳娜娜" not in p.value
    assert _display(PARTY, "name", "x", "欧阳娜娜") == ("x", "欧***")
    assert _display(PARTY, "record_id", "x", "C001") == ("x", "C001")  # not sensitive: shown as is


def test_problem_raw_holds_the_whole_record() -> None:
    record = party_record(record_id="C009", phone="12345", annual_income="")
    (p,) = run([record], row_numbers=[11]).problems
    assert p.row_number == 11 and p.field == "phone"
    raw = json.loads(p.raw)
    assert raw == {**record, PARTY_COLUMNS["annual_income"]: None}


def test_cross_check_birth_date_vs_id_number() -> None:
    id18 = make_id_number("310101", date(1985, 3, 7), 456)
    rows = [
        party_record(record_id="ok18", id_number=id18, birth_date="1985-03-07"),
        party_record(record_id="bad18", id_number=id18, birth_date="1985-03-08"),
        party_record(record_id="ok15", id_number=make_id_number_15("310101", date(1985, 3, 7), 456),
                     birth_date="1985-03-07"),
        party_record(record_id="bad15", id_number=make_id_number_15("310101", date(1985, 3, 7), 456),
                     birth_date="1958-03-07"),
        party_record(record_id="no_birth", id_number=id18, birth_date=""),
    ]
    result = run(rows)
    assert result.rows.column("record_id").to_pylist() == ["ok18", "ok15", "no_birth"]
    assert result.rows.column("id_number").to_pylist() == [id18] * 3
    assert [(p.row_number, p.field) for p in result.problems] == [(3, "id_number"), (5, "id_number")]
    assert "1985-03-07" in result.problems[0].reason and "1985-03-08" in result.problems[0].reason
    assert all(id18 not in p.value for p in result.problems)


def test_broken_rows_become_record_problems() -> None:
    chunk_rows = [party_record()]
    result = run(chunk_rows, row_numbers=[2], broken=[(3, "expected 7 columns, found 2", "C002,张三")])
    assert result.rows.num_rows == 1
    assert result.rejected_rows == 1
    (p,) = result.problems
    assert (p.row_number, p.field, p.reason, p.value) == (3, "_record", "expected 7 columns, found 2", "")
    assert json.loads(p.raw) == {"_text": "C002,张三"}


def test_chunk_with_only_broken_rows() -> None:
    chunk = make_chunk([], row_numbers=[], broken=[(1, "invalid JSON", "{"), (2, "not an object", "[]")])
    result = validate_chunk(chunk, make_extract_mapping(), source="s", file_id="f", as_of=AS_OF)
    assert result.rows.num_rows == 0 and result.rows.schema == arrow_schema(PARTY)
    assert result.rejected_rows == 2 and [p.field for p in result.problems] == ["_record", "_record"]


def test_date_formats_from_mapping() -> None:
    mapping = make_extract_mapping(date_formats={"birth_date": "%Y%m%d"})
    result = run([party_record(birth_date="19491231"), party_record(birth_date="1949-12-31")], mapping=mapping)
    assert result.rows.column("birth_date").to_pylist() == [date(1949, 12, 31)]
    assert [p.field for p in result.problems] == ["birth_date"]
    assert "%Y%m%d" in result.problems[0].reason


def test_check_columns() -> None:
    mapping = make_extract_mapping()
    all_cols = list(PARTY_COLUMNS.values())
    assert check_columns(all_cols, mapping, "c.csv") == []
    assert check_columns([c for c in all_cols if c != "手机"], mapping, "c.csv") == ["手机"]
    with pytest.raises(MappingError, match="客户编号"):
        check_columns([c for c in all_cols if c != "客户编号"], mapping, "c.csv")


def test_passport_numbers_are_accepted_when_id_type_is_passport() -> None:
    mapping = make_extract_mapping(columns={**PARTY_COLUMNS, "id_type": "证件类型"})
    record = {**party_record(id_number="E12345678"), "证件类型": "passport"}
    assert run([record], mapping=mapping).rejected_rows == 0
    resident = {**party_record(id_number="E12345678"), "证件类型": "resident_id"}
    assert run([resident], mapping=mapping).rejected_rows == 1


def test_nan_from_missing_json_keys_is_blank() -> None:
    rows = [party_record(), {k: v for k, v in party_record(record_id="C2").items() if k != "手机"}]
    chunk = make_chunk(rows)
    assert math.isnan(chunk.records.iloc[1]["手机"])
    result = validate_chunk(chunk, make_extract_mapping(), source="s", file_id="f", as_of=AS_OF)
    assert result.problems == []
    assert result.rows.column("phone").to_pylist() == ["13800138000", None]


def test_reasons_never_repeat_a_sensitive_value_in_clear() -> None:
    record = party_record(annual_income="98765abc")
    result = run([record])
    [problem] = result.problems
    assert problem.field == "annual_income"
    assert "98765abc" not in problem.reason and "98765abc" not in problem.value
    assert "not a number" in problem.reason
