"""Each fact of the mart against values worked out by hand from factories.family_story().

Every test runs on DuckDB and on PostgreSQL (when reachable): the expected values are the same.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from shouhu.customer360 import build_customer_360
from shouhu.storage.warehouse import Warehouse
from tests.customer360.factories import (
    AS_OF,
    customer_with_record,
    family_story,
    load,
    make_consent,
    make_payment,
    make_policy,
    make_touchpoint,
    merge,
)

Rows = dict[str, list[dict[str, Any]]]


def build(url: str, rows: Rows, as_of: date = AS_OF) -> dict[str, dict[str, Any]]:
    """Load ``rows``, build the mart, return it keyed by customer_id."""
    with Warehouse(url) as wh:
        load(wh, rows)
        n = build_customer_360(wh, as_of)
        mart = wh.read("customer_360").to_pylist()
    assert n == len(mart)
    return {r["customer_id"]: r for r in mart}


def test_policy_facts(warehouse_url: str) -> None:
    m = build(warehouse_url, family_story())
    c1, c2 = m["C1"], m["C2"]
    # C1 is on P1, P2, P3 (holder of all, insured on P1, P2); P2 lapsed.
    assert (c1["policies_total"], c1["policies_in_force"], c1["policies_lapsed"]) == (3, 2, 1)
    assert c1["annualised_premium"] == 5000.0 + 10000.0  # P1 + P3 in force as holder; P2 lapsed
    assert (c1["sa_life"], c1["sa_critical_illness"], c1["sa_accident"], c1["sa_education"]) == (
        500000.0, 300000.0, 0.0, 0.0)  # P2's accident cover lapsed; P3 covers his daughter
    assert c1["first_policy_date"] == date(2020, 3, 1)
    assert c1["tenure_years"] == round((AS_OF - date(2020, 3, 1)).days / 365.25, 2) == 6.67
    assert c1["primary_agent_id"] == "A3"  # agent of P3, his most recent policy
    # C2 is the insured of P3 only: cover but no premium.
    assert (c2["policies_total"], c2["policies_in_force"], c2["annualised_premium"]) == (1, 1, 0.0)
    assert (c2["sa_education"], c2["sa_life"], c2["primary_agent_id"]) == (100000.0, 0.0, "A3")
    for nobody in (m["C3"], m["C4"]):
        assert (nobody["policies_total"], nobody["annualised_premium"], nobody["sa_medical"]) == (0, 0.0, 0.0)
        assert nobody["first_policy_date"] is None and nobody["tenure_years"] is None


def test_status_is_taken_as_of_the_date(warehouse_url: str) -> None:
    # On 2024-07-01 P2 had not lapsed yet (lapse event 2024-08-15) and P3 was not issued.
    m = build(warehouse_url, family_story(), as_of=date(2024, 7, 1))
    assert (m["C1"]["policies_total"], m["C1"]["policies_in_force"], m["C1"]["policies_lapsed"]) == (2, 2, 0)
    assert m["C1"]["annualised_premium"] == 8000.0
    assert m["C2"]["policies_total"] == 0


def test_payment_facts(warehouse_url: str) -> None:
    m = build(warehouse_url, family_story())
    c1 = m["C1"]
    # Settled premiums: P1 ×3, P2 ×2, P3 2025 (P3 2026 is unpaid but inside its 60-day grace period).
    # On time: P1 2024, P1 2026, P2 2023, P3 2025; late: P1 2025 (75 days), P2 2024 (never paid).
    assert c1["on_time_ratio"] == pytest.approx(4 / 6)
    assert c1["max_days_overdue"] == (AS_OF - date(2024, 6, 15)).days == 868
    # P1 annual, last due 2026-03-01 → 2027-03-01; P3 last due 2026-09-01 → 2027-09-01.
    assert c1["next_premium_due"] == date(2027, 3, 1)
    assert m["C2"]["on_time_ratio"] is None and m["C2"]["max_days_overdue"] is None  # pays nothing
    assert c1["next_premium_due"] is not None and m["C2"]["next_premium_due"] is None


def test_next_premium_due_rolls_forward_and_stops_at_the_premium_term(warehouse_url: str) -> None:
    story = merge(
        customer_with_record("M", "RM"), customer_with_record("T", "RT"), customer_with_record("S", "RS"),
        customer_with_record("F", "RF"),
        {"src_policy": [
            # monthly, no payment rows: rolled from the issue date (31st → month-end clipping)
            make_policy(policy_no="PM", holder_record_id="RM", insured_record_id="RM", payment_frequency="monthly",
                        issue_date=date(2026, 1, 31)),
            # 5-year premium term from 2021-12-01: the last premium was due 2025-12-01
            make_policy(policy_no="PT", holder_record_id="RT", insured_record_id="RT", issue_date=date(2021, 12, 1),
                        premium_term_years=5),
            make_policy(policy_no="PS", holder_record_id="RS", insured_record_id="RS", payment_frequency="single"),
            make_policy(policy_no="PF", holder_record_id="RF", insured_record_id="RF", payment_frequency="quarterly",
                        issue_date=date(2025, 1, 10)),
        ],
         "src_premium_payment": [
             make_payment(policy_no="PT", due_date=date(2025, 12, 1)),
             # a due date already scheduled after AS_OF wins over the computed one
             make_payment(policy_no="PF", due_date=date(2026, 10, 10)),
             make_payment(policy_no="PF", due_date=date(2026, 11, 20), paid_date=None, amount_paid=None),
         ]},
    )
    m = build(warehouse_url, story)
    assert m["M"]["next_premium_due"] == date(2026, 11, 30)
    assert m["T"]["next_premium_due"] is None
    assert m["S"]["next_premium_due"] is None
    assert m["F"]["next_premium_due"] == date(2026, 11, 20)


def test_claim_facts(warehouse_url: str) -> None:
    m = build(warehouse_url, family_story())
    assert (m["C1"]["claims_count"], m["C1"]["claims_paid"]) == (2, 10000.0)  # CL2 was declined
    assert (m["C2"]["claims_count"], m["C2"]["claims_paid"]) == (0, 0.0)


def test_touchpoints_and_wearables(warehouse_url: str) -> None:
    m = build(warehouse_url, family_story())
    c1 = m["C1"]
    # touchpoints 10, 60 and 200 days before AS_OF through the app record; one after AS_OF ignored
    assert (c1["touchpoints_30d"], c1["touchpoints_90d"], c1["touchpoints_365d"]) == (1, 2, 3)
    assert c1["last_contact_at"].replace(tzinfo=None) == datetime(2026, 10, 21, 9, 30)
    assert c1["days_since_last_contact"] == 10
    assert c1["has_wearable"] is True and c1["avg_daily_steps_30d"] == (8000 + 6000) / 2
    c2 = m["C2"]
    assert (c2["touchpoints_365d"], c2["last_contact_at"], c2["days_since_last_contact"]) == (0, None, None)
    assert c2["has_wearable"] is False and c2["avg_daily_steps_30d"] is None


def test_touchpoint_window_is_half_open(warehouse_url: str) -> None:
    story = merge(customer_with_record("C", "R"), {"src_touchpoint": [
        make_touchpoint(event_id="edge", record_id="R", occurred_at=datetime(2026, 10, 1, 23, 59)),  # day 30
        make_touchpoint(event_id="today", record_id="R", occurred_at=datetime(2026, 10, 31, 23, 0)),
    ]})
    c = build(warehouse_url, story)["C"]
    assert (c["touchpoints_30d"], c["touchpoints_90d"], c["days_since_last_contact"]) == (1, 2, 0)


def test_marketing_consent(warehouse_url: str) -> None:
    story = merge(
        family_story(),
        customer_with_record("G", "RG"), customer_with_record("L", "RL"), customer_with_record("W", "RW"),
        {"src_consent": [
            make_consent(record_id="RG", recorded_at=datetime(2025, 1, 1)),
            make_consent(record_id="RL", recorded_at=datetime(2023, 1, 1)),
            make_consent(record_id="RL", granted=False, recorded_at=datetime(2025, 1, 1)),  # later refusal wins
            make_consent(record_id="RW", withdrawn_at=datetime(2026, 12, 1)),  # withdrawn only after AS_OF
        ]},
    )
    m = build(warehouse_url, story)
    assert m["C1"]["marketing_consent"] is False  # granted, then withdrawn
    assert m["C2"]["marketing_consent"] is False  # never asked
    assert (m["G"]["marketing_consent"], m["L"]["marketing_consent"], m["W"]["marketing_consent"]) == (
        True, False, True)


def test_people_channels_and_household(warehouse_url: str) -> None:
    m = build(warehouse_url, family_story())
    c1, c2, c3, c4 = m["C1"], m["C2"], m["C3"], m["C4"]
    assert (c1["age"], c1["gender"], c1["marital_status"], c1["city"]) == (36, "M", "married", "杭州市")
    assert c3["age"] == 34  # born 1992-02-29
    assert (c1["channels"], c1["channel_count"], c4["channels"], c4["channel_count"]) == (
        "agent,direct", 2, "internet", 1)
    assert (c1["household_id"], c1["household_role"], c1["household_size"]) == ("H1", "head", 3)
    assert (c1["children_count"], c1["youngest_child_age"], c2["household_role"]) == (1, 8, "child")
    assert (c4["household_id"], c4["household_size"], c4["children_count"]) == (None, 1, 0)
    assert (c1["life_stage"], c2["life_stage"], c3["life_stage"], c4["life_stage"]) == (
        "young_family", "young_single", "young_family", "pre_retirement")
    assert (c1["lifecycle_stage"], c2["lifecycle_stage"], c3["lifecycle_stage"], c4["lifecycle_stage"]) == (
        "retention", "ongoing", "acquisition", "acquisition")
