"""Needs diagnosis and protection planning: questionnaires, gaps, suitability, plans, wallet, review.

Pure domain functions on dataclasses; the warehouse-facing entry points are in
:mod:`shouhu.advice.service` (imported on demand: it pulls in Ibis). See docs/advice.md.
"""

from shouhu.advice.gaps import HouseholdGaps, household_gaps, person_gaps
from shouhu.advice.methods import LIFE_METHODS, Assumptions, life_method, register_method
from shouhu.advice.model import Dependent, Figure, Gap, Household, Person, Policy
from shouhu.advice.plan import Plan, Recommendation, recommend
from shouhu.advice.questionnaire import assess_risk, load_questionnaire, person_from_fact_find, record_fact_find
from shouhu.advice.review import Review, build_review
from shouhu.advice.suitability import CheckRecord, MemoryCheckLog, check_product
from shouhu.advice.wallet import Wallet, WalletError, external_policies

__all__ = [
    "LIFE_METHODS", "Assumptions", "CheckRecord", "Dependent", "Figure", "Gap", "Household", "HouseholdGaps",
    "MemoryCheckLog", "Person", "Plan", "Policy", "Recommendation", "Review", "Wallet", "WalletError",
    "assess_risk", "build_review", "check_product", "external_policies", "household_gaps", "life_method",
    "load_questionnaire", "person_from_fact_find", "person_gaps", "recommend", "record_fact_find",
    "register_method",
]
