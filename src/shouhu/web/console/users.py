"""Console: staff accounts (admin). List, create, change role / scope / reveal grant / password,
disable. Changes go through web.api.users (audited as permission changes; token cache cleared)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError

from shouhu.access.policy import Principal
from shouhu.access.roles import LABELS, STAFF_ROLES, Action
from shouhu.web import i18n
from shouhu.web.api import users as service
from shouhu.web.auth import app_state, require
from shouhu.web.render import lang_of, page

router = APIRouter()
Manager = Depends(require(Action.USER_MANAGE))

i18n.register({
    "usr_title": ("账号管理", "Accounts"),
    "usr_create": ("新建账号", "New account"),
    "usr_user_id": ("用户名", "User name"),
    "usr_name": ("显示名", "Display name"),
    "usr_role": ("角色", "Role"),
    "usr_staff_id": ("员工号（代理人）", "Staff id (agents)"),
    "usr_branch_id": ("机构号（机构经理）", "Branch id (branch managers)"),
    "usr_team_id": ("服务团队号（服务/健康）", "Team id (service, health)"),
    "usr_can_reveal": ("可查看明文", "May reveal"),
    "usr_active": ("启用", "Active"),
    "usr_password": ("初始密码（至少10位）", "Password (10+ characters)"),
    "usr_new_password": ("新密码（可选）", "New password (optional)"),
    "usr_reason": ("原因（必填，记入审计日志）", "Reason (required, audited)"),
    "usr_create_reason": ("说明（可选，记入审计日志）", "Note (optional, audited)"),
    "usr_reload": ("刷新列表", "Reload the list"),
    "usr_save": ("保存", "Save"),
    "usr_yes": ("是", "Yes"),
    "usr_no": ("否", "No"),
    "usr_created": ("已创建账号", "Account created"),
    "usr_changed": ("已保存修改", "Changes saved"),
    "usr_edit": ("修改", "Edit"),
    "usr_scope": ("范围", "Scope"),
    "usr_audited": ("每次修改均记入审计日志（permission_changed），立即生效。",
                    "Every change is audited (permission_changed) and takes effect at once."),
})


def _roles(lang: str) -> list[tuple[str, str]]:
    return [(r.value, LABELS[r][0] if lang == "zh" else LABELS[r][1]) for r in STAFF_ROLES]


def _problem(request: Request, status: int, message: str) -> Response:
    return page(request, "console/users_result.html", status_code=status, ok=False, message=message)


def _validation(e: ValidationError) -> str:
    first = e.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


@router.get("/users")
def users_page(request: Request, principal: Principal = Manager) -> Response:
    return page(request, "console/users.html", users=service.list_all(app_state(request)),
                roles=_roles(lang_of(request)))


@router.post("/users")
def create(request: Request, user_id: str = Form(""), display_name: str = Form(""), role: str = Form(""),
           staff_id: str = Form(""), branch_id: str = Form(""), team_id: str = Form(""),
           can_reveal: str = Form("no"), password: str = Form(""), reason: str = Form(""),
           principal: Principal = Manager) -> Response:
    try:
        body = service.UserCreate(user_id=user_id.strip(), display_name=display_name, role=role, staff_id=staff_id,
                                  branch_id=branch_id, team_id=team_id, can_reveal=can_reveal == "yes",
                                  password=password, reason=reason)
        user = service.create(app_state(request), principal, body, request)
    except ValidationError as e:
        return _problem(request, 400, _validation(e))
    except HTTPException as e:
        return _problem(request, e.status_code, str(e.detail))
    return page(request, "console/users_result.html", ok=True, created=user, message="")


@router.post("/users/{user_id}")
def change(user_id: str, request: Request, display_name: str = Form(""), role: str = Form(""),
           staff_id: str = Form(""), branch_id: str = Form(""), team_id: str = Form(""),
           can_reveal: str = Form(""), active: str = Form(""), password: str = Form(""), reason: str = Form(""),
           principal: Principal = Manager) -> Response:
    """The edit form sends every field; only those that differ are changed (and audited)."""
    state = app_state(request)
    fields: dict[str, object] = {"reason": reason, "staff_id": staff_id, "branch_id": branch_id, "team_id": team_id}
    if display_name.strip():
        fields["display_name"] = display_name.strip()
    if role:
        fields["role"] = role
    if can_reveal in ("yes", "no"):
        fields["can_reveal"] = can_reveal == "yes"
    if active in ("yes", "no"):
        fields["active"] = active == "yes"
    if password:
        fields["password"] = password
    try:
        body = service.UserChange.model_validate(fields)
        result = service.change(state, principal, user_id, body, request)
    except ValidationError as e:
        return _problem(request, 400, _validation(e))
    except HTTPException as e:
        return _problem(request, e.status_code, str(e.detail))
    return page(request, "console/users_result.html", ok=True, changed=result, message="")
