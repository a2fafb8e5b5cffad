"""Console: staff accounts (admin). List, create, change role / scope / reveal grant / password,
disable. Changes go through web.api.users (audited as permission changes; token cache cleared)."""

from __future__ import annotations

from collections.abc import Callable

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
    "usr_audited": ("每次修改均记入审计日志（修改账号权限），立即生效。",
                    "Every change is audited (permission_changed) and takes effect at once."),
    "usr_user_id_rule": ("用户名只能包含英文字母、数字和 . _ @ -，以字母或数字开头，最多64位",
                         "A user name holds letters, digits and . _ @ -, starts with a letter or digit, "
                         "at most 64 characters"),
    "usr_bad_role": ("请选择有效的角色", "choose one of the roles"),
    "usr_too_short": ("至少{n}个字符", "at least {n} characters"),
    "usr_too_long": ("最多{n}个字符", "at most {n} characters"),
    "usr_invalid": ("填写有误", "is not valid"),
    "usr_f_user_id": ("用户名", "User name"), "usr_f_display_name": ("显示名", "Display name"),
    "usr_f_role": ("角色", "Role"), "usr_f_staff_id": ("员工号", "Staff id"),
    "usr_f_branch_id": ("机构号", "Branch id"),
    "usr_f_team_id": ("服务团队号", "Team id"), "usr_f_can_reveal": ("可查看明文", "May reveal"),
    "usr_f_active": ("启用", "Active"), "usr_f_password": ("密码", "Password"), "usr_f_reason": ("原因", "Reason"),
})
FIELDS = ("user_id", "display_name", "role", "staff_id", "branch_id", "team_id", "can_reveal", "active", "password",
          "reason")


def _roles(lang: str) -> list[tuple[str, str]]:
    return [(r.value, LABELS[r][0] if lang == "zh" else LABELS[r][1]) for r in STAFF_ROLES]


def _problem(request: Request, status: int, message: str) -> Response:
    return page(request, "console/users_result.html", status_code=status, ok=False, message=message)


def _validation(e: ValidationError, lang: str) -> str:
    """The first problem, in the page's language, naming the field; never a regular expression."""
    t = i18n.translator(lang)
    first = e.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    field = t(f"usr_f_{name}") if name in FIELDS else name
    kind, ctx = first["type"], first.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        why = t("usr_user_id_rule")
    elif kind == "string_too_short":
        why = t("usr_too_short").replace("{n}", str(ctx.get("min_length", "")))
    elif kind == "string_too_long":
        why = t("usr_too_long").replace("{n}", str(ctx.get("max_length", "")))
    elif name == "role":
        why = t("usr_bad_role")
    else:
        why = t("usr_invalid") if lang == "zh" else first["msg"]
    return f"{field}：{why}" if lang == "zh" else f"{field}: {why}"


_HTTP_ZH = (("is required for the role", "该角色必须填写范围（员工号、机构号或服务团队号），否则看不到任何客户"),
            ("reserved for demo accounts", "以 demo- 开头的用户名保留给演示账号"),
            ("exists already", "用户名已存在"), ("no user", "没有这个账号"),
            ("cannot be empty", "不能为空"), ("your own", "不能取消自己的管理员角色或停用自己的账号"),
            ("password:", "密码不符合要求（至少10位，不能过于简单）"),
            ("nothing to change", "没有需要保存的修改"))


def _http_problem(e: HTTPException, lang: str) -> str:
    detail = str(e.detail)
    if lang != "zh":
        return detail
    return next((zh for marker, zh in _HTTP_ZH if marker in detail), "无法保存，请检查填写的内容")


def _usr_value(lang: str) -> Callable[[str, object], str]:
    def shown(key: str, value: object) -> str:
        if isinstance(value, bool):
            return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
        if key == "role" and value:
            return dict(_roles(lang)).get(str(value), str(value))
        return "—" if value in (None, "") else str(value)
    return shown


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
        return _problem(request, 400, _validation(e, lang_of(request)))
    except HTTPException as e:
        return _problem(request, e.status_code, _http_problem(e, lang_of(request)))
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
        return _problem(request, 400, _validation(e, lang_of(request)))
    except HTTPException as e:
        return _problem(request, e.status_code, _http_problem(e, lang_of(request)))
    lang = lang_of(request)
    return page(request, "console/users_result.html", ok=True, changed=result, message="",
                usr_fields={f"usr_f_{k}" for k in FIELDS}, usr_value=_usr_value(lang))
