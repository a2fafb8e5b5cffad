"""Budget for new cover: only premiums actually due in the next 12 months are taken off (worked by hand)."""

from __future__ import annotations

from datetime import date

from shouhu.advice.gaps import household_gaps
from shouhu.advice.methods import Assumptions
from shouhu.advice.plan import household_budget, recommend
from shouhu.advice.premiums import due_next_12_months, household_premiums_due
from tests.advice.factories import AS_OF, family_of_four, family_policies, make_policy


def _single_premium_book() -> list:  # type: ignore[type-arg]
    return [
        *family_policies(),
        # 1,000,000 yuan single premium (趸交) paid 2025-03-01: nothing more is ever due
        make_policy(policy_no="IW-SINGLE", insured_id="HEAD", holder_id="HEAD", product_type="increasing_whole_life",
                    coverages={"life": 950_000.0}, issue_date=date(2025, 3, 1), annual_premium=1_000_000.0,
                    payment_frequency="single", premium_term_years=1),
        # the same written as "annual, 1 year" (how some channel systems record a single premium)
        make_policy(policy_no="AN-SINGLE", insured_id="SPOUSE", holder_id="SPOUSE", product_type="annuity",
                    coverages={"pension": 300_000.0}, issue_date=date(2026, 2, 1), annual_premium=250_000.0,
                    payment_frequency="annual", premium_term_years=1),
        # whole life paid over 10 years from 2010: paid up since 2020
        make_policy(policy_no="WL-PAIDUP", insured_id="HEAD", holder_id="HEAD", product_type="whole_life",
                    coverages={"life": 200_000.0}, issue_date=date(2010, 5, 1), annual_premium=6_000.0,
                    premium_term_years=10),
        # monthly payer: 12 instalments of 500 fall in the next 12 months
        make_policy(policy_no="CI-MONTHLY", insured_id="SPOUSE", holder_id="SPOUSE", product_type="critical_illness",
                    coverages={"critical_illness": 300_000.0}, issue_date=date(2024, 7, 15), annual_premium=6_000.0,
                    payment_frequency="monthly", premium_term_years=20),
    ]


def test_single_premium_and_paid_up_policies_are_not_yearly_bills() -> None:
    pols = {p.policy_no: p for p in _single_premium_book()}
    assert due_next_12_months(pols["IW-SINGLE"], AS_OF) == 0
    assert due_next_12_months(pols["AN-SINGLE"], AS_OF) == 0
    assert due_next_12_months(pols["WL-PAIDUP"], AS_OF) == 0
    assert due_next_12_months(pols["CI-MONTHLY"], AS_OF) == 6_000  # 2026-11-15 … 2027-10-15
    assert due_next_12_months(pols["TL-OLD"], AS_OF) == 2_000
    # 2,000 + 8,000 + 340 + 340 (family) + 6,000 (monthly CI); the lapsed accident policy asks nothing
    assert household_premiums_due(list(pols.values()), {"HEAD", "SPOUSE", "KID6", "KID10"}, AS_OF) == 16_680


def test_family_with_a_single_premium_policy_still_gets_a_plan() -> None:
    hh, pols = family_of_four(), _single_premium_book()
    budget, ceiling, zh, en = household_budget(hh, pols, Assumptions(), None, AS_OF)
    # double-ten: 10% of 400,000 = 40,000 less 16,680 due; ceiling 15% = 60,000 less 16,680
    assert (budget, ceiling) == (23_320, 43_320)
    assert "趸交和已交清保单不计" in zh and "single-premium and paid-up" in en
    rec = recommend(hh, household_gaps(hh, pols, AS_OF), pols, risk_level="R3")
    assert rec.plan.budget == 23_320 and rec.plan.items and rec.plan.premium <= 23_320
    own = recommend(hh, household_gaps(hh, pols, AS_OF), pols, risk_level="R3", budget=20_000)
    assert own.plan.budget == 20_000 and own.plan.items
