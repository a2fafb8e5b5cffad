import math

import pytest

from shouhu.model.vocab import ProductType, RiskGrade
from shouhu.reference.mortality import qx
from shouhu.reference.products import BY_CODE, SHELF, annual_premium, pricing_interest, rate_per_1000, rate_table


def test_shelf_covers_every_product_type_with_valid_grades():
    assert {p.type for p in SHELF} == set(ProductType)
    assert 15 <= len(SHELF) <= 25
    assert all(isinstance(p.risk_grade, RiskGrade) for p in SHELF)
    assert len({p.code for p in SHELF}) == len(SHELF)


def hand_term_rate(age: int, sex: str, n: int) -> float:
    """Net premium by the equivalence principle, written out the textbook way, then 25% loading."""
    v = 1 / (1 + pricing_interest(BY_CODE["TL01"]))  # launched 2014: the 3.5% cap
    survival, benefit, annuity = 1.0, 0.0, 0.0
    for k in range(n):
        q = qx(age + k, sex)  # type: ignore[arg-type]
        annuity += v**k * survival
        benefit += v ** (k + 1) * survival * q
        survival *= 1 - q
    return 1000 * benefit / annuity / (1 - 0.25)


def test_term_life_premium_equals_the_mortality_table_pricing():
    tl01 = BY_CODE["TL01"]  # 20-year term, 20 annual premiums
    assert rate_per_1000(tl01, 35, "M") == pytest.approx(hand_term_rate(35, "M", 20), rel=1e-12)
    assert annual_premium(tl01, 35, "M", 1_000_000) == round(hand_term_rate(35, "M", 20) * 1000, 2)
    assert rate_table("TL01")[1, 40] == pytest.approx(hand_term_rate(40, "F", 20), rel=1e-12)


def test_premiums_rise_with_age_and_are_higher_for_men():
    tl01 = BY_CODE["TL01"]
    assert rate_per_1000(tl01, 30, "M") < rate_per_1000(tl01, 50, "M")
    assert rate_per_1000(tl01, 40, "F") < rate_per_1000(tl01, 40, "M")
    assert rate_per_1000(BY_CODE["WL01"], 30, "M") > rate_per_1000(tl01, 30, "M")


def test_outside_issue_ages_there_is_no_price():
    assert math.isnan(rate_per_1000(BY_CODE["CI02"], 30, "M"))
