"""Suitability: each check blocks with a reason in both languages, everything is logged."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shouhu.advice.suitability import JsonlCheckLog, MemoryCheckLog, check_affordability, check_product
from shouhu.errors import UnknownName
from shouhu.model.vocab import RiskGrade
from shouhu.reference.products import BY_CODE, SHELF
from tests.advice.factories import make_person


def test_customer_risk_blocks_and_explains() -> None:
    v = check_product(make_person(), BY_CODE["IL02"], risk_level="R2", seller_grade="Q3")
    assert not v.passed and [c.check for c in v.reasons] == ["customer_risk"]
    assert "超出客户风险承受能力" in v.why("zh") and "above the customer's risk tolerance" in v.why("en")


def test_seller_qualification_table() -> None:
    ul = BY_CODE["UL01"]  # P3
    assert not check_product(make_person(), ul, risk_level="R5", seller_grade="Q1").passed
    assert check_product(make_person(), ul, risk_level="R5", seller_grade="Q2").passed
    v = check_product(make_person(), BY_CODE["IL01"], risk_level="R5", seller_grade="Q2")  # P4
    assert "不得销售P4产品" in v.why() and "may not sell a P4 product" in v.why("en")
    assert check_product(make_person(), BY_CODE["IL02"], risk_level="R5", seller_grade="Q3").passed
    self_service = check_product(make_person(), BY_CODE["TL01"], risk_level="R1", seller_grade=None)
    assert self_service.passed and "自助" in self_service.checks[1].zh


def test_unassessed_customer_is_treated_as_r1() -> None:
    v = check_product(make_person(), BY_CODE["WL01"], risk_level=None, seller_grade=None)  # P2
    assert not v.passed and "未做风险测评" in v.why()


def test_age_and_health() -> None:
    v = check_product(make_person(age=70), BY_CODE["MD01"], risk_level="R1", seller_grade=None)
    assert not v.passed and "不符合投保年龄" in v.why() and "outside the issue ages" in v.why("en")
    sick = make_person(health_conditions=frozenset({"cancer", "hypertension"}))
    v = check_product(sick, BY_CODE["CI01"], risk_level="R1", seller_grade=None)
    assert not v.passed and "恶性肿瘤" in v.why() and "cancer" in v.why("en")
    assert check_product(sick, BY_CODE["AC01"], risk_level="R1", seller_grade=None).passed


def test_every_check_is_logged(tmp_path: Path) -> None:
    for log in (MemoryCheckLog(), JsonlCheckLog(tmp_path / "checks.jsonl")):
        check_product(make_person(), BY_CODE["IL02"], risk_level="R2", seller_grade="Q1", log=log)
        rec = check_affordability("HH/plan", 20_000, 100_000, 0.15, log=log)
        assert not rec.passed and "超出承受能力" in rec.zh
        records = log.records()
        assert [r.check for r in records] == ["customer_risk", "seller_qualification", "issue_age", "health",
                                              "elderly", "double_recording", "affordability"]  # IL02 is unit-linked
        assert records[0].inputs == {"risk_level": "R2", "assessed": True, "product_grade": "P5",
                                     "rule": "customer_risk"}
        assert all((r.inputs["rule"] and "《" in r.zh + r.en) or "产品条款" in r.zh for r in records)
        assert records[0].subject == "P1/IL02" and records[0].at


def test_unknown_levels_list_choices() -> None:
    with pytest.raises(UnknownName, match="R1, R2"):
        check_product(make_person(), BY_CODE["TL01"], risk_level="R9", seller_grade=None)
    with pytest.raises(UnknownName, match="Q1, Q2, Q3"):
        check_product(make_person(), BY_CODE["TL01"], risk_level="R1", seller_grade="Q7")


@given(st.sampled_from(SHELF), st.sampled_from(["R1", "R2"]), st.sampled_from([None, "Q1", "Q2", "Q3"]),
       st.integers(0, 90))
def test_no_product_above_p2_reaches_an_r2_customer(product: object, level: str, seller: str | None,
                                                   age: int) -> None:
    v = check_product(make_person(age=age), product, risk_level=level, seller_grade=seller)  # type: ignore[arg-type]
    if product.risk_grade in (RiskGrade.P3, RiskGrade.P4, RiskGrade.P5):  # type: ignore[attr-defined]
        assert not v.passed
