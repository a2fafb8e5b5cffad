"""The rule language's syntax tree and its error (see :mod:`shouhu.segments.rules` for the grammar)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, TypeAlias

from shouhu.errors import InvalidInput

MAX_RULE_CHARS = 2000
MAX_STRING_CHARS = 200
MAX_DEPTH = 30
MAX_NODES = 1000
MAX_IN_VALUES = 500
MAX_NUMBER = 10**15  # exact in a double and in every engine's BIGINT


class RuleError(InvalidInput):
    """A rule that does not parse or type-check. ``position`` is the 0-based offset in the rule."""

    code = "invalid_rule"

    def __init__(self, message: str, rule: str, position: int) -> None:
        where = f"{message} (at column {position + 1})"
        super().__init__(f"{where}\n  {rule}\n  {' ' * _display_width(rule[:position])}^",
                         rule=rule, position=position)
        self.reason = message
        self.position = position


def _display_width(text: str) -> int:
    """Terminal columns: CJK characters take two, so the caret lines up under Chinese text."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# -- AST ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str
    pos: int


@dataclass(frozen=True)
class Num:
    value: int | float
    pos: int


@dataclass(frozen=True)
class Str:
    value: str
    pos: int


@dataclass(frozen=True)
class Bool:
    value: bool
    pos: int


@dataclass(frozen=True)
class Neg:
    operand: Node
    pos: int


@dataclass(frozen=True)
class Arith:
    op: Literal["+", "-", "*", "/"]
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Compare:
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class In:
    operand: Node
    values: tuple[Num | Str, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class Contains:
    operand: Node
    value: Str
    negated: bool
    pos: int


@dataclass(frozen=True)
class IsNull:
    operand: Node
    negated: bool
    pos: int


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int


@dataclass(frozen=True)
class Logic:
    """``and`` / ``or`` over two or more operands (flat, so long chains stay shallow)."""

    op: Literal["and", "or"]
    operands: tuple[Node, ...]
    pos: int


Node: TypeAlias = Column | Num | Str | Bool | Neg | Arith | Compare | In | Contains | IsNull | Not | Logic


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Neg | Not):
        return (node.operand,)
    if isinstance(node, Arith | Compare):
        return (node.left, node.right)
    if isinstance(node, In):
        return (node.operand, *node.values)
    if isinstance(node, Contains):
        return (node.operand, node.value)
    if isinstance(node, IsNull):
        return (node.operand,)
    if isinstance(node, Logic):
        return node.operands
    return ()


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in children(node):
        yield from walk(child)


def depth(node: Node) -> int:
    return 1 + max((depth(c) for c in children(node)), default=0)
