"""THE place where permissions are decided: may this principal act, which customers may it see,
and how is each personal field shown to it.

Every endpoint, page, export and H5 view asks :func:`allowed` for the action, builds its customer
query through :func:`row_rule` (storage.customers turns the rule into SQL) and shapes records with
:func:`field_view`. Nothing else decides access.

Row scopes
    admin, head office, analyst, compliance: all customers (analyst and compliance see masked
    records only and can never reveal). Branch manager: customers whose primary agent is in the
    manager's branch. Agent: customers whose primary agent is the agent. Service staff and health
    manager: customers assigned to their team (the service team of the customer's branch).
    Customer (H5): only themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shouhu.access.roles import ACTIONS, Action, Role


@dataclass(frozen=True)
class Principal:
    """Who is asking. Staff have a user id; an H5 customer has their customer id."""

    user_id: str
    role: Role
    display_name: str = ""
    staff_id: str | None = None
    branch_id: str | None = None
    team_id: str | None = None
    can_reveal: bool = False
    customer_id: str | None = None


@dataclass(frozen=True)
class RowRule:
    """Which customers: every one (``column is None``) or those whose scope ``column`` equals ``value``.

    ``nothing`` is set when the principal lacks the data it would need (an agent account without a
    staff id): such a principal sees no customer at all rather than all of them.
    """

    column: str | None = None
    value: str | None = None
    nothing: bool = False

    @property
    def everything(self) -> bool:
        return self.column is None and not self.nothing


class FieldView(StrEnum):
    CLEAR = "clear"      # shown as is (not personal, or the customer's own data)
    MASKED = "masked"    # shown masked; revealable by a principal with the reveal grant
    LOCKED = "locked"    # shown masked; never revealable by this principal
    HIDDEN = "hidden"    # not shown at all


# Personal fields of a customer record that are masked or hidden (name, contact, identity, money, health).
SENSITIVE_FIELDS = ("name", "phone", "id_number", "email", "address", "annual_income", "claims_paid")
FINANCIAL = ("annual_income", "claims_paid")
CONTACT = ("email", "address")


def allowed(principal: Principal, action: Action) -> bool:
    return action in ACTIONS.get(principal.role, frozenset())


def can_reveal(principal: Principal) -> bool:
    """Reveal needs both the role's permission and a grant on the user account."""
    return allowed(principal, Action.REVEAL) and principal.can_reveal


def row_rule(principal: Principal) -> RowRule:
    role = principal.role
    if role in (Role.ADMIN, Role.HEAD_OFFICE, Role.ANALYST, Role.COMPLIANCE):
        return RowRule()
    if role is Role.BRANCH_MANAGER:
        return RowRule("branch_id", principal.branch_id, nothing=not principal.branch_id)
    if role is Role.AGENT:
        return RowRule("agent_id", principal.staff_id, nothing=not principal.staff_id)
    if role in (Role.SERVICE, Role.HEALTH_MANAGER):
        return RowRule("service_team_id", principal.team_id, nothing=not principal.team_id)
    if role is Role.CUSTOMER:
        return RowRule("customer_id", principal.customer_id, nothing=not principal.customer_id)
    return RowRule(nothing=True)


def field_view(principal: Principal, field: str) -> FieldView:
    """How ``field`` of a customer record in the principal's row scope is shown to it."""
    if field not in SENSITIVE_FIELDS:
        return FieldView.CLEAR
    role = principal.role
    if role is Role.CUSTOMER:
        return FieldView.CLEAR if field not in ("id_number", "phone") else FieldView.MASKED
    if role in (Role.ANALYST, Role.COMPLIANCE):
        return FieldView.HIDDEN if field in FINANCIAL + CONTACT else FieldView.LOCKED
    if role is Role.HEALTH_MANAGER and field in FINANCIAL:
        return FieldView.HIDDEN
    return FieldView.MASKED if can_reveal(principal) else FieldView.LOCKED


def scorecard_filters(principal: Principal, level: str) -> dict[str, str] | None:
    """The customer_scope filters of the scorecards ``principal`` may see at ``level``; None: none.

    Agents see their own scorecard only (level agent); branch managers their branch and its teams
    and agents; head office and admin everything.
    """
    role = principal.role
    if role in (Role.ADMIN, Role.HEAD_OFFICE):
        return {}
    if role is Role.BRANCH_MANAGER and principal.branch_id:
        return {"branch_id": principal.branch_id}
    if role is Role.AGENT and principal.staff_id and level == "agent":
        return {"agent_id": principal.staff_id}
    return None


def service_team_id(branch_id: str | None) -> str | None:
    """The service team that looks after a branch's customers (service staff and health managers)."""
    return None if not branch_id else f"{branch_id}-SVC"
