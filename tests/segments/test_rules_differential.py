"""Differential test: random well-formed rules count the same in the engine as in a plain-Python
evaluation of the documented semantics (null comparisons are false, x / 0 is null)."""

from __future__ import annotations

import operator
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shouhu.segments import compile_rule, parse_rule
from shouhu.storage.warehouse import Warehouse
from tests.segments.factory import make_customer_360

INT_COLS = ("age", "children_count", "max_days_overdue")
FLOAT_COLS = ("annual_income", "on_time_ratio", "avg_daily_steps_30d")


def _rows() -> list[dict[str, Any]]:
    rng = random.Random(20261124)

    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.2 else value

    return [{"age": maybe(rng.randint(0, 9)), "children_count": maybe(rng.randint(0, 3)),
             "max_days_overdue": maybe(rng.randint(-2, 5)), "annual_income": maybe(rng.randint(0, 8) / 2),
             "on_time_ratio": maybe(rng.choice([0.0, 0.25, 0.5, 1.0])),
             "avg_daily_steps_30d": maybe(float(rng.randint(-3, 3))), "has_wearable": maybe(rng.random() < 0.5)}
            for _ in range(60)]


ROWS = _rows()


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with Warehouse(f"duckdb:///{tmp_path_factory.mktemp('diff') / 'w.duckdb'}") as wh:
        wh.write_table("customer_360", make_customer_360(ROWS))
        yield wh.table("customer_360")


# A generated rule is (text, python evaluator over one row).
Expr = tuple[str, Callable[[dict[str, Any]], Any]]

numbers = st.one_of(
    st.sampled_from(INT_COLS + FLOAT_COLS).map(lambda c: (c, lambda r, c=c: r[c])),
    st.integers(-5, 10).map(lambda n: (str(n), lambda r, n=n: n)),
    st.sampled_from([0.5, 1.5, 2.25]).map(lambda x: (repr(x), lambda r, x=x: x)),
)
_ARITH: dict[str, Callable[[float, float], float | None]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": lambda a, b: None if b == 0 else a / b}
_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _arith(op: str, a: Expr, b: Expr) -> Expr:
    def run(r: dict[str, Any]) -> float | None:
        x, y = a[1](r), b[1](r)
        return None if x is None or y is None else _ARITH[op](float(x), float(y))

    return f"({a[0]} {op} {b[0]})", run


arith = st.recursive(numbers, lambda inner: st.builds(_arith, st.sampled_from(list(_ARITH)), inner, inner),
                     max_leaves=4)


def _compare(op: str, a: Expr, b: Expr) -> Expr:
    def run(r: dict[str, Any]) -> bool:
        x, y = a[1](r), b[1](r)
        return x is not None and y is not None and _CMP[op](x, y)

    return f"{a[0]} {op} {b[0]}", run


def _in(col: str, values: list[int], negated: bool) -> Expr:
    listed = ", ".join(map(str, values))
    return (f"{col} {'not in' if negated else 'in'} ({listed})",
            lambda r: r[col] is not None and ((r[col] in values) != negated))


def _is_null(a: Expr, negated: bool) -> Expr:
    return f"{a[0]} is {'not ' if negated else ''}null", lambda r: (a[1](r) is None) != negated


leaves = st.one_of(
    st.builds(_compare, st.sampled_from(list(_CMP)), arith, arith),
    st.builds(_in, st.sampled_from(INT_COLS), st.lists(st.integers(-2, 9), min_size=1, max_size=4), st.booleans()),
    st.builds(_is_null, arith.filter(lambda e: not e[0].lstrip("-")[0].isdigit()), st.booleans()),
    st.just(("has_wearable", lambda r: r["has_wearable"] is True)),
)


def _logic(word: str, a: Expr, b: Expr) -> Expr:
    if word == "and":
        return f"({a[0]} and {b[0]})", lambda r: a[1](r) and b[1](r)
    return f"({a[0]} or {b[0]})", lambda r: a[1](r) or b[1](r)


def _not(a: Expr) -> Expr:
    return f"not ({a[0]})", lambda r: not a[1](r)


conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(st.builds(_logic, st.sampled_from(["and", "or"]), inner, inner), st.builds(_not, inner)),
    max_leaves=5,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conditions)
def test_engine_count_equals_python_evaluation(table: Any, rule: Expr) -> None:
    text, evaluate = rule
    expected = sum(1 for r in ROWS if evaluate(r))
    got = table.filter(compile_rule(parse_rule(text), table)).count().execute()
    assert got == expected, text


@given(conditions)
@settings(max_examples=200, deadline=None)
def test_generated_rules_parse_without_a_database(rule: Expr) -> None:
    assert parse_rule(rule[0]).text == rule[0]
