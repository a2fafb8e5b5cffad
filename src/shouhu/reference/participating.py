"""Participating (分红) products: guaranteed benefits plus a non-guaranteed dividend illustration.

A participating policy's fund (premiums less the loading) accumulates at the guaranteed rate
(:func:`shouhu.reference.products.pricing_interest`, within the participating cap). Dividends are not
guaranteed: the illustration (利益演示) shows them under three investment-return scenarios, low,
medium and high, and may not show returns above the scenario limits (:data:`ILLUSTRATION_LIMITS`).
The yearly dividend is the policyholders' share (:data:`POLICYHOLDER_SHARE`, 70%: the participating
rules require at least 70% of the distributable surplus to go to policyholders) of the surplus of the
scenario return over the guaranteed rate, on the fund at the start of the year.

The scenario limits (1.5% / 3.0% / 4.5%) are this project's assumption, modelled on the three-scenario
rule of the participating insurance actuarial provisions (分红保险精算规定); the current regulatory
figures must be checked before real use. Every illustration labels its dividends 不保证 (not
guaranteed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shouhu.errors import InvalidInput
from shouhu.reference.products import Product, pricing_interest

ILLUSTRATION_LIMITS: dict[str, float] = {"low": 0.015, "medium": 0.030, "high": 0.045}
POLICYHOLDER_SHARE = 0.70
NOT_GUARANTEED = "红利不保证 / dividends are not guaranteed"


@dataclass(frozen=True)
class IllustrationYear:
    year: int
    guaranteed_fund: float
    dividend: dict[str, float]  # by scenario, paid at the end of the year
    accumulated_dividends: dict[str, float]  # left to accumulate at the guaranteed rate


def illustrate(product: Product, annual_premium: float, years: int, *, on: date | None = None,
               returns: dict[str, float] | None = None) -> list[IllustrationYear]:
    """Year-by-year guaranteed fund and illustrated dividends for ``years`` policy years."""
    if not product.participating:
        raise InvalidInput(f"{product.code} is not a participating product", product=product.code)
    if annual_premium <= 0 or years < 1:
        raise InvalidInput("the premium must be positive and the years at least 1")
    returns = dict(ILLUSTRATION_LIMITS if returns is None else returns)
    for scenario, r in returns.items():
        limit = ILLUSTRATION_LIMITS.get(scenario)
        if limit is None:
            raise InvalidInput(f"unknown illustration scenario {scenario!r}", allowed=sorted(ILLUSTRATION_LIMITS))
        if r > limit:
            raise InvalidInput(f"the {scenario} illustration may not assume a return above {limit:.2%}",
                               scenario=scenario, rate=r)
    g = pricing_interest(product, on)
    fund, out = 0.0, []
    acc = dict.fromkeys(returns, 0.0)
    for t in range(1, years + 1):
        if t <= product.pay_years:
            fund += annual_premium * (1.0 - product.loading)
        dividend = {s: round(fund * max(0.0, r - g) * POLICYHOLDER_SHARE, 2) for s, r in returns.items()}
        fund *= 1.0 + g
        acc = {s: round(acc[s] * (1.0 + g) + dividend[s], 2) for s in returns}
        out.append(IllustrationYear(t, round(fund, 2), dividend, acc))
    return out
