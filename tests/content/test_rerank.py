"""Re-ranking rules (gaps, life stage, reading, signals), explanations, and the compliance filters."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from shouhu.content.recommend import Candidate, Profile, profile_query, reasons, recommend, valid
from tests.content.factories import make_item, published, shipped

PARENT = Profile("c1", 31, "young_family", 1, 2, needs={"education": 400000, "critical_illness": 900000},
                 gaps={"education": 400000, "critical_illness": 300000}, cover={"critical_illness": 600000})
ENC = "char_tfidf"


def _ids(profile: Profile | None, query: str = "", cands: list[Candidate] | None = None, k: int = 5) -> list[str]:
    return [r.item_id for r in recommend(cands or published(), profile, query=query, k=k, encoder_name=ENC)]


def _by_id(item_id: str) -> Candidate:
    return next(c for c in published() if c.item.item_id == item_id)


def test_a_parent_without_an_education_fund_gets_it_first_and_is_told_why() -> None:
    recs = recommend(published(), PARENT, encoder_name=ENC)
    assert recs[0].item_id == "education-fund-planning"
    assert recs[0].explain("en").startswith("because you have a 2-year-old and no education fund")
    assert recs[0].explain("zh").startswith("因为您有一个2岁的孩子,还没有教育金保障")


def test_closing_the_gap_moves_the_item_down() -> None:
    funded = replace(PARENT, gaps={"critical_illness": 300000}, cover={"education": 400000,
                                                                      "critical_illness": 600000})
    assert _ids(PARENT).index("education-fund-planning") < _ids(funded, k=20).index("education-fund-planning")


def test_a_gap_reason_weighs_the_share_of_the_need_still_open() -> None:
    item = _by_id("ci-how-much").item
    small = replace(PARENT, gaps={"critical_illness": 90000})

    def gap_weight(p: Profile) -> float:
        return next(r.weight for r in reasons(item, p) if "short" in r.en)

    assert gap_weight(PARENT) == pytest.approx(0.6 * 300000 / 900000)
    assert gap_weight(PARENT) > gap_weight(small) > 0


def test_a_life_stage_mismatch_is_a_penalty_and_said_so() -> None:
    retiree = Profile("c2", 67, "retired")
    why = reasons(_by_id("first-insurance-young").item, retiree)
    assert [r.weight < 0 for r in why] == [True]
    assert "first-insurance-young" not in _ids(retiree)
    young = Profile("c3", 24, "young_single")
    assert _ids(young, "第一份保险")[0] == "first-insurance-young"


def test_items_already_read_are_lowered_and_signals_raise_related_ones() -> None:
    read = replace(PARENT, read=frozenset({"education-fund-planning"}))
    assert _ids(read)[0] != "education-fund-planning"
    plain = Profile("c4", 40, "established_family")
    curious = replace(plain, signals={"pension": 1.0})
    assert _ids(curious, k=20).index("pension-planning") < _ids(plain, k=20).index("pension-planning")


def test_a_query_comes_first_and_the_profile_only_breaks_near_ties() -> None:
    assert _ids(None, "癌症治疗要花多少钱")[0] == "cancer-costs"
    assert "cancer-costs" in _ids(PARENT, "癌症治疗要花多少钱")[:2]
    assert _ids(PARENT, "宝宝住院怎么报销")[0] == "kids-protection-order"
    assert _ids(PARENT)[0] == "education-fund-planning"  # without the query the gap leads
    assert "教育金" in profile_query(PARENT)


def test_only_published_items_are_recommended() -> None:
    cands = [Candidate(c.item, s) for c, s in zip(published(), ["draft", "in_review", "approved", "retired"] * 10,
                                                   strict=False)]
    assert _ids(PARENT, cands=cands) == []
    live = [Candidate(_by_id("ci-basics").item, "published"), *cands]
    assert _ids(PARENT, cands=live) == ["ci-basics"]


def test_expired_items_agent_items_and_items_a_rule_now_forbids_are_filtered() -> None:
    day = date(2026, 12, 7)
    expired = Candidate(make_item(item_id="old-rate", extra="valid_until: 2026-01-31"), "published")
    fresh = Candidate(make_item(item_id="new-rate", extra="valid_until: 2027-01-31"), "published")
    agent = _by_id("agent-education-talk")
    forbidden = Candidate(make_item(item_id="bad-claim", body="这份保单比银行存款划算。"), "published")
    assert [valid(c, day) for c in (expired, fresh, agent, forbidden)] == [False, True, False, False]
    assert valid(agent, day, audience="agent")
    assert "agent-education-talk" not in _ids(PARENT, "教育金", k=20)
    assert all(c.item.audience == "customer" or c.item.item_id == "agent-education-talk" for c in published())
    assert len(shipped()) == len(published())
