"""The protection-gap engine: need versus existing cover, per person and per household.

Pure functions on dataclasses. Needs other than life (formulas in docs/advice.md):

* critical illness: income × ``ci_income_years`` (only before retirement) + ``ci_treatment_cost``
* medical: one million-yuan medical limit (``medical_limit``) for everyone; medical cover is
  indemnity, so the best limit in force counts, not the sum (more policies are duplicates)
* accident: max(income × ``accident_income_years``, ``accident_floor``)
* pension (working age only): income × (target ratio - basic pension / income) × ä(e_R) at
  retirement age R, with the basic pension estimated from the local average wage
  (:func:`shouhu.advice.retirement.social_pension`), e_R the complete life expectancy from the
  CL(2010-2013) pension table (CL5 male / CL6 female), ä the annuity-due at the real discount
  rate; today's prices
* education (children under 22): yearly cost × (22 - age)

Existing cover counts in-force policies on the person's life: cover still in its waiting period is
shown apart (``in_waiting``, still reduces the gap: buying more would over-insure once it starts),
protection that ends before the need's horizon is shown apart (``expiring``) and does not count;
education and pension cover maturing before the need date (or matured already) does count: it is
money the family has by then (``matured_before_need`` in the gap's extra).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import numpy as np

from shouhu.advice.methods import DEFAULT_METHOD, Assumptions, annuity, life_method
from shouhu.advice.model import NEED_TYPES, Figure, Gap, Household, Person, Policy, add_years, money
from shouhu.advice.retirement import social_pension
from shouhu.model.vocab import CoverageType
from shouhu.reference.mortality import MAX_AGE, Sex, qx_vector

C = CoverageType


@cache
def life_expectancy(age: int, sex: Sex, table: str = "pension") -> float:
    """Complete expectation of life at ``age``: curtate e_x + 0.5, from the CL(2010-2013) table."""
    q = qx_vector(sex, table)[min(age, MAX_AGE):]
    survival = np.cumprod(1.0 - q)
    return float(survival.sum() + 0.5)


def annuity_due(years: float, rate: float) -> float:
    return 0.0 if years <= 0 else 1.0 + annuity(years - 1, rate)


def _figure(amount: float, method: str, inputs: dict[str, Any], zh: str, en: str) -> Figure:
    return Figure(max(0.0, round(amount)), method, inputs, zh, en)


def critical_illness_need(p: Person, a: Assumptions) -> Figure:
    working = not p.is_retired
    income_part = p.annual_income * a.ci_income_years if working else 0.0
    amount = income_part + a.ci_treatment_cost
    inputs = {"annual_income": p.annual_income if working else 0.0, "income_years": a.ci_income_years,
              "treatment_cost": a.ci_treatment_cost}
    return _figure(amount, "income_years_plus_treatment", inputs,
                   f"重疾:{a.ci_income_years:g}年收入{money(income_part)}元(康复期收入损失)+治疗费用"
                   f"{money(a.ci_treatment_cost)}元 = {money(amount)}元。",
                   f"Critical illness: {a.ci_income_years:g} years of income, {money(income_part)} (income lost "
                   f"while recovering), plus treatment {money(a.ci_treatment_cost)} = {money(amount)} CNY.")


def medical_need(p: Person, a: Assumptions) -> Figure:
    return _figure(a.medical_limit, "million_yuan_medical", {"limit": a.medical_limit},
                   f"医疗:一份{money(a.medical_limit)}元额度的百万医疗险可覆盖社保外的大额住院费用。",
                   f"Medical: one million-yuan medical policy with a {money(a.medical_limit)} CNY limit covers "
                   "large hospital bills beyond social insurance.")


def accident_need(p: Person, a: Assumptions) -> Figure:
    amount = max(p.annual_income * a.accident_income_years, a.accident_floor)
    return _figure(amount, "income_years_with_floor",
                   {"annual_income": p.annual_income, "income_years": a.accident_income_years,
                    "floor": a.accident_floor},
                   f"意外:取{a.accident_income_years:g}年收入与{money(a.accident_floor)}元中的较高者,即{money(amount)}元。",
                   f"Accident: the larger of {a.accident_income_years:g} years of income and "
                   f"{money(a.accident_floor)}, {money(amount)} CNY.")


def social_pension_ratio(p: Person, a: Assumptions) -> tuple[float, float]:
    """(estimated basic pension a year, the share of the person's income it replaces)."""
    years = max(a.min_contribution_years, p.retirement_age - a.contribution_start_age)
    yearly = social_pension(p.annual_income, p.retirement_age, years, a.local_average_wage)
    return yearly, (yearly / p.annual_income if p.annual_income > 0 else 0.0)


def pension_need(p: Person, a: Assumptions) -> Figure:
    if p.is_retired or p.annual_income <= 0:
        why = "已退休" if p.is_retired else "无工作收入"
        why_en = "already retired" if p.is_retired else "no earned income"
        return _figure(0.0, "replacement_ratio", {"age": p.age, "retirement_age": p.retirement_age},
                       f"养老:{why},不按替代率测算养老缺口。", f"Pension: {why_en}, no replacement-ratio need.")
    e = life_expectancy(p.retirement_age, p.sex)
    years = round(e)
    social, social_ratio = social_pension_ratio(p, a)
    ratio = max(0.0, a.pension_target_ratio - social_ratio)
    yearly = p.annual_income * ratio
    amount = yearly * annuity_due(years, a.discount_rate)
    inputs = {"annual_income": p.annual_income, "target_ratio": a.pension_target_ratio,
              "social_pension": round(social), "social_pension_ratio": round(social_ratio, 4),
              "local_average_wage": a.local_average_wage, "retirement_age": p.retirement_age,
              "retirement_months": p.retirement_months, "life_expectancy": round(e, 1), "years": years,
              "discount_rate": a.discount_rate, "table": "CL5" if p.sex == "M" else "CL6"}
    return _figure(amount, "replacement_ratio", inputs,
                   f"养老:退休后目标收入为现收入的{a.pension_target_ratio:.0%};按当地社平工资{money(a.local_average_wage)}元"
                   f"估算基本养老金每年{money(social)}元,替代{social_ratio:.0%},需自备每年{money(yearly)}元;"
                   f"按CL(2010-2013)养老金表,{p.retirement_age}岁余命约{e:.1f}年,"
                   f"按{a.discount_rate:.1%}折现,退休时需{money(amount)}元(今日价格)。",
                   f"Pension: target {a.pension_target_ratio:.0%} of income in retirement; the basic pension, "
                   f"estimated from the local average wage {money(a.local_average_wage)}, is {money(social)} a year "
                   f"({social_ratio:.0%} of income), so {money(yearly)} a year must come from savings; life "
                   f"expectancy at {p.retirement_age} is {e:.1f} years (CL(2010-2013) pension table); at "
                   f"{a.discount_rate:.1%} that is {money(amount)} CNY at retirement (today's prices).")


def education_need(p: Person, a: Assumptions) -> Figure:
    years = max(0, a.education_end_age - p.age) if p.role == "child" else 0
    amount = a.education_cost_per_year * years
    return _figure(amount, "cost_to_age_22",
                   {"age": p.age, "end_age": a.education_end_age, "cost_per_year": a.education_cost_per_year},
                   f"教育金:每年{money(a.education_cost_per_year)}元,至{a.education_end_age}岁还有{years}年,"
                   f"共{money(amount)}元。",
                   f"Education: {money(a.education_cost_per_year)} a year for the {years} years until age "
                   f"{a.education_end_age}, {money(amount)} CNY.")


def _horizon(cov: CoverageType, p: Person, a: Assumptions, life_years: int, as_of: date) -> date:
    years = {
        C.LIFE: life_years,
        C.CRITICAL_ILLNESS: a.ci_horizon_age - p.age,
        C.PENSION: math.ceil(p.years_to_retirement),
        C.EDUCATION: a.education_fund_age - p.age,
    }.get(cov, 0)
    return add_years(as_of, max(0, years))


SAVINGS_NEEDS = (C.EDUCATION, C.PENSION)
PAID_OUT = frozenset({"matured"})


def _counts(pol: Policy, cov: CoverageType) -> bool:
    """In force, or (for education and pension money) already paid out at maturity."""
    return pol.in_force() or (cov in SAVINGS_NEEDS and pol.status in PAID_OUT)


def existing_cover(cov: CoverageType, person_id: str, policies: Iterable[Policy], as_of: date,
                   horizon: date) -> tuple[float, float, float]:
    """(effective, in waiting period, ending before the horizon) cover of one type on one person.

    Protection that ends before the need date protects nothing then (``expiring``). Education and
    pension cover is money: a fund that matures before the need date has paid, or will pay, the
    family before it is needed, so it counts (:func:`matured_early` tells how much of it did)."""
    buckets: dict[str, list[float]] = {"existing": [], "waiting": [], "expiring": []}
    for pol in policies:
        amount = pol.coverages.get(cov.value, 0.0)
        if pol.insured_id != person_id or amount <= 0 or not _counts(pol, cov):
            continue
        expiry = pol.expiry_date
        early = expiry is not None and (expiry < horizon or expiry <= as_of)
        if early and cov not in SAVINGS_NEEDS:
            buckets["expiring"].append(amount)
        elif pol.effective_date > as_of:
            buckets["waiting"].append(amount)
        else:
            buckets["existing"].append(amount)
    if cov is C.MEDICAL:  # indemnity: the best limit counts
        best = max(buckets["existing"], default=0.0)
        return best, max(0.0, max(buckets["waiting"], default=0.0) - best), max(buckets["expiring"], default=0.0)
    return sum(buckets["existing"]), sum(buckets["waiting"]), sum(buckets["expiring"])


def matured_early(cov: CoverageType, person_id: str, policies: Iterable[Policy], horizon: date) -> float:
    """Education / pension cover counted although it matures (or matured) before the need date."""
    if cov not in SAVINGS_NEEDS:
        return 0.0
    return sum(p.coverages.get(cov.value, 0.0) for p in policies if p.insured_id == person_id and _counts(p, cov)
               and p.expiry_date is not None and p.expiry_date < horizon)


NEEDS = {C.CRITICAL_ILLNESS: critical_illness_need, C.MEDICAL: medical_need, C.ACCIDENT: accident_need,
         C.PENSION: pension_need, C.EDUCATION: education_need}


def person_gaps(person: Person, policies: Iterable[Policy], as_of: date, method: str = DEFAULT_METHOD,
                assumptions: Assumptions | None = None) -> list[Gap]:
    """One :class:`Gap` per need type (life, CI, medical, accident, pension, education) for one person."""
    a = assumptions or Assumptions()
    pols = list(policies)
    life = life_method(method).need(person, a)
    out = []
    for cov in NEED_TYPES:
        need = life.figure if cov is C.LIFE else NEEDS[cov](person, a)
        horizon = _horizon(cov, person, a, life.horizon_years, as_of)
        existing, waiting, expiring = existing_cover(cov, person.person_id, pols, as_of, horizon)
        early = matured_early(cov, person.person_id, pols, horizon)
        out.append(Gap(person.person_id, cov, need, existing, waiting, expiring, horizon,
                       {"matured_before_need": early} if early else {}))
    return out


@dataclass(frozen=True)
class HouseholdGaps:
    household_id: str
    method: str
    as_of: date
    by_person: dict[str, list[Gap]]

    def gaps(self) -> list[Gap]:
        return [g for gs in self.by_person.values() for g in gs]

    def total(self, cov: CoverageType) -> float:
        return sum(g.gap for g in self.gaps() if g.coverage is cov)

    def to_dict(self) -> dict[str, Any]:
        return {"household_id": self.household_id, "method": self.method, "as_of": self.as_of.isoformat(),
                "totals": {c.value: self.total(c) for c in NEED_TYPES},
                "members": {pid: [g.to_dict() for g in gs] for pid, gs in self.by_person.items()}}


def household_gaps(household: Household, policies: Iterable[Policy], as_of: date, method: str = DEFAULT_METHOD,
                   assumptions: Assumptions | None = None) -> HouseholdGaps:
    pols = list(policies)
    return HouseholdGaps(household.household_id, method, as_of,
                         {p.person_id: person_gaps(p, pols, as_of, method, assumptions) for p in household.members})
