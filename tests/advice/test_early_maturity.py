"""Cover that ends before the need date: protection does not count, education and pension money does."""

from __future__ import annotations

from datetime import date

from shouhu.advice.gaps import person_gaps
from shouhu.model.vocab import CoverageType as C
from tests.advice.factories import AS_OF, make_person, make_policy


def test_17_year_old_education_fund_that_matured_before_18_counts() -> None:
    child = make_person(person_id="K17", age=17, sex="F", annual_income=0.0, role="child")
    fund = make_policy(policy_no="EN-17", insured_id="K17", holder_id="MUM", product_type="endowment",
                       coverages={"education": 100_000.0, "life": 100_000.0}, issue_date=date(2011, 9, 1),
                       coverage_term_years=15, premium_term_years=10, status="matured",
                       status_date=date(2026, 9, 1))
    term = make_policy(policy_no="AC-1Y", insured_id="K17", product_type="accident",
                       coverages={"accident": 300_000.0}, issue_date=date(2026, 1, 1), coverage_term_years=1)
    gaps = {g.coverage: g for g in person_gaps(child, [fund, term], AS_OF)}
    edu = gaps[C.EDUCATION]
    # need: 30,000 × (22 − 17) = 150,000 by the 18th birthday (2027-10-31); the fund paid 100,000 on 2026-09-01
    assert edu.need.amount == 150_000 and edu.horizon == date(2027, 10, 31)
    assert edu.existing == 100_000 and edu.expiring == 0 and edu.gap == 50_000
    assert edu.to_dict()["matured_before_need"] == 100_000
    # protection is different: the matured fund's life cover protects nothing any more; the one-year accident
    # policy (to 2027-01-01) counts, the accident need's horizon being today (yearly renewable cover)
    assert gaps[C.LIFE].existing == 0 and gaps[C.ACCIDENT].existing == 300_000


def test_pension_annuity_maturing_before_retirement_counts_but_term_life_does_not() -> None:
    p = make_person(person_id="P50", age=50, sex="M", annual_income=300_000.0, retirement_age=63)
    annuity = make_policy(policy_no="AN-10", insured_id="P50", product_type="annuity", coverages={"pension": 400_000.0},
                          issue_date=date(2020, 1, 1), coverage_term_years=10, premium_term_years=1)
    term = make_policy(policy_no="TL-10", insured_id="P50", product_type="term_life", coverages={"life": 400_000.0},
                       issue_date=date(2020, 1, 1), coverage_term_years=10)
    gaps = {g.coverage: g for g in person_gaps(p, [annuity, term], AS_OF, "human_life_value")}
    assert gaps[C.PENSION].existing == 400_000 and gaps[C.PENSION].extra == {"matured_before_need": 400_000}
    assert gaps[C.LIFE].existing == 0 and gaps[C.LIFE].expiring == 400_000  # ends 2030, need runs to 63
