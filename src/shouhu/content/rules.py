"""The compliance rule checker: claims content must not make (guaranteed returns, 保本, comparisons with bank
deposits, absolute terms, ...). The rules and their sources live in ``data/compliance_rules.toml``.

A *block* finding stops review, approval and publishing; a *warn* finding lets an item through only when
the reviewer confirms it with a note. The same check runs before every recommendation, so an item that
a later rule forbids stops being recommended at once, without anyone retiring it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from shouhu.content.model import ContentError, Item

RULES_FILE = Path(__file__).parent / "data" / "compliance_rules.toml"
SEVERITIES = ("block", "warn")


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    patterns: tuple[re.Pattern[str], ...]
    zh: str
    en: str
    source: str


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    field: str  # title | summary | body | questions[i]
    line: int
    text: str  # the words that matched
    zh: str
    en: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __str__(self) -> str:
        return f"[{self.severity}] {self.rule}: {self.field} line {self.line}: {self.text!r} — {self.en}"


class ComplianceRefused(ContentError):
    """An item whose text breaks a blocking rule (or an unconfirmed warning) cannot move on."""

    code = "compliance_refused"

    def __init__(self, item_id: str, findings: list[Finding]) -> None:
        shown = "; ".join(str(f) for f in findings[:10])
        super().__init__(f"{item_id}: {len(findings)} compliance finding(s): {shown}", item_id=item_id)
        self.findings = findings


def _rule(raw: dict[str, Any], where: Path) -> Rule:
    code = str(raw.get("code") or "")
    if raw.get("severity") not in SEVERITIES:
        raise ContentError(f"{where.name}: rule {code!r} field 'severity' must be one of {SEVERITIES}",
                           field="severity")
    try:
        patterns = tuple(re.compile(p) for p in raw["patterns"])
    except (KeyError, TypeError, re.error) as e:
        raise ContentError(f"{where.name}: rule {code!r} field 'patterns': {e}", field="patterns") from None
    return Rule(code, raw["severity"], patterns, str(raw.get("zh", "")), str(raw.get("en", "")),
                str(raw.get("source", "")))


@cache
def load_rules(path: Path = RULES_FILE) -> tuple[Rule, ...]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return tuple(_rule(r, path) for r in data.get("rule", []))


def rules_version(path: Path = RULES_FILE) -> str:
    return str(tomllib.loads(path.read_text(encoding="utf-8")).get("meta", {}).get("version", ""))


def _fields(item: Item) -> list[tuple[str, str]]:
    parts = [("title", item.title), ("summary", item.summary), ("body", item.body)]
    for i, q in enumerate(item.questions):
        parts.append((f"questions[{i}]", "\n".join((q.text, *q.options, q.explain))))
    return parts


def check_text(field: str, text: str, rules: tuple[Rule, ...]) -> list[Finding]:
    found = []
    for rule in rules:
        spans: list[tuple[int, int]] = []  # one finding per rule and stretch of text, however many patterns hit
        for pattern in rule.patterns:
            for m in pattern.finditer(text):
                if any(m.start() < end and start < m.end() for start, end in spans):
                    continue
                spans.append(m.span())
                line = text.count("\n", 0, m.start()) + 1
                found.append(Finding(rule.code, rule.severity, field, line, m.group(0), rule.zh, rule.en,
                                     rule.source))
    return sorted(found, key=lambda f: (f.line, text.find(f.text)))


def check(item: Item, rules: tuple[Rule, ...] | None = None) -> list[Finding]:
    """Every finding in the item's title, summary, body and quiz text, in reading order."""
    active = load_rules() if rules is None else rules
    return [f for name, text in _fields(item) for f in check_text(name, text, active)]


def blocking(findings: list[Finding], confirmed_warnings: bool = False) -> list[Finding]:
    """The findings that stop the item: blocks always, warnings unless the reviewer confirmed them."""
    return [f for f in findings if f.severity == "block" or not confirmed_warnings]


def require_clean(item: Item, *, confirmed_warnings: bool = False, rules: tuple[Rule, ...] | None = None
                  ) -> list[Finding]:
    """Raise :class:`ComplianceRefused` when anything blocks; else the (confirmed) warnings."""
    findings = check(item, rules)
    stop = blocking(findings, confirmed_warnings)
    if stop:
        raise ComplianceRefused(item.item_id, stop)
    return findings
