"""Factories for the advice tests: people, households and policies with overridable defaults."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from shouhu.advice.model import Dependent, Household, Person, Policy

AS_OF = date(2026, 10, 31)


def make_person(**overrides: Any) -> Person:
    base = Person("P1", age=35, sex="M", annual_income=200_000.0)
    return replace(base, **overrides)


def make_policy(**overrides: Any) -> Policy:
    base = Policy("POL1", "P1", "term_life", {"life": 500_000.0}, date(2024, 1, 1), annual_premium=1_000.0,
                  coverage_term_years=0)
    return replace(base, **overrides)


def family_of_four() -> Household:
    """Head 38 (300k, mortgage 1.2M, savings 100k), spouse 36 (100k), children 6 and 10."""
    kids = (Dependent("child", 6), Dependent("child", 10))
    return Household("HH-FAM", (
        make_person(person_id="HEAD", age=38, sex="M", annual_income=300_000.0, mortgage=1_200_000.0,
                    savings=100_000.0, dependents=kids),
        make_person(person_id="SPOUSE", age=36, sex="F", annual_income=100_000.0, role="spouse", dependents=kids),
        make_person(person_id="KID6", age=6, sex="F", annual_income=0.0, role="child"),
        make_person(person_id="KID10", age=10, sex="M", annual_income=0.0, role="child"),
    ))


def family_policies() -> list[Policy]:
    return [
        # 20-year term life from 2020: ends 2040, before the 16-year need horizon (2042) -> "expiring"
        make_policy(policy_no="TL-OLD", insured_id="HEAD", holder_id="HEAD", product_type="term_life",
                    coverages={"life": 1_000_000.0}, issue_date=date(2020, 1, 1), coverage_term_years=20,
                    premium_term_years=20, annual_premium=2_000.0),
        # critical illness bought 2026-09-01, 90-day waiting period -> effective 2026-11-30: "in waiting"
        make_policy(policy_no="CI-NEW", insured_id="HEAD", holder_id="HEAD", product_type="critical_illness",
                    coverages={"critical_illness": 500_000.0, "life": 500_000.0}, issue_date=date(2026, 9, 1),
                    waiting_days=90, premium_term_years=20, annual_premium=8_000.0),
        # two million-yuan medical policies on the spouse: duplicated indemnity cover
        make_policy(policy_no="MD-A", insured_id="SPOUSE", holder_id="SPOUSE", product_type="medical",
                    coverages={"medical": 2_000_000.0}, issue_date=date(2024, 3, 1), coverage_term_years=6,
                    premium_term_years=6, waiting_days=30, annual_premium=340.0),
        make_policy(policy_no="MD-B", insured_id="SPOUSE", holder_id="SPOUSE", product_type="medical",
                    coverages={"medical": 2_000_000.0}, issue_date=date(2025, 6, 1), coverage_term_years=6,
                    premium_term_years=6, waiting_days=30, annual_premium=340.0, insurer="他司", source="external"),
        # a lapsed accident policy, lapsed 2025-05-01: reinstatable until 2027-05-01
        make_policy(policy_no="AC-LAPSED", insured_id="KID6", holder_id="HEAD", product_type="accident",
                    coverages={"accident": 100_000.0}, issue_date=date(2023, 5, 1), status="lapsed",
                    status_date=date(2025, 5, 1), annual_premium=100.0),
    ]


def young_professional() -> Household:
    return Household("HH-YP", (make_person(person_id="YP", age=28, sex="F", annual_income=180_000.0,
                                           debts=50_000.0, savings=30_000.0),))


def retiree() -> Household:
    return Household("HH-RT", (make_person(person_id="RT", age=68, sex="M", annual_income=60_000.0),))
