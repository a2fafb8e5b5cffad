"""Customer value: the formula by hand, monotonicity, tiers, and the warehouse step."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from shouhu.reference.mortality import qx
from shouhu.scoring import value
from shouhu.storage.warehouse import Warehouse

AS_OF = date(2026, 10, 31)


def test_one_policy_by_hand() -> None:
    # 3 future premium years, female aged 40, P = 10,000, margin 18%, lapse 10%, 3% discount
    p, m, lapse, i = 10_000.0, 0.18, 0.10, 0.03
    expected, alive = 0.0, 1.0
    for t in (1, 2, 3):
        alive *= 1 - qx(40 + t - 1, "F")
        expected += p * m * (1 - lapse) ** t * alive / (1 + i) ** t
    got = value.present_values([p], [m], [lapse], [40], [True], [3], discount=i)[0]
    assert got == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1800 * (0.9 / 1.03 + 0.81 / 1.03**2 + 0.729 / 1.03**3), rel=0.01)


def test_value_falls_with_lapse_and_discount_and_male_mortality() -> None:
    def pv(lapse: float = 0.05, i: float = 0.03, female: bool = True) -> float:
        return float(value.present_values([5000], [0.2], [lapse], [55], [female], [15], discount=i)[0])

    assert pv(0.02) > pv(0.05) > pv(0.20) > pv(1.0) == 0.0
    assert pv(i=0.0) > pv(i=0.03) > pv(i=0.08)
    assert pv(female=True) > pv(female=False)  # CL1 (male) mortality is heavier than CL2
    assert value.present_values([5000], [0.2], [0.05], [55], [True], [0])[0] == 0.0


def test_remaining_years() -> None:
    df = pd.DataFrame({
        "issue": pd.to_datetime(["2024-12-01", "2024-10-01", "2020-01-01", "2025-01-01", "2026-01-01"]),
        "term": [10, 10, 5, 1, None], "cover": [0, 0, 0, 1, None],
        "freq": ["annual", "annual", "annual", "annual", "single"],
    })
    years = value.remaining_years(df.issue, df.term, df.cover, df.freq, AS_OF)
    # 1 whole year old: premiums 2024-12 and 2025-12 paid -> 8 left; 2 years old -> 3 paid, 7 left;
    # term over -> 0; one-year renewable -> the cap; single premium -> 0
    assert list(years) == [8, 7, 0, value.MAX_YEARS, 0]


def test_tiers_cover_everyone_and_follow_value() -> None:
    v = pd.Series([0.0] * 10 + list(range(1, 101)), dtype=float)
    tiers = value.assign_tiers(v)
    assert tiers.notna().all() and set(tiers) <= {t.code for t in value.TIERS}
    assert (tiers[v == 0] == "standard").all()
    order = {t.code: i for i, t in enumerate(value.TIERS)}
    ranks = tiers.map(order)
    assert (ranks.diff()[v.diff() > 0] <= 0).all()  # higher value never gets a lower tier
    assert tiers.iloc[-1] == "platinum" and (tiers == "platinum").sum() == 5


def test_build_customer_value_on_a_book(loaded_book, tmp_path) -> None:
    from shouhu.pipeline.refresh import refresh
    from shouhu.settings import Settings

    _, url = loaded_book(customers=600, seed=5)
    refresh(Settings(data_dir=tmp_path / "d", warehouse_url=url, serving_url=f"sqlite:///{tmp_path / 's.db'}"),
            as_of=AS_OF)
    with Warehouse(url) as wh:
        info = value.build_customer_value(wh, AS_OF)
        cv = wh.read("customer_value").to_pandas()
        pv = wh.read("policy_value").to_pandas()
        n = wh.query("SELECT COUNT(*) FROM customer_360")[0][0]
    assert len(cv) == n == info["customers"] and cv.customer_id.is_unique
    assert cv.tier.notna().all() and (cv.value >= 0).all() and cv.value.max() > 0
    assert cv.value.sum() == pytest.approx(pv.value.sum(), rel=1e-6)
    assert (pv.lapse_source == "default").all()  # no lapse_score in this warehouse


def test_lapse_model_rates_are_used_when_present() -> None:
    pols = pd.DataFrame({
        "policy_no": ["A", "B", "C"], "customer_id": ["c1", "c1", "c2"],
        "product_type": ["critical_illness", "critical_illness", "unknown_type"],
        "annual_premium": [6000.0, 6000.0, 6000.0], "payment_frequency": ["annual"] * 3,
        "premium_term_years": [20, 20, 20], "coverage_term_years": [0, 0, 0],
        "issue_date": pd.to_datetime(["2025-01-01"] * 3), "age": [35, 35, 35], "female": [False] * 3,
    })
    rates = pd.DataFrame({"policy_no": ["A"], "lapse_rate": [0.4]})
    out = value.value_policies(pols, AS_OF, lapse_rates=rates)
    assert list(out.lapse_source) == ["lapse_model", "default", "default"]
    assert list(out.lapse_rate) == [0.4, value.DEFAULT_LAPSE, value.DEFAULT_LAPSE]
    assert out.value[0] < out.value[1]
    assert out.margin_rate[2] == value.DEFAULT_MARGIN and out.margin_rate[0] == value.MARGIN_RATES["critical_illness"]
    cust = value.customer_values(out, pd.Series(["c1", "c2", "c3"]))
    assert list(cust.policies) == [2, 1, 0] and cust.value[2] == 0 and cust.tier[2] == "standard"
    assert cust.value[0] == pytest.approx(out.value[0] + out.value[1], abs=0.01)


def _hand_fund(fund: float, spread: float, age: int, sex: str, years: int, lapse: float = 0.05) -> float:
    expected, alive = 0.0, 1.0
    for t in range(1, years + 1):
        alive *= 1 - qx(age + t - 1, sex)
        expected += fund * spread * (1 - lapse) ** t * alive / 1.03 ** t
    return expected


def test_single_premium_and_paid_up_policies_are_valued_on_their_fund() -> None:
    df = pd.DataFrame({
        "policy_no": ["SP", "PU", "REG"], "customer_id": ["C1", "C2", "C3"],
        "product_type": ["annuity", "whole_life", "term_life"],
        "annual_premium": [1_000_000.0, 6_000.0, 2_000.0], "payment_frequency": ["single", "annual", "annual"],
        "premium_term_years": [1, 10, 20], "coverage_term_years": [10, 0, 20],
        "issue_date": [date(2025, 3, 1), date(2010, 5, 1), date(2020, 1, 1)],
        "age": [45, 56, 40], "female": [True, False, False]})
    out = value.value_policies(df, AS_OF).set_index("policy_no")
    # bancassurance single premium: 1,000,000 × 1% spread over the 9 cover years left (10 − 1 elapsed)
    assert out.loc["SP", "value"] == pytest.approx(_hand_fund(1_000_000, 0.01, 45, "F", 9), rel=1e-9)
    assert 60_000 < out.loc["SP", "value"] < 80_000 and out.loc["SP", "value_basis"] == "fund"
    # paid up since 2020: 10 × 6,000 paid, protection spread 0.3%, whole life capped at 20 years
    assert out.loc["PU", "value"] == pytest.approx(_hand_fund(60_000, 0.003, 56, "M", 20), rel=1e-9)
    # a regular payer keeps its premium-margin value only
    reg = value.present_values([2_000.0], [0.20], [0.05], [40], [False], [13])[0]
    assert out.loc["REG", "value"] == pytest.approx(reg) and out.loc["REG", "value_basis"] == "premiums"
    tiers = value.customer_values(out.reset_index(), pd.Series(["C1", "C2", "C3"])).set_index("customer_id")
    assert tiers.loc["C1", "tier"] == "platinum"  # no longer in the lowest tier
