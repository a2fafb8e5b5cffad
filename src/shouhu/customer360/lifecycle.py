"""Life stage (人生阶段) and lifecycle stage (客户生命周期阶段): documented rules over the 360 facts.

Both are ordered rule lists: the first rule that holds decides. They take a table carrying the
fact columns they name and return a string column, so every rule can be tested on a hand-made
table without a warehouse. docs/customer360.md states the same rules for people.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from shouhu.customer360.inputs import within_days
from shouhu.model.vocab import LabelledEnum


class LifeStage(LabelledEnum):
    YOUNG_SINGLE = ("young_single", "单身青年", "Young single")
    YOUNG_FAMILY = ("young_family", "年轻家庭", "Young family")
    ESTABLISHED_FAMILY = ("established_family", "成熟家庭", "Established family")
    PRE_RETIREMENT = ("pre_retirement", "临退休", "Pre-retirement")
    RETIRED = ("retired", "退休", "Retired")


class LifecycleStage(LabelledEnum):
    """The report's funnel: 获客、转化、持续经营、服务、提升、留存."""

    ACQUISITION = ("acquisition", "获客", "Acquisition")
    CONVERSION = ("conversion", "转化", "Conversion")
    ONGOING = ("ongoing", "持续经营", "Ongoing operation")
    SERVICE = ("service", "服务", "Service")
    UPGRADE = ("upgrade", "提升", "Upgrade")
    RETENTION = ("retention", "留存", "Retention")


RETIREMENT_AGE = 60
PRE_RETIREMENT_AGE = 50
YOUNG_CHILD_AGE = 12  # youngest child under 12: a young family
YOUNG_COUPLE_AGE = 35  # married without children, under 35: a young family
RECENT_DAYS = 365  # "the last 12 months"
SILENT_DAYS = 365  # last touchpoint this old, and no new policy since: at risk

LIFE_STAGE_COLUMNS = ("age", "marital_status", "children_count", "youngest_child_age", "household_role")
LIFECYCLE_COLUMNS = ("policies_total", "policies_in_force", "policies_lapsed", "overdue_premiums",
                     "first_policy_date", "last_policy_date", "last_contact_at", "claims_365d",
                     "service_requests_365d")


def life_stage(t: ir.Table) -> ir.StringValue:
    """Life stage from age, marital status and children (first rule that holds):

    1. age unknown → null
    2. age ≥ 60 → retired
    3. age ≥ 50 → pre_retirement
    4. has children in the household (and is not one of the children): youngest under 12 (or of
       unknown age) → young_family, else established_family
    5. married: under 35 → young_family, else established_family
    6. otherwise (single, divorced, widowed or unknown, no children, under 50) → young_single
    """
    parent = (t.children_count.coalesce(0) > 0) & (t.household_role.coalesce("") != "child")
    young_child = t.youngest_child_age.isnull() | (t.youngest_child_age < YOUNG_CHILD_AGE)
    married = t.marital_status.coalesce("") == "married"
    return ibis.cases(
        (t.age.isnull(), ibis.null("string")),
        (t.age >= RETIREMENT_AGE, LifeStage.RETIRED.value),
        (t.age >= PRE_RETIREMENT_AGE, LifeStage.PRE_RETIREMENT.value),
        (parent & young_child, LifeStage.YOUNG_FAMILY.value),
        (parent, LifeStage.ESTABLISHED_FAMILY.value),
        (married & (t.age < YOUNG_COUPLE_AGE), LifeStage.YOUNG_FAMILY.value),
        (married, LifeStage.ESTABLISHED_FAMILY.value),
        else_=LifeStage.YOUNG_SINGLE.value,
    ).cast("string")


def lifecycle_stage(t: ir.Table, as_of: date) -> ir.StringValue:
    """Lifecycle stage on the funnel; precedence acquisition > retention > conversion > service > upgrade > ongoing.

    1. acquisition — no policy issued by ``as_of`` (as holder or insured): a prospect.
    2. retention — at risk: a lapsed policy, no policy in force any more, an in-force premium due
       before ``as_of`` and still unpaid, or silence: the last recorded touchpoint is 365+ days old
       and no policy was issued in the last 365 days (no touchpoint on record at all is not silence).
    3. conversion — the first policy was issued in the last 365 days.
    4. service — a claim reported or a service request made in the last 365 days.
    5. upgrade — a further policy (more cover) was issued in the last 365 days.
    6. ongoing — otherwise: an in-force customer in good standing.

    Counts must already be non-null (``customer_360_expr`` coalesces them to 0).
    """
    # Silence needs a recorded contact: agency, bank and broker extracts carry no touchpoints, and
    # missing data is not the same as a customer nobody has spoken to.
    silent = (t.last_contact_at.notnull() & ~within_days(t.last_contact_at.date(), as_of, SILENT_DAYS)
              & ~within_days(t.last_policy_date, as_of, SILENT_DAYS).coalesce(False))
    at_risk = (t.policies_lapsed > 0) | (t.policies_in_force == 0) | (t.overdue_premiums > 0) | silent
    return ibis.cases(
        (t.policies_total == 0, LifecycleStage.ACQUISITION.value),
        (at_risk, LifecycleStage.RETENTION.value),
        (within_days(t.first_policy_date, as_of, RECENT_DAYS), LifecycleStage.CONVERSION.value),
        ((t.claims_365d > 0) | (t.service_requests_365d > 0), LifecycleStage.SERVICE.value),
        (within_days(t.last_policy_date, as_of, RECENT_DAYS), LifecycleStage.UPGRADE.value),
        else_=LifecycleStage.ONGOING.value,
    ).cast("string")
