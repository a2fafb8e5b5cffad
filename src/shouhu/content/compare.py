"""A neutral product comparison across the product shelf and the customer's own wallet.

Per product: what it covers, for how long, the waiting period, the standard exclusions of its type
(``data/product_terms.toml``) and the premium per 10,000 yuan of cover at the customer's age and sex.

Neutral means: the order is fixed by product type, then the premium per 10,000 of cover (cheapest
first), then the code, and nothing about commission, margin or sales targets is read or shown (a test
checks that no commission figure changes the order). Savings products are sold by premium, not by
cover: their premium per 10,000 of cover compares nothing useful, so it is left empty and said so.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from shouhu.advice.model import Policy, Sex
from shouhu.errors import InvalidInput
from shouhu.model.vocab import CoverageType, ProductType
from shouhu.reference.products import SHELF, Product, annual_premium

TERMS = Path(__file__).parent / "data" / "product_terms.toml"
UNIT = 10_000.0
SAVINGS_BASIS = "savings"
TYPE_ORDER = {code: i for i, code in enumerate(ProductType.codes())}
NEUTRALITY_ZH = "排序按产品类型、每万元保额保费和产品代码,不考虑佣金或销售目标;条款以合同为准。"
NEUTRALITY_EN = ("Ordered by product type, premium per 10,000 of cover and code; commission and sales targets are "
                 "not considered. The policy wording prevails.")


@dataclass(frozen=True)
class Row:
    source: str  # shelf | wallet
    code: str  # product code (shelf) or policy number (wallet)
    name: str
    product_type: str
    coverages: tuple[str, ...]
    cover_years: int  # 0 = whole life
    pay_years: int
    waiting_days: int
    exclusions: tuple[str, ...]
    premium_per_10k: float | None  # annual premium per 10,000 of cover; None when not comparable
    note: str = ""
    insurer: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "coverages": list(self.coverages), "exclusions": list(self.exclusions),
                "type_zh": ProductType(self.product_type).zh if self.product_type in TYPE_ORDER else ""}


@cache
def exclusions_by_type(path: Path = TERMS) -> dict[str, tuple[str, ...]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {k: tuple(v) for k, v in data["exclusions"].items()}


def _shelf_row(p: Product, age: int, sex: Sex) -> Row:
    per_10k: float | None = None
    note = ""
    if p.basis == SAVINGS_BASIS:
        note = "储蓄型产品按保费销售,每万元保额保费不可比 / sold by premium: per-10,000 cover not comparable"
    elif not p.min_age <= age <= p.max_age:
        note = f"投保年龄{p.min_age}-{p.max_age}岁 / issue ages {p.min_age}-{p.max_age}"
    else:
        per_10k = annual_premium(p, age, sex, UNIT)
    return Row("shelf", p.code, p.name, p.type.value, tuple(c.value for c in p.coverages), p.cover_years,
               p.pay_years, p.waiting_days, exclusions_by_type().get(p.type.value, ()), per_10k, note)


def _wallet_row(pol: Policy) -> Row:
    main = max(pol.coverages.values(), default=0.0)
    per_10k = round(pol.annual_premium / (main / UNIT), 2) if main > 0 and pol.annual_premium > 0 else None
    return Row("wallet", pol.policy_no, pol.product_name or pol.product_code, pol.product_type,
               tuple(sorted(pol.coverages)), pol.coverage_term_years, pol.premium_term_years, pol.waiting_days,
               exclusions_by_type().get(pol.product_type, ()), per_10k, insurer=pol.insurer)


def _order(row: Row) -> tuple[int, float, str]:
    price = row.premium_per_10k if row.premium_per_10k is not None else math.inf
    return TYPE_ORDER.get(row.product_type, len(TYPE_ORDER)), price, row.code


def compare(age: int, sex: Sex, *, product_types: Iterable[str] = (), coverage: str = "",
            wallet: Iterable[Policy] = (), shelf: Iterable[Product] = SHELF) -> list[Row]:
    """The shelf's products (optionally of some types, or covering one coverage type) beside the wallet's."""
    types = set(product_types)
    for t in types:
        if t not in TYPE_ORDER:
            raise InvalidInput(f"product_type: {t!r} is not one of {', '.join(TYPE_ORDER)}", field="product_type")
    if coverage and coverage not in CoverageType.codes():
        raise InvalidInput(f"coverage: {coverage!r} is not one of {', '.join(CoverageType.codes())}",
                           field="coverage")
    if not 0 <= age <= 105:
        raise InvalidInput(f"age: {age} is outside 0-105", field="age")

    def wanted(product_type: str, covers: Iterable[str]) -> bool:
        return (not types or product_type in types) and (not coverage or coverage in covers)

    rows = [_shelf_row(p, age, sex) for p in shelf if wanted(p.type.value, (c.value for c in p.coverages))]
    rows += [_wallet_row(pol) for pol in wallet if wanted(pol.product_type, pol.coverages)]
    return sorted(rows, key=_order)
