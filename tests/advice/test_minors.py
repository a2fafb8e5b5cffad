"""Minors' death-benefit cap (保监发〔2015〕90号): 200,000 under 10, 500,000 at 10-17, across insurers."""

from __future__ import annotations

from datetime import date

from shouhu.advice.gaps import household_gaps
from shouhu.advice.minors import death_cap, death_cover_in_force
from shouhu.advice.model import Dependent, Household
from shouhu.advice.plan import recommend
from shouhu.advice.review import build_review
from shouhu.reference.products import BY_CODE
from tests.advice.factories import AS_OF, make_person, make_policy


def _family(child_age: int) -> Household:
    kid = (Dependent("child", child_age),)
    return Household("HH-K", (
        make_person(person_id="MUM", age=36, sex="F", annual_income=400_000.0, dependents=kid),
        make_person(person_id="KID", age=child_age, sex="F", annual_income=0.0, role="child"),
    ))


def _other_insurer_accident(amount: float) -> list:  # type: ignore[type-arg]
    return [make_policy(policy_no="EXT-AC", insured_id="KID", holder_id="MUM", product_type="accident",
                        coverages={"accident": amount}, issue_date=date(2026, 1, 1), coverage_term_years=1,
                        insurer="他司", source="external")]


def test_caps_by_age() -> None:
    assert [death_cap(a) for a in (0, 8, 9, 10, 17, 18)] == [200_000, 200_000, 200_000, 500_000, 500_000, None]


def test_child_of_8_plan_stays_within_200k_across_insurers() -> None:
    hh, pols = _family(8), _other_insurer_accident(150_000)
    assert death_cover_in_force("KID", pols) == 150_000
    rec = recommend(hh, household_gaps(hh, pols, AS_OF), pols, risk_level="R3", budget=30_000)
    death = 0.0
    for item in rec.plan.items:
        product = BY_CODE[item.product_code]
        if item.person_id == "KID" and product.basis in ("mortality", "critical_illness", "accident") \
                and any(c.value in ("life", "accident") for c in product.coverages):
            death += item.sum_assured
    assert death <= 50_000  # 200,000 cap less the other insurer's 150,000
    kid_items = {i.product_code: i.sum_assured for i in rec.plan.items if i.person_id == "KID"}
    assert kid_items.get("AC01", 0) <= 50_000


def test_child_of_8_with_cap_used_up_is_blocked_with_the_rule_named() -> None:
    hh, pols = _family(8), _other_insurer_accident(200_000)
    rec = recommend(hh, household_gaps(hh, pols, AS_OF), pols, risk_level="R3", budget=30_000)
    blocked = [b for b in rec.blocked if b.get("rule") == "minor_death_cap"]
    # CI01 pays its sum assured on death too; (AC01 is not offered at all: 200,000 of accident cover closes that gap)
    assert {b["product_code"] for b in blocked} == {"CI01"}
    assert "保监发〔2015〕90号" in blocked[0]["zh"] and "200,000" in blocked[0]["en"]
    assert not any(i.person_id == "KID" and i.product_code in ("AC01", "CI01") for i in rec.plan.items)
    assert any(i.person_id == "KID" and i.product_code == "CI02" for i in rec.plan.items)  # CI only: no death cover


def test_wallet_review_flags_death_cover_above_the_cap() -> None:
    hh = _family(12)
    pols = [*_other_insurer_accident(300_000),
            make_policy(policy_no="OUR-CI", insured_id="KID", holder_id="MUM", product_type="critical_illness",
                        coverages={"critical_illness": 300_000.0, "life": 300_000.0}, issue_date=date(2020, 1, 1))]
    review = build_review(hh, pols, household_gaps(hh, pols, AS_OF), AS_OF)
    kid = next(m for m in review.members if m.person.person_id == "KID")
    assert any("600,000" in n.zh and "500,000" in n.zh for n in kid.overlaps)
    assert not build_review(_family(12), _other_insurer_accident(300_000), household_gaps(
        _family(12), _other_insurer_accident(300_000), AS_OF), AS_OF).members[1].overlaps
