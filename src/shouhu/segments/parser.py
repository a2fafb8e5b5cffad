"""Tokenizer and recursive-descent parser for the rule language (grammar in :mod:`shouhu.segments.rules`).

Produces the AST of :mod:`shouhu.segments.nodes`; knows nothing of types or databases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from shouhu.model.marts import CUSTOMER_360
from shouhu.model.schema import FieldType
from shouhu.segments.nodes import (
    MAX_DEPTH,
    MAX_IN_VALUES,
    MAX_NUMBER,
    MAX_STRING_CHARS,
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
)

KEYWORDS = frozenset({"and", "or", "not", "in", "contains", "is", "null", "true", "false"})
# Python words a user may try; naming them gets a clear "not part of the language" message.
_PYTHON_WORDS = frozenset({"lambda", "if", "else", "elif", "for", "while", "import", "from", "def", "class",
                           "return", "yield", "await", "async", "with", "as", "del", "global", "exec",
                           "eval", "none", "pass", "raise", "try", "except", "assert", "print"})
_HINTS = {"=": "use == to compare", "<>": "use != for 'not equal'", "&&": "use and", "||": "use or",
          "&": "use and", "|": "use or", "!": "use not", "~": "use not", "[": "lists are written in (…)",
          "]": "lists are written in (…)", "{": "braces are not part of the rule language",
          "}": "braces are not part of the rule language", ".": "attribute access is not allowed",
          "**": "powers are not supported", "%": "remainders are not supported",
          "//": "integer division is not supported", ":": "':' is not part of the rule language",
          ";": "a rule is one expression", "`": "quote text with \" or '", "$": "no variables here",
          "@": "'@' is not part of the rule language"}


# -- tokenizer ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: Literal["num", "str", "name", "op", "eof"]
    text: str
    pos: int
    value: int | float | str | None = None


_NUMBER = re.compile(r"[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", ",")
_BAD_OPS = ("**", "//", "&&", "||", "<>", *_HINTS)
_UNITS = {"万": 10_000, "亿": 100_000_000}  # 100万 = 1,000,000: how amounts are said in Chinese
_ESCAPES = {"\\": "\\", '"': '"', "'": "'"}


def tokenize(rule: str, columns: Mapping[str, FieldType] | None = None) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(rule):
        c = rule[i]
        if c.isspace():
            i += 1
        elif c in "0123456789":
            token, i = _number(rule, i)
            tokens.append(token)
        elif c in "\"'":
            token, i = _string(rule, i)
            tokens.append(token)
        elif m := _NAME.match(rule, i):
            if m.group().startswith("_"):
                raise RuleError("names starting with '_' are not allowed", rule, i)
            tokens.append(Token("name", m.group(), i))
            i = m.end()
        elif op := next((o for o in _OPS if rule.startswith(o, i) and not _bad_op_at(rule, i)), None):
            tokens.append(Token("op", op, i))
            i += len(op)
        else:
            raise RuleError(_unexpected_char(rule, i, columns), rule, i)
    tokens.append(Token("eof", "", len(rule)))
    return tokens


def _bad_op_at(rule: str, i: int) -> bool:
    return any(rule.startswith(b, i) for b in ("**", "//", "<>"))


def _unexpected_char(rule: str, i: int, columns: Mapping[str, FieldType] | None) -> str:
    bad = next((b for b in sorted(_BAD_OPS, key=len, reverse=True) if rule.startswith(b, i)), None)
    if bad:
        return f"{_HINTS.get(bad) or _HINTS.get(bad[0]) or 'not part of the rule language'} ({bad!r})"
    if rule[i].isalpha():  # a Chinese word: point at the column whose label it is
        word = re.match(r"[^\W\d_]+", rule[i:])
        text = word.group() if word else rule[i]
        found = [f.name for f in CUSTOMER_360.fields
                 if (columns is None or f.name in columns) and f.zh.startswith(text)]
        hint = f"; did you mean {found[0]} ({text})?" if found else "; column names are English codes, e.g. age"
        return f"unexpected {text!r}{hint}"
    return f"unexpected character {rule[i]!r}"


def _number(rule: str, i: int) -> tuple[Token, int]:
    m = _NUMBER.match(rule, i)
    assert m is not None  # called on a digit
    end = m.end()
    text = m.group().replace("_", "")
    value: int | float = float(text) if ("." in text or "e" in text.lower()) else int(text)
    if end < len(rule) and rule[end] in _UNITS:
        value *= _UNITS[rule[end]]
        end += 1
    if end < len(rule) and (rule[end].isalnum() or rule[end] in "_."):
        raise RuleError(f"invalid number {rule[i:end + 1]!r}", rule, i)
    if abs(value) >= MAX_NUMBER:
        raise RuleError(f"number {rule[i:end]} is too large (limit {MAX_NUMBER:.0e})", rule, i)
    return Token("num", rule[i:end], i, value), end


def _string(rule: str, i: int) -> tuple[Token, int]:
    quote, j, out = rule[i], i + 1, []
    while j < len(rule) and rule[j] != quote:
        if rule[j] == "\\":
            if j + 1 >= len(rule) or rule[j + 1] not in _ESCAPES:
                raise RuleError("only \\\\, \\\" and \\' escapes are allowed in text", rule, j)
            j += 1
        out.append(rule[j])
        j += 1
        if len(out) > MAX_STRING_CHARS:
            raise RuleError(f"text longer than {MAX_STRING_CHARS} characters", rule, i)
    if j >= len(rule):
        raise RuleError("unterminated text: add the closing quote", rule, i)
    return Token("str", rule[i:j + 1], i, "".join(out)), j + 1


# -- parser ---------------------------------------------------------------------------------------
_CMP = ("==", "!=", "<", "<=", ">", ">=")


class Parser:
    def __init__(self, rule: str, tokens: list[Token]) -> None:
        self.rule, self.tokens, self.i, self.nesting = rule, tokens, 0, 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def kw(self, word: str, offset: int = 0) -> bool:
        tok = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return tok.kind == "name" and tok.text.lower() == word

    def op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def expect_op(self, op: str, what: str) -> Token:
        if not self.op(op):
            raise self.error(f"expected {op!r} {what}")
        return self.advance()

    def error(self, message: str, tok: Token | None = None) -> RuleError:
        return RuleError(message, self.rule, (tok or self.tok).pos)

    def unexpected(self) -> RuleError:
        tok = self.tok
        if tok.kind == "eof":
            return self.error("the rule ends too early")
        if tok.kind == "name" and tok.text.lower() in _PYTHON_WORDS:
            return self.error(f"{tok.text!r} is Python, not part of the rule language")
        if self.op("(") and self.i > 0 and self.tokens[self.i - 1].kind == "name":
            return self.error("function calls are not allowed")
        if tok.kind == "op" and tok.text in _CMP:
            return self.error("chained comparisons are not allowed; join two comparisons with and")
        return self.error(f"unexpected {tok.text!r}")

    def nest(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.error(f"the rule nests deeper than {MAX_DEPTH} levels")

    # grammar ---------------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.or_expr()
        if self.tok.kind != "eof":
            raise self.unexpected()
        return node

    def or_expr(self) -> Node:
        return self.logic("or", self.and_expr)

    def and_expr(self) -> Node:
        return self.logic("and", self.not_expr)

    def logic(self, word: Literal["and", "or"], operand: Callable[[], Node]) -> Node:
        first = operand()
        items = [first]
        while self.kw(word):
            self.advance()
            items.append(operand())
        return first if len(items) == 1 else Logic(word, tuple(items), _pos(first))

    def not_expr(self) -> Node:
        if self.kw("not"):
            tok = self.advance()
            self.nest()
            node = Not(self.not_expr(), tok.pos)
            self.nesting -= 1
            return node
        return self.predicate()

    def predicate(self) -> Node:
        left = self.sum()
        if self.op(*_CMP):
            tok = self.advance()
            right = self.sum()
            if self.op(*_CMP):
                raise self.unexpected()
            return Compare(tok.text, left, right, tok.pos)  # type: ignore[arg-type]
        negated = self.kw("not") and (self.kw("in", 1) or self.kw("contains", 1))
        if negated:
            self.advance()
        if self.kw("in"):
            return self.in_list(left, negated, self.advance())
        if self.kw("contains"):
            tok = self.advance()
            if self.tok.kind != "str":
                raise self.error("contains takes quoted text, e.g. channels contains \"bancassurance\"")
            value = self.advance()
            return Contains(left, Str(str(value.value), value.pos), negated, tok.pos)
        if self.kw("is"):
            tok = self.advance()
            neg = self.kw("not")
            if neg:
                self.advance()
            if not self.kw("null"):
                raise self.error("expected null after is (is null / is not null)")
            self.advance()
            return IsNull(left, neg, tok.pos)
        return left

    def in_list(self, left: Node, negated: bool, tok: Token) -> Node:
        self.expect_op("(", "after in, e.g. city in (\"上海\", \"北京\")")
        values: list[Num | Str] = []
        while not self.op(")"):
            lit = self.unary()
            if isinstance(lit, Neg) and isinstance(lit.operand, Num):
                lit = Num(-lit.operand.value, lit.pos)
            if not isinstance(lit, Num | Str):
                raise RuleError("in (…) takes numbers or quoted text only", self.rule, _pos(lit))
            values.append(lit)
            if len(values) > MAX_IN_VALUES:
                raise RuleError(f"more than {MAX_IN_VALUES} values in (…)", self.rule, _pos(lit))
            if not self.op(")"):
                self.expect_op(",", "or ')' in the list")
        self.advance()
        if not values:
            raise RuleError("in () needs at least one value", self.rule, tok.pos)
        return In(left, tuple(values), negated, tok.pos)

    def sum(self) -> Node:
        node = self.term()
        while self.op("+", "-"):
            tok = self.advance()
            node = Arith(tok.text, node, self.term(), tok.pos)  # type: ignore[arg-type]
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.op("*", "/"):
            tok = self.advance()
            node = Arith(tok.text, node, self.unary(), tok.pos)  # type: ignore[arg-type]
        return node

    def unary(self) -> Node:
        if self.op("-"):
            tok = self.advance()
            self.nest()
            operand = self.unary()
            self.nesting -= 1
            return Num(-operand.value, tok.pos) if isinstance(operand, Num) else Neg(operand, tok.pos)
        return self.atom()

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.advance()
            assert isinstance(tok.value, int | float)
            return Num(tok.value, tok.pos)
        if tok.kind == "str":
            self.advance()
            return Str(str(tok.value), tok.pos)
        if self.op("("):
            self.advance()
            if self.op(")"):
                raise self.error("empty parentheses")
            self.nest()
            node = self.or_expr()
            self.nesting -= 1
            self.expect_op(")", "to close the parenthesis")
            return node
        if tok.kind == "name":
            word = tok.text.lower()
            if word in ("true", "false"):
                self.advance()
                return Bool(word == "true", tok.pos)
            if word == "null":
                raise self.error("null is only written as 'is null' or 'is not null'")
            if word in KEYWORDS or word in _PYTHON_WORDS:
                raise self.unexpected()
            self.advance()
            if self.op("("):
                raise self.unexpected()
            return Column(tok.text, tok.pos)
        raise self.unexpected()


def _pos(node: Node) -> int:
    if isinstance(node, Arith | Compare):
        return _pos(node.left)
    return node.pos
