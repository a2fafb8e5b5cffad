"""The customer 360 mart: every fact joined onto the golden customers, in the contract's columns and types."""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from shouhu.customer360.engagement import channel_facts, engagement_facts
from shouhu.customer360.inputs import Tables, attach
from shouhu.customer360.lifecycle import life_stage, lifecycle_stage
from shouhu.customer360.payments import claim_facts, payment_facts
from shouhu.customer360.people import demographic_facts, household_facts
from shouhu.customer360.policies import SA_COVERAGE_TYPES, customer_policies, policy_facts
from shouhu.model.marts import CUSTOMER_360
from shouhu.model.schema import Entity

IBIS_TYPES: dict[str, str] = {"string": "string", "int": "int64", "float": "float64", "date": "date",
                              "datetime": "timestamp", "bool": "boolean"}

# Absent facts mean "none": no policies, no touchpoints, no claims. Ratios, dates and ages stay null.
ZERO_COUNTS: tuple[str, ...] = (
    "children_count", "policies_total", "policies_in_force", "policies_lapsed", "claims_count", "channel_count",
    "touchpoints_30d", "touchpoints_90d", "touchpoints_365d",
    # internal, read by the lifecycle rules
    "overdue_premiums", "claims_365d", "service_requests_365d",
)
ZERO_AMOUNTS: tuple[str, ...] = ("annualised_premium", "claims_paid", *(f"sa_{c}" for c in SA_COVERAGE_TYPES))
FALSE_FLAGS: tuple[str, ...] = ("has_wearable", "marketing_consent")


def contract_schema(entity: Entity = CUSTOMER_360) -> ibis.Schema:
    """The Ibis schema of a mart contract (required columns are not nullable)."""
    return ibis.schema({f.name: ibis.dtype(IBIS_TYPES[f.dtype], nullable=not f.required) for f in entity.fields})


def customer_360_expr(tables: Tables, as_of: date, policies: ir.Table | None = None) -> ir.Table:
    """One row per customer in ``customer``, with exactly the CUSTOMER_360 columns, types and order.

    ``tables`` maps names to Ibis tables: ``customer``, ``identity_cluster``, ``household_member``
    and the ``src_*`` tables listed in :data:`shouhu.customer360.inputs.INPUT_TABLES`. ``policies``
    is :func:`~shouhu.customer360.policies.customer_policies` for the same ``as_of`` when the caller
    has materialised it (the step does: the compiled SQL is a fifth the size and plans well).
    """
    policies = customer_policies(tables, as_of) if policies is None else policies
    wide = attach(
        demographic_facts(tables, as_of),
        household_facts(tables, as_of),
        policy_facts(tables, as_of, policies),
        payment_facts(tables, as_of, policies),
        claim_facts(tables, as_of, policies),
        channel_facts(tables),
        engagement_facts(tables, as_of),
    )
    wide = wide.mutate(
        **{c: wide[c].coalesce(0) for c in ZERO_COUNTS},
        **{c: wide[c].coalesce(0.0) for c in ZERO_AMOUNTS},
        **{c: wide[c].coalesce(False) for c in FALSE_FLAGS},
        # A customer without a household row is a household of one.
        household_size=wide.household_size.coalesce(1),
    )
    wide = wide.mutate(life_stage=life_stage(wide), lifecycle_stage=lifecycle_stage(wide, as_of))
    schema = contract_schema()
    return wide.select(*(wide[name].cast(dtype).name(name) for name, dtype in schema.items()))
