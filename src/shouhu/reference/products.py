"""The product shelf of the synthetic insurer, and how each product is priced.

Protection products are priced from the CL(2010-2013) table by the equivalence principle so that
premiums by age and sex look like a real insurer's rate book:

* term and whole life: net annual premium per 1,000 sum assured =
  1000 * A1(x:n) / a..(x:m), with A1(x:n) = sum_{k<n} v^(k+1) kpx q(x+k) and
  a..(x:m) = sum_{k<m} v^k kpx (annual premiums in advance, table CL1/CL2);
  gross = net / (1 - 0.25): 25% of the gross premium covers expenses, commission and profit.
* pricing interest (预定利率): the regulatory cap in force on the rate book's date
  (:func:`pricing_interest`; by default the product's launch date, the synthetic book prices each
  policy on the rate-book version in force at its issue date, since insurers re-file or withdraw
  products when a cap falls). Caps for ordinary life, :data:`INTEREST_CAPS`: 2.5% until the
  2013-08-05 ordinary life pricing reform (保监发〔2013〕62号), 3.5% from then, 3.0% from 2023-08-01,
  2.5% from 2024-09-01, 2.0% from 2025-09-01 (the dates stated in issue 12; the later cuts follow the
  regulator's dynamic link of the cap to the insurance association's published 预定利率研究值).
  Participating products have their own, lower cap (:data:`PARTICIPATING_CAPS`).
* critical illness: benefit on CI incidence (:mod:`shouhu.reference.critical_illness`, an
  approximation of the CI1/CI2 (2020) table's shape) plus death for products that also pay on
  death; the policy leaves the pool on either (decrement min(1, i + q)); loading 30%.
* million-yuan medical: a gross premium per policy by age band (see :data:`MEDICAL_BANDS`) for a
  2,000,000 limit with a 10,000 deductible, the way these products are sold.
* accident: a flat gross 1.00 per 1,000 a year (occupation classes 1-4).
* savings products (annuity, endowment, increasing whole life, universal, unit-linked) are sold by
  premium: the sum assured is premium * premium term * ``sa_factor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from shouhu.model.vocab import CoverageType, ProductType, RiskGrade
from shouhu.reference.critical_illness import incidence_vector
from shouhu.reference.mortality import MAX_AGE, Sex, qx_vector

# (in force from, maximum predetermined interest rate) for ordinary life business (module docstring)
INTEREST_CAPS: tuple[tuple[date, float], ...] = (
    (date(1999, 6, 10), 0.025),
    (date(2013, 8, 5), 0.035),
    (date(2023, 8, 1), 0.030),
    (date(2024, 9, 1), 0.025),
    (date(2025, 9, 1), 0.020),
)
# Participating (分红) business: a guaranteed rate at most this (an assumption modelled on the same
# dates: 2.5% from 2023-08, 2.0% from 2024-09, 1.75% from 2025-09; 3.0% before). Check before real use.
PARTICIPATING_CAPS: tuple[tuple[date, float], ...] = (
    (date(1999, 6, 10), 0.025),
    (date(2013, 8, 5), 0.030),
    (date(2023, 8, 1), 0.025),
    (date(2024, 9, 1), 0.020),
    (date(2025, 9, 1), 0.0175),
)


def interest_cap(on: date, *, participating: bool = False) -> float:
    """The predetermined interest rate cap in force on ``on``."""
    caps = PARTICIPATING_CAPS if participating else INTEREST_CAPS
    rate = caps[0][1]
    for since, cap in caps:
        if on >= since:
            rate = cap
    return rate
Basis = Literal["mortality", "critical_illness", "medical", "accident", "savings"]
MEDICAL_SUM_ASSURED = 2_000_000.0
# (upper age inclusive, annual gross premium) for million-yuan medical with social insurance.
MEDICAL_BANDS: tuple[tuple[int, float], ...] = (
    (4, 620.0),
    (10, 260.0),
    (17, 180.0),
    (30, 230.0),
    (40, 340.0),
    (45, 480.0),
    (50, 620.0),
    (55, 900.0),
    (60, 1300.0),
    (65, 1800.0),
    (MAX_AGE, 2600.0),
)
ACCIDENT_RATE_PER_1000 = 1.0


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    type: ProductType
    risk_grade: RiskGrade
    coverages: tuple[CoverageType, ...]
    min_age: int
    max_age: int
    cover_years: int  # 0 = whole life
    pay_years: int  # 1 = single premium
    basis: Basis
    launched_on: date
    waiting_days: int = 0
    loading: float = 0.25
    sa_factor: float = 1.0
    participating: bool = False  # 分红: a guaranteed rate plus non-guaranteed dividends

    @property
    def coverage_types(self) -> str:
        return ",".join(c.value for c in self.coverages)


def _p(
    code: str,
    name: str,
    type_: ProductType,
    grade: str,
    cov: str,
    ages: tuple[int, int],
    terms: tuple[int, int],
    basis: Basis,
    launched: str,
    **kw: float | int | bool,
) -> Product:
    return Product(
        code,
        name,
        type_,
        RiskGrade(grade),
        tuple(CoverageType(c) for c in cov.split(",")),
        ages[0],
        ages[1],
        terms[0],
        terms[1],
        basis,
        date.fromisoformat(launched),
        **kw,  # type: ignore[arg-type]
    )


T = ProductType
SHELF: tuple[Product, ...] = (
    _p("TL01", "守护定期寿险(20年)", T.TERM_LIFE, "P1", "life", (18, 55), (20, 20), "mortality", "2014-03-01"),
    _p("TL02", "安心定期寿险(30年)", T.TERM_LIFE, "P1", "life", (18, 45), (30, 30), "mortality", "2015-06-01"),
    _p("TL03", "e守护定期寿险(10年)", T.TERM_LIFE, "P1", "life", (18, 60), (10, 10), "mortality", "2017-09-01"),
    _p("WL01", "传家终身寿险(20年交)", T.WHOLE_LIFE, "P2", "life", (18, 60), (0, 20), "mortality", "2014-01-01"),
    _p("WL02", "福寿终身寿险(10年交)", T.WHOLE_LIFE, "P2", "life", (0, 65), (0, 10), "mortality", "2016-01-01"),
    _p(
        "IW01",
        "鑫享增额终身寿险(5年交)",
        T.INCREASING_WHOLE_LIFE,
        "P2",
        "life,savings",
        (0, 65),
        (0, 5),
        "savings",
        "2019-05-01",
        sa_factor=0.9,
    ),
    _p(
        "IW02",
        "金尊增额终身寿险(趸交)",
        T.INCREASING_WHOLE_LIFE,
        "P2",
        "life,savings",
        (0, 70),
        (0, 1),
        "savings",
        "2020-03-01",
        sa_factor=0.95,
    ),
    _p(
        "CI01",
        "康健一生重大疾病保险",
        T.CRITICAL_ILLNESS,
        "P1",
        "critical_illness,life",
        (0, 55),
        (0, 20),
        "critical_illness",
        "2014-01-01",
        waiting_days=90,
        loading=0.30,
    ),
    _p(
        "CI02",
        "宝贝守护少儿重疾险",
        T.CRITICAL_ILLNESS,
        "P1",
        "critical_illness",
        (0, 17),
        (0, 20),
        "critical_illness",
        "2015-01-01",
        waiting_days=90,
        loading=0.30,
    ),
    _p(
        "CI03",
        "e康重疾险(30年)",
        T.CRITICAL_ILLNESS,
        "P1",
        "critical_illness",
        (18, 50),
        (30, 30),
        "critical_illness",
        "2020-06-01",
        waiting_days=90,
        loading=0.30,
    ),
    _p(
        "MD01",
        "尊享百万医疗(6年保证续保)",
        T.MEDICAL,
        "P1",
        "medical",
        (0, 65),
        (6, 6),
        "medical",
        "2017-01-01",
        waiting_days=30,
    ),
    _p(
        "MD02",
        "e惠百万医疗(1年)",
        T.MEDICAL,
        "P1",
        "medical",
        (0, 65),
        (1, 1),
        "medical",
        "2016-06-01",
        waiting_days=30,
    ),
    _p("AC01", "综合意外伤害保险(1年)", T.ACCIDENT, "P1", "accident", (0, 80), (1, 1), "accident", "2012-01-01"),
    _p("AC02", "长安意外保险(20年)", T.ACCIDENT, "P1", "accident", (18, 60), (20, 10), "accident", "2018-01-01"),
    _p(
        "AN01",
        "颐享人生养老年金",
        T.ANNUITY,
        "P2",
        "pension",
        (18, 60),
        (0, 10),
        "savings",
        "2014-01-01",
        sa_factor=1.1,
    ),
    _p(
        "AN02",
        "稳盈年金保险(10年,趸交)",
        T.ANNUITY,
        "P2",
        "pension,savings",
        (18, 75),
        (10, 1),
        "savings",
        "2015-01-01",
        sa_factor=1.15,
    ),
    _p(
        "EN01",
        "智慧教育金保险",
        T.ENDOWMENT,
        "P2",
        "education,life",
        (0, 10),
        (15, 10),
        "savings",
        "2014-01-01",
        sa_factor=1.05,
    ),
    _p(
        "EN02",
        "安享两全保险(20年)",
        T.ENDOWMENT,
        "P2",
        "life,savings",
        (18, 60),
        (20, 10),
        "savings",
        "2014-01-01",
        sa_factor=1.1,
    ),
    _p(
        "EN03",
        "鑫盈两全保险(5年,趸交)",
        T.ENDOWMENT,
        "P2",
        "life,savings",
        (18, 70),
        (5, 1),
        "savings",
        "2013-01-01",
        sa_factor=1.12,
    ),
    _p(
        "UL01",
        "金账户万能型终身寿险",
        T.UNIVERSAL,
        "P3",
        "life,savings",
        (0, 65),
        (0, 5),
        "savings",
        "2015-01-01",
        sa_factor=1.0,
    ),
    _p(
        "IL01",
        "稳健投资连结保险(趸交)",
        T.UNIT_LINKED,
        "P4",
        "savings,life",
        (18, 65),
        (0, 1),
        "savings",
        "2016-01-01",
        sa_factor=1.0,
    ),
    _p(
        "IL02",
        "进取投资连结保险",
        T.UNIT_LINKED,
        "P5",
        "savings,life",
        (18, 60),
        (0, 10),
        "savings",
        "2016-01-01",
        sa_factor=1.0,
    ),
)
SHELF = (*SHELF, _p(
    "PA01",
    "福享分红两全保险(10年交)",
    T.ENDOWMENT,
    "P3",
    "life,savings",
    (0, 60),
    (20, 10),
    "savings",
    "2021-01-01",
    sa_factor=1.0,
    participating=True,
))
BY_CODE: dict[str, Product] = {p.code: p for p in SHELF}


def pricing_interest(product: Product, on: date | None = None) -> float:
    """The pricing (guaranteed) rate of the product's rate-book version in force on ``on`` (default: launch)."""
    return interest_cap(on or product.launched_on, participating=product.participating)


def _table_for(product: Product) -> str:
    return "pension" if product.type is ProductType.ANNUITY else "nonpension1"


def equivalence_net_per_1000(q: npt.NDArray[np.float64], age: int, cover_years: int, pay_years: int,
                             interest: float, benefit_q: npt.NDArray[np.float64] | None = None) -> float:
    """Net annual premium per 1,000 for a benefit over ``cover_years`` (0 = to the table's end).

    ``q`` is the decrement by age (who leaves the pool), ``benefit_q`` the rate at which the benefit
    is paid (default ``q``); premiums are annual in advance for ``pay_years``, both legs stop at the
    table's last age. The equivalence principle at ``interest``.
    """
    v = 1.0 / (1.0 + interest)
    n = (MAX_AGE + 1 - age) if cover_years == 0 else cover_years
    n = min(n, MAX_AGE + 1 - age)
    m = min(pay_years, n)
    qs = q[age : age + n]
    bs = qs if benefit_q is None else benefit_q[age : age + n]
    kp = np.concatenate([[1.0], np.cumprod(1.0 - qs)[:-1]])
    ks = np.arange(n)
    benefit = float(np.sum(v ** (ks + 1) * kp * bs))
    annuity = float(np.sum(v ** ks[:m] * kp[:m]))
    return 1000.0 * benefit / annuity


def medical_premium(age: int) -> float:
    for upper, premium in MEDICAL_BANDS:
        if age <= upper:
            return premium
    return MEDICAL_BANDS[-1][1]


def rate_per_1000(product: Product, age: int, sex: Sex, on: date | None = None) -> float:
    """Gross annual premium per 1,000 sum assured on the rate book in force on ``on`` (default: launch);
    NaN where the age is outside the issue ages."""
    if not product.min_age <= age <= product.max_age:
        return float("nan")
    if product.basis in ("mortality", "critical_illness"):
        q = qx_vector(sex, _table_for(product))
        benefit = None
        if product.basis == "critical_illness":
            ci = incidence_vector(sex)
            pays_death = any(c is CoverageType.LIFE for c in product.coverages)
            q, benefit = np.minimum(1.0, ci + q), (np.minimum(1.0, ci + q) if pays_death else ci)
        net = equivalence_net_per_1000(q, age, product.cover_years, product.pay_years,
                                       pricing_interest(product, on), benefit)
        return net / (1.0 - product.loading)
    if product.basis == "medical":
        return medical_premium(age) / (MEDICAL_SUM_ASSURED / 1000.0)
    if product.basis == "accident":
        return ACCIDENT_RATE_PER_1000
    return 1000.0 / (product.pay_years * product.sa_factor)


@cache
def rate_table(code: str, on: date | None = None) -> npt.NDArray[np.float64]:
    """(2, 106) gross rates per 1,000 by sex (0 = M, 1 = F) and age, for vectorised pricing."""
    product = BY_CODE[code]
    return np.array([[rate_per_1000(product, a, s, on) for a in range(MAX_AGE + 1)] for s in ("M", "F")])


def annual_premium(product: Product, age: int, sex: Sex, sum_assured: float, on: date | None = None) -> float:
    """The premium a policy pays a year, rounded to fen the way a rate book quotes it."""
    return round(rate_per_1000(product, age, sex, on) * sum_assured / 1000.0, 2)


def indicative_rate(product: Product) -> float:
    """The rate per 1,000 quoted in the product list: a 30-year-old man, or the nearest issue age."""
    age = min(max(30, product.min_age), product.max_age)
    return round(rate_per_1000(product, age, "M"), 2)
