"""The neutral comparison: fixed order, no commission, premium per 10,000 of cover, wallet beside the shelf."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import pytest

from shouhu.advice.model import Policy
from shouhu.content.compare import Row, compare
from shouhu.errors import InvalidInput
from shouhu.reference.products import SHELF


def test_critical_illness_products_side_by_side_with_price_per_10k_and_exclusions() -> None:
    rows = compare(30, "F", product_types=["critical_illness"])
    assert [r.code for r in rows][-1] == "CI02"  # a children's product: unpriced at 30, so last
    priced = [r for r in rows if r.premium_per_10k is not None]
    assert {r.code for r in priced} == {"CI01", "CI03"}
    prices = [r.premium_per_10k for r in priced]
    assert all(p is not None and p > 0 for p in prices) and prices == sorted(prices)  # type: ignore[type-var]
    assert all(r.waiting_days == 90 and r.exclusions for r in rows)


def test_products_outside_their_issue_ages_are_shown_with_a_note_not_priced() -> None:
    child = next(r for r in compare(30, "F", coverage="critical_illness") if r.code == "CI02")
    assert child.premium_per_10k is None and "0-17" in child.note


def test_savings_products_are_not_priced_per_10k_of_cover() -> None:
    rows = compare(40, "M", product_types=["annuity", "increasing_whole_life"])
    assert rows and all(r.premium_per_10k is None and "sold by premium" in r.note for r in rows)


def test_the_order_ignores_commission_and_the_shelf_order() -> None:
    assert not [f.name for f in fields(Row) if "commission" in f.name]
    forward = compare(35, "M")
    backward = compare(35, "M", shelf=tuple(reversed(SHELF)))
    assert [r.code for r in forward] == [r.code for r in backward]


def test_wallet_policies_are_compared_on_the_same_basis() -> None:
    other = Policy("EXT-1", "c1", "critical_illness", {"critical_illness": 500_000.0}, date(2024, 1, 1),
                   annual_premium=6_000.0, waiting_days=180, product_name="某公司重疾", insurer="某保险公司")
    rows = compare(30, "M", product_types=["critical_illness"], wallet=[other])
    ext = next(r for r in rows if r.source == "wallet")
    assert ext.premium_per_10k == 120.0 and ext.waiting_days == 180 and ext.exclusions


@pytest.mark.parametrize(("kw", "field"), [({"product_types": ["cars"]}, "product_type"),
                                           ({"coverage": "pets"}, "coverage")])
def test_bad_filters_name_the_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        compare(30, "M", **kw)  # type: ignore[arg-type]
    assert e.value.data["field"] == field
