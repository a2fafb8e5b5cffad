"""Premiums actually due: the dates a policy's premiums fall due and what a household pays in a year.

A budget for new cover is what is left of the household's means after the premiums it still has
to pay, so only premiums that fall due count: a single premium (趸交) was paid at issue, a paid-up
policy (交费期满, the premium term has ended) pays nothing more, a lapsed or surrendered policy pays
nothing unless reinstated. Counting ``annual_premium`` of every in-force policy instead would treat
a 1,000,000 yuan single premium as a yearly bill and leave no budget at all.
"""

from __future__ import annotations

from datetime import date

from shouhu.advice.model import Policy, add_years
from shouhu.model.vocab import PaymentFrequency


def per_year(policy: Policy) -> int:
    """Instalments a year (0 = single premium); an unknown frequency code is read as annual."""
    try:
        return PaymentFrequency(policy.payment_frequency).per_year
    except ValueError:
        return 1


def due_dates(policy: Policy, start: date, end: date) -> list[date]:
    """Premium due dates of ``policy`` in [start, end): anniversaries of issue by the payment frequency."""
    n = per_year(policy)
    if n == 0 or not policy.in_force():
        return []
    step, k = 12 // n, 0
    out: list[date] = []
    stop = min(end, policy.premium_end_date)
    while True:
        months = policy.issue_date.month - 1 + k * step
        d = date(policy.issue_date.year + months // 12, months % 12 + 1, min(policy.issue_date.day, 28))
        if d >= stop:
            return out
        if d >= start:
            out.append(d)
        k += 1


def instalment(policy: Policy) -> float:
    return policy.annual_premium / max(per_year(policy), 1)


def due_next_12_months(policy: Policy, as_of: date) -> float:
    """What ``policy`` will ask for in the 12 months from ``as_of`` (inclusive), to the fen."""
    return round(instalment(policy) * len(due_dates(policy, as_of, add_years(as_of, 1))), 2)


def household_premiums_due(policies: list[Policy], payer_ids: set[str], as_of: date) -> float:
    """Premiums due in the next 12 months on the policies the household pays (holder, else insured)."""
    return round(sum(due_next_12_months(p, as_of) for p in policies if (p.holder_id or p.insured_id) in payer_ids), 2)
