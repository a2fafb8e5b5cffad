"""The gap engine: each method by hand, worked examples, existing-cover rules, and a property."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouhu.advice.gaps import annuity_due, household_gaps, life_expectancy, person_gaps
from shouhu.advice.methods import LIFE_METHODS, Assumptions, annuity, life_method
from shouhu.advice.model import Gap, Policy
from shouhu.errors import UnknownName
from shouhu.model.vocab import CoverageType as C
from tests.advice.factories import (
    AS_OF,
    family_of_four,
    family_policies,
    make_person,
    make_policy,
    retiree,
    young_professional,
)


def by_type(gaps: list[Gap]) -> dict[C, Gap]:
    return {g.coverage: g for g in gaps}


def test_each_life_method_by_hand() -> None:
    head = family_of_four().member("HEAD")  # 38, income 300k, mortgage 1.2M, savings 100k, kids 6 and 10
    a = Assumptions()
    # support years: youngest child 6 -> 16 years to 22
    dime = life_method("dime").need(head, a)
    assert dime.amount == 0 + 300_000 * 16 + 1_200_000 + 30_000 * (16 + 12) == 6_840_000
    assert dime.horizon_years == 16
    ir = life_method("income_replacement").need(head, a)
    assert ir.amount == round(300_000 * 0.7 * (1 - 1.025 ** -16) / 0.025 + 1_200_000 - 100_000)
    hlv = life_method("human_life_value").need(head, a)
    assert hlv.amount == round(300_000 * 0.7 * (1 - 1.025 ** -22) / 0.025)  # 22 years to retirement at 60
    assert life_method("double_ten").need(head, a).amount == 3_000_000
    for m in LIFE_METHODS.values():
        fig = m.need(head, a).figure
        assert fig.method == m.name and fig.zh and fig.en and fig.inputs


def test_unknown_method_lists_choices() -> None:
    with pytest.raises(UnknownName, match="dime, double_ten, human_life_value, income_replacement"):
        life_method("rule_of_thumb")


def test_annuities_and_life_expectancy() -> None:
    assert annuity(0, 0.025) == 0 and annuity(10, 0.0) == 10
    assert annuity_due(25, 0.025) == pytest.approx(1 + (1 - 1.025 ** -24) / 0.025)
    assert 24 < life_expectancy(60, "M") < life_expectancy(60, "F") < 31  # CL5 / CL6


def test_family_of_four_worked_example() -> None:
    gaps = household_gaps(family_of_four(), family_policies(), AS_OF)
    head = by_type(gaps.by_person["HEAD"])
    life = head[C.LIFE]
    assert life.need.amount == 6_840_000
    assert (life.existing, life.in_waiting, life.expiring) == (0, 500_000, 1_000_000)  # TL ends 2040 < 2042
    assert life.gap == 6_340_000 and life.horizon == date(2042, 10, 31)
    ci = head[C.CRITICAL_ILLNESS]
    assert ci.need.amount == 3 * 300_000 + 300_000 and ci.in_waiting == 500_000 and ci.gap == 700_000
    assert head[C.ACCIDENT].gap == 1_500_000 and head[C.MEDICAL].gap == 2_000_000
    # pension: basic pension at 60 after 35 years (from 25) on the local average wage W = 120,698, index
    # I = 300,000 / W = 2.4855: basic part W × (1 + I)/2 × 35 × 1% = 73,622; personal account
    # 8% × 300,000 × 35 = 840,000 over 139 months = 6,043 a month, 72,518 a year; together 146,140 (48.7%).
    # Need: 70% × 300,000 − 146,140 = 63,860 a year × ä(25 years, 2.5%) (e60 on CL5 = 25.3 → 25 years)
    pension = head[C.PENSION].need
    assert round(pension.inputs["social_pension"]) == 146_140 and pension.inputs["social_pension_ratio"] == 0.4871
    assert pension.amount == round((210_000 - 146_140.1356) * annuity_due(25, 0.025)) == 1_205_993
    spouse = by_type(gaps.by_person["SPOUSE"])
    assert spouse[C.MEDICAL].existing == 2_000_000 and spouse[C.MEDICAL].gap == 0  # best limit, not the sum
    assert spouse[C.LIFE].need.amount == 100_000 * 16 + 30_000 * 28
    assert by_type(gaps.by_person["KID6"])[C.EDUCATION].gap == 16 * 30_000
    assert by_type(gaps.by_person["KID10"])[C.EDUCATION].gap == 12 * 30_000
    assert by_type(gaps.by_person["KID6"])[C.ACCIDENT].gap == 200_000  # lapsed policy does not count
    assert gaps.total(C.EDUCATION) == 840_000
    assert gaps.to_dict()["totals"]["life"] == 6_340_000 + spouse[C.LIFE].gap


def test_single_young_professional_worked_example() -> None:
    yp = young_professional().member("YP")  # 28 F, 180k, debts 50k, savings 30k, no dependents
    g = by_type(person_gaps(yp, [], AS_OF))
    assert g[C.LIFE].need.amount == 50_000  # DIME: only the debts; nobody depends on her income
    assert by_type(person_gaps(yp, [], AS_OF, "double_ten"))[C.LIFE].need.amount == 1_800_000
    assert by_type(person_gaps(yp, [], AS_OF, "income_replacement"))[C.LIFE].need.amount == 20_000
    assert g[C.CRITICAL_ILLNESS].need.amount == 840_000 and g[C.ACCIDENT].need.amount == 900_000
    # basic pension 52,622 + 43,511 = 96,133 (53% of 180,000): 126,000 − 96,133 = 29,867 a year from savings
    assert g[C.PENSION].need.amount == round(29_867.0586 * annuity_due(round(life_expectancy(60, "F")), 0.025))
    assert g[C.EDUCATION].need.amount == 0


def test_retiree_worked_example() -> None:
    g = by_type(person_gaps(retiree().member("RT"), [], AS_OF))  # 68 M, pension income 60k
    assert g[C.LIFE].need.amount == 0 and g[C.PENSION].need.amount == 0
    assert g[C.CRITICAL_ILLNESS].need.amount == 300_000  # treatment only after retirement
    assert g[C.ACCIDENT].need.amount == 300_000 and g[C.MEDICAL].need.amount == 2_000_000
    assert "已退休" in g[C.PENSION].need.zh and "retired" in g[C.PENSION].need.en


policies = st.builds(
    lambda cov, sa, issue, term, wait, status: make_policy(
        policy_no=f"X{sa}{issue}", coverages={cov: float(sa)}, issue_date=date(2000 + issue, 1, 1),
        coverage_term_years=term, waiting_days=wait, status=status),
    st.sampled_from([c.value for c in C if c is not C.SAVINGS]), st.integers(0, 3_000_000), st.integers(0, 26),
    st.sampled_from([0, 1, 10, 20, 30]), st.sampled_from([0, 30, 90, 180]),
    st.sampled_from(["in_force", "lapsed", "reinstated"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(policies, max_size=5), policies, st.integers(0, 80), st.integers(0, 600_000),
       st.sampled_from(sorted(LIFE_METHODS)))
def test_more_existing_cover_never_increases_a_gap(held: list[Policy], extra: Policy, age: int, income: int,
                                                   method: str) -> None:
    person = make_person(age=age, annual_income=float(income), role="child" if age < 18 else "head")
    before = by_type(person_gaps(person, held, AS_OF, method))
    after = by_type(person_gaps(person, [*held, extra], AS_OF, method))
    for cov, g in before.items():
        assert after[cov].gap <= g.gap
