"""Status tiers and the rewards they unlock.

* A tier is **reached** by the status points earned in one programme year and **held** through the next
  year. The tier in force is the higher of the tier held from last year and the tier reached so far this
  year, so an upgrade applies at once and a quiet year never demotes before it ends.
* Rewards come only from the **guaranteed reward table attached to the product** (``[rewards.<product>]``
  in programme.toml): the premium discount of the tier, the i动保-style cover growth cap, and the
  vouchers the tier may buy with points. There is no way to pass an ad-hoc discount or price: every
  function here looks the numbers up. Money is integer fen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shouhu.errors import InvalidInput, UnknownName
from shouhu.health.config import Programme, RewardTable, Tier, TierReward, Voucher


def tier_for(programme: Programme, points: int) -> Tier:
    """The highest tier whose threshold ``points`` reaches."""
    reached = programme.tiers[0]
    for t in programme.tiers:
        if points >= t.min_points:
            reached = t
    return reached


def tier(programme: Programme, code: str) -> Tier:
    for t in programme.tiers:
        if t.code == code:
            return t
    raise UnknownName("status tier", code, [t.code for t in programme.tiers])


def in_force(programme: Programme, last_year_points: int, this_year_points: int) -> Tier:
    """The tier that applies now: the held one (reached last year) or the one reached this year, if higher."""
    held, reached = tier_for(programme, last_year_points), tier_for(programme, this_year_points)
    return reached if reached.min_points > held.min_points else held


@dataclass(frozen=True)
class Progress:
    tier: Tier
    next_tier: Tier | None
    points_to_next: int


def progress(programme: Programme, this_year_points: int, last_year_points: int = 0) -> Progress:
    current = in_force(programme, last_year_points, this_year_points)
    reached = tier_for(programme, this_year_points)
    nxt = next((t for t in programme.tiers if t.min_points > reached.min_points), None)
    return Progress(current, nxt, 0 if nxt is None else nxt.min_points - this_year_points)


def table(programme: Programme, product_code: str) -> RewardTable:
    found = programme.rewards.get(product_code)
    if found is None:
        raise UnknownName("product with a reward table", product_code, list(programme.rewards))
    return found


def reward(programme: Programme, product_code: str, tier_code: str) -> TierReward:
    return table(programme, product_code).tiers[tier(programme, tier_code).code]


def discounted_premium(programme: Programme, product_code: str, tier_code: str, premium_fen: int) -> int:
    """The renewal premium after the table's discount for the tier (the discount rounded half up to a fen)."""
    if premium_fen < 0:
        raise InvalidInput("premium_fen: must not be negative", field="premium_fen")
    pct = reward(programme, product_code, tier_code).premium_discount_pct
    return premium_fen - (premium_fen * pct + 50) // 100


def qualifying_days(daily_steps: Iterable[int | None], threshold: int) -> int:
    return sum(1 for s in daily_steps if s is not None and threshold > 0 and s >= threshold)


def cover_growth(programme: Programme, product_code: str, tier_code: str, base_sum_assured_fen: int,
                 days: int) -> int:
    """i动保-style cover accrual in a programme year: each qualifying day adds the table's basis points of
    the base sum assured, up to the tier's annual cap. Integer fen, rounded down."""
    if base_sum_assured_fen < 0 or days < 0:
        raise InvalidInput("base_sum_assured_fen and days must not be negative", field="base_sum_assured_fen")
    t = table(programme, product_code)
    cap = base_sum_assured_fen * reward(programme, product_code, tier_code).cover_growth_cap_pct // 100
    return min(base_sum_assured_fen * t.cover_growth_bp_per_day * days // 10_000, cap)


def vouchers(programme: Programme, product_code: str, tier_code: str) -> list[Voucher]:
    return [programme.vouchers[v] for v in reward(programme, product_code, tier_code).vouchers]


def voucher_for(programme: Programme, product_code: str, tier_code: str, voucher_code: str) -> Voucher:
    """The voucher at its listed points price, if the tier's row of the product's table offers it."""
    allowed = reward(programme, product_code, tier_code).vouchers
    if voucher_code not in allowed:
        raise InvalidInput(f"voucher: {voucher_code!r} is not in the {tier_code} row of {product_code}'s reward "
                           f"table; offered: {', '.join(allowed) or '(none)'}", field="voucher")
    return programme.vouchers[voucher_code]


__all__ = ["Progress", "cover_growth", "discounted_premium", "in_force", "progress", "qualifying_days", "reward",
           "table", "tier", "tier_for", "voucher_for", "vouchers"]
