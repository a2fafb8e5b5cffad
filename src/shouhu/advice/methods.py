"""Life-cover need methods as swappable strategies in a registry, plus the shared assumptions.

Each method is a small class with a ``name`` and ``need(person, assumptions)`` returning the
amount, how many years the need lasts (the horizon existing cover must reach) and the explained
figure. Formulas (``a(n)`` = annuity-immediate of 1 a year for n years at the real discount rate
``r``: (1 - (1+r)^-n) / r; support years = years until the youngest child dependent is 22, else
10 if someone else depends on the person, else 0):

* ``income_replacement``: income × replacement ratio × a(support years) + debts + mortgage - savings
* ``human_life_value``: income × (1 - own consumption share) × a(years to retirement)
* ``dime``: Debt + Income × support years + Mortgage + Education (yearly cost × years to 22, per child)
* ``double_ten``: 10 × annual income (双十原则)

All amounts are floored at 0 and rounded to the yuan; rates are real, so figures are in today's prices.
Income in these formulas is *earned* income: a retiree's income is a pension that does not stop
being needed on their death, so a retired person has no working-age life need (only debts,
mortgage and children's education remain).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Protocol

from shouhu.advice.model import Figure, Person, money
from shouhu.errors import UnknownName


@dataclass(frozen=True)
class Assumptions:
    """Every tunable number of the needs engine, with the default documented in docs/advice.md."""

    discount_rate: float = 0.025  # real, a year
    replacement_ratio: float = 0.7  # income_replacement: share of income the family needs
    own_consumption: float = 0.3  # human_life_value: share of income the person spends on themself
    education_end_age: int = 22
    education_cost_per_year: float = 30_000.0
    support_years_without_children: int = 10
    double_ten_multiple: float = 10.0
    ci_income_years: float = 3.0  # critical illness: years of income (3-5 is the rule of thumb)
    ci_treatment_cost: float = 300_000.0
    ci_horizon_age: int = 60
    medical_limit: float = 2_000_000.0  # a million-yuan medical policy's limit
    accident_income_years: float = 5.0
    accident_floor: float = 200_000.0
    pension_target_ratio: float = 0.7  # retirement income / pre-retirement income
    local_average_wage: float = 120_698.0  # W of the basic-pension formula (see docs/advice.md)
    contribution_start_age: int = 25  # pension contributions assumed from this age, without a break
    min_contribution_years: int = 15
    education_fund_age: int = 18  # education funds should pay out from this age
    budget_share: float = 0.10  # double-ten: premiums ≈ 10% of income
    affordability_share: float = 0.15  # hard ceiling for all premiums of a household


def annuity(years: float, rate: float) -> float:
    """Present value of 1 a year paid at each year end for ``years`` years."""
    if years <= 0:
        return 0.0
    if rate == 0:
        return float(years)
    return float((1.0 - (1.0 + rate) ** -years) / rate)


def support_years(person: Person, a: Assumptions) -> int:
    children = [d.age for d in person.dependents if d.relation == "child" and d.age < a.education_end_age]
    if children:
        return a.education_end_age - min(children)
    return a.support_years_without_children if person.dependents else 0


def education_cost(person: Person, a: Assumptions) -> float:
    return sum(a.education_cost_per_year * (a.education_end_age - d.age)
               for d in person.dependents if d.relation == "child" and d.age < a.education_end_age)


@dataclass(frozen=True)
class LifeNeed:
    amount: float
    horizon_years: int
    figure: Figure


class LifeMethod(Protocol):
    name: ClassVar[str]
    zh: ClassVar[str]

    def need(self, person: Person, a: Assumptions) -> LifeNeed: ...


def _years_to_retirement(person: Person) -> float:
    return person.years_to_retirement


class IncomeReplacement:
    name: ClassVar[str] = "income_replacement"
    zh: ClassVar[str] = "收入替代法"

    def need(self, person: Person, a: Assumptions) -> LifeNeed:
        n = support_years(person, a) if not person.is_retired else 0
        pv = person.earned_income * a.replacement_ratio * annuity(n, a.discount_rate)
        amount = max(0.0, round(pv + person.debts + person.mortgage - person.savings))
        inputs = {"annual_income": person.earned_income, "replacement_ratio": a.replacement_ratio,
                  "support_years": n, "discount_rate": a.discount_rate, "debts": person.debts,
                  "mortgage": person.mortgage, "savings": person.savings}
        zh = (f"收入替代法:家人在{n}年内每年需要您收入的{a.replacement_ratio:.0%},按{a.discount_rate:.1%}折现为"
              f"{money(pv)}元,加负债{money(person.debts)}元和房贷{money(person.mortgage)}元,减去储蓄"
              f"{money(person.savings)}元,寿险需求{money(amount)}元。")
        en = (f"Income replacement: your family needs {a.replacement_ratio:.0%} of your income for {n} years, "
              f"worth {money(pv)} today at {a.discount_rate:.1%}; plus debts {money(person.debts)} and mortgage "
              f"{money(person.mortgage)}, less savings {money(person.savings)}: life need {money(amount)} CNY.")
        return LifeNeed(amount, max(n, 1), Figure(amount, self.name, inputs, zh, en))


class HumanLifeValue:
    name: ClassVar[str] = "human_life_value"
    zh: ClassVar[str] = "生命价值法"

    def need(self, person: Person, a: Assumptions) -> LifeNeed:
        n = _years_to_retirement(person)
        net = person.earned_income * (1.0 - a.own_consumption)
        amount = max(0.0, round(net * annuity(n, a.discount_rate)))
        inputs = {"annual_income": person.annual_income, "own_consumption": a.own_consumption,
                  "years_to_retirement": round(n, 4), "discount_rate": a.discount_rate}
        zh = (f"生命价值法:扣除本人消费{a.own_consumption:.0%}后每年净收入{money(net)}元,距退休{n:.1f}年,"
              f"按{a.discount_rate:.1%}折现,寿险需求{money(amount)}元。")
        en = (f"Human life value: net earnings of {money(net)} a year after {a.own_consumption:.0%} own consumption, "
              f"for {n:.1f} years to retirement, discounted at {a.discount_rate:.1%}: life need {money(amount)} CNY.")
        return LifeNeed(amount, max(math.ceil(n), 1), Figure(amount, self.name, inputs, zh, en))


class Dime:
    name: ClassVar[str] = "dime"
    zh: ClassVar[str] = "DIME法"

    def need(self, person: Person, a: Assumptions) -> LifeNeed:
        n = support_years(person, a) if not person.is_retired else 0
        edu = education_cost(person, a)
        income_part = person.earned_income * n
        amount = max(0.0, round(person.debts + income_part + person.mortgage + edu))
        inputs = {"debts": person.debts, "annual_income": person.earned_income, "support_years": n,
                  "mortgage": person.mortgage, "education": edu}
        zh = (f"DIME法:负债{money(person.debts)}元 + 收入{money(person.annual_income)}元×{n}年 + 房贷"
              f"{money(person.mortgage)}元 + 子女教育{money(edu)}元 = 寿险需求{money(amount)}元。")
        en = (f"DIME: debts {money(person.debts)} + income {money(person.annual_income)} × {n} years + mortgage "
              f"{money(person.mortgage)} + education {money(edu)} = life need {money(amount)} CNY.")
        return LifeNeed(amount, max(n, 1), Figure(amount, self.name, inputs, zh, en))


class DoubleTen:
    name: ClassVar[str] = "double_ten"
    zh: ClassVar[str] = "双十原则"

    def need(self, person: Person, a: Assumptions) -> LifeNeed:
        amount = max(0.0, round(a.double_ten_multiple * person.earned_income))
        inputs = {"annual_income": person.earned_income, "multiple": a.double_ten_multiple}
        zh = f"双十原则:寿险保额约为年收入的{a.double_ten_multiple:g}倍,即{money(amount)}元。"
        en = f"Double-ten rule: life cover of {a.double_ten_multiple:g}× annual income, {money(amount)} CNY."
        return LifeNeed(amount, max(math.ceil(_years_to_retirement(person)), 1),
                        Figure(amount, self.name, inputs, zh, en))


LIFE_METHODS: dict[str, LifeMethod] = {m.name: m for m in (IncomeReplacement(), HumanLifeValue(), Dime(), DoubleTen())}
DEFAULT_METHOD = "dime"


def life_method(name: str) -> LifeMethod:
    try:
        return LIFE_METHODS[name]
    except KeyError:
        raise UnknownName("life need method", name, list(LIFE_METHODS)) from None


def register_method(method: LifeMethod) -> None:
    """Add a method (a deployment's own rule); the name must be new."""
    if method.name in LIFE_METHODS:
        raise ValueError(f"life need method {method.name!r} is already registered")
    LIFE_METHODS[method.name] = method
