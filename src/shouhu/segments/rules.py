"""The rule language for tags and segments: tokenizer, recursive-descent parser, AST and type check.

A rule is text such as ``age >= 30 and children_count > 0`` over the columns of
``customer_360``. It is parsed into the small AST below and type-checked against the column
types; :mod:`shouhu.segments.compile` turns the AST into an Ibis boolean expression. Nothing is
ever ``eval``-ed: the only things a rule can name are columns, literals and the operators of
the grammar (docs/segments.md has the reference).

Grammar (keywords are case-insensitive, column names are not)::

    rule      := or_expr
    or_expr   := and_expr ("or" and_expr)*
    and_expr  := not_expr ("and" not_expr)*
    not_expr  := "not" not_expr | predicate
    predicate := sum [ cmp_op sum
                     | ["not"] "in" "(" literal ("," literal)* [","] ")"
                     | ["not"] "contains" STRING
                     | "is" ["not"] "null" ]
    cmp_op    := "==" | "!=" | "<" | "<=" | ">" | ">="
    sum       := term (("+" | "-") term)*
    term      := unary (("*" | "/") unary)*
    unary     := "-" unary | atom
    atom      := NUMBER | STRING | "true" | "false" | COLUMN | "(" or_expr ")"
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from shouhu.errors import InvalidInput
from shouhu.model.marts import CUSTOMER_360, CUSTOMER_GAP
from shouhu.model.schema import Entity, FieldType
from shouhu.segments.nodes import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_RULE_CHARS,
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
    RuleError,
    Str,
    depth,
    walk,
)
from shouhu.segments.parser import Parser, tokenize

Kind = Literal["number", "string", "bool", "date"]
_KIND: dict[FieldType, Kind] = {"int": "number", "float": "number", "string": "string", "bool": "bool",
                                "date": "date", "datetime": "date"}


# -- type check -----------------------------------------------------------------------------------
class _Checker:
    def __init__(self, rule: str, columns: Mapping[str, FieldType]) -> None:
        self.rule, self.columns = rule, columns

    def error(self, message: str, node: Node) -> RuleError:
        return RuleError(message, self.rule, node.pos)

    def kind(self, node: Node) -> Kind:
        if isinstance(node, Column):
            if node.name not in self.columns:
                close = difflib.get_close_matches(node.name, list(self.columns), n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                raise self.error(f"unknown column {node.name!r}; {hint}valid columns: "
                                 f"{', '.join(sorted(self.columns))}", node)
            return _KIND[self.columns[node.name]]
        if isinstance(node, Num):
            return "number"
        if isinstance(node, Str):
            return "string"
        if isinstance(node, Bool):
            return "bool"
        if isinstance(node, Neg):
            self.expect(node.operand, "number", "'-' needs a number")
            return "number"
        if isinstance(node, Arith):
            for side in (node.left, node.right):
                self.expect(side, "number", f"{node.op!r} works on numbers only")
            return "number"
        if isinstance(node, Compare):
            self.compare(node)
        elif isinstance(node, In):
            self.in_list(node)
        elif isinstance(node, Contains):
            self.expect(node.operand, "string", "contains works on text columns only")
        elif isinstance(node, IsNull):
            if isinstance(node.operand, Num | Str | Bool):
                raise self.error("is null applies to a column or an expression, not a literal", node)
            self.kind(node.operand)
        elif isinstance(node, Not):
            self.condition(node.operand)
        elif isinstance(node, Logic):
            for operand in node.operands:
                self.condition(operand)
        return "bool"

    def expect(self, node: Node, kind: Kind, message: str) -> None:
        got = self.kind(node)
        if got != kind:
            raise self.error(f"{message}; {_describe(node)} is {_article(got)}", node)

    def condition(self, node: Node) -> None:
        got = self.kind(node)
        if got != "bool":
            raise self.error(f"{_describe(node)} is {_article(got)}, not a condition; compare it, e.g. "
                             f"{_example(node, got)}", node)

    def compare(self, node: Compare) -> None:
        left, right = self.kind(node.left), self.kind(node.right)
        if left == "date" or right == "date":
            self.temporal(node, left, right)
            return
        if left != right:
            raise self.error(f"cannot compare {_article(left)} with {_article(right)} "
                             f"({_describe(node.left)} {node.op} {_describe(node.right)})", node)
        if left == "bool" and node.op not in ("==", "!="):
            raise self.error(f"{node.op} does not apply to true/false; use == or !=", node)
        if left == "string" and node.op not in ("==", "!="):
            raise self.error(f"{node.op} does not apply to text (sort orders differ between databases); "
                             "use ==, != or in (…)", node)

    def temporal(self, node: Compare, left: Kind, right: Kind) -> None:
        for side, kind in ((node.left, left), (node.right, right)):
            if kind == "date":
                continue
            if not isinstance(side, Str):
                raise self.error(f"a date compares with a date or with quoted ISO text such as "
                                 f"\"2026-01-31\", not with {_article(kind)}", side)
            parse_temporal(side, self.rule)

    def in_list(self, node: In) -> None:
        kind = self.kind(node.operand)
        if kind not in ("number", "string"):
            raise self.error(f"in (…) works on numbers or text; {_describe(node.operand)} is "
                             f"{_article(kind)}", node)
        for value in node.values:
            if self.kind(value) != kind:
                raise self.error(f"{_describe(node.operand)} is {_article(kind)} but the list holds "
                                 f"{_article(self.kind(value))}", value)


def parse_temporal(node: Str, rule: str) -> date | datetime:
    try:
        if len(node.value) == 10:
            return date.fromisoformat(node.value)
        return datetime.fromisoformat(node.value)
    except ValueError:
        raise RuleError(f"{node.value!r} is not an ISO date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)",
                        rule, node.pos) from None


def _describe(node: Node) -> str:
    if isinstance(node, Column):
        return node.name
    if isinstance(node, Str):
        return f'"{node.value}"'
    if isinstance(node, Num | Bool):
        return str(node.value).lower() if isinstance(node, Bool) else str(node.value)
    return "the expression"


def _article(kind: Kind) -> str:
    return {"number": "a number", "string": "text", "bool": "true/false", "date": "a date"}[kind]


def _example(node: Node, kind: Kind) -> str:
    name = _describe(node)
    return {"number": f"{name} > 0", "string": f'{name} == "…"', "date": f'{name} >= "2026-01-01"',
            "bool": name}[kind]


# -- public ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """A parsed, type-checked rule. ``columns`` are the columns it reads."""

    text: str
    node: Node
    columns: frozenset[str]
    field_types: Mapping[str, FieldType]

    @property
    def sensitive_columns(self) -> frozenset[str]:
        """Sensitive columns the rule filters on: selecting on income reveals something about it."""
        return frozenset(c for c in self.columns if c in _SENSITIVE)

    def __str__(self) -> str:
        return self.text


_SENSITIVE = frozenset(f.name for f in CUSTOMER_360.fields if f.sensitive)


def column_types(entity: Entity | None = None) -> dict[str, FieldType]:
    """Columns a rule may use: customer_360's, plus the batch protection gaps (customer_gap)."""
    if entity is not None:
        return {f.name: f.dtype for f in entity.fields}
    return {f.name: f.dtype for f in (*CUSTOMER_360.fields, *CUSTOMER_GAP.fields)}


def parse_rule(text: str, columns: Mapping[str, FieldType] | None = None) -> Rule:
    """Parse and type-check ``text`` over ``columns`` (default: the customer_360 columns).

    Raises :class:`RuleError` (an ``InvalidInput``) with the position of the first problem.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"a rule is text, not {type(text).__name__}")
    cols = dict(columns) if columns is not None else column_types()
    if len(text) > MAX_RULE_CHARS:
        raise RuleError(f"the rule is longer than {MAX_RULE_CHARS} characters", text[:60] + "…", 0)
    if not text.strip():
        raise RuleError("the rule is empty", text, 0)
    node = Parser(text, tokenize(text, cols)).parse()
    nodes = list(walk(node))
    if len(nodes) > MAX_NODES:
        raise RuleError(f"the rule has more than {MAX_NODES} parts; split it into tags", text, 0)
    if depth(node) > MAX_DEPTH:
        raise RuleError(f"the rule nests deeper than {MAX_DEPTH} levels", text, 0)
    checker = _Checker(text, cols)
    checker.condition(node)
    used = frozenset(n.name for n in nodes if isinstance(n, Column))
    return Rule(text, node, used, {c: cols[c] for c in used})

