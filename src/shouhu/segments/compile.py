"""Compile a parsed rule into an Ibis boolean expression: pure, no database needed to build it.

Null semantics (docs/segments.md): every comparison, ``in`` and ``contains`` with a null operand
is false, and a bare boolean column that is null counts as false. Each such leaf is wrapped in
``coalesce(…, false)``, so ``and``/``or``/``not`` only ever see true or false: ``not (age > 30)``
includes customers whose age is unknown. Arithmetic runs in double precision (no integer
overflow or integer division) and division by zero gives null, on every engine alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis

from shouhu.errors import InvalidInput
from shouhu.segments.nodes import (
    Arith,
    Bool,
    Column,
    Compare,
    Contains,
    In,
    IsNull,
    Logic,
    Neg,
    Node,
    Not,
    Num,
    Str,
)
from shouhu.segments.rules import Rule, parse_rule, parse_temporal

_PREDICATES = (Compare, In, Contains, IsNull, Not, Logic)


def compile_rule(rule: Rule | str, table: Any) -> Any:
    """An Ibis boolean expression (never null) for ``rule`` over ``table``: use it in ``table.filter``."""
    parsed = rule if isinstance(rule, Rule) else parse_rule(rule)
    missing = sorted(parsed.columns - set(table.columns))
    if missing:
        raise InvalidInput(f"the table has no column(s) {', '.join(missing)} used by the rule {parsed.text!r}",
                           columns=missing)
    return _Compiler(table, parsed).predicate(parsed.node)


class _Compiler:
    def __init__(self, table: Any, rule: Rule) -> None:
        self.t, self.rule = table, rule

    def predicate(self, node: Node) -> Any:
        if isinstance(node, Logic):
            return _balanced([self.predicate(o) for o in node.operands], node.op)
        if isinstance(node, Not):
            return ~self.predicate(node.operand)
        if isinstance(node, IsNull):
            value = self.value(node.operand)
            return value.notnull() if node.negated else value.isnull()
        if isinstance(node, Compare):
            return _false_if_null(self.compare(node))
        if isinstance(node, In):
            values = [v.value for v in node.values]
            operand = self.value(node.operand)
            return _false_if_null(operand.notin(values) if node.negated else operand.isin(values))
        if isinstance(node, Contains):
            hit = self.value(node.operand).contains(ibis.literal(node.value.value, type="string"))
            return _false_if_null(~hit if node.negated else hit)
        if isinstance(node, Bool):
            return ibis.literal(node.value)
        return _false_if_null(self.value(node))  # a bare boolean column

    def compare(self, node: Compare) -> Any:
        left, right = self.operand(node.left, node.right), self.operand(node.right, node.left)
        ops = {"==": left.__eq__, "!=": left.__ne__, "<": left.__lt__, "<=": left.__le__,
               ">": left.__gt__, ">=": left.__ge__}
        return ops[node.op](right)

    def operand(self, node: Node, other: Node) -> Any:
        """A comparison side; quoted text beside a date column becomes a date literal."""
        if isinstance(node, Str) and isinstance(other, Column) and \
                self.rule.field_types[other.name] in ("date", "datetime"):
            when = parse_temporal(node, self.rule.text)
            if self.rule.field_types[other.name] == "datetime" and not isinstance(when, datetime):
                when = datetime(when.year, when.month, when.day)
            return ibis.literal(when)
        return self.value(node)

    def value(self, node: Node) -> Any:
        if isinstance(node, Column):
            return self.t[node.name]
        if isinstance(node, Num):
            return ibis.literal(node.value, type="float64" if isinstance(node.value, float) else "int64")
        if isinstance(node, Str):
            return ibis.literal(node.value, type="string")
        if isinstance(node, Neg):
            return -self.value(node.operand).cast("float64")
        if isinstance(node, Arith):
            left, right = self.value(node.left).cast("float64"), self.value(node.right).cast("float64")
            if node.op == "+":
                return left + right
            if node.op == "-":
                return left - right
            if node.op == "*":
                return left * right
            return left / right.nullif(0.0)
        return self.predicate(node)


def _false_if_null(expr: Any) -> Any:
    return expr.fill_null(False)


def _balanced(items: list[Any], op: str) -> Any:
    """Combine with a balanced tree: a chain of 200 ``or`` stays ~8 levels deep in the SQL."""
    if len(items) == 1:
        return items[0]
    mid = len(items) // 2
    left, right = _balanced(items[:mid], op), _balanced(items[mid:], op)
    return left & right if op == "and" else left | right
