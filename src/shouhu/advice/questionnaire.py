"""Questionnaires defined in versioned TOML: the risk-tolerance assessment and the needs fact-find.

A definition lives in ``questionnaires/<id>_v<n>.toml`` and names its own ``version``; an
assessment records that version and every answer, so a score can be explained years later even
after the questionnaire changes. Scoring: each risk answer scores 1-5, the total maps to R1-R5
(shown also as C1-C5) by the ``levels`` thresholds of the definition. Re-assessment appends to a
customer's history in an :class:`AssessmentStore`; nothing is overwritten.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from shouhu.advice.model import Dependent, Person
from shouhu.errors import InvalidInput, UnknownName

_PACKAGE = "shouhu.advice.questionnaires"


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: str
    kind: str  # risk | fact_find
    zh: str
    en: str
    questions: tuple[dict[str, Any], ...]
    levels: tuple[dict[str, Any], ...] = ()

    def question(self, qid: str) -> dict[str, Any]:
        for q in self.questions:
            if q["id"] == qid:
                return q
        raise UnknownName("question", qid, [q["id"] for q in self.questions])


@cache
def _definitions() -> dict[tuple[str, str], Questionnaire]:
    found: dict[tuple[str, str], Questionnaire] = {}
    for entry in resources.files(_PACKAGE).iterdir():
        if entry.name.endswith(".toml"):
            raw = tomllib.loads(entry.read_text(encoding="utf-8"))
            q = Questionnaire(raw["id"], raw["version"], raw["kind"], raw["zh"], raw["en"],
                              tuple(raw["questions"]), tuple(raw.get("levels", ())))
            found[(q.id, q.version)] = q
    return found


def load_questionnaire(qid: str, version: str | None = None) -> Questionnaire:
    """The named questionnaire at ``version`` (default: the latest version)."""
    versions = sorted(v for (i, v) in _definitions() if i == qid)
    if not versions:
        raise UnknownName("questionnaire", qid, sorted({i for i, _ in _definitions()}))
    chosen = version or versions[-1]
    if chosen not in versions:
        raise UnknownName(f"version of questionnaire {qid}", chosen, versions)
    return _definitions()[(qid, chosen)]


# -- validation ------------------------------------------------------------------------------------
def _bad(q: dict[str, Any], reason: str) -> InvalidInput:
    return InvalidInput(f"question {q['id']!r} ({q['zh']}): {reason}", question=q["id"])


def _number(q: dict[str, Any], value: Any, integer: bool) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(q, f"expected a number, got {value!r}")
    try:
        num = float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
    except ValueError:
        raise _bad(q, f"expected a number, got {value!r}") from None
    if integer and not num.is_integer():
        raise _bad(q, f"expected a whole number, got {value!r}")
    low, high = q.get("min", 0), q.get("max")
    if num < low or (high is not None and num > high):
        raise _bad(q, f"{value!r} is outside {low}..{high}")
    return int(num) if integer else num


def _choice(q: dict[str, Any], value: Any) -> str:
    values = [o["value"] for o in q["options"]]
    if value not in values:
        raise _bad(q, f"{value!r} is not one of {values}")
    return str(value)


def _dependents(q: dict[str, Any], value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _bad(q, "expected a list of {relation, age}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or item.get("relation") not in q["relations"]:
            raise _bad(q, f"item {i + 1}: relation must be one of {q['relations']}")
        age = _number({**q, "min": 0, "max": 110}, item.get("age"), integer=True)
        out.append({"relation": item["relation"], "age": age})
    return out


def _one(q: dict[str, Any], value: Any) -> Any:
    kind = q["type"]
    if kind in ("money", "integer"):
        return _number(q, value, integer=kind == "integer")
    if kind == "choice":
        return _choice(q, value)
    if kind == "multi":
        if not isinstance(value, list):
            raise _bad(q, "expected a list of choices")
        return sorted({_choice(q, v) for v in value})
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad(q, f"expected true or false, got {value!r}")
        return value
    if kind == "dependents":
        return _dependents(q, value)
    raise _bad(q, f"unknown question type {kind!r}")


def validate_answers(questionnaire: Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    """Every answer checked and normalised; defaults filled. Raises naming the first bad question."""
    known = {q["id"] for q in questionnaire.questions}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise UnknownName(f"question in {questionnaire.id} {questionnaire.version}", unknown[0], sorted(known))
    clean: dict[str, Any] = {}
    for q in questionnaire.questions:
        value = answers.get(q["id"])
        if value is None:
            if q.get("required") or (questionnaire.kind == "risk"):
                raise _bad(q, "an answer is required")
            if "default" in q:
                clean[q["id"]] = q["default"]
            continue
        clean[q["id"]] = _one(q, value)
    return clean


# -- scoring and assessments -----------------------------------------------------------------------
@dataclass(frozen=True)
class Assessment:
    customer_id: str
    questionnaire: str
    version: str
    answers: dict[str, Any]
    score: int | None = None
    level: str | None = None  # R1..R5 for the risk assessment
    alias: str | None = None  # C1..C5
    taken_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_risk(questionnaire: Questionnaire, answers: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Total score and the level it falls in (the highest level whose ``min_score`` it reaches)."""
    clean = validate_answers(questionnaire, answers)
    total = 0
    for q in questionnaire.questions:
        total += next(int(o["score"]) for o in q["options"] if o["value"] == clean[q["id"]])
    level = [lv for lv in questionnaire.levels if total >= lv["min_score"]][-1]
    return total, level


def assess_risk(customer_id: str, answers: dict[str, Any], version: str | None = None) -> Assessment:
    q = load_questionnaire("risk_tolerance", version)
    total, level = score_risk(q, answers)
    return Assessment(customer_id, q.id, q.version, validate_answers(q, answers), total, level["code"], level["alias"])


def record_fact_find(customer_id: str, answers: dict[str, Any], version: str | None = None) -> Assessment:
    q = load_questionnaire("fact_find", version)
    return Assessment(customer_id, q.id, q.version, validate_answers(q, answers))


def person_from_fact_find(person_id: str, answers: dict[str, Any], role: str = "head") -> Person:
    """The gap engine's view of one person, from validated fact-find answers."""
    a = validate_answers(load_questionnaire("fact_find"), answers)
    return Person(
        person_id=person_id, age=int(a["age"]), sex=a["sex"], annual_income=float(a["annual_income"]), role=role,
        annual_expenses=float(a["annual_expenses"]), debts=float(a["debts"]), mortgage=float(a["mortgage"]),
        savings=float(a["savings"]), retirement_age=int(a["retirement_age"]),
        dependents=tuple(Dependent(d["relation"], int(d["age"])) for d in a["dependents"]),
        health_conditions=frozenset(a["health_conditions"]),
    )


# -- stores ------------------------------------------------------------------------------------------
class AssessmentStore(Protocol):
    """Where assessments are kept. Append-only: a re-assessment adds a record, it never replaces one."""

    def add(self, assessment: Assessment) -> None: ...

    def history(self, customer_id: str, questionnaire: str | None = None) -> list[Assessment]: ...


def latest(store: AssessmentStore, customer_id: str, questionnaire: str) -> Assessment | None:
    items = store.history(customer_id, questionnaire)
    return items[-1] if items else None


class MemoryAssessmentStore:
    def __init__(self) -> None:
        self._items: list[Assessment] = []

    def add(self, assessment: Assessment) -> None:
        self._items.append(assessment)

    def history(self, customer_id: str, questionnaire: str | None = None) -> list[Assessment]:
        return [a for a in self._items if a.customer_id == customer_id
                and (questionnaire is None or a.questionnaire == questionnaire)]


class JsonlAssessmentStore:
    """One JSON object per line, appended: easy to inspect, and safe against rewriting history."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, assessment: Assessment) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(assessment.to_dict(), ensure_ascii=False) + "\n")

    def history(self, customer_id: str, questionnaire: str | None = None) -> list[Assessment]:
        if not self.path.exists():
            return []
        rows = [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [Assessment(**r) for r in rows if r["customer_id"] == customer_id
                and (questionnaire is None or r["questionnaire"] == questionnaire)]
