"""Statutory retirement age by sex and birth month under the 2025 reform, and the basic pension.

Retirement age. Source: 《全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定》
(adopted 2024-09-13) and its attached 《国务院关于渐进式延迟法定退休年龄的办法》: from 2025-01-01
over 15 years, men 60 → 63, women cadres 55 → 58, women workers 50 → 55. Whoever would have
retired under the old age from January 2025 retires later by one month for every 4 months of
birth (men, women 55), or every 2 months (women 50), counted from the first affected birth month
(men born 1965-01, women 55 born 1970-01, women 50 born 1975-01), up to 36 / 36 / 60 months.
Checked against the decision's table: a man born 1965-01 retires at 60y1m (2025-02); born
1976-09 or later at 63; a woman (50) born 1984-11 or later at 55; a woman (55) born 1981-09 or
later at 58.

Basic pension (企业职工基本养老保险, 国发〔2005〕38号): the basic part pays, a year,
W × (1 + I) / 2 × Y × 1% (W the local average wage, I the person's contribution index: income / W
held within the 60%–300% contribution-base band, Y contribution years); the personal account (8%
of the contribution base each year) pays account / months-divisor a month, with the divisor of
the 2005 table by retirement age. Account interest is left out: figures are in today's prices at
a real rate near zero. A planning estimate, not the pension office's calculation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

REFORM_START = date(2025, 1, 1)
# Women's original age (50 workers, 55 cadres / managerial and technical posts) is not in channel data;
# 55 is taken for the warehouse path (see docs/advice.md); a fact-find's declared age overrides it.
FEMALE_ORIGINAL_AGE = 55
# original age -> (first affected birth month, months of birth per month of delay, max delay months)
RULES: dict[tuple[str, int], tuple[date, int, int]] = {
    ("M", 60): (date(1965, 1, 1), 4, 36),
    ("F", 55): (date(1970, 1, 1), 4, 36),
    ("F", 50): (date(1975, 1, 1), 2, 60),
}
# 国发〔2005〕38号 附件: months the personal account is divided over, by retirement age
DIVISOR = {50: 195, 51: 190, 52: 185, 53: 180, 54: 175, 55: 170, 56: 164, 57: 158, 58: 152, 59: 145,
           60: 139, 61: 132, 62: 125, 63: 117, 64: 109, 65: 101}
PERSONAL_ACCOUNT_RATE = 0.08
BASE_FLOOR, BASE_CAP = 0.6, 3.0


@dataclass(frozen=True)
class RetirementAge:
    years: int
    months: int
    on: date  # the month retirement starts (first day)

    @property
    def age(self) -> float:
        return self.years + self.months / 12

    def zh(self) -> str:
        return f"{self.years}岁" + (f"{self.months}个月" if self.months else "")

    def en(self) -> str:
        return f"{self.years}" + (f" years {self.months} months" if self.months else "")


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def statutory_retirement(sex: str, birth: date, original_age: int | None = None) -> RetirementAge:
    """Statutory retirement age for ``sex`` (M/F) born on ``birth``; women's ``original_age`` is 50 or 55."""
    original = original_age if original_age is not None else (60 if sex == "M" else 55)
    if (sex, original) not in RULES:
        raise ValueError(f"no statutory retirement rule for sex {sex!r} with original age {original}: "
                         f"use one of {sorted(RULES)}")
    first, step, cap = RULES[(sex, original)]
    elapsed = _months_between(first, birth)
    delay = 0 if elapsed < 0 else min(cap, elapsed // step + 1)
    total = original * 12 + delay
    months = birth.month - 1 + total
    return RetirementAge(total // 12, total % 12, date(birth.year + months // 12, months % 12 + 1, 1))


def social_pension(income: float, retirement_age: float, contribution_years: float, average_wage: float) -> float:
    """Estimated yearly basic pension (basic part + personal account) in today's prices."""
    if contribution_years <= 0 or average_wage <= 0:
        return 0.0
    index = min(BASE_CAP, max(BASE_FLOOR, income / average_wage))
    basic = average_wage * (1 + index) / 2 * contribution_years * 0.01
    account = PERSONAL_ACCOUNT_RATE * index * average_wage * contribution_years
    divisor = DIVISOR[min(65, max(50, int(retirement_age)))]
    return basic + account / divisor * 12
