"""The advice domain's data: people, households, policies and explained figures.

Money is CNY as ``float`` everywhere in this package, rounded to whole yuan where a figure is shown
(sums assured, needs, gaps) and to fen for premiums (the product shelf quotes premiums to fen).
Floats keep the optimiser and the batch step vectorisable; no figure here is a ledger amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from shouhu.model.vocab import CoverageType, PolicyStatus

Sex = Literal["M", "F"]
# Coverage types a needs diagnosis measures; savings is not a protection need.
NEED_TYPES: tuple[CoverageType, ...] = (
    CoverageType.LIFE, CoverageType.CRITICAL_ILLNESS, CoverageType.MEDICAL, CoverageType.ACCIDENT,
    CoverageType.PENSION, CoverageType.EDUCATION,
)
COOL_OFF_DAYS = 15
IN_FORCE: frozenset[str] = frozenset({PolicyStatus.IN_FORCE.value, PolicyStatus.REINSTATED.value})


@dataclass(frozen=True)
class Dependent:
    relation: str  # vocab.Relation code: child, spouse, parent, ...
    age: int


@dataclass(frozen=True)
class Person:
    """One household member as the needs engine sees them (from the fact-find or the warehouse)."""

    person_id: str
    age: int
    sex: Sex
    annual_income: float = 0.0
    role: str = "head"  # household role: head | spouse | child | parent | other
    annual_expenses: float = 0.0
    debts: float = 0.0  # consumer and other non-mortgage debt outstanding
    mortgage: float = 0.0  # mortgage balance outstanding
    savings: float = 0.0  # liquid savings and investments
    dependents: tuple[Dependent, ...] = ()
    retirement_age: int = 60  # whole years of the statutory (or declared) retirement age
    retirement_months: int = 0  # and the months beyond it (the 2025 reform moves it by months)
    health_conditions: frozenset[str] = frozenset()
    name: str = ""

    @property
    def is_earner(self) -> bool:
        return self.annual_income > 0

    @property
    def years_to_retirement(self) -> float:
        return max(0.0, self.retirement_age + self.retirement_months / 12 - self.age)

    @property
    def is_retired(self) -> bool:
        return self.years_to_retirement <= 0

    @property
    def earned_income(self) -> float:
        """Income that stops on death before retirement; a retiree's pension is not (it needs no life cover)."""
        return 0.0 if self.is_retired else self.annual_income


@dataclass(frozen=True)
class Household:
    household_id: str
    members: tuple[Person, ...]

    def member(self, person_id: str) -> Person:
        for p in self.members:
            if p.person_id == person_id:
                return p
        raise KeyError(person_id)

    @property
    def income(self) -> float:
        return sum(p.annual_income for p in self.members)


@dataclass(frozen=True)
class Policy:
    """A policy in the wallet: from the warehouse (``source='warehouse'``) or entered by hand / upload."""

    policy_no: str
    insured_id: str
    product_type: str  # vocab.ProductType code
    coverages: dict[str, float]  # coverage type code -> sum assured
    issue_date: date
    status: str = PolicyStatus.IN_FORCE.value
    status_date: date | None = None
    annual_premium: float = 0.0
    payment_frequency: str = "annual"
    premium_term_years: int = 1
    coverage_term_years: int = 0  # 0 = whole life
    waiting_days: int = 0
    holder_id: str = ""
    product_code: str = ""
    product_name: str = ""
    insurer: str = ""
    source: str = "warehouse"

    @property
    def effective_date(self) -> date:
        return date.fromordinal(self.issue_date.toordinal() + self.waiting_days)

    @property
    def expiry_date(self) -> date | None:
        if self.coverage_term_years <= 0:
            return None
        return add_years(self.issue_date, self.coverage_term_years)

    @property
    def premium_end_date(self) -> date:
        return add_years(self.issue_date, max(self.premium_term_years, 1))

    def in_force(self) -> bool:
        return self.status in IN_FORCE

    @property
    def cool_off_end(self) -> date | None:
        """Last day of the cool-off period (犹豫期): 15 days from issue for cover over one year, none otherwise.

        Counted from the issue date (the receipt date is not in channel data); see docs/advice.md."""
        if self.coverage_term_years == 1:
            return None
        return date.fromordinal(self.issue_date.toordinal() + COOL_OFF_DAYS)

    def in_cool_off(self, as_of: date) -> bool:
        end = self.cool_off_end
        return end is not None and self.in_force() and self.issue_date <= as_of <= end


@dataclass(frozen=True)
class Figure:
    """A number with its method, inputs and a plain-language explanation in zh-CN and English."""

    amount: float
    method: str
    inputs: dict[str, Any]
    zh: str
    en: str

    def explain(self, lang: str = "zh") -> str:
        return self.zh if lang.startswith("zh") else self.en

    def to_dict(self) -> dict[str, Any]:
        return {"amount": self.amount, "method": self.method, "inputs": self.inputs, "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Gap:
    """Need versus existing cover for one person and one coverage type."""

    person_id: str
    coverage: CoverageType
    need: Figure
    existing: float  # effective, in-force cover lasting to the need horizon
    in_waiting: float  # in force but still in its waiting period
    expiring: float  # in force but ending before the need horizon: not counted
    horizon: date
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        return max(0.0, round(self.need.amount - self.existing - self.in_waiting))

    @property
    def closed_share(self) -> float:
        return 1.0 if self.need.amount <= 0 else min(1.0, (self.existing + self.in_waiting) / self.need.amount)

    def to_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "coverage": self.coverage.value, "need": self.need.to_dict(),
                "existing": self.existing, "in_waiting": self.in_waiting, "expiring": self.expiring,
                "horizon": self.horizon.isoformat(), "gap": self.gap, **self.extra}


def add_years(day: date, years: int) -> date:
    """``day`` moved ``years`` calendar years (29 Feb becomes 28 Feb in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def money(value: float) -> str:
    """A CNY amount the way a person reads it: 1,234,567."""
    return f"{value:,.0f}"
