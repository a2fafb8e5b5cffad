"""The rule language: every operator, precedence, nulls, types, and the inputs it must refuse."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouhu.errors import InvalidInput
from shouhu.segments import RuleError, compile_rule, parse_rule
from shouhu.segments.nodes import MAX_DEPTH, Compare, Logic
from shouhu.storage.warehouse import Warehouse
from tests.segments.factory import make_customer_360

ROWS: list[dict[str, Any]] = [
    {"customer_id": "a", "age": 25, "city": "上海市", "children_count": 0, "channels": "agent,bancassurance",
     "has_wearable": True, "annual_income": 100_000.0, "sa_critical_illness": 200_000.0},
    {"customer_id": "b", "age": 35, "city": "北京市", "children_count": 2, "channels": "internet",
     "has_wearable": None, "annual_income": 1_500_000.0, "sa_critical_illness": 5_000_000.0},
    {"customer_id": "c", "age": None, "city": None, "children_count": None, "channels": None,
     "has_wearable": False, "annual_income": None, "sa_critical_illness": None, "last_contact_at": None},
    {"customer_id": "d", "age": 60, "city": "O'Brien \"%_\" 市", "children_count": 1, "channels": "broker",
     "has_wearable": False, "annual_income": 0.0, "sa_critical_illness": 0.0},
]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path: Path = tmp_path_factory.mktemp("rules") / "w.duckdb"
    with Warehouse(f"duckdb:///{path}") as wh:
        wh.write_table("customer_360", make_customer_360(ROWS))
        yield wh.table("customer_360")


def ids(table: Any, rule: str) -> list[str]:
    return sorted(table.filter(compile_rule(rule, table)).customer_id.to_pyarrow().to_pylist())


@pytest.mark.parametrize(("rule", "expected"), [
    ("age == 25", "a"), ("age != 25", "bd"), ("age < 35", "a"), ("age <= 35", "ab"), ("age > 35", "d"),
    ("age >= 35", "bd"), ("age >= 30 and age < 40", "b"), ("age < 30 or age > 50", "ad"),
    ('city == "上海市"', "a"), ('city != "上海市"', "bd"), ('city in ("上海市", "北京市")', "ab"),
    ('city not in ("上海市")', "bd"), ("age in (25, 60)", "ad"), ("age not in (25,)", "bd"),
    ('channels contains "bancassurance"', "a"), ('channels not contains "agent"', "bd"),
    ('city contains "%_"', "d"), ("city contains \"O'Brien\"", "d"), ('city == "O\'Brien \\"%_\\" 市"', "d"),
    ("has_wearable", "a"), ("not has_wearable", "bcd"), ("has_wearable == false", "cd"), ("has_wearable == true", "a"),
    ("age is null", "c"), ("age is not null", "abd"), ("not age > 30", "ac"),
    ("sa_critical_illness < annual_income * 3", "a"), ("annual_income + 1 > 100_000", "ab"),
    ("annual_income - 100000 == 0", "a"), ("annual_income / 2 >= 750000", "b"), ("-age < -50", "d"),
    ("annual_income >= 100万", "b"), ("annual_income >= 1.5e6", "b"), ("annual_income / children_count > 0", "b"),
    ("annual_income / children_count is null", "ac"), ("age * 2 == 50", "a"), ("(age + 5) * 2 == 60", "a"),
    ("age + 5 * 2 == 35", "a"), ("10 - age - 5 == -20", "a"), ("age / 5 / 7 == 1", "b"),
    ('last_contact_at >= "2026-10-01"', "abd"), ('last_contact_at < "2026-10-20 10:00:00"', "abd"),
    ('next_premium_due == "2027-03-01"', "abcd"), ("last_contact_at is null", "c"),
    ("true", "abcd"), ("false", ""), ("AGE > 50 OR age < 30".replace("AGE", "age"), "ad"),
    ("not (age > 30 and age < 40)", "acd"), ("not not has_wearable", "a"),
])
def test_operators(table: Any, rule: str, expected: str) -> None:
    assert "".join(ids(table, rule)) == expected


def test_and_binds_tighter_than_or(table: Any) -> None:
    node = parse_rule("age < 30 or age > 30 and age < 40").node
    assert isinstance(node, Logic) and node.op == "or" and isinstance(node.operands[1], Logic)
    assert ids(table, "age < 30 or age > 30 and age < 40") == ["a", "b"]
    assert ids(table, "(age < 30 or age > 30) and age < 40") == ["a", "b"]
    assert ids(table, "(age < 30 or age > 30) and age > 40") == ["d"]
    assert ids(table, "age > 50 or age < 30 and age > 40") == ["d"]


def test_not_binds_looser_than_comparison_and_tighter_than_and(table: Any) -> None:
    assert ids(table, "not age > 30 and city is not null") == ["a"]
    assert isinstance(parse_rule("age + 1 * 2 > 3").node, Compare)


def test_null_comparisons_are_false_on_both_sides(table: Any) -> None:
    assert "c" not in ids(table, "age > 0") and "c" not in ids(table, "age <= 0")
    assert "c" not in ids(table, "age != 25") and "c" not in ids(table, 'city not in ("x")')
    assert "c" in ids(table, "not age > 0")


def test_chains_of_or_stay_shallow(table: Any) -> None:
    rule = " or ".join(f"age == {n}" for n in range(150))
    assert ids(table, rule) == ["a", "b", "d"]


def test_keywords_case_insensitive_columns_not() -> None:
    parse_rule("age > 1 AND NOT has_wearable OR city IS NULL")
    with pytest.raises(RuleError, match="unknown column 'AGE'"):
        parse_rule("AGE > 1")


@pytest.mark.parametrize(("rule", "message"), [
    ('city > "a"', "does not apply to text"), ("city == 3", "cannot compare text with a number"),
    ('age == "30"', "cannot compare a number with text"), ('age + "x" > 1', "works on numbers only"),
    ("city + 1 > 2", "works on numbers only"), ("has_wearable > true", "does not apply to true/false"),
    ("age", "not a condition"), ("city", "not a condition"), ("age > 1 and 3", "not a condition"),
    ('age in ("a", "b")', "list holds text"), ("city in (1)", "list holds a number"),
    ("channels contains 3", "quoted text"), ("age contains \"1\"", "text columns only"),
    ('last_contact_at > "yesterday"', "not an ISO date"), ("last_contact_at > 3", "a date compares"),
    ("has_wearable in (1)", "numbers or text"), ("-city > 1", "needs a number"), ("3 is null", "not a literal"),
    ("agee > 3", "did you mean age"), ("年龄 > 30", "did you mean age"),
])
def test_type_and_name_errors(rule: str, message: str) -> None:
    with pytest.raises(RuleError, match=message) as info:
        parse_rule(rule)
    assert isinstance(info.value, InvalidInput) and 0 <= info.value.position <= len(rule)


def test_unknown_column_lists_valid_ones_and_points_at_it() -> None:
    with pytest.raises(RuleError) as info:
        parse_rule("age > 3 and incomee > 5")
    assert info.value.position == 12 and "annual_income" in info.value.message
    assert "(at column 13)" in info.value.message and info.value.message.endswith("\n  " + " " * 12 + "^")


UNSAFE = [
    "__import__('os').system('x')", "().__class__", "open('x')", "age.real", "[1][0]", "lambda: 1",
    "age if 1 else 2", "age > 1; import os", "eval('1')", "exec('x')", "age.__class__", "{'a': 1}",
    "age > 1 if True else False", "[x for x in age]", "f'{age}'", "age @ age", "age ** 2 > 1", "`ls`",
    "age > 1 && age < 2", "age = 3", "age <> 3", "!has_wearable", "~has_wearable", "age > 1 | age < 2",
    "print(1)", "globals()", "age > (1", "age > 1)", "()", "", "   ", "'x' 'y'", "age in age",
    "age > '1", "age > 1.2.3", "age > 12abc", "age > 1e999", "age > 10000000000000000",
    'city == "' + "x" * 201 + '"', "(" * (MAX_DEPTH + 1) + "age > 1" + ")" * (MAX_DEPTH + 1),
    "not " * (MAX_DEPTH + 1) + "has_wearable", "-" * (MAX_DEPTH + 1) + "age > 1", "age > 1 or " * 300 + "true",
    "_secret > 1", "city == '\\x41'", "age is 3", "null", "age == null", "age between 1 and 3",
    "age in ()", "1 < age < 3", "age not > 3",
]


_AUDITED: list[str] = []
_WATCHING = False
_FORBIDDEN_EVENTS = ("exec", "compile", "open", "import", "os.system", "subprocess.Popen", "os.exec")


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _WATCHING and event.startswith(_FORBIDDEN_EVENTS):
        _AUDITED.append(event)


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one only records while _WATCHING


@pytest.mark.parametrize("rule", UNSAFE)
def test_unsafe_or_malformed_rules_are_refused(rule: str) -> None:
    global _WATCHING
    _AUDITED.clear()
    _WATCHING = True
    try:
        parse_rule(rule)
    except InvalidInput:
        refused = True
    else:
        refused = False
    finally:
        _WATCHING = False
    assert refused, f"accepted {rule!r}"
    assert _AUDITED == [], f"parsing {rule!r} executed code or touched files: {_AUDITED}"


def test_rule_must_be_text() -> None:
    with pytest.raises(InvalidInput):
        parse_rule(123)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("agecity_0123456789 ()<>=!+-*/.,'\"andortisnulx年龄万\\[]:;")),
               max_size=60))
def test_any_text_parses_or_fails_with_rule_error(text: str) -> None:
    try:
        parse_rule(text)
    except RuleError as e:
        assert 0 <= e.position <= len(text)


def test_compile_refuses_a_table_without_the_column(table: Any) -> None:
    with pytest.raises(InvalidInput, match="no column"):
        compile_rule("age > 1", table.select("customer_id"))


def test_rule_reports_columns_and_sensitive_ones() -> None:
    rule = parse_rule("annual_income > 1 and age > 3")
    assert rule.columns == {"annual_income", "age"} and rule.sensitive_columns == {"annual_income"}
