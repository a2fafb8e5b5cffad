"""Deterministic rules and the explanation of a scored pair, as Ibis expressions over Splink's output.

Splink's prediction table keeps each compared column as ``<col>_l`` / ``<col>_r`` and each
comparison's level (``gamma_<c>``) and partial match weight (``mw_<c>``, plus ``mw_tf_adj_<c>``
where term frequencies adjust it). These pure functions turn those columns into a rule name and a
JSON explanation without a round trip through Python.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import ibis

# (rule name, columns that must be equal and present on both sides); first match wins.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("id_number", ("id_number",)),
    ("phone_birth_date", ("phone", "birth_date")),
    ("phone_name", ("phone", "name_pinyin")),
    ("other_id_birth_date", ("other_id", "birth_date")),
    ("other_id_name", ("other_id", "name_pinyin")),
)


def _same(t: Any, col: str) -> Any:
    return t[f"{col}_l"].notnull() & (t[f"{col}_l"] == t[f"{col}_r"])


def rule_expr(t: Any) -> Any:
    """Ibis: the first deterministic rule a pair satisfies (``rule:<name>``), else NULL."""
    branches = []
    for name, cols in RULES:
        cond = _same(t, cols[0])
        for c in cols[1:]:
            cond = cond & _same(t, c)
        branches.append((cond, f"rule:{name}"))
    return ibis.cases(*branches, else_=ibis.null("string"))


def _label_expr(t: Any, comparison: str, labels: Mapping[int, str]) -> Any:
    gamma = t[f"gamma_{comparison}"]
    branches = [(gamma == value, json.dumps(label, ensure_ascii=False)) for value, label in sorted(labels.items())]
    return ibis.cases(*branches, else_='"?"')


def _weight_expr(t: Any, comparison: str) -> Any:
    w = t[f"mw_{comparison}"]
    if f"mw_tf_adj_{comparison}" in t.columns:
        w = w + t[f"mw_tf_adj_{comparison}"].fill_null(0)
    return w.round(2).cast("string")


def explanation_expr(t: Any, levels: Mapping[str, Mapping[int, str]]) -> Any:
    """Ibis string: ``{"name": {"level": "same pinyin", "weight": 7.12}, ...}`` for every comparison.

    Built by concatenation so every engine can run it; labels are JSON-escaped here, in Python.
    """
    parts: list[Any] = []
    for i, (comparison, labels) in enumerate(levels.items()):
        prefix = ("{" if i == 0 else ", ") + json.dumps(comparison) + ': {"level": '
        parts += [ibis.literal(prefix), _label_expr(t, comparison, labels), ibis.literal(', "weight": '),
                  _weight_expr(t, comparison), ibis.literal("}")]
    parts.append(ibis.literal("}"))
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out
