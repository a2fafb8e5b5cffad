"""Issue 12 item 10: CI priced on an incidence table, pricing interest within the cap, a participating product."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from shouhu.errors import InvalidInput
from shouhu.reference import participating
from shouhu.reference.critical_illness import incidence, incidence_vector
from shouhu.reference.mortality import qx, qx_vector
from shouhu.reference.products import (
    BY_CODE,
    SHELF,
    equivalence_net_per_1000,
    interest_cap,
    pricing_interest,
    rate_per_1000,
)


def test_interest_caps_by_date() -> None:
    assert interest_cap(date(2013, 1, 1)) == 0.025
    assert interest_cap(date(2020, 1, 1)) == 0.035
    assert interest_cap(date(2023, 7, 31)) == 0.035 and interest_cap(date(2023, 8, 1)) == 0.030
    assert interest_cap(date(2024, 8, 31)) == 0.030 and interest_cap(date(2024, 9, 1)) == 0.025
    assert interest_cap(date(2025, 8, 31)) == 0.025 and interest_cap(date(2025, 9, 1)) == 0.020
    assert interest_cap(date(2025, 9, 1), participating=True) < interest_cap(date(2025, 9, 1))


def test_every_product_is_priced_within_the_cap_of_its_launch_and_of_every_later_rate_book() -> None:
    for p in SHELF:
        assert pricing_interest(p) <= interest_cap(p.launched_on, participating=p.participating)
        for on in (date(2023, 8, 1), date(2024, 9, 1), date(2025, 9, 1), date(2026, 10, 31)):
            assert pricing_interest(p, max(on, p.launched_on)) <= interest_cap(on)


def test_a_lower_cap_raises_protection_premiums() -> None:
    tl01 = BY_CODE["TL01"]
    r35, r20 = rate_per_1000(tl01, 35, "M", date(2020, 1, 1)), rate_per_1000(tl01, 35, "M", date(2025, 9, 1))
    assert r20 > r35 * 1.02  # less interest earned, more premium


def test_ci_incidence_has_the_industry_shape() -> None:
    m, f = incidence_vector("M"), incidence_vector("F")
    assert np.all(np.diff(m[10:91]) > 0) and np.all(np.diff(f[10:91]) > 0)  # rises from the minimum at 10
    assert incidence(0, "M") > incidence(10, "M")  # childhood level above the minimum
    assert f[35] > m[35] and m[60] > f[60]  # women above men when young, men above women from ~50
    assert 0.0005 < incidence(30, "M") < 0.002 and 0.005 < incidence(50, "M") < 0.01
    # not a multiple of mortality: the ratio to qx moves a lot with age
    ratio = m / qx_vector("M")
    assert ratio[30] > 1.2 * ratio[70]


def test_ci_premium_equals_the_incidence_table_pricing_by_hand() -> None:
    ci03 = BY_CODE["CI03"]  # CI only, 30 years cover and pay, launched 2020 (3.5%)
    v, age, n = 1 / 1.035, 35, 30
    surv, benefit, annuity = 1.0, 0.0, 0.0
    for k in range(n):
        i, q = incidence(age + k, "F"), qx(age + k, "F")
        annuity += v**k * surv
        benefit += v ** (k + 1) * surv * i
        surv *= 1 - (i + q)
    assert rate_per_1000(ci03, age, "F") == pytest.approx(1000 * benefit / annuity / 0.70, rel=1e-10)


def test_ci_that_also_pays_on_death_costs_more() -> None:
    assert rate_per_1000(BY_CODE["CI01"], 30, "M") > 0
    q, i = qx_vector("M"), incidence_vector("M")
    both = equivalence_net_per_1000(np.minimum(1, i + q), 30, 0, 20, 0.035)
    ci_only = equivalence_net_per_1000(np.minimum(1, i + q), 30, 0, 20, 0.035, i)
    assert both > ci_only


def test_a_participating_product_is_on_the_shelf_with_an_illustration_within_the_limits() -> None:
    pa01 = next(p for p in SHELF if p.participating)
    assert pricing_interest(pa01) <= interest_cap(pa01.launched_on, participating=True)
    years = participating.illustrate(pa01, 10_000, 20)
    assert len(years) == 20
    g = pricing_interest(pa01)
    # guaranteed fund: 10 premiums less the loading, accumulated at the guaranteed rate
    fund = 0.0
    for t in range(1, 21):
        fund = (fund + (7_500.0 if t <= 10 else 0.0)) * (1 + g)
    assert years[-1].guaranteed_fund == pytest.approx(fund, abs=0.05)
    # first year: 70% of (scenario return - guaranteed rate) on the fund of 7,500
    assert years[0].dividend["high"] == pytest.approx(round(7_500 * (0.045 - g) * 0.7, 2))
    last = years[-1].accumulated_dividends
    assert 0 <= last["low"] <= last["medium"] <= last["high"]
    with pytest.raises(InvalidInput, match=r"above 4\.50%"):
        participating.illustrate(pa01, 10_000, 5, returns={"high": 0.06})
    with pytest.raises(InvalidInput, match="not a participating"):
        participating.illustrate(BY_CODE["EN02"], 10_000, 5)
