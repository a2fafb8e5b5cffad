"""New-business value (NBV, 新业务价值) at issue and the commission it costs, per policy.

NBV here is the present value, at the issue date, of the profits the product's pricing builds into
the policy, before acquisition commission; the commission is valued on the same basis so that
the channel report can take it off as a cost. It is *not* today's in-force value
(:mod:`shouhu.scoring.value`): it looks only at what was known when the policy was sold.

Regular premium ``P`` a year, ``n`` premium years (the contract boundary: one year for one-year
cover, capped at ``MAX_YEARS``), insured aged ``x`` at issue, annual lapse ``l`` and risk discount
rate ``i``::

    S_t        = (1 - l)^t · ₜpₓ                         (in force at the start of policy year t+1)
    PV premium = P · Σ_{t=0..n-1} S_t v^t                 (premiums in advance, v = 1/(1+i))
    NBV        = m · PV premium                           (m = MARGIN_RATES[product type])
    commission = P · (c₁ + c_r · Σ_{t=1..min(R, n-1)} S_t v^t)

``c₁``/``c_r``/``R`` are the first-year rate, renewal rate and renewal years of
:mod:`shouhu.reference.commission`. A single premium ``F`` (趸交) earns the fund spread ``s`` of
:data:`shouhu.scoring.value.FUND_SPREAD` over its cover years ``c`` (whole life: ``MAX_YEARS``)::

    NBV = F · s · Σ_{t=1..c} S_t v^t,     commission = c_single · F

``ₜpₓ`` comes from CL(2010-2013) table I (CL1 male / CL2 female). ``i`` is :data:`NBV_DISCOUNT`
(8%): an embedded-value style risk discount rate, an assumption of this project (listed Chinese
insurers disclose their own, in the high single digits), not the 3% used for customer value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shouhu.errors import InvalidInput
from shouhu.reference import commission as comm
from shouhu.reference.mortality import MAX_AGE, qx_vector
from shouhu.scoring.value import DEFAULT_MARGIN, FUND_SPREAD, MARGIN_RATES, MAX_YEARS, SAVINGS_TYPES

NBV_DISCOUNT = 0.08


@dataclass(frozen=True)
class IssueValue:
    pv_premium: float
    nbv: float  # before commission
    commission: float

    @property
    def after_commission(self) -> float:
        return self.nbv - self.commission


def survival(age: int, female: bool, lapse: float, years: int) -> np.ndarray:
    """S_t for t = 0..years (module docstring)."""
    if not 0.0 <= lapse <= 1.0:
        raise InvalidInput("the lapse rate must lie between 0 and 1", lapse=lapse)
    q = qx_vector("F" if female else "M")
    ages = np.minimum(np.clip(age, 0, MAX_AGE) + np.arange(years), MAX_AGE)
    tpx = np.concatenate([[1.0], np.cumprod(1.0 - q[ages])])
    return np.asarray((1.0 - lapse) ** np.arange(years + 1) * tpx)


def issue_value(*, premium: float, single: bool, product_type: str | None, channel: str, age: int,
                female: bool, pay_years: int | None, cover_years: int | None, lapse: float,
                discount: float = NBV_DISCOUNT) -> IssueValue:
    """NBV and commission of one policy at issue (module docstring)."""
    if discount <= -1:
        raise InvalidInput("the discount rate must be above -100%", discount=discount)
    if premium < 0:
        raise InvalidInput("the premium must not be negative", premium=premium)
    rate = comm.rate(channel, product_type)
    v = 1.0 / (1.0 + discount)
    if single:
        c = MAX_YEARS if not cover_years or cover_years <= 0 else min(int(cover_years), MAX_YEARS)
        s = survival(age, female, lapse, c)
        spread = FUND_SPREAD["savings" if product_type in SAVINGS_TYPES else "protection"]
        t = np.arange(1, c + 1)
        return IssueValue(premium, float(premium * spread * np.sum(s[1:] * v**t)), premium * rate.single)
    n = max(1, min(int(pay_years or 1), MAX_YEARS))
    s = survival(age, female, lapse, n)
    t = np.arange(n)
    pv = float(premium * np.sum(s[:n] * v**t))
    margin = MARGIN_RATES.get(product_type or "", DEFAULT_MARGIN)
    r = min(rate.renewal_years, n - 1)
    renewals = float(np.sum(s[1:r + 1] * v ** np.arange(1, r + 1))) if r > 0 else 0.0
    return IssueValue(pv, margin * pv, premium * (rate.first_year + rate.renewal * renewals))
