"""Who the customer is: demographics from the golden record, household from the household step."""

from __future__ import annotations

from datetime import date

import ibis.expr.types as ir

from shouhu.customer360.inputs import Tables, age_at, count_if, first_per, table

CHILD_ROLE = "child"


def demographic_facts(tables: Tables, as_of: date) -> ir.Table:
    """One row per golden customer: customer_id, gender, age (at ``as_of``), marital_status, province,
    city, annual_income."""
    c = table(tables, "customer")
    return c.select("customer_id", "gender", age_at(c.birth_date, as_of).name("age"), "marital_status",
                    "province", "city", "annual_income")


def household_facts(tables: Tables, as_of: date) -> ir.Table:
    """household_id, household_role, household_size, children_count, youngest_child_age.

    Sizes and children are the household's: every member sees the same counts. Children are the
    members with role ``child``; their ages come from the golden record.
    """
    member = table(tables, "household_member")
    people = table(tables, "customer")
    ages = people.select(_person=people.customer_id, _age=age_at(people.birth_date, as_of))
    m = member.left_join(ages, member.customer_id == ages._person)
    is_child = m.role == CHILD_ROLE
    per_household = m.group_by(_household="household_id").agg(
        household_size=m.count(),
        children_count=count_if(is_child),
        youngest_child_age=m._age.min(where=is_child),
    )
    own = member.select("customer_id", "household_id", household_role=member.role)
    # household_member is keyed by customer_id; should a customer appear twice, keep one household.
    own = first_per(own, "customer_id", [own.household_id])
    return own.left_join(per_household, own.household_id == per_household._household).drop("_household")
