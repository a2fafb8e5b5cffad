"""Portfolio recommendation: products and sums assured that close a household's gaps within a budget.

An integer programme (``scipy.optimize.milp``, HiGHS) over discrete options: for every person and
every suitable shelf product, a few sums assured (10/25/50/75/100% of the gap it targets, rounded up
to 10,000; medical: the product's one limit). Binary x_j picks option j; continuous f_pc ∈ [0, 1]
is the share of person p's gap c closed, so gap_pc · f_pc is the yuan of risk covered.

    maximise   Σ w_c d_p gap_pc f_pc / W  -  ε Σ premium_j x_j / budget
    subject to gap_pc f_pc ≤ Σ_j SA_jc x_j            (cover bought closes the gap, never more than all)
               Σ_j premium_j x_j ≤ budget
               Σ_{j of (p, type)} x_j ≤ 1            (one product of each type per person, one sum assured)
               gap_E,life · x_j ≤ Σ_{k life on E} SA_k x_k   for every option j with life cover on a
                                                      dependant (E = the main earner: 先保经济支柱)

The score is yuan of risk covered, so a 5,800,000 gap closed by half counts ten times a 290,000 gap
closed in full; scoring the *share* of each gap closed (as before) bought cheap term life for a
low-earning spouse and none for the breadwinner. Weights: coverage w_c (protection before savings:
life, CI 1.0; medical 0.8; accident 0.5; education 0.4; pension 0.3) × dependence d_p (0.1 + the
person's share of household income: what the household loses with them). W = Σ w_c d_p gap_pc
normalises the score to 0..1. The last constraint makes it a rule, not a preference: no dependant's
life is insured while the main earner's life gap is still open. ε = 1e-6 only breaks ties towards
the cheaper plan. Single-premium (趸交) products are left out: an annual budget cannot hold a lump
sum. Premiums come from :func:`shouhu.reference.products.annual_premium` (the shelf's own pricing).
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_array

from shouhu.advice.gaps import HouseholdGaps
from shouhu.advice.methods import Assumptions
from shouhu.advice.minors import RULE as MINOR_RULE
from shouhu.advice.minors import SOURCE as MINOR_SOURCE
from shouhu.advice.minors import death_cap, death_cover_in_force, product_pays_death
from shouhu.advice.model import Household, Person, Policy, money
from shouhu.advice.premiums import household_premiums_due
from shouhu.advice.suitability import CheckLog, check_affordability, check_product
from shouhu.model.vocab import CoverageType
from shouhu.reference.products import SHELF, Product, annual_premium

C = CoverageType
COVERAGE_WEIGHT: dict[CoverageType, float] = {C.LIFE: 1.0, C.CRITICAL_ILLNESS: 1.0, C.MEDICAL: 0.8,
                                              C.ACCIDENT: 0.5, C.EDUCATION: 0.4, C.PENSION: 0.3}
ROLE_ZH = {"head": "户主", "spouse": "配偶", "child": "子女", "parent": "父母", "other": "家庭成员"}
ROLE_EN = {"head": "head", "spouse": "spouse", "child": "child", "parent": "parent", "other": "member"}
EPSILON = 1e-6
DEPENDENCE_FLOOR = 0.1
STEP = 10_000.0
FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Option:
    person: Person
    product: Product
    sum_assured: float
    premium: float
    cover: dict[CoverageType, float]
    death: float = 0.0  # death benefit counted towards a minor's cap (minors.py)


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
    """Dependence weight d_p: 0.1 + the person's share of household income (who the household lives on)."""
    income = household.income
    return {p.person_id: DEPENDENCE_FLOOR + (p.annual_income / income if income > 0 else 0.0)
            for p in household.members}


def main_earner(household: Household) -> str | None:
    """The member with the highest income (ties: the first listed); None when nobody earns."""
    earners = [p for p in household.members if p.annual_income > 0]
    return max(earners, key=lambda p: p.annual_income).person_id if earners else None


def _round_up(value: float) -> float:
    return max(STEP, math.ceil(value / STEP) * STEP)


def _lasts(product: Product, person: Person, horizon_age: int) -> bool:
    """Cover counts towards a need only if it lasts to the need's horizon (as existing cover must)."""
    return product.cover_years == 0 or product.cover_years == 1 or person.age + product.cover_years >= horizon_age


def _options(person: Person, product: Product, open_gaps: dict[CoverageType, tuple[float, int]],
             room: float | None = None) -> list[Option]:
    """Sums assured to choose from; ``room`` is what is left of a minor's death-benefit cap, if any."""
    covs = [c for c in product.coverages if c in open_gaps and _lasts(product, person, open_gaps[c][1])]
    if not covs:
        return []
    pays_death = product_pays_death(product)
    if product.basis == "medical":
        amounts = [2_000_000.0]
    else:
        target = max(open_gaps[c][0] for c in covs)
        amounts = sorted({_round_up(target * f) for f in FRACTIONS})
        if room is not None and pays_death:
            top = math.floor(room / STEP) * STEP
            amounts = sorted({min(sa, top) for sa in amounts if min(sa, top) > 0})
    out = []
    for sa in amounts:
        premium = annual_premium(product, person.age, person.sex, sa)
        if not math.isnan(premium):
            out.append(Option(person, product, sa, premium, {c: sa for c in covs}, sa if pays_death else 0.0))
    return out


def _cap_room(person: Person, policies: list[Policy]) -> float | None:
    cap = death_cap(person.age)
    return None if cap is None else max(0.0, cap - death_cover_in_force(person.person_id, policies))


def _cap_block(person: Person, product: Product, room: float) -> dict[str, Any]:
    cap = death_cap(person.age) or 0.0
    return {"person_id": person.person_id, "product_code": product.code, "product_name": product.name,
            "rule": MINOR_RULE,
            "zh": f"未成年人身故保险金额限制({MINOR_SOURCE}):{person.age}岁子女各公司身故保额合计不得超过"
                  f"{money(cap)}元,已有保单已用满",
            "en": f"minors' death-benefit cap ({MINOR_SOURCE}): a child of {person.age} may hold at most "
                  f"{money(cap)} CNY of death cover across all insurers; existing policies use it all (room "
                  f"{money(room)})"}


def candidates(household: Household, gaps: HouseholdGaps, *, risk_level: str | None, seller_grade: str | None,
               shelf: tuple[Product, ...] = SHELF, log: CheckLog | None = None,
               policies: list[Policy] | None = None, assessed_on: date | None = None,
               channel: str | None = None) -> tuple[list[Option], list[dict[str, Any]]]:
    """Options for every suitable (person, product) pair, and the blocked pairs with their reasons."""
    options: list[Option] = []
    blocked: list[dict[str, Any]] = []
    for person in household.members:
        open_gaps = {g.coverage: (float(g.gap), person.age + g.horizon.year - gaps.as_of.year)
                     for g in gaps.by_person[person.person_id] if g.gap > 0}
        room = _cap_room(person, list(policies or []))
        for product in shelf:
            if product.pay_years == 1 and product.cover_years != 1:
                continue  # single premium
            if not any(c in open_gaps for c in product.coverages):
                continue
            if room is not None and room < STEP and product_pays_death(product) and product.basis != "medical":
                blocked.append(_cap_block(person, product, room))
                continue
            verdict = check_product(person, product, risk_level=risk_level, seller_grade=seller_grade, log=log,
                                    assessed_on=assessed_on, as_of=gaps.as_of, channel=channel)
            if verdict.passed:
                options.extend(_options(person, product, open_gaps, room))
            else:
                blocked.append({"person_id": person.person_id, "product_code": product.code,
                                "product_name": product.name, "zh": verdict.why("zh"), "en": verdict.why("en")})
    return options, blocked


def _minor_rows(options: list[Option], household: Household, policies: list[Policy]
                ) -> list[tuple[dict[int, float], float]]:
    """Σ death_j x_j ≤ room for each minor: the cap holds for the whole plan, not each product."""
    rows = []
    for person in household.members:
        room = _cap_room(person, policies)
        idx = {j: o.death for j, o in enumerate(options) if o.person.person_id == person.person_id and o.death > 0}
        if room is not None and idx:
            rows.append((idx, room))
    return rows


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


def _earner_first_rows(options: list[Option], keys: list[tuple[str, CoverageType, float]],
                       earner: str | None) -> list[dict[int, float]]:
    """One row per dependant life option j: gap_E·x_j − Σ_k SA_k x_k ≤ 0 over the main earner's life options k."""
    gap = next((g for p, c, g in keys if p == earner and c is C.LIFE), 0.0)
    if earner is None or gap <= 0:
        return []
    mine = {k: -o.cover[C.LIFE] for k, o in enumerate(options) if o.person.person_id == earner and C.LIFE in o.cover}
    rows = []
    for j, o in enumerate(options):
        if o.person.person_id != earner and C.LIFE in o.cover:
            rows.append({**mine, j: gap})
    return rows


def optimise(options: list[Option], gaps: HouseholdGaps, weights: dict[str, float], budget: float,
             earner: str | None = None, caps: list[tuple[dict[int, float], float]] | None = None) -> list[Option]:
    """The options the integer programme picks (see the module docstring)."""
    keys = _gap_keys(gaps)
    n, m = len(options), len(keys)
    if n == 0 or m == 0 or budget <= 0:
        return []
    total = sum(COVERAGE_WEIGHT[c] * weights[p] * g for p, c, g in keys)
    cost = np.zeros(n + m)  # variables: x_j (n binaries), then f_i (share of gap i closed)
    cost[:n] = [EPSILON * o.premium / budget for o in options]
    cost[n:] = [-COVERAGE_WEIGHT[c] * weights[p] * g / total for p, c, g in keys]
    groups: dict[tuple[str, str], list[int]] = {}
    for j, o in enumerate(options):
        groups.setdefault((o.person.person_id, o.product.type.value), []).append(j)
    earner_rows = _earner_first_rows(options, keys, earner)
    cap_rows = caps or []
    a = lil_array((m + 1 + len(groups) + len(earner_rows) + len(cap_rows), n + m))
    upper = np.zeros(a.shape[0])
    for i, (p, c, gap) in enumerate(keys):
        a[i, n + i] = gap
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
    for r, row in enumerate(earner_rows, start=m + 1 + len(groups)):
        for j, v in row.items():
            a[r, j] = v
    for r, (row, room) in enumerate(cap_rows, start=m + 1 + len(groups) + len(earner_rows)):
        for j, v in row.items():
            a[r, j] = v
        upper[r] = room
    with _quiet_stdout():
        res = milp(cost, constraints=LinearConstraint(a.tocsr(), -np.inf, upper), bounds=Bounds(0, 1),
                   integrality=np.r_[np.ones(n), np.zeros(m)], options={"mip_rel_gap": 0.0})
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
        before += w * g
        after += w * left
    items = tuple(_item(o, gap_of) for o in sorted(chosen, key=lambda o: (-weights[o.person.person_id],
                                                                          o.product.code)))
    premium = sum(i.annual_premium for i in items)
    closed = 0.0 if before == 0 else 1.0 - after / before
    label_zh = {"recommended": "推荐方案", "cheaper": "经济方案", "fuller": "完善方案"}[name]
    zh = (f"{label_zh}:预算{money(budget)}元,{len(items)}件产品,年缴保费{premium:,.2f}元,"
          f"按家庭依赖程度加权后填补缺口金额的{closed:.0%}。")
    en = (f"{name.capitalize()} plan: budget {money(budget)} CNY, {len(items)} products, {premium:,.2f} CNY a year, "
          f"closing {closed:.0%} of the gap in yuan, weighted by how much the household depends on each member.")
    return Plan(name, round(budget, 2), items, remaining, round(before, 2), round(after, 2), zh, en)


def household_budget(household: Household, policies: list[Policy], a: Assumptions,
                     own_budget: float | None, as_of: date) -> tuple[float, float, str, str]:
    """(budget for new premiums, ceiling for new premiums, explanation zh, en).

    What the household already pays is the premium actually due in the 12 months from ``as_of``
    (:mod:`shouhu.advice.premiums`): single-premium and paid-up policies ask for nothing more.
    """
    ids = {p.person_id for p in household.members}
    existing = household_premiums_due(policies, ids, as_of)
    ceiling = max(0.0, household.income * a.affordability_share - existing)
    if own_budget is not None:
        return (own_budget, ceiling, f"按客户自定预算{money(own_budget)}元/年。",
                f"The customer's own budget of {money(own_budget)} CNY a year.")
    budget = max(0.0, household.income * a.budget_share - existing)
    return (budget, ceiling,
            f"双十原则:家庭年收入{money(household.income)}元的{a.budget_share:.0%}为"
            f"{money(household.income * a.budget_share)}元,减去未来12个月应缴的续期保费{money(existing)}元"
            f"(趸交和已交清保单不计),可用于新保单{money(budget)}元/年。",
            f"Double-ten rule: {a.budget_share:.0%} of household income {money(household.income)} is "
            f"{money(household.income * a.budget_share)}; less {money(existing)} of premiums due in the next 12 "
            f"months (single-premium and paid-up policies excluded), {money(budget)} CNY a year is available "
            "for new cover.")


def recommend(household: Household, gaps: HouseholdGaps, policies: list[Policy], *, risk_level: str | None,
              seller_grade: str | None = None, budget: float | None = None, assumptions: Assumptions | None = None,
              log: CheckLog | None = None, shelf: tuple[Product, ...] = SHELF, assessed_on: date | None = None,
              channel: str | None = None) -> Recommendation:
    """The recommended plan and two alternatives (cheaper: half the budget; fuller: 1.5×, within affordability)."""
    a = assumptions or Assumptions()
    amount, ceiling, zh, en = household_budget(household, policies, a, budget, gaps.as_of)
    subject = f"{household.household_id}/plan"
    if amount > ceiling:
        check_affordability(subject, amount, household.income, a.affordability_share, log)
        zh += f"超过承受上限,按{money(ceiling)}元配置。"
        en += f" Above the affordability ceiling: planned at {money(ceiling)}."
        amount = ceiling
    weights = person_weights(household)
    earner = main_earner(household)
    options, blocked = candidates(household, gaps, risk_level=risk_level, seller_grade=seller_grade,
                                  shelf=shelf, log=log, policies=policies, assessed_on=assessed_on, channel=channel)
    caps = _minor_rows(options, household, policies)
    plans = {name: build_plan(name, optimise(options, gaps, weights, b, earner, caps), gaps, weights, b)
             for name, b in (("recommended", amount), ("cheaper", amount * 0.5),
                             ("fuller", min(amount * 1.5, max(ceiling, amount))))}
    check_affordability(subject, plans["recommended"].premium, household.income, a.affordability_share, log)
    return Recommendation(plans["recommended"], (plans["cheaper"], plans["fuller"]), zh, en, tuple(blocked))
