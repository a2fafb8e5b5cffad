"""Roles and the actions each may take. Pure data: the web layer and the CLI both ask here."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    HEAD_OFFICE = "head_office"
    BRANCH_MANAGER = "branch_manager"
    AGENT = "agent"
    SERVICE = "service"
    HEALTH_MANAGER = "health_manager"
    ANALYST = "analyst"
    COMPLIANCE = "compliance"
    CUSTOMER = "customer"  # a customer signed in to the H5 pages with phone + one-time code


LABELS: dict[Role, tuple[str, str]] = {
    Role.ADMIN: ("系统管理员", "Administrator"),
    Role.HEAD_OFFICE: ("总公司管理人员", "Head-office manager"),
    Role.BRANCH_MANAGER: ("机构经理", "Branch manager"),
    Role.AGENT: ("代理人", "Agent"),
    Role.SERVICE: ("服务专员", "Service staff"),
    Role.HEALTH_MANAGER: ("健康管理师", "Health manager"),
    Role.ANALYST: ("数据分析师", "Analyst"),
    Role.COMPLIANCE: ("合规人员", "Compliance officer"),
    Role.CUSTOMER: ("客户", "Customer"),
}

STAFF_ROLES = tuple(r for r in Role if r is not Role.CUSTOMER)


class Action(StrEnum):
    DASHBOARD = "dashboard"            # aggregates
    CUSTOMER_READ = "customer.read"    # customer records (masked), within the row scope
    CUSTOMER_EXPORT = "customer.export"
    REVEAL = "customer.reveal"         # see a masked field in clear (also needs the user's reveal grant)
    IDENTITY_REVIEW = "identity.review"
    IDENTITY_DECIDE = "identity.decide"  # confirm / reject / merge / split / revert
    SEGMENT_READ = "segment.read"
    SEGMENT_EXPORT = "segment.export"
    QUALITY_READ = "quality.read"
    ADVICE_RUN = "advice.run"
    CHANNELS_READ = "channels.read"    # channel attribution, ROI and budget plans (company-wide aggregates)
    AUDIT_READ = "audit.read"
    CONSENT_READ = "consent.read"
    USER_MANAGE = "user.manage"
    SELF_SERVICE = "self.service"      # a customer's own H5 pages
    KPI_READ = "kpi.read"              # KPI scorecards, within access.policy.scorecard_filters
    INCENTIVE_SIMULATE = "incentive.simulate"  # run incentive plans against behaviour profiles (no personal data)
    ACTIVITY_WRITE = "activity.write"  # tasks (create, complete, snooze), notes, calls, visits
    TASK_ASSIGN = "task.assign"        # reassign a task to another account that sees the customer
    CASE_WRITE = "case.write"          # service cases: open, change status, comment, checklist (operations.cases)
    JOURNEY_READ = "journey.read"      # journeys, their statistics and funnels (aggregates)
    JOURNEY_MANAGE = "journey.manage"  # publish, pause, archive journeys; write message templates
    TEMPLATE_APPROVE = "template.approve"  # compliance review of message templates (never one's own)
    CONSENT_WRITE = "consent.write"    # record a customer's grant or withdrawal, the do-not-contact list
    DSR_HANDLE = "dsr.handle"          # data-subject requests: complete or refuse them, legal holds (compliance)
    TRACE_READ = "trace.read"          # sales traceability: replay sessions (masked), receipts, ledger checks
    TRACE_WRITE = "trace.write"        # sales traceability: record sessions and events (the online sales pages)
    ECO_ORDER_WRITE = "ecosystem.order"  # ecosystem service orders: place and move on (partners.ecosystem)
    ECO_MANAGE = "ecosystem.manage"    # ecosystem provider settlements and the conversion funnel
    PARTNER_READ = "partner.read"      # the partner registry: partners, key list (never secrets), calls, sales
    PARTNER_MANAGE = "partner.manage"  # register partners, change their settings and status, issue/revoke keys


_ALL_STAFF = {Action.DASHBOARD, Action.CUSTOMER_READ}
_SELLERS = _ALL_STAFF | {Action.CUSTOMER_EXPORT, Action.REVEAL, Action.SEGMENT_READ, Action.SEGMENT_EXPORT,
                         Action.ADVICE_RUN, Action.ACTIVITY_WRITE}

ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(set(Action) - {Action.SELF_SERVICE}),
    Role.HEAD_OFFICE: frozenset(_SELLERS | {Action.IDENTITY_REVIEW, Action.IDENTITY_DECIDE, Action.QUALITY_READ,
                                            Action.CHANNELS_READ, Action.TASK_ASSIGN}),
    Role.BRANCH_MANAGER: frozenset(_SELLERS | {Action.QUALITY_READ, Action.TASK_ASSIGN}),
    Role.AGENT: frozenset(_SELLERS),
    Role.SERVICE: frozenset(_ALL_STAFF | {Action.REVEAL, Action.SEGMENT_READ, Action.ACTIVITY_WRITE}),
    Role.HEALTH_MANAGER: frozenset(_ALL_STAFF | {Action.REVEAL, Action.SEGMENT_READ, Action.ACTIVITY_WRITE}),
    Role.ANALYST: frozenset(_ALL_STAFF | {Action.SEGMENT_READ, Action.QUALITY_READ, Action.CHANNELS_READ}),
    Role.COMPLIANCE: frozenset(_ALL_STAFF | {Action.AUDIT_READ, Action.CONSENT_READ, Action.QUALITY_READ}),
    Role.CUSTOMER: frozenset({Action.SELF_SERVICE}),
}


# Journeys (issue 14): head office designs them, compliance approves what they say, service records consent.
for _role, _extra in {Role.HEAD_OFFICE: {Action.JOURNEY_READ, Action.JOURNEY_MANAGE},
                      Role.BRANCH_MANAGER: {Action.JOURNEY_READ},
                      Role.ANALYST: {Action.JOURNEY_READ},
                      Role.COMPLIANCE: {Action.JOURNEY_READ, Action.TEMPLATE_APPROVE, Action.CONSENT_WRITE},
                      Role.SERVICE: {Action.CONSENT_WRITE}}.items():
    ACTIONS[_role] = ACTIONS[_role] | _extra

# Workforce scorecards (rows decided by access.policy.scorecard_filters) and the incentive simulator.
for _role, _extra in {Role.HEAD_OFFICE: {Action.KPI_READ, Action.INCENTIVE_SIMULATE},
                      Role.BRANCH_MANAGER: {Action.KPI_READ, Action.INCENTIVE_SIMULATE},
                      Role.AGENT: {Action.KPI_READ}}.items():
    ACTIONS[_role] = ACTIONS[_role] | _extra

# Sales traceability (销售可回溯, issue 15): compliance replays; head office runs the online sales pages,
# whose integration account records the sessions.
for _role, _extra in {Role.COMPLIANCE: {Action.TRACE_READ}, Role.HEAD_OFFICE: {Action.TRACE_WRITE}}.items():
    ACTIONS[_role] = ACTIONS[_role] | _extra

# Data-subject requests (issue 15): anyone with consent.write logs one received by phone or at a counter;
# compliance carries them out (copies, erasure) and places legal holds.
ACTIONS[Role.COMPLIANCE] = ACTIONS[Role.COMPLIANCE] | {Action.DSR_HANDLE}

# Service cases (保全/理赔协助/投诉): whoever serves the customer; reading a case needs customer.read.
for _role in (Role.HEAD_OFFICE, Role.BRANCH_MANAGER, Role.AGENT, Role.SERVICE):
    ACTIONS[_role] = ACTIONS[_role] | {Action.CASE_WRITE}


# Ecosystem services (issue 18): whoever serves the customer places and moves on service orders; head office
# settles with the providers and reads the ecosystem funnel. Reading orders needs customer.read (row scope).
for _role, _extra in {Role.SERVICE: {Action.ECO_ORDER_WRITE}, Role.HEALTH_MANAGER: {Action.ECO_ORDER_WRITE},
                      Role.HEAD_OFFICE: {Action.ECO_ORDER_WRITE, Action.ECO_MANAGE}}.items():
    ACTIONS[_role] = ACTIONS[_role] | _extra


# The partner registry (issue 18): head office reads it; only admin changes it (admin holds every action).
ACTIONS[Role.HEAD_OFFICE] = ACTIONS[Role.HEAD_OFFICE] | {Action.PARTNER_READ}


def role_from_text(value: str) -> Role:
    from shouhu.errors import UnknownName

    try:
        return Role(value)
    except ValueError:
        raise UnknownName("role", value, [r.value for r in Role]) from None
