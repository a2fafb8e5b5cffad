"""Portfolio recommendation: worked examples, budget and suitability properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shouhu.advice.gaps import household_gaps
from shouhu.advice.model import Dependent, Household
from shouhu.advice.plan import Plan, main_earner, person_weights, recommend
from shouhu.advice.suitability import MemoryCheckLog
from shouhu.model.vocab import RiskGrade
from shouhu.reference.products import BY_CODE, annual_premium
from tests.advice.factories import AS_OF, family_of_four, family_policies, make_person, retiree, young_professional


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


def breadwinner_and_spouse(head_income: float = 500_000.0, spouse_income: float = 30_000.0,
                           head_age: int = 40, spouse_age: int = 36, child_age: int = 4) -> Household:
    kid = (Dependent("child", child_age),)
    return Household("HH-BW", (
        make_person(person_id="EARNER", age=head_age, sex="M", annual_income=head_income, mortgage=1_800_000.0,
                    dependents=kid),
        make_person(person_id="SPOUSE", age=spouse_age, sex="F", annual_income=spouse_income, role="spouse",
                    debts=20_000.0, dependents=kid),
        make_person(person_id="KID", age=child_age, sex="M", annual_income=0.0, role="child"),
    ))


def test_breadwinner_gets_life_cover_before_a_low_earning_spouse() -> None:
    hh = breadwinner_and_spouse()
    gaps = household_gaps(hh, [], AS_OF)
    life = {g.person_id: g.gap for g in gaps.gaps() if g.coverage.value == "life"}
    # DIME by hand: earner 500,000 × 18 years (child 4 → 22) + mortgage 1,800,000 + 30,000 × 18 = 11,340,000;
    # spouse 20,000 + 30,000 × 18 + 540,000 = 1,100,000
    assert life == {"EARNER": 11_340_000, "SPOUSE": 1_100_000, "KID": 0}
    weights = person_weights(hh)  # 0.1 + income share: 500/530 and 30/530
    assert weights["EARNER"] == 0.1 + 500_000 / 530_000 and weights["KID"] == 0.1
    assert main_earner(hh) == "EARNER"
    rec = recommend(hh, gaps, [], risk_level="R2", budget=12_000)
    life_items = {i.person_id for i in rec.plan.items if "life" in i.coverages}
    assert "EARNER" in life_items  # the 11.34M gap is where the household's risk is
    # closing the earner's whole 11.34M gap costs about 60,000 a year (TL01 at 40: 5.28 per 1,000), far over
    # 12,000, so by the earner-first rule the spouse gets no life cover at all
    assert annual_premium(BY_CODE["TL01"], 40, "M", 11_340_000) > 12_000
    assert "SPOUSE" not in life_items and rec.plan.remaining["SPOUSE"]["life"] == 1_100_000
    assert rec.plan.remaining["EARNER"]["life"] < 11_340_000


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


@settings(max_examples=25, deadline=None)
@given(st.integers(60_000, 2_000_000), st.integers(0, 120_000), st.integers(25, 55), st.integers(25, 55),
       st.integers(0, 17), st.integers(0, 60_000))
def test_main_earner_life_gap_is_never_left_open_while_a_dependant_life_is_covered(
        head_income: int, spouse_income: int, head_age: int, spouse_age: int, child_age: int, budget: int) -> None:
    hh = breadwinner_and_spouse(float(head_income), float(spouse_income), head_age, spouse_age, child_age)
    gaps = household_gaps(hh, [], AS_OF)
    plan = recommend(hh, gaps, [], risk_level="R3", budget=float(budget)).plan
    assert plan.premium <= budget + 0.005
    earner = main_earner(hh)  # the spouse when she earns more
    assert earner == ("SPOUSE" if spouse_income > head_income else "EARNER")
    dependant_life = [i for i in plan.items if i.person_id != earner and "life" in i.coverages]
    if dependant_life:
        assert plan.remaining[earner].get("life", 0.0) == 0


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 40_000))
def test_plan_covers_at_least_as_many_weighted_yuan_as_any_single_option(budget: int) -> None:
    """The optimum is no worse than the best plan of one product (a cheap lower bound any solver must meet)."""
    from shouhu.advice.plan import build_plan, candidates

    hh, pols = family_of_four(), family_policies()
    gaps = household_gaps(hh, pols, AS_OF)
    plan = recommend(hh, gaps, pols, risk_level="R3", budget=float(budget)).plan
    weights = person_weights(hh)
    options, _ = candidates(hh, gaps, risk_level="R3", seller_grade=None)
    earner_gap = next(g.gap for g in gaps.by_person["HEAD"] if g.coverage.value == "life")
    singles = [build_plan("recommended", [o], gaps, weights, budget) for o in options if o.premium <= budget
               and (o.person.person_id == "HEAD" or "life" not in {c.value for c in o.cover} or earner_gap == 0)]
    best_single = min((p.weighted_gap_after for p in singles), default=plan.weighted_gap_before)
    assert plan.weighted_gap_after <= best_single + 1e-6
