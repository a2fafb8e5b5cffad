"""Disease knowledge linked to the customer's cover: what the policies would pay, and the gap."""

from __future__ import annotations

import pytest

from shouhu.content import diseases
from shouhu.content.diseases import Cover, disease_gap, scenario
from shouhu.errors import UnknownName


def test_every_disease_states_a_sane_cost_range() -> None:
    cat = diseases.catalogue()
    assert len(cat) >= 6
    for d in cat.values():
        assert 0 < d.cost_low < d.cost_high and 0 < d.social_share < 1 and d.recovery_years >= 0
        assert d.zh and d.en


def test_the_gap_is_out_of_pocket_plus_lost_income_less_what_the_policies_pay() -> None:
    d = diseases.disease("malignant_tumour")  # 200k-800k, social 45%, 3 recovery years
    cover = Cover(ci_sum_assured=300_000, medical_limit=2_000_000, annual_income=100_000)
    low = scenario(d, 200_000, cover)
    assert low.social == 90_000 and low.out_of_pocket == 110_000
    assert low.medical_pays == 100_000  # above the 10,000 deductible
    assert low.lost_income == 300_000 and low.ci_pays == 300_000
    assert low.gap == 110_000 + 300_000 - 100_000 - 300_000


def test_without_cover_the_gap_is_everything_and_it_never_goes_negative() -> None:
    bare = disease_gap("stroke_sequelae", Cover(annual_income=200_000))
    assert bare.high.gap == bare.high.out_of_pocket + bare.high.lost_income
    rich = disease_gap("stroke_sequelae", Cover(ci_sum_assured=5_000_000, medical_limit=2_000_000,
                                                annual_income=200_000))
    assert rich.low.gap == rich.high.gap == 0


def test_cover_in_its_waiting_period_does_not_pay_and_is_said_so() -> None:
    g = disease_gap("acute_myocardial_infarction", Cover(ci_in_waiting=500_000, annual_income=80_000))
    assert g.low.ci_pays == 0
    assert "等待期" in g.explain("zh") and "waiting period" in g.explain("en")


def test_a_child_loses_no_income() -> None:
    g = disease_gap("childhood_leukaemia", Cover(annual_income=0, earning=False, ci_sum_assured=300_000))
    assert g.low.lost_income == 0 and g.low.ci_pays == 300_000


def test_an_unknown_disease_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownName, match="malignant_tumour"):
        diseases.disease("flu")
