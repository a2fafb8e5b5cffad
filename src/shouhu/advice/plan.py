"""Portfolio recommendation: products and sums assured that close a household's gaps within a budget.

An integer programme (``scipy.optimize.milp``, HiGHS) over discrete options: for every person and
every suitable shelf product, a few sums assured (10/25/50/75/100% of the gap it targets, rounded up
to 10,000; medical: the product's one limit). Binary x_j picks option j; continuous f_pc ∈ [0, 1]
is the share of person p's gap c closed; its first half scores three times its second half
(:func:`closure_score`), so a tight budget is spread over every gap.

    maximise   Σ w_pc (1.5 h_pc + 0.5 k_pc)  -  ε Σ premium_j x_j / budget,  f_pc = h_pc + k_pc
    subject to gap_pc (h_pc + k_pc) ≤ Σ_j SA_jc x_j  (cover bought closes the gap, never more than all)
               0 ≤ h_pc, k_pc ≤ 0.5                   (first and second half of the gap: diminishing returns)
               Σ_j premium_j x_j ≤ budget
               Σ_{j of (p, type)} x_j ≤ 1            (one product of each type per person, one sum assured)

Weights w_pc = coverage weight (protection before savings: life, CI 1.0; medical 0.8; accident 0.5;
education 0.4; pension 0.3) × person weight (1 + 2 × the person's share of household income:
breadwinner first). ε = 1e-6 only breaks ties towards the cheaper plan. Single-premium (趸交)
products are left out: an annual budget cannot hold a lump sum. Premiums come from
:func:`shouhu.reference.products.annual_premium` (the shelf's own pricing).
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_array

from shouhu.advice.gaps import HouseholdGaps
from shouhu.advice.methods import Assumptions
from shouhu.advice.model import Household, Person, Policy, money
from shouhu.advice.suitability import CheckLog, check_affordability, check_product
from shouhu.model.vocab import CoverageType
from shouhu.reference.products import SHELF, Product, annual_premium

C = CoverageType
COVERAGE_WEIGHT: dict[CoverageType, float] = {C.LIFE: 1.0, C.CRITICAL_ILLNESS: 1.0, C.MEDICAL: 0.8,
                                              C.ACCIDENT: 0.5, C.EDUCATION: 0.4, C.PENSION: 0.3}
ROLE_ZH = {"head": "户主", "spouse": "配偶", "child": "子女", "parent": "父母", "other": "家庭成员"}
ROLE_EN = {"head": "head", "spouse": "spouse", "child": "child", "parent": "parent", "other": "member"}
EPSILON = 1e-6
STEP = 10_000.0
FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Option:
    person: Person
    product: Product
    sum_assured: float
    premium: float
    cover: dict[CoverageType, float]


@dataclass(frozen=True)
class PlanItem:
    person_id: str
    role: str
    product_code: str
    product_name: str
    product_type: str
    sum_assured: float
    annual_premium: float
    coverages: dict[str, float]
    zh: str
    en: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Plan:
    name: str  # recommended | cheaper | fuller
    budget: float
    items: tuple[PlanItem, ...]
    remaining: dict[str, dict[str, float]]  # person -> coverage -> gap left
    weighted_gap_before: float
    weighted_gap_after: float
    zh: str = ""
    en: str = ""

    @property
    def premium(self) -> float:
        return round(sum(i.annual_premium for i in self.items), 2)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "budget": self.budget, "premium": self.premium,
                "items": [i.to_dict() for i in self.items], "remaining": self.remaining,
                "weighted_gap_before": self.weighted_gap_before, "weighted_gap_after": self.weighted_gap_after,
                "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Recommendation:
    plan: Plan
    alternatives: tuple[Plan, ...]
    budget_zh: str
    budget_en: str
    blocked: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"plan": self.plan.to_dict(), "alternatives": [p.to_dict() for p in self.alternatives],
                "budget": {"zh": self.budget_zh, "en": self.budget_en}, "blocked": list(self.blocked)}


def person_weights(household: Household) -> dict[str, float]:
    income = household.income
    return {p.person_id: 1.0 + (2.0 * p.annual_income / income if income > 0 else 0.0) for p in household.members}


def _round_up(value: float) -> float:
    return max(STEP, math.ceil(value / STEP) * STEP)


def _lasts(product: Product, person: Person, horizon_age: int) -> bool:
    """Cover counts towards a need only if it lasts to the need's horizon (as existing cover must)."""
    return product.cover_years == 0 or product.cover_years == 1 or person.age + product.cover_years >= horizon_age


def _options(person: Person, product: Product, open_gaps: dict[CoverageType, tuple[float, int]]) -> list[Option]:
    covs = [c for c in product.coverages if c in open_gaps and _lasts(product, person, open_gaps[c][1])]
    if not covs:
        return []
    if product.basis == "medical":
        amounts = [2_000_000.0]
    else:
        target = max(open_gaps[c][0] for c in covs)
        amounts = sorted({_round_up(target * f) for f in FRACTIONS})
    out = []
    for sa in amounts:
        premium = annual_premium(product, person.age, person.sex, sa)
        if not math.isnan(premium):
            out.append(Option(person, product, sa, premium, {c: sa for c in covs}))
    return out


def candidates(household: Household, gaps: HouseholdGaps, *, risk_level: str | None, seller_grade: str | None,
               shelf: tuple[Product, ...] = SHELF, log: CheckLog | None = None
               ) -> tuple[list[Option], list[dict[str, Any]]]:
    """Options for every suitable (person, product) pair, and the blocked pairs with their reasons."""
    options: list[Option] = []
    blocked: list[dict[str, Any]] = []
    for person in household.members:
        open_gaps = {g.coverage: (float(g.gap), person.age + g.horizon.year - gaps.as_of.year)
                     for g in gaps.by_person[person.person_id] if g.gap > 0}
        for product in shelf:
            if product.pay_years == 1 and product.cover_years != 1:
                continue  # single premium
            if not any(c in open_gaps for c in product.coverages):
                continue
            verdict = check_product(person, product, risk_level=risk_level, seller_grade=seller_grade, log=log)
            if verdict.passed:
                options.extend(_options(person, product, open_gaps))
            else:
                blocked.append({"person_id": person.person_id, "product_code": product.code,
                                "product_name": product.name, "zh": verdict.why("zh"), "en": verdict.why("en")})
    return options, blocked


def _gap_keys(gaps: HouseholdGaps) -> list[tuple[str, CoverageType, float]]:
    return [(g.person_id, g.coverage, float(g.gap)) for g in gaps.gaps() if g.gap > 0]


_STDOUT_LOCK = threading.Lock()


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS (scipy 1.17) prints a debug line straight to file descriptor 1 on some solves, whatever
    its ``disp`` option says; that would corrupt ``--json`` output. Point fd 1 at /dev/null meanwhile.

    fd 1 belongs to the whole process, so solves take turns (the web server plans in several
    threads): without the lock, two overlapping solves could restore each other's saved descriptor
    and leave stdout pointing at /dev/null for good. The solver holds the GIL anyway, so the lock
    costs no throughput."""
    with _STDOUT_LOCK:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def closure_score(share: float) -> float:
    """Diminishing returns: the first half of a gap counts three times the second half (score 0..1).

    Spreads a tight budget over every gap (some life cover for the breadwinner before a second
    half of critical illness) instead of closing a few gaps fully.
    """
    share = min(1.0, max(0.0, share))
    return 1.5 * min(share, 0.5) + 0.5 * max(share - 0.5, 0.0)


def optimise(options: list[Option], gaps: HouseholdGaps, weights: dict[str, float], budget: float) -> list[Option]:
    """The options the integer programme picks (see the module docstring)."""
    keys = _gap_keys(gaps)
    n, m = len(options), len(keys)
    if n == 0 or m == 0 or budget <= 0:
        return []
    # variables: x_j (n binaries), then for each gap the first-half and second-half closed shares
    cost = np.zeros(n + 2 * m)
    cost[:n] = [EPSILON * o.premium / budget for o in options]
    for i, (p, c, _) in enumerate(keys):
        w = COVERAGE_WEIGHT[c] * weights[p]
        cost[n + 2 * i], cost[n + 2 * i + 1] = -1.5 * w, -0.5 * w
    groups: dict[tuple[str, str], list[int]] = {}
    for j, o in enumerate(options):
        groups.setdefault((o.person.person_id, o.product.type.value), []).append(j)
    a = lil_array((m + 1 + len(groups), n + 2 * m))
    upper = np.zeros(m + 1 + len(groups))
    for i, (p, c, gap) in enumerate(keys):
        a[i, n + 2 * i] = a[i, n + 2 * i + 1] = gap
        for j, o in enumerate(options):
            if o.person.person_id == p and c in o.cover:
                a[i, j] = -o.cover[c]
    for j, o in enumerate(options):
        a[m, j] = o.premium
    upper[m] = budget
    for k, idx in enumerate(groups.values()):
        for j in idx:
            a[m + 1 + k, j] = 1
        upper[m + 1 + k] = 1
    with _quiet_stdout():
        res = milp(cost, constraints=LinearConstraint(a.tocsr(), -np.inf, upper),
                   bounds=Bounds(0, np.r_[np.ones(n), np.full(2 * m, 0.5)]),
                   integrality=np.r_[np.ones(n), np.zeros(2 * m)], options={"mip_rel_gap": 0.0})
    if res.x is None:
        return []
    return [o for j, o in enumerate(options) if res.x[j] > 0.5]


def _item(o: Option, gaps: dict[tuple[str, CoverageType], float]) -> PlanItem:
    p = o.person
    who_zh, who_en = f"{ROLE_ZH.get(p.role, '成员')}({p.age}岁)", f"{ROLE_EN.get(p.role, 'member')} ({p.age})"
    parts_zh = [f"{c.zh}缺口{money(gaps.get((p.person_id, c), 0))}元" for c in o.cover]
    parts_en = [f"{c.en} gap {money(gaps.get((p.person_id, c), 0))}" for c in o.cover]
    return PlanItem(p.person_id, p.role, o.product.code, o.product.name, o.product.type.value, o.sum_assured,
                    o.premium, {c.value: v for c, v in o.cover.items()},
                    f"为{who_zh}配置{o.product.name},保额{money(o.sum_assured)}元,年缴"
                    f"{o.premium:,.2f}元,用于{'、'.join(parts_zh)}。",
                    f"{o.product.name} for the {who_en}: sum assured {money(o.sum_assured)}, "
                    f"{o.premium:,.2f} CNY a year, towards {', '.join(parts_en)}.")


def build_plan(name: str, chosen: list[Option], gaps: HouseholdGaps, weights: dict[str, float],
               budget: float) -> Plan:
    keys = _gap_keys(gaps)
    gap_of = {(p, c): g for p, c, g in keys}
    bought: dict[tuple[str, CoverageType], float] = {}
    for o in chosen:
        for c, sa in o.cover.items():
            bought[(o.person.person_id, c)] = bought.get((o.person.person_id, c), 0.0) + sa
    remaining: dict[str, dict[str, float]] = {}
    before = after = 0.0
    for p, c, g in keys:
        left = max(0.0, g - bought.get((p, c), 0.0))
        remaining.setdefault(p, {})[c.value] = left
        w = COVERAGE_WEIGHT[c] * weights[p]
        before += w
        after += w * (1.0 - closure_score(1.0 - left / g))
    items = tuple(_item(o, gap_of) for o in sorted(chosen, key=lambda o: (-weights[o.person.person_id],
                                                                          o.product.code)))
    premium = sum(i.annual_premium for i in items)
    closed = 0.0 if before == 0 else 1.0 - after / before
    label_zh = {"recommended": "推荐方案", "cheaper": "经济方案", "fuller": "完善方案"}[name]
    zh = (f"{label_zh}:预算{money(budget)}元,{len(items)}件产品,年缴保费{premium:,.2f}元,"
          f"按优先级加权后填补缺口{closed:.0%}。")
    en = (f"{name.capitalize()} plan: budget {money(budget)} CNY, {len(items)} products, {premium:,.2f} CNY a year, "
          f"closing {closed:.0%} of the priority-weighted gaps.")
    return Plan(name, round(budget, 2), items, remaining, round(before, 6), round(after, 6), zh, en)


def household_budget(household: Household, policies: list[Policy], a: Assumptions,
                     own_budget: float | None) -> tuple[float, float, str, str]:
    """(budget for new premiums, ceiling for new premiums, explanation zh, en)."""
    ids = {p.person_id for p in household.members}
    existing = sum(p.annual_premium for p in policies if p.in_force() and (p.holder_id or p.insured_id) in ids)
    ceiling = max(0.0, household.income * a.affordability_share - existing)
    if own_budget is not None:
        return (own_budget, ceiling, f"按客户自定预算{money(own_budget)}元/年。",
                f"The customer's own budget of {money(own_budget)} CNY a year.")
    budget = max(0.0, household.income * a.budget_share - existing)
    return (budget, ceiling,
            f"双十原则:家庭年收入{money(household.income)}元的{a.budget_share:.0%}为"
            f"{money(household.income * a.budget_share)}元,减去已缴保费{money(existing)}元,"
            f"可用于新保单{money(budget)}元/年。",
            f"Double-ten rule: {a.budget_share:.0%} of household income {money(household.income)} is "
            f"{money(household.income * a.budget_share)}; less {money(existing)} already paid, {money(budget)} CNY "
            "a year is available for new cover.")


def recommend(household: Household, gaps: HouseholdGaps, policies: list[Policy], *, risk_level: str | None,
              seller_grade: str | None = None, budget: float | None = None, assumptions: Assumptions | None = None,
              log: CheckLog | None = None, shelf: tuple[Product, ...] = SHELF) -> Recommendation:
    """The recommended plan and two alternatives (cheaper: half the budget; fuller: 1.5×, within affordability)."""
    a = assumptions or Assumptions()
    amount, ceiling, zh, en = household_budget(household, policies, a, budget)
    subject = f"{household.household_id}/plan"
    if amount > ceiling:
        check_affordability(subject, amount, household.income, a.affordability_share, log)
        zh += f"超过承受上限,按{money(ceiling)}元配置。"
        en += f" Above the affordability ceiling: planned at {money(ceiling)}."
        amount = ceiling
    weights = person_weights(household)
    options, blocked = candidates(household, gaps, risk_level=risk_level, seller_grade=seller_grade,
                                  shelf=shelf, log=log)
    plans = {name: build_plan(name, optimise(options, gaps, weights, b), gaps, weights, b)
             for name, b in (("recommended", amount), ("cheaper", amount * 0.5),
                             ("fuller", min(amount * 1.5, max(ceiling, amount))))}
    check_affordability(subject, plans["recommended"].premium, household.income, a.affordability_share, log)
    return Recommendation(plans["recommended"], (plans["cheaper"], plans["fuller"]), zh, en, tuple(blocked))
