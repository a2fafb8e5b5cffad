"""Life-stage and lifecycle-stage rules, one test per rule, on hand-made fact rows (no warehouse)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import ibis
import pytest

from shouhu.customer360 import LifecycleStage, LifeStage, life_stage, lifecycle_stage
from shouhu.customer360.inputs import age_at
from tests.customer360.factories import AS_OF

LIFE_SCHEMA = ibis.schema({"age": "int64", "marital_status": "string", "children_count": "int64",
                           "youngest_child_age": "int64", "household_role": "string"})
LIFECYCLE_SCHEMA = ibis.schema({
    "policies_total": "int64", "policies_in_force": "int64", "policies_lapsed": "int64", "overdue_premiums": "int64",
    "first_policy_date": "date", "last_policy_date": "date", "last_contact_at": "timestamp", "claims_365d": "int64",
    "service_requests_365d": "int64",
})


def days_ago(n: int) -> date:
    return AS_OF - timedelta(days=n)


def make_person(**kw: Any) -> dict[str, Any]:
    return {"age": 30, "marital_status": "single", "children_count": 0, "youngest_child_age": None,
            "household_role": "head", **kw}


def make_facts(**kw: Any) -> dict[str, Any]:
    """A customer in good standing: one policy in force for three years, contacted 20 days ago."""
    return {"policies_total": 1, "policies_in_force": 1, "policies_lapsed": 0, "overdue_premiums": 0,
            "first_policy_date": days_ago(3 * 365), "last_policy_date": days_ago(3 * 365),
            "last_contact_at": datetime.combine(days_ago(20), datetime.min.time()), "claims_365d": 0,
            "service_requests_365d": 0, **kw}


def stage_of(**kw: Any) -> str | None:
    t = ibis.memtable([make_person(**kw)], schema=LIFE_SCHEMA)
    value: str | None = t.select(s=life_stage(t)).to_pyarrow().column("s")[0].as_py()
    return value


def lifecycle_of(**kw: Any) -> str:
    t = ibis.memtable([make_facts(**kw)], schema=LIFECYCLE_SCHEMA)
    return str(t.select(s=lifecycle_stage(t, AS_OF)).to_pyarrow().column("s")[0].as_py())


# -- life stage -------------------------------------------------------------------------------------
def test_unknown_age_has_no_life_stage() -> None:
    assert stage_of(age=None) is None


@pytest.mark.parametrize("age", [60, 75])
def test_retired_from_60(age: int) -> None:
    assert stage_of(age=age, marital_status="married", children_count=2, youngest_child_age=30) == LifeStage.RETIRED


@pytest.mark.parametrize("age", [50, 59])
def test_pre_retirement_from_50(age: int) -> None:
    assert stage_of(age=age, marital_status="married", children_count=1, youngest_child_age=5) == (
        LifeStage.PRE_RETIREMENT)


def test_young_family_has_a_child_under_12_or_is_a_young_couple() -> None:
    assert stage_of(age=40, children_count=1, youngest_child_age=11) == LifeStage.YOUNG_FAMILY
    assert stage_of(age=40, children_count=1, youngest_child_age=None) == LifeStage.YOUNG_FAMILY
    assert stage_of(age=34, marital_status="married") == LifeStage.YOUNG_FAMILY


def test_established_family_has_older_children_or_is_a_couple_from_35() -> None:
    assert stage_of(age=40, marital_status="married", children_count=2, youngest_child_age=12) == (
        LifeStage.ESTABLISHED_FAMILY)
    assert stage_of(age=35, marital_status="married") == LifeStage.ESTABLISHED_FAMILY


def test_young_single_otherwise_including_the_children_of_a_household() -> None:
    assert stage_of(age=28, marital_status="single") == LifeStage.YOUNG_SINGLE
    assert stage_of(age=45, marital_status="divorced") == LifeStage.YOUNG_SINGLE
    assert stage_of(age=8, marital_status=None, children_count=1, youngest_child_age=8, household_role="child") == (
        LifeStage.YOUNG_SINGLE)


@pytest.mark.parametrize(("birth", "age"), [(date(2000, 10, 31), 26), (date(2000, 11, 1), 25),
                                            (date(2000, 2, 29), 26), (date(2026, 10, 31), 0)])
def test_age_counts_completed_years(birth: date, age: int) -> None:
    t = ibis.memtable({"b": [birth]})
    assert t.select(a=age_at(t.b, AS_OF)).to_pyarrow().column("a")[0].as_py() == age


# -- lifecycle stage --------------------------------------------------------------------------------
def test_acquisition_has_no_policy() -> None:
    assert lifecycle_of(policies_total=0, policies_in_force=0, first_policy_date=None, last_policy_date=None,
                        last_contact_at=None) == LifecycleStage.ACQUISITION


def test_conversion_first_policy_in_the_last_12_months() -> None:
    assert lifecycle_of(first_policy_date=days_ago(364), last_policy_date=days_ago(364)) == LifecycleStage.CONVERSION
    assert lifecycle_of(first_policy_date=days_ago(365), last_policy_date=days_ago(365)) == LifecycleStage.ONGOING


def test_ongoing_in_good_standing() -> None:
    assert lifecycle_of() == LifecycleStage.ONGOING
    assert lifecycle_of(last_contact_at=None) == LifecycleStage.ONGOING  # no touchpoint on record is not silence


@pytest.mark.parametrize("facts", [{"claims_365d": 1}, {"service_requests_365d": 2}])
def test_service_claim_or_service_request_in_12_months(facts: dict[str, Any]) -> None:
    assert lifecycle_of(**facts) == LifecycleStage.SERVICE


def test_upgrade_a_further_policy_in_12_months() -> None:
    assert lifecycle_of(policies_total=2, policies_in_force=2, last_policy_date=days_ago(100)) == (
        LifecycleStage.UPGRADE)


@pytest.mark.parametrize("facts", [
    {"policies_lapsed": 1, "policies_total": 2},
    {"policies_in_force": 0},  # everything matured or surrendered
    {"overdue_premiums": 1},
    {"last_contact_at": datetime(2025, 10, 31, 12, 0)},  # 365 days without contact
])
def test_retention_at_risk(facts: dict[str, Any]) -> None:
    assert lifecycle_of(**facts) == LifecycleStage.RETENTION


def test_silence_is_broken_by_a_new_policy() -> None:
    assert lifecycle_of(last_contact_at=datetime(2024, 1, 1), policies_total=2, last_policy_date=days_ago(30)) == (
        LifecycleStage.UPGRADE)


def test_precedence_acquisition_retention_conversion_service_upgrade_ongoing() -> None:
    new = {"first_policy_date": days_ago(30), "last_policy_date": days_ago(30)}
    assert lifecycle_of(**new, policies_lapsed=1) == LifecycleStage.RETENTION  # retention beats conversion
    assert lifecycle_of(**new, claims_365d=1) == LifecycleStage.CONVERSION  # conversion beats service
    assert lifecycle_of(last_policy_date=days_ago(30), claims_365d=1) == LifecycleStage.SERVICE  # service > upgrade
    assert lifecycle_of(overdue_premiums=1, claims_365d=1) == LifecycleStage.RETENTION
    assert lifecycle_of(policies_total=0, policies_in_force=0, policies_lapsed=0) == LifecycleStage.ACQUISITION
