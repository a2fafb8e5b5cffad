"""Questionnaires: scoring thresholds, validation naming the question, versions and history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shouhu.advice.questionnaire import (
    JsonlAssessmentStore,
    MemoryAssessmentStore,
    assess_risk,
    latest,
    load_questionnaire,
    person_from_fact_find,
    record_fact_find,
)
from shouhu.errors import InvalidInput, UnknownName


def risk_answers(score_each: int) -> dict[str, Any]:
    q = load_questionnaire("risk_tolerance")
    return {x["id"]: next(o["value"] for o in x["options"] if o["score"] == score_each) for x in q.questions}


@pytest.mark.parametrize(("each", "score", "level", "alias"), [(1, 9, "R1", "C1"), (3, 27, "R3", "C3"),
                                                             (5, 45, "R5", "C5")])
def test_risk_scores_map_to_levels(each: int, score: int, level: str, alias: str) -> None:
    a = assess_risk("C1", risk_answers(each))
    assert (a.score, a.level, a.alias) == (score, level, alias)
    assert a.version == "2026.1" and a.questionnaire == "risk_tolerance"


def test_thresholds_are_inclusive() -> None:
    answers = risk_answers(2)  # 18 points: exactly the R2 threshold
    assert assess_risk("C1", answers).level == "R2"
    answers["age_band"] = "over_65"  # 17 points
    assert assess_risk("C1", answers).level == "R1"


def test_bad_answer_names_the_question() -> None:
    answers = risk_answers(3)
    answers["max_loss"] = "everything"
    with pytest.raises(InvalidInput, match="max_loss"):
        assess_risk("C1", answers)
    del answers["max_loss"]
    with pytest.raises(InvalidInput, match=r"max_loss.*required"):
        assess_risk("C1", answers)
    with pytest.raises(UnknownName, match="valid choices"):
        assess_risk("C1", {**risk_answers(3), "favourite_colour": "red"})


def test_fact_find_validates_and_builds_a_person() -> None:
    p = person_from_fact_find("X", {"age": 40, "sex": "F", "annual_income": "250,000", "mortgage": 800_000,
                                    "dependents": [{"relation": "child", "age": 7}],
                                    "health_conditions": ["hypertension"]})
    assert (p.age, p.annual_income, p.mortgage, p.retirement_age) == (40, 250_000.0, 800_000.0, 60)
    assert p.dependents[0].age == 7 and p.health_conditions == {"hypertension"}
    with pytest.raises(InvalidInput, match=r"retirement_age"):
        record_fact_find("X", {"age": 40, "sex": "F", "annual_income": 1, "retirement_age": 30})
    with pytest.raises(InvalidInput, match=r"dependents.*relation"):
        record_fact_find("X", {"age": 40, "sex": "F", "annual_income": 1, "dependents": [{"relation": "dog"}]})
    with pytest.raises(InvalidInput, match=r"annual_income.*number"):
        record_fact_find("X", {"age": 40, "sex": "F", "annual_income": "lots"})


def test_unknown_version_lists_the_versions() -> None:
    with pytest.raises(UnknownName, match=r"2026\.1"):
        load_questionnaire("risk_tolerance", "1999.1")


@pytest.mark.parametrize("kind", ["memory", "jsonl"])
def test_reassessment_keeps_history(kind: str, tmp_path: Path) -> None:
    store = MemoryAssessmentStore() if kind == "memory" else JsonlAssessmentStore(tmp_path / "a.jsonl")
    store.add(assess_risk("C1", risk_answers(1)))
    store.add(assess_risk("C1", risk_answers(4)))
    store.add(assess_risk("C2", risk_answers(5)))
    history = store.history("C1", "risk_tolerance")
    assert [a.level for a in history] == ["R1", "R4"]
    assert history[0].answers["goal"] == "preserve"
    found = latest(store, "C1", "risk_tolerance")
    assert found is not None and found.level == "R4"
