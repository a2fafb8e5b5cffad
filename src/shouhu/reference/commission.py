"""Commission rates of the synthetic insurer by channel and product type (first year and renewal).

Neither ../shared/reference nor this package held commission rates, so this is a documented
reference table, not any insurer's filed schedule. Rates are shares of the premium received:

* ``first_year``: on the first policy year's premium (首年佣金率);
* ``renewal``: on each renewal premium of policy years 2..``renewal_years + 1`` (续期佣金率);
* ``single``: on a single premium (趸交), paid once.

Basis. The orders of magnitude follow what is publicly reported for the Chinese market and are
set as assumptions for the synthetic book: agency protection business (term, critical illness)
pays the largest first-year commission, a third of the premium or more, with small renewal
commissions over the next four years; savings business (annuity, endowment, increasing whole life)
pays less; bancassurance pays a few percent, since the regulator's "报行合一" rule (the commission
paid must equal the one filed with the product's pricing; bancassurance from 2023, the agency
channel from 2025) cut bank commissions; internet platforms charge a technical-service fee on
each premium, shown here as commission; the group channel and the insurer's own app pay none.
Check against the insurer's filed 费用 assumptions before any real use. Channel marketing spend
(``src_marketing_spend``) is a separate cost, added on top in :mod:`shouhu.channels.roi`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommissionRate:
    first_year: float
    renewal: float
    renewal_years: int  # renewal commission is paid in policy years 2 .. renewal_years + 1
    single: float


R = CommissionRate
# (channel, product type) -> rate; "*" is the channel's default for a product type not listed.
RATES: dict[tuple[str, str], CommissionRate] = {
    ("agent", "*"): R(0.25, 0.05, 4, 0.03),
    ("agent", "term_life"): R(0.40, 0.05, 4, 0.05),
    ("agent", "whole_life"): R(0.35, 0.08, 4, 0.05),
    ("agent", "increasing_whole_life"): R(0.20, 0.05, 4, 0.04),
    ("agent", "critical_illness"): R(0.40, 0.08, 4, 0.05),
    ("agent", "medical"): R(0.15, 0.10, 5, 0.10),
    ("agent", "accident"): R(0.25, 0.15, 5, 0.15),
    ("agent", "annuity"): R(0.20, 0.05, 4, 0.03),
    ("agent", "endowment"): R(0.15, 0.04, 4, 0.03),
    ("agent", "universal"): R(0.15, 0.03, 4, 0.03),
    ("agent", "unit_linked"): R(0.10, 0.02, 4, 0.02),
    ("bancassurance", "*"): R(0.10, 0.02, 4, 0.02),
    ("bancassurance", "critical_illness"): R(0.25, 0.05, 4, 0.03),
    ("bancassurance", "term_life"): R(0.25, 0.05, 4, 0.03),
    ("broker", "*"): R(0.30, 0.05, 4, 0.04),
    ("broker", "critical_illness"): R(0.45, 0.08, 4, 0.05),
    ("broker", "term_life"): R(0.45, 0.05, 4, 0.05),
    ("broker", "medical"): R(0.20, 0.15, 5, 0.15),
    ("broker", "accident"): R(0.30, 0.20, 5, 0.20),
    ("internet", "*"): R(0.20, 0.10, 5, 0.03),
    ("internet", "term_life"): R(0.30, 0.10, 5, 0.05),
    ("internet", "medical"): R(0.25, 0.20, 5, 0.20),
    ("internet", "accident"): R(0.25, 0.20, 5, 0.20),
    ("group", "*"): R(0.0, 0.0, 0, 0.0),
    ("direct", "*"): R(0.0, 0.0, 0, 0.0),
}
NONE = R(0.0, 0.0, 0, 0.0)


def rate(channel: str, product_type: str | None) -> CommissionRate:
    """The rate of a channel and product type; else the channel's ``*`` row; else none (no commission)."""
    return RATES.get((channel, product_type or ""), RATES.get((channel, "*"), NONE))
