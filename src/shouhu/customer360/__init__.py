"""Customer 360: per-customer facts, life stage and lifecycle stage, as Ibis expressions.

Every function here builds an expression from Ibis tables and runs nowhere; :func:`build_customer_360`
is the only one that touches a warehouse.
"""

from shouhu.customer360.engagement import (
    channel_facts,
    consent_facts,
    engagement_facts,
    touchpoint_facts,
    wearable_facts,
)
from shouhu.customer360.inputs import INPUT_TABLES, Tables
from shouhu.customer360.lifecycle import LifecycleStage, LifeStage, life_stage, lifecycle_stage
from shouhu.customer360.marts import contract_schema, customer_360_expr
from shouhu.customer360.payments import claim_facts, next_premium_due, payment_facts
from shouhu.customer360.people import demographic_facts, household_facts
from shouhu.customer360.policies import customer_policies, policies_as_of, policy_facts
from shouhu.customer360.step import build_customer_360

__all__ = [
    "INPUT_TABLES",
    "LifeStage",
    "LifecycleStage",
    "Tables",
    "build_customer_360",
    "channel_facts",
    "claim_facts",
    "consent_facts",
    "contract_schema",
    "customer_360_expr",
    "customer_policies",
    "demographic_facts",
    "engagement_facts",
    "household_facts",
    "life_stage",
    "lifecycle_stage",
    "next_premium_due",
    "payment_facts",
    "policies_as_of",
    "policy_facts",
    "touchpoint_facts",
    "wearable_facts",
]
