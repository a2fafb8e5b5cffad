"""Portfolio recommendation: worked examples, budget and suitability properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shouhu.advice.gaps import household_gaps
from shouhu.advice.plan import Plan, closure_score, recommend
from shouhu.advice.suitability import MemoryCheckLog
from shouhu.model.vocab import RiskGrade
from shouhu.reference.products import BY_CODE, annual_premium
from tests.advice.factories import AS_OF, family_of_four, family_policies, retiree, young_professional


def test_family_plan_puts_the_breadwinner_first_within_budget() -> None:
    hh, pols = family_of_four(), family_policies()
    log = MemoryCheckLog()
    rec = recommend(hh, household_gaps(hh, pols, AS_OF), pols, risk_level="R3", seller_grade="Q2", log=log)
    # double-ten: 10% of 400k = 40,000, less 10,680 already paid (2,000 + 8,000 + 340 + 340; lapsed excluded)
    assert rec.plan.budget == 40_000 - 10_680
    assert rec.plan.premium <= rec.plan.budget
    head_items = [i for i in rec.plan.items if i.person_id == "HEAD"]
    assert any("life" in i.coverages for i in head_items)  # the breadwinner's life gap is addressed
    assert rec.plan.items[0].person_id == "HEAD"  # sorted by priority
    for item in rec.plan.items:  # premiums are the shelf's own
        person = hh.member(item.person_id)
        assert item.annual_premium == annual_premium(BY_CODE[item.product_code], person.age, person.sex,
                                                     item.sum_assured)
        assert item.zh.startswith("为") and item.en
    cheaper, fuller = rec.alternatives
    assert cheaper.premium <= rec.plan.premium <= fuller.premium
    assert cheaper.weighted_gap_after >= rec.plan.weighted_gap_after >= fuller.weighted_gap_after
    assert "双十原则" in rec.budget_zh and "Double-ten" in rec.budget_en
    assert any(r.check == "affordability" for r in log.records())
    assert rec.plan.remaining["HEAD"]["life"] < 6_340_000


def test_young_professional_plan() -> None:
    hh = young_professional()
    rec = recommend(hh, household_gaps(hh, [], AS_OF), [], risk_level="R2")
    codes = {i.product_code for i in rec.plan.items}
    assert rec.plan.budget == 18_000 and rec.plan.premium <= 18_000
    assert codes & {"MD01", "MD02"} and codes & {"AC01", "AC02"}  # cheap, large cover first
    assert codes & {"CI01", "CI03"}


def test_retiree_plan_explains_blocked_products() -> None:
    hh = retiree()
    rec = recommend(hh, household_gaps(hh, [], AS_OF), [], risk_level="R2")
    assert [(i.product_code, i.sum_assured, i.annual_premium) for i in rec.plan.items] == [("AC01", 300_000, 300.0)]
    blocked = {b["product_code"]: b for b in rec.blocked}
    assert "不符合投保年龄" in blocked["MD01"]["zh"] and "outside the issue ages" in blocked["CI01"]["en"]
    assert rec.plan.remaining["RT"] == {"critical_illness": 300_000, "medical": 2_000_000, "accident": 0.0}


def test_own_budget_above_the_ceiling_is_capped_and_logged() -> None:
    hh = young_professional()
    log = MemoryCheckLog()
    rec = recommend(hh, household_gaps(hh, [], AS_OF), [], risk_level="R2", budget=50_000, log=log)
    assert rec.plan.budget == 27_000  # 15% of 180k
    affordability = [r for r in log.records() if r.check == "affordability"]
    assert not affordability[0].passed and affordability[0].inputs["total_premium"] == 50_000
    assert affordability[-1].passed and "超过承受上限" in rec.budget_zh


def test_closure_score_has_diminishing_returns() -> None:
    assert closure_score(0) == 0 and closure_score(0.5) == 0.75 and closure_score(1) == 1 and closure_score(2) == 1


def _plan(budget: float, level: str = "R3") -> Plan:
    hh, pols = family_of_four(), family_policies()
    return recommend(hh, household_gaps(hh, pols, AS_OF), pols, risk_level=level, budget=budget).plan


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 30_000), st.integers(0, 30_000))
def test_a_higher_budget_never_leaves_larger_weighted_gaps(b1: int, b2: int) -> None:
    low, high = _plan(min(b1, b2)), _plan(max(b1, b2))
    assert high.weighted_gap_after <= low.weighted_gap_after + 1e-4


@settings(max_examples=8, deadline=None)
@given(st.sampled_from(["R1", "R2"]), st.integers(5_000, 200_000))
def test_plans_for_r2_customers_hold_nothing_above_p2(level: str, budget: int) -> None:
    for item in _plan(budget, level).items:
        assert BY_CODE[item.product_code].risk_grade in (RiskGrade.P1, RiskGrade.P2)
        if level == "R1":
            assert BY_CODE[item.product_code].risk_grade is RiskGrade.P1
