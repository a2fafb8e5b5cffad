"""Suitability rules of 《金融机构产品适当性管理办法》: validity, unassessed protection, elderly, 双录, 犹豫期."""

from __future__ import annotations

from datetime import date

from shouhu.advice.gaps import household_gaps
from shouhu.advice.plan import recommend
from shouhu.advice.review import build_review
from shouhu.advice.rules import RULES
from shouhu.advice.suitability import MemoryCheckLog, check_product, double_recording_triggers
from shouhu.reference.products import BY_CODE
from tests.advice.factories import AS_OF, make_person, make_policy, young_professional


def test_an_expired_assessment_counts_as_none_but_p1_protection_stays_open() -> None:
    person = make_person()
    stale = dict(risk_level="R4", seller_grade="Q3", assessed_on=date(2025, 10, 1), as_of=AS_OF)  # 395 days
    fresh = dict(risk_level="R4", seller_grade="Q3", assessed_on=date(2026, 6, 1), as_of=AS_OF)
    ul = BY_CODE["UL01"]  # P3 universal life
    assert check_product(person, ul, **fresh).passed  # type: ignore[arg-type]
    v = check_product(person, ul, **stale)  # type: ignore[arg-type]
    assert not v.passed and "风险测评已超过365天有效期" in v.why() and "风险测评有效期" in v.why()
    assert v.reasons[0].inputs["assessment"] == "expired" and v.reasons[0].inputs["stale_level"] == "R4"
    term = check_product(person, BY_CODE["TL01"], **stale)  # type: ignore[arg-type]
    assert term.passed and "P1保障型产品可推荐" in term.checks[0].zh
    assert term.checks[0].inputs["rule"] == "protection_without_assessment"


def test_unassessed_customer_gets_p1_protection_but_no_savings_product() -> None:
    hh = young_professional()
    rec = recommend(hh, household_gaps(hh, [], AS_OF), [], risk_level=None, budget=15_000)
    assert rec.plan.items and all(BY_CODE[i.product_code].risk_grade.value == "P1" for i in rec.plan.items)
    savings = [b for b in rec.blocked if b["product_code"] == "AN01"]
    assert savings and "须先完成风险测评" in savings[0]["zh"] and "《金融机构产品适当性管理办法》" in savings[0]["zh"]


def test_elderly_rules() -> None:
    old = make_person(age=66)
    v = check_product(old, BY_CODE["IL02"], risk_level="R5", seller_grade="Q3")
    assert not v.passed and {c.check for c in v.reasons} == {"elderly", "issue_age"}
    il01 = check_product(make_person(age=65), BY_CODE["IL01"], risk_level="R5", seller_grade="Q3")
    assert not il01.passed and "65岁及以上不推荐P4投资型产品" in il01.why() and "内控规则" in il01.why()
    at_61 = check_product(make_person(age=61), BY_CODE["WL02"], risk_level="R3", seller_grade="Q2")
    assert at_61.passed and "须充分提示风险并双录" in at_61.checks[4].zh


def test_double_recording_triggers() -> None:
    assert double_recording_triggers(40, BY_CODE["WL01"], "bancassurance") == ["bancassurance_long_term"]
    assert double_recording_triggers(40, BY_CODE["AC01"], "bancassurance") == []  # one-year cover
    assert double_recording_triggers(62, BY_CODE["CI01"], "agent") == ["holder_60_plus_long_term"]
    assert double_recording_triggers(30, BY_CODE["UL01"], "internet") == ["investment_type_product"]
    log = MemoryCheckLog()
    check_product(make_person(age=62), BY_CODE["WL02"], risk_level="R3", seller_grade="Q2", log=log,
                  channel="bancassurance")
    rec = [r for r in log.records() if r.check == "double_recording"]
    assert rec and rec[0].passed and rec[0].inputs["triggers"] == ["bancassurance_long_term",
                                                                   "holder_60_plus_long_term"]
    assert "保监发〔2017〕54号" in rec[0].zh


def test_cool_off_is_tracked_in_the_review() -> None:
    hh = young_professional()
    new = make_policy(policy_no="NEW", insured_id="YP", holder_id="YP", issue_date=date(2026, 10, 20),
                      coverage_term_years=20)
    one_year = make_policy(policy_no="ONE", insured_id="YP", holder_id="YP", issue_date=date(2026, 10, 25),
                           coverage_term_years=1, product_type="accident", coverages={"accident": 100_000.0})
    old = make_policy(policy_no="OLD", insured_id="YP", holder_id="YP", issue_date=date(2026, 10, 1))
    assert new.cool_off_end == date(2026, 11, 4) and one_year.cool_off_end is None
    review = build_review(hh, [new, one_year, old], household_gaps(hh, [new, one_year, old], AS_OF), AS_OF)
    lines = {x.policy.policy_no: x.cool_off_until for x in review.members[0].policies}
    assert lines == {"NEW": date(2026, 11, 4), "ONE": None, "OLD": None}  # OLD's ended 2026-10-16


def test_every_rule_names_its_source() -> None:
    for rule in RULES.values():
        assert rule.source and rule.article and rule.zh and rule.en
        # the Chinese citation drops the English gloss of the source; the English one keeps it
        assert rule.source.replace(" (product terms)", "") in rule.cite() and rule.zh in rule.cite()
        assert rule.source in rule.cite("en") and rule.en in rule.cite("en")
