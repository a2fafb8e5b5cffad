"""Staff accounts (admin): list, create, change role, scope and reveal grant, disable.

Every change is written to the audit log (``user_created``; ``permission_changed`` with before and
after) and clears the application's token cache, so that a revoked right stops working at the next
request. An admin cannot take away their own admin role or disable their own account (no lock-out).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from shouhu.access.policy import Principal
from shouhu.access.roles import LABELS, STAFF_ROLES, Action, Role
from shouhu.errors import InvalidInput
from shouhu.privacy.passwords import MIN_LENGTH, hash_password
from shouhu.storage import accounts
from shouhu.web.auth import DEMO_PREFIX, app_state, record, require
from shouhu.web.state import AppState

router = APIRouter(tags=["accounts"])
Manager = Depends(require(Action.USER_MANAGE))
ROLE_NAMES = tuple(r.value for r in STAFF_ROLES)
USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
# What a role needs on the account to see any customer (access.policy.row_rule).
SCOPE_NEEDS = {Role.AGENT.value: "staff_id", Role.BRANCH_MANAGER.value: "branch_id", Role.SERVICE.value: "team_id",
               Role.HEALTH_MANAGER.value: "team_id"}
CHANGEABLE = ("display_name", "role", "staff_id", "branch_id", "team_id", "can_reveal", "active")


def _staff_role(value: str) -> str:
    if value not in ROLE_NAMES:
        raise ValueError(f"unknown role {value!r}; valid: {', '.join(ROLE_NAMES)}")
    return value


def _blank_to_none(value: str | None) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else value


RoleName = Annotated[str, AfterValidator(_staff_role), Field(description=", ".join(ROLE_NAMES))]
ScopeId = Annotated[Annotated[str, StringConstraints(max_length=64)] | None, AfterValidator(_blank_to_none)]


class UserCreate(BaseModel):
    user_id: str = Field(pattern=USER_ID_PATTERN, description="sign-in name: letters, digits, . _ @ -")
    display_name: str = Field("", max_length=80)
    role: RoleName
    staff_id: ScopeId = Field(None, description="agents: their staff id")
    branch_id: ScopeId = Field(None, description="branch managers: their branch")
    team_id: ScopeId = Field(None, description="service staff, health managers: e.g. BR440300-SVC")
    can_reveal: bool = False
    password: str = Field(min_length=MIN_LENGTH, max_length=256)
    reason: str = Field("", max_length=500)


class UserChange(BaseModel):
    """Only the fields sent are changed; send ``null`` (or "") to clear a scope field."""

    display_name: str | None = Field(None, max_length=80)
    role: RoleName | None = None
    staff_id: ScopeId = None
    branch_id: ScopeId = None
    team_id: ScopeId = None
    can_reveal: bool | None = None
    active: bool | None = None
    password: str | None = Field(None, min_length=MIN_LENGTH, max_length=256, description="a new password")
    reason: str = Field(min_length=2, max_length=500, description="why; written to the audit log")


def shown(user: dict[str, Any]) -> dict[str, Any]:
    role = user["role"]
    labels = LABELS.get(Role(role), (role, role)) if role in {r.value for r in Role} else (role, role)
    return {k: user[k] for k in accounts.USER_FIELDS} | {"role_zh": labels[0], "role_en": labels[1],
                                                         "can_reveal": bool(user["can_reveal"]),
                                                         "active": bool(user["active"])}


def _check_scope(user: dict[str, Any]) -> None:
    need = SCOPE_NEEDS.get(user["role"])
    if need and not user.get(need):
        raise HTTPException(400, f"{need} is required for the role {user['role']} (it decides which customers "
                                 "the account sees)")


# --- services shared with the console -----------------------------------------------------------

def list_all(state: AppState) -> list[dict[str, Any]]:
    return [shown(u) for u in accounts.list_users(state.engine)]


def create(state: AppState, principal: Principal, body: UserCreate, request: Request) -> dict[str, Any]:
    if body.user_id.startswith(DEMO_PREFIX):
        raise HTTPException(400, f"user_id: names starting with {DEMO_PREFIX!r} are reserved for demo accounts")
    if accounts.get_user(state.engine, body.user_id) is not None:
        raise HTTPException(409, f"user_id: {body.user_id!r} exists already")
    values: dict[str, Any] = {
        "user_id": body.user_id, "display_name": body.display_name.strip() or body.user_id, "role": body.role,
        "staff_id": body.staff_id, "branch_id": body.branch_id, "team_id": body.team_id,
        "can_reveal": body.can_reveal}
    _check_scope(values)
    try:
        password_hash = hash_password(body.password)
        accounts.create_user(state.engine, password_hash=password_hash, **values)
    except InvalidInput as e:
        raise HTTPException(400, str(e)) from e
    record(state, principal, "user_created", "user", body.user_id, request, reason=body.reason.strip(),
           before=None, after=values)
    state.tokens.clear()
    user = accounts.get_user(state.engine, body.user_id)
    assert user is not None
    return shown(user)


def change(state: AppState, principal: Principal, user_id: str, body: UserChange, request: Request
           ) -> dict[str, Any]:
    current = accounts.get_user(state.engine, user_id)
    if current is None:
        raise HTTPException(404, f"no user {user_id}")
    sent = body.model_fields_set - {"reason", "password"}
    values: dict[str, Any] = {k: getattr(body, k) for k in CHANGEABLE if k in sent}
    for flag in ("role", "can_reveal", "active", "display_name"):
        if flag in values and values[flag] is None:
            raise HTTPException(400, f"{flag} cannot be empty")
    values = {k: v for k, v in values.items() if current[k] != v}
    if user_id == principal.user_id and (values.get("role", Role.ADMIN.value) != Role.ADMIN.value
                                          or values.get("active") is False):
        raise HTTPException(409, "you cannot take away your own admin role or disable your own account; "
                                 "ask another admin")
    _check_scope(current | values)
    if body.password is not None:
        try:
            values["password_hash"] = hash_password(body.password)
        except InvalidInput as e:
            raise HTTPException(400, f"password: {e}") from e
    if not values:
        raise HTTPException(400, "nothing to change: every field sent already has that value")
    before = accounts.update_user(state.engine, user_id, **values)
    if values.get("active") is False:
        accounts.revoke_tokens(state.engine, user_id)
    after = {k: v for k, v in values.items() if k != "password_hash"}
    before = {k: v for k, v in before.items() if k != "password_hash"}
    if "password_hash" in values:
        before["password"], after["password"] = "(old)", "(changed)"
    record(state, principal, "permission_changed", "user", user_id, request, reason=body.reason.strip(),
           before=before, after=after)
    state.tokens.clear()
    user = accounts.get_user(state.engine, user_id)
    assert user is not None
    return {"user": shown(user), "before": before, "after": after}


# --- API ----------------------------------------------------------------------------------------

@router.get("/users", summary="Every staff account with its role, scope and reveal grant")
def list_users(request: Request, principal: Principal = Manager) -> dict[str, Any]:
    items = list_all(app_state(request))
    return {"items": items, "count": len(items), "roles": list(ROLE_NAMES)}


@router.get("/users/{user_id}", summary="One account")
def get_user(user_id: str, request: Request, principal: Principal = Manager) -> dict[str, Any]:
    user = accounts.get_user(app_state(request).engine, user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    return shown(user)


@router.post("/users", status_code=201, summary="Create a staff account (audited)")
def create_user(body: UserCreate, request: Request, principal: Principal = Manager) -> dict[str, Any]:
    return create(app_state(request), principal, body, request)


@router.patch("/users/{user_id}", summary="Change role, scope, reveal grant, password or disable (audited)")
def change_user(user_id: str, body: UserChange, request: Request, principal: Principal = Manager) -> dict[str, Any]:
    return change(app_state(request), principal, user_id, body, request)
