"""Channel ROI on new-business value at issue with commission as a cost: worked examples checked by hand."""

from __future__ import annotations

from datetime import date

import ibis
import pytest

from shouhu.channels import roi
from shouhu.reference import commission
from shouhu.scoring.nbv import issue_value

# CL(2010-2013) CL1 (male, non-pension I): q30 = 0.000797, q31 = 0.000847
S1 = 0.9 * (1 - 0.000797)  # lapse 10%, survives age 30: 0.8992827
S2 = 0.81 * (1 - 0.000797) * (1 - 0.000847)  # 0.8086689
V1, V2 = S1 / 1.08, S2 / 1.08**2  # 0.8326692, 0.6933033


def test_regular_premium_nbv_and_commission_by_hand() -> None:
    # agency critical illness, 10,000 a year for 3 years, man of 30, 10% lapse, 8% risk discount
    v = issue_value(premium=10_000, single=False, product_type="critical_illness", channel="agent", age=30,
                    female=False, pay_years=3, cover_years=0, lapse=0.10)
    assert v.pv_premium == pytest.approx(10_000 * (1 + V1 + V2))  # 25,259.72
    assert v.pv_premium == pytest.approx(25_259.72, abs=0.01)
    assert v.nbv == pytest.approx(0.18 * 25_259.72, abs=0.01)  # margin 18% -> 4,546.75
    # 40% of the first premium + 8% of the two renewals (renewal years 4 > 2 premiums left)
    assert v.commission == pytest.approx(10_000 * (0.40 + 0.08 * (V1 + V2)))
    assert v.commission == pytest.approx(5_220.78, abs=0.01)
    assert v.after_commission == pytest.approx(4_546.75 - 5_220.78, abs=0.02)


def test_single_premium_nbv_is_the_fund_spread_and_commission_is_paid_once() -> None:
    v = issue_value(premium=100_000, single=True, product_type="endowment", channel="bancassurance", age=30,
                    female=False, pay_years=1, cover_years=2, lapse=0.10)
    assert v.nbv == pytest.approx(100_000 * 0.01 * (V1 + V2))  # 1% savings spread for 2 years: 1,525.97
    assert v.nbv == pytest.approx(1_525.97, abs=0.01)
    assert v.commission == pytest.approx(0.02 * 100_000)  # bancassurance single: 2%


def test_channels_without_commission_and_unknown_products() -> None:
    assert commission.rate("direct", "critical_illness").first_year == 0.0
    assert commission.rate("bancassurance", "annuity") == commission.RATES[("bancassurance", "*")]
    assert commission.rate("somewhere", "term_life") == commission.NONE
    for r in commission.RATES.values():
        assert 0.0 <= r.renewal <= r.first_year <= 0.5 and 0.0 <= r.single <= 0.2


def _tables(spend: float) -> dict[str, ibis.Table]:
    return {
        "src_marketing_spend": ibis.memtable({"channel": ["agent", "internet"], "amount": [spend, 500.0],
                                              "week_start": [date(2025, 1, 6), date(2025, 1, 6)]}),
        "src_policy": ibis.memtable({
            "policy_no": ["P1", "P2"], "channel": ["agent", "agent"], "_source": ["agent_crm", "agent_crm"],
            "insured_record_id": ["R1", "R2"], "product_code": ["CI01", "CI01"],
            "issue_date": [date(2025, 2, 1), date(2025, 3, 1)], "payment_frequency": ["annual", "annual"],
            "annual_premium": [10_000.0, 10_000.0], "premium_term_years": [3, 3],
            "coverage_term_years": [0, 0], "status": ["in_force", "in_force"]}),
        "src_product": ibis.memtable({"product_code": ["CI01"], "product_type": ["critical_illness"]}),
        "src_party": ibis.memtable({"_source": ["agent_crm", "agent_crm"], "record_id": ["R1", "R2"],
                                    "birth_date": [date(1994, 6, 1), date(1994, 6, 1)], "gender": ["M", "M"]}),
    }


def test_roi_is_nbv_less_commission_and_spend_over_their_sum() -> None:
    rows = roi.compute(_tables(1_000.0), period="quarter", as_of=date(2026, 6, 30))
    agent = next(r for r in rows if r["channel"] == "agent")
    # no payments table: persistency unmeasured, so the default 5% lapse; both insureds are 30 at issue
    one = issue_value(premium=10_000, single=False, product_type="critical_illness", channel="agent", age=30,
                      female=False, pay_years=3, cover_years=0, lapse=0.05)
    assert agent["period"] == "2025Q1" and agent["new_policies"] == 2
    assert agent["nbv"] == pytest.approx(2 * one.nbv) and agent["commission"] == pytest.approx(2 * one.commission)
    assert agent["acquisition_cost"] == pytest.approx(2 * one.commission + 1_000)
    expected = (2 * one.nbv - 2 * one.commission - 1_000) / (2 * one.commission + 1_000)
    assert agent["roi"] == pytest.approx(expected)
    assert agent["roi"] < 0  # a 3-year-pay CI does not repay a 40% first-year commission
    internet = next(r for r in rows if r["channel"] == "internet")
    assert internet["nbv"] == 0.0 and internet["roi"] == pytest.approx(-1.0)  # spend and no business
    by = {r["channel"]: r for r in roi.by_channel(rows)}
    assert by["agent"]["roi"] == pytest.approx(expected)


def test_more_spend_lowers_roi() -> None:
    cheap = roi.compute(_tables(100.0), period="year", as_of=date(2026, 6, 30))
    dear = roi.compute(_tables(10_000.0), period="year", as_of=date(2026, 6, 30))
    assert dear[0]["roi"] < cheap[0]["roi"]
