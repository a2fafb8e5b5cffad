"""Programme configuration, earning rules and caps, status tiers, reward tables, membership levels."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouhu.errors import ConfigError, InvalidInput, UnknownName
from shouhu.health import config, membership, points, status
from shouhu.health.config import SHIPPED

P = config.shipped()
STEPS = P.categories["steps"]


def _edited(old: str, new: str) -> str:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


# --- configuration -------------------------------------------------------------------------------------

def test_shipped_programme_keeps_status_out_of_reach_of_one_activity() -> None:
    first = P.tiers[1].min_points
    assert all(c.annual_cap < first for c in P.categories.values())
    assert sum(c.annual_cap for c in P.categories.values()) >= P.tiers[-1].min_points
    assert [t.min_points for t in P.tiers] == [0, 3500, 7000, 10000]


@pytest.mark.parametrize(("old", "new", "key"), [
    ("annual_cap = 3400", "annual_cap = 3500", "categories.steps.annual_cap"),
    ("premium_discount_pct = 15", "premium_discount_pct = 20", "rewards.CI03.tiers.gold.premium_discount_pct"),
    ("[rewards.MD02]", "[rewards.XX99]", "rewards.XX99"),
    ('vouchers = ["coffee", "dental_clean"]', 'vouchers = ["spa"]', "rewards.CI03.tiers.bronze.vouchers"),
    ('year_start = "01-01"', 'year_start = "02-29"', "programme.year_start"),
    ("carry_share = 0.25", "carry_share = 1.5", "programme.carry_share"),
    ("thresholds = [[5000, 5], [7500, 10], [10000, 15]]", "thresholds = [[5000, 5], [4000, 10]]",
     "categories.steps.bands[0].thresholds"),
    ("[service_levels.silver]", "[service_levels.bronze]", "service_levels.silver"),
])
def test_a_broken_programme_names_the_key(old: str, new: str, key: str) -> None:
    with pytest.raises(ConfigError) as e:
        config.parse(_edited(old, new), "p.toml")
    assert key in e.value.message and e.value.message.startswith("p.toml: ")


def test_a_higher_tier_may_not_get_less(tmp_path: Path) -> None:
    text = _edited("[rewards.CI03.tiers.silver]\npremium_discount_pct = 10",
                   "[rewards.CI03.tiers.silver]\npremium_discount_pct = 4")
    with pytest.raises(ConfigError, match=r"rewards\.CI03\.tiers\.silver"):
        config.parse(text)
    (tmp_path / "p.toml").write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    assert config.load(tmp_path / "p.toml") == P


def test_programme_years_start_on_the_configured_day() -> None:
    p = config.parse(_edited('year_start = "01-01"', 'year_start = "04-01"'))
    assert p.year_of(date(2026, 3, 31)) == 2025 and p.year_of(date(2026, 4, 1)) == 2026
    assert P.year_of(date(2026, 1, 1)) == 2026 and P.year_starts(2026) == date(2026, 1, 1)


# --- earning rules -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("steps", "minutes", "age", "expected"), [
    (4999, None, 40, 0), (5000, None, 40, 5), (7500, None, 40, 10), (12000, None, 40, 15),
    (3500, None, 65, 5), (5500, None, 65, 10), (7500, None, 65, 15),  # age-adjusted bands from 60
    (3500, None, 59, 0), (3500, None, None, 0),                       # unknown age: the first band group
    (1000, 45, 40, 10), (8000, 30, 40, 10), (None, 60, 30, 15),      # active minutes as an alternative
])
def test_step_bands(steps: int | None, minutes: int | None, age: int | None, expected: int) -> None:
    assert points.step_points(STEPS, steps, minutes, age) == expected


def test_caps_cut_to_what_is_left_of_the_day_and_the_year() -> None:
    assert points.capped(15, STEPS, earned_this_year=3390) == 10
    assert points.capped(15, STEPS, earned_this_year=3400) == 0
    quiz = P.categories["quiz"]
    assert points.capped(100, quiz, 0, earned_today=100) == 0


def test_events_earn_once_per_day_cap_and_stop_at_the_annual_cap() -> None:
    day = date(2026, 3, 1)
    quizzes = [points.Event("C1", "quiz", f"q{i}", day) for i in range(3)]
    lots = points.event_entries(P, quizzes, {}, day)
    assert [(e.key, e.points) for e in lots] == [("earn:quiz:C1:q0", 100)]  # daily cap 100: one quiz a day
    checks = [points.Event("C1", "health_check", "hc-2026", day), points.Event("C2", "health_check", "hc-1", day)]
    lots = points.event_entries(P, checks, {("C1", "health_check"): 2500}, day)
    assert [(e.customer_id, e.points) for e in lots] == [("C1", 500), ("C2", 3000)]
    assert lots[0].expires_on == date(2026, 8, 28) and lots[0].programme_year == 2026


def test_no_single_activity_reaches_a_status_in_a_year_of_maximum_effort() -> None:
    earned = 0
    for _ in range(366):
        earned += points.capped(points.step_points(STEPS, 30000, 120, 35), STEPS, earned)
    assert earned == STEPS.annual_cap
    assert status.tier_for(P, earned).code == "blue"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 30000)), st.one_of(st.none(), st.integers(0, 200)),
                          st.one_of(st.none(), st.integers(0, 110)), st.integers(0, 3500)), min_size=1, max_size=40))
def test_vectorised_scoring_equals_the_rule_for_one_member(rows: list[tuple[int | None, ...]]) -> None:
    frame = pd.DataFrame(rows, columns=["steps", "active_minutes", "age", "earned_steps_year"])
    frame["age"] = frame["age"].astype("Float64")
    got = points.score_steps(P, frame).tolist()
    want = [points.capped(points.step_points(STEPS, s, m, a), STEPS, y) for s, m, a, y in rows]  # type: ignore[arg-type]
    assert got == want


# --- status and rewards --------------------------------------------------------------------------------

def test_tiers_are_reached_in_a_year_and_held_through_the_next() -> None:
    assert [status.tier_for(P, n).code for n in (0, 3499, 3500, 6999, 7000, 10000, 99999)] == \
        ["blue", "blue", "bronze", "bronze", "silver", "gold", "gold"]
    assert status.in_force(P, last_year_points=7200, this_year_points=100).code == "silver"     # held
    assert status.in_force(P, last_year_points=3600, this_year_points=10100).code == "gold"     # upgrade at once
    prog = status.progress(P, this_year_points=4000, last_year_points=7200)
    assert (prog.tier.code, prog.next_tier.code if prog.next_tier else None, prog.points_to_next) == \
        ("silver", "silver", 3000)


def test_rewards_come_only_from_the_products_table() -> None:
    assert status.discounted_premium(P, "CI03", "gold", 1_234_567) == 1_049_382   # 15% off, half a fen up
    assert status.discounted_premium(P, "CI03", "blue", 500_000) == 500_000
    with pytest.raises(UnknownName, match="product with a reward table 'TL01'"):
        status.discounted_premium(P, "TL01", "gold", 100)
    with pytest.raises(InvalidInput, match="not in the blue row of CI03"):
        status.voucher_for(P, "CI03", "blue", "sports_watch")
    assert status.voucher_for(P, "CI03", "gold", "sports_watch").points == 4000


def test_cover_grows_with_qualifying_days_up_to_the_tiers_cap() -> None:
    base = 50_000_000  # 500,000 yuan in fen
    days = status.qualifying_days([4999, 5000, None, 12000, 7000], 5000)
    assert days == 3
    assert status.cover_growth(P, "TL03", "blue", base, days) == 75_000            # 3 × 5 bp
    assert status.cover_growth(P, "TL03", "blue", base, 365) == 2_500_000          # capped at 5%
    assert status.cover_growth(P, "TL03", "gold", base, 365) == 9_125_000          # 365 × 5 bp < 20%
    assert status.cover_growth(P, "CI03", "gold", base, 365) == 0                  # no cover growth on CI03


# --- membership by value -------------------------------------------------------------------------------

def test_value_tiers_set_service_levels_and_changes_carry_a_reason() -> None:
    assert membership.level(P, "platinum").response_minutes == 30
    assert membership.level(P, None).tier == "standard"
    found = membership.changes(P, {"C1": "silver", "C2": "gold", "C3": "gold"},
                               {"C1": "gold", "C2": "gold", "C4": "platinum"})
    assert [(c.customer_id, c.from_tier, c.to_tier) for c in found] == \
        [("C1", "silver", "gold"), ("C3", "gold", "standard"), ("C4", None, "platinum")]
    up, down, first = found
    assert "由白银会员升级为黄金会员" in up.reason_zh and "2 小时" in up.reason_zh and "就医绿色通道" in up.reason_zh
    assert "has risen to Gold member" in up.reason_en
    assert "调整为标准会员" in down.reason_zh and "has changed to" in down.reason_en
    assert first.reason_zh.startswith("您的会员等级为白金会员") and "30 分钟" in first.reason_zh
    with pytest.raises(UnknownName, match="value tier"):
        membership.level(P, "diamond")
