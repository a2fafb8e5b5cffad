"""The death-benefit cap for minors (未成年人死亡保险金额限制), across all insurers.

Source: 《中国保监会关于父母为其未成年子女投保以死亡为给付保险金条件人身保险有关问题的通知》
(保监发〔2015〕90号, in force 2016-01-01): for a child under 10 the death benefits of all policies
a parent takes out on the child, with every insurer together, may not exceed 200,000 yuan; for a
child of 10 to 17, 500,000. The notice leaves out of the limit the premiums paid or the cash /
account value returned on death, and air-accident and major-natural-disaster death benefits; so
savings products whose death benefit is the premium or account value (basis ``savings``) do not
count, and the accident cover counted here is the policy's accident sum assured (no carve-outs are
recorded in the wallet). See docs/advice.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from shouhu.advice.model import Policy
from shouhu.model.vocab import CoverageType
from shouhu.reference.products import Product

RULE = "minor_death_cap"
SOURCE = "保监发〔2015〕90号"
DEATH_COVERS = (CoverageType.LIFE.value, CoverageType.ACCIDENT.value)


def death_cap(age: int) -> float | None:
    """The cap on a minor's total death benefit at ``age``; None for adults (18+)."""
    if age < 10:
        return 200_000.0
    if age < 18:
        return 500_000.0
    return None


def product_pays_death(product: Product) -> bool:
    """A product whose death benefit counts towards the cap (not a premium / account-value refund)."""
    return product.basis != "savings" and any(c.value in DEATH_COVERS for c in product.coverages)


def policy_death_benefit(policy: Policy) -> float:
    """The larger of the life and accident sums assured: what the policy pays on (accidental) death."""
    if policy.product_type in ("annuity", "endowment", "increasing_whole_life", "universal", "unit_linked"):
        return 0.0  # premium / account value refunds, outside the cap
    return max((policy.coverages.get(c, 0.0) for c in DEATH_COVERS), default=0.0)


def death_cover_in_force(person_id: str, policies: Iterable[Policy]) -> float:
    """The person's death benefit over every in-force policy, ours and other insurers' alike."""
    return sum(policy_death_benefit(p) for p in policies if p.insured_id == person_id and p.in_force())
