"""Retirement ages under the 2025 reform, the basic pension, and no life need for retirees (by hand)."""

from __future__ import annotations

from datetime import date

import pytest

from shouhu.advice.gaps import person_gaps
from shouhu.advice.methods import LIFE_METHODS, Assumptions
from shouhu.advice.model import Dependent
from shouhu.advice.retirement import social_pension, statutory_retirement
from shouhu.advice.service import retirement_of
from shouhu.model.vocab import CoverageType as C
from tests.advice.factories import AS_OF, make_person


@pytest.mark.parametrize(("sex", "birth", "original", "years", "months", "on"), [
    ("M", date(1964, 12, 31), None, 60, 0, date(2024, 12, 1)),  # retired before the reform
    ("M", date(1965, 1, 10), None, 60, 1, date(2025, 2, 1)),  # first month affected
    ("M", date(1965, 5, 1), None, 60, 2, date(2025, 7, 1)),  # one more month per 4 months of birth
    ("M", date(1976, 8, 1), None, 62, 11, date(2039, 7, 1)),
    ("M", date(1976, 9, 1), None, 63, 0, date(2039, 9, 1)),  # and later: 63
    ("M", date(1990, 3, 3), None, 63, 0, date(2053, 3, 1)),
    # a woman born June 1975: 65 months after 1970-01 → 65 // 4 + 1 = 17 months on 55; 5 // 2 + 1 = 3 on 50
    ("F", date(1975, 6, 15), 55, 56, 5, date(2031, 11, 1)),
    ("F", date(1975, 6, 15), 50, 50, 3, date(2025, 9, 1)),
    ("F", date(1975, 1, 20), 50, 50, 1, date(2025, 2, 1)),
    ("F", date(1984, 11, 1), 50, 55, 0, date(2039, 11, 1)),  # 50 → 55 reached
    ("F", date(1981, 9, 1), 55, 58, 0, date(2039, 9, 1)),  # 55 → 58 reached
])
def test_statutory_retirement_age(sex: str, birth: date, original: int | None, years: int, months: int,
                                  on: date) -> None:
    ret = statutory_retirement(sex, birth, original)
    assert (ret.years, ret.months, ret.on) == (years, months, on)


def test_unknown_original_age_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="original age 52"):
        statutory_retirement("F", date(1980, 1, 1), 52)


def test_woman_born_1975_in_the_gap_engine() -> None:
    years, months = retirement_of("F", date(1975, 6, 15))  # warehouse path: women's original age 55
    assert (years, months) == (56, 5)
    woman = make_person(person_id="W75", age=51, sex="F", annual_income=150_000.0, retirement_age=years,
                        retirement_months=months)
    assert woman.years_to_retirement == pytest.approx(5 + 5 / 12)
    gaps = {g.coverage: g for g in person_gaps(woman, [], AS_OF, "human_life_value")}
    # HLV: 150,000 × 70% × a(5.4167 years at 2.5%)
    a = (1 - 1.025 ** -(5 + 5 / 12)) / 0.025
    assert gaps[C.LIFE].need.amount == round(105_000 * a)
    assert gaps[C.PENSION].horizon == date(2032, 10, 31)  # ceil(5.42) = 6 years from 2026-10-31
    # basic pension at 56 after 31 years: index 150,000 / 120,698 = 1.2428
    w, i = 120_698.0, 150_000 / 120_698
    expected = w * (1 + i) / 2 * 31 * 0.01 + 0.08 * 150_000 * 31 / 164 * 12
    assert social_pension(150_000, 56, 31, w) == pytest.approx(expected)
    assert gaps[C.PENSION].need.inputs["social_pension"] == round(expected)


def test_pension_replacement_falls_with_income_relative_to_the_local_wage() -> None:
    a = Assumptions()
    ratios = []
    for income in (60_000.0, 120_698.0, 400_000.0, 1_000_000.0):
        ratios.append(social_pension(income, 60, 35, a.local_average_wage) / income)
    assert ratios == sorted(ratios, reverse=True)  # a flat 40% was wrong both ways
    assert ratios[0] > 0.7 and ratios[-1] < 0.2  # the contribution base is capped at 300% of W


def test_72_year_old_retiree_has_no_working_age_life_need() -> None:
    # retired, 90,000 pension, a dependent spouse, 50,000 of debt left
    rt = make_person(person_id="RT72", age=72, sex="M", annual_income=90_000.0, debts=50_000.0,
                     dependents=(Dependent("spouse", 70),))
    assert rt.is_retired and rt.earned_income == 0
    needs = {name: m.need(rt, Assumptions()).amount for name, m in LIFE_METHODS.items()}
    assert needs == {"income_replacement": 50_000, "human_life_value": 0, "dime": 50_000, "double_ten": 0}
    gaps = {g.coverage: g for g in person_gaps(rt, [], AS_OF)}
    assert gaps[C.PENSION].need.amount == 0 and gaps[C.CRITICAL_ILLNESS].need.amount == 300_000
