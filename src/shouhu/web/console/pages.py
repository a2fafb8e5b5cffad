"""Console pages: sign in/out, dashboard, customer search (with export), the customer 360 page (with
reveal) and the task list. Data comes from web.customer_view / web.customers, always scoped."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import SENSITIVE_FIELDS, Principal
from shouhu.access.roles import Action, Role
from shouhu.customer360.lifecycle import LifecycleStage
from shouhu.model.masking import mask
from shouhu.scoring.nba import ACTION_TYPES
from shouhu.storage import accounts
from shouhu.storage.journeys import EXPORT_USES
from shouhu.web import customer_view, customers, i18n, journeys
from shouhu.web.auth import SESSION_COOKIE, app_state, login_staff, record, require, resolve, signed_in
from shouhu.web.params import Offset
from shouhu.web.render import lang_of, page
from shouhu.web.security import pre_token, pre_token_ok

router = APIRouter()
PAGE_SIZE = 20
LOGIN_COOKIE = "shouhu_login_pre"  # CSRF for the sign-in form (no session yet): web/security.py
EXPORT_LIMIT = 500  # customers per console export (the search's own cap)
ACTION_CODES = tuple(a.code for a in ACTION_TYPES)

i18n.register({
    "dash_persistency_13": ("13个月保费继续率", "13-month premium persistency"),
    "dash_persistency_25": ("25个月保费继续率", "25-month premium persistency"),
    "dash_persistency": ("继续率", "Persistency"),
    "dash_premium_basis": ("保费口径", "Premium"),
    "dash_count_basis": ("件数口径", "Policy count"),
    "dash_policies_measured": ("考核保单", "policies measured"),
    "dash_gap_bands": ("缺口金额分布", "Gap size"),
    "dash_customers_with_gap": ("有缺口客户数", "Customers with a gap"),
    "dash_scope_all": ("全部客户", "All customers"),
    "dash_scope_mine": ("我的客户", "My customers"),
    "dash_scope_branch": ("本机构客户", "Customers of my branch"),
    "dash_scope_team": ("本团队服务客户", "Customers my team serves"),
    "dash_no_data": ("暂无数据", "No data yet"),
    "tasks_title": ("我的待办", "My tasks"),
    "tasks_title_scope": ("待办行动", "Tasks"),
    "tasks_open": ("查看待办", "Open task list"),
    "tasks_all": ("全部", "All"),
    "tasks_none": ("没有待办行动", "No tasks"),
    "col_customer": ("客户", "Customer"),
    "col_customer_id": ("客户号", "Customer"),
    "col_name": ("姓名", "Name"),
    "col_phone": ("手机", "Phone"),
    "col_id_number": ("证件号", "ID number"),
    "col_city": ("城市", "City"),
    "col_age": ("年龄", "Age"),
    "col_lifecycle": ("生命周期", "Lifecycle"),
    "col_policies_in_force": ("有效保单", "Policies in force"),
    "col_premium": ("年化保费", "Annual premium"),
    "col_rank": ("优先级", "Rank"),
    "col_action": ("行动", "Action"),
    "col_kind": ("类型", "Kind"),
    "col_reason": ("原因", "Reason"),
    "col_expected_value": ("预期价值(元)", "Expected value (CNY)"),
    "col_probability": ("成功概率", "Probability"),
    "col_next_due": ("下次缴费日", "Next premium due"),
    "col_policy_no": ("保单号", "Policy"),
    "col_product": ("产品", "Product"),
    "col_product_type": ("险种", "Type"),
    "col_status": ("状态", "Status"),
    "col_issue_date": ("生效日", "Issued"),
    "col_frequency": ("缴费方式", "Frequency"),
    "col_role": ("身份", "Role"),
    "col_lapse": ("失效风险", "Lapse risk"),
    "col_field": ("字段", "Field"),
    "col_channel": ("渠道", "Channel"),
    "col_source": ("来源系统", "Source"),
    "col_rule": ("取值规则", "Rule"),
    "col_time": ("时间", "Time"),
    "col_event": ("事件", "Event"),
    "col_staff": ("员工", "Staff"),
    "holder": ("投保人", "Holder"),
    "insured": ("被保险人", "Insured"),
    "search_filters": ("筛选", "Filters"),
    "search_bad_query": ("无法查询：数字请输入手机号后4位或完整11位手机号，或输入姓名、姓氏、拼音首字母",
                         "Cannot search: give the last 4 digits or all 11 of a phone, or a name, surname or "
                         "pinyin initials"),
    "search_any_stage": ("全部阶段", "Any stage"),
    "search_prev": ("上一页", "Previous"),
    "search_next": ("下一页", "Next"),
    "search_page": ("第{n}页", "Page {n}"),
    "search_for": ("查询", "Searched for"),
    "export_csv": ("导出CSV（脱敏）", "Export CSV (masked)"),
    "export_purpose": ("导出用途（将记入审计日志）", "Purpose (written to the audit log)"),
    "export_use_hint": ("营销、共享与画像用途只导出已授权的客户", "Marketing, sharing and profiling lists keep only "
                        "customers who consented"),
    "export_use_service": ("用于服务", "For service"), "export_use_marketing": ("用于营销（需营销授权）",
                                                                       "For marketing (consent needed)"),
    "export_use_partner_sharing": ("共享给合作机构（需共享授权）", "For a partner (consent needed)"),
    "export_use_profiling": ("用于画像分析（需画像授权）", "For profiling (consent needed)"),
    "c360_provenance": ("黄金记录来源", "Golden-record provenance"),
    "c360_agent": ("服务代理人", "Agent"),
    "c360_value": ("客户价值(预期利润现值)", "Customer value (EPV of margins)"),
    "c360_tier": ("价值等级", "Value tier"),
    "c360_lapse": ("失效风险(最高保单)", "Lapse risk (riskiest policy)"),
    "c360_lapse_reasons": ("失效风险原因", "Lapse-risk reasons"),
    "c360_no_lapse": ("失效模型尚未评分；以下为行动建议的原因", "The lapse model has not scored this book; "
                                                   "reasons below come from the next best actions"),
    "c360_action_reasons": ("行动建议原因", "Reasons of the next best actions"),
    "c360_need": ("需求", "Need"),
    "c360_cover": ("已有保障", "Cover"),
    "c360_gap": ("缺口", "Gap"),
    "c360_not_assessed": ("尚未评估保障需求", "Needs not assessed yet"),
    "c360_out_of_scope": ("（不在您的权限范围）", "(outside your scope)"),
    "c360_tags": ("标签", "Tags"),
    "c360_life_stage": ("人生阶段", "Life stage"),
    "c360_channels": ("接触渠道", "Channels"),
    "c360_household_role": ("家庭角色", "Household role"),
    "c360_marital": ("婚姻状况", "Marital status"),
    "c360_gender": ("性别", "Gender"),
    "c360_tenure": ("客户年限", "Tenure (years)"),
    "c360_persistency": ("本客户继续率", "This customer's persistency"),
    "c360_none": ("无", "None"),
    "reveal_submit": ("确认查看", "Show"),
    "reveal_error": ("无法查看", "Cannot reveal"),
    "reveal_audited": ("已记录审计", "audited"),
    "reveal_need_reason": ("请填写查看原因（至少2个字）", "Give a reason (at least 2 characters)"),
    "reveal_refused": ("您无权查看该字段的明文", "You may not see this field in clear"),
})


def _safe_next(target: str | None) -> str:
    """Only same-site paths under /console (no open redirect)."""
    if not target or urlparse(target).netloc or not target.startswith("/console") or target.startswith("//"):
        return "/console/"
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next)


def _login_page(request: Request, next: str | None, status_code: int = 200, error: str | None = None) -> Response:
    token, new = pre_token(request, LOGIN_COOKIE)
    response = page(request, "console/login.html", status_code=status_code, next=_safe_next(next),
                    demo=app_state(request).demo, error=error, pre=token)
    if new:
        # not a credential (a form token), so not Secure-only: sign-in works behind a TLS-terminating proxy
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/console/login",
                            max_age=3600)
    return response


@router.post("/login")
def login(request: Request, user_id: str = Form(...), password: str = Form(...),
          next: str | None = Form(None), csrf_token: str | None = Form(None)) -> Response:
    state = app_state(request)
    if not pre_token_ok(request, LOGIN_COOKIE, csrf_token):  # a forged cross-site sign-in (login CSRF)
        return _login_page(request, next, status_code=403, error="login_form_expired")
    try:
        principal = login_staff(state, request, user_id.strip(), password)
    except HTTPException as e:
        key = "too_many_attempts" if e.status_code == 429 else "login_failed"
        return _login_page(request, next, status_code=e.status_code, error=key)
    token, _ = accounts.create_session(state.engine, "staff", principal.user_id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path="/console/login")
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=state.settings.mode == "production", max_age=8 * 3600, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    state = app_state(request)
    form = await request.form()
    if form.get("csrf_token") != getattr(request.state, "csrf", None):
        raise HTTPException(403, "missing or wrong CSRF token")
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(state.engine, token)
    record(state, principal, "logout", "user", principal.user_id, request)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _scope_key(principal: Principal) -> str:
    return {Role.AGENT: "dash_scope_mine", Role.BRANCH_MANAGER: "dash_scope_branch", Role.SERVICE: "dash_scope_team",
            Role.HEALTH_MANAGER: "dash_scope_team"}.get(principal.role, "dash_scope_all")


@router.get("/")
def dashboard(request: Request, principal: Principal = Depends(require(Action.DASHBOARD))) -> Response:
    data = customer_view.dashboard(app_state(request), principal, lang_of(request))
    return page(request, "console/dashboard.html", data=data, scope_key=_scope_key(principal),
                is_agent=principal.role is Role.AGENT)


def _stage(value: str | None) -> str | None:
    return value if value in LifecycleStage.codes() else None


def _search_rows(request: Request, principal: Principal, q: str, city: str, stage: str | None, limit: int,
                 offset: int) -> list[dict[str, Any]]:
    if not (q or city or stage):
        return []
    return customers.search(app_state(request), principal, q=q or None, city=city or None, lifecycle_stage=stage,
                            limit=limit, offset=offset)


def _echo(q: str) -> tuple[str, str]:
    """(what the search box may show again, a masked reminder of the query): a typed name, phone or ID
    number never comes back in clear (not in the page, the links or the browser history)."""
    if not q:
        return "", ""
    kind = customers.classify_query(q)
    if "customer_id" in kind:
        return q, ""
    field, value = next(iter(kind.items()))
    return "", mask(field, value)


@router.get("/customers")
def search(request: Request, q: str = Query("", max_length=100), city: str = Query("", max_length=64),
           stage: str = Query("", max_length=32), offset: Offset = 0,
           principal: Principal = Depends(require(Action.CUSTOMER_READ))) -> Response:
    """The search page, or (HTMX) just its results. Paging and export take the criteria from the search
    form (hx-include / copied on submit), so result fragments never carry the query."""
    q, city, lifecycle = q.strip(), city.strip(), _stage(stage)
    try:
        rows, error = _search_rows(request, principal, q, city, lifecycle, PAGE_SIZE + 1, offset), None
    except HTTPException as e:
        if e.status_code != 400:
            raise
        rows, error = [], str(e.detail)
    more = len(rows) > PAGE_SIZE
    lang = lang_of(request)
    shown = [r | {"lifecycle_label": customer_view.label_of("lifecycle_stage", r.get("lifecycle_stage"), lang)}
             for r in rows[:PAGE_SIZE]]
    q_echo, q_masked = _echo(q)
    template = "console/_search_results.html" if request.headers.get("hx-request") else "console/search.html"
    return page(request, template, q=q_echo, q_masked=q_masked, city=city, stage=lifecycle or "", rows=shown,
                error="search_bad_query" if error else None,
                offset=offset, searched=bool(q or city or lifecycle), page_no=offset // PAGE_SIZE + 1,
                prev_offset=max(offset - PAGE_SIZE, 0) if offset > 0 else None,
                next_offset=offset + PAGE_SIZE if more else None,
                stages=[(s.value, s.label(lang)) for s in LifecycleStage])


@router.post("/customers/export")
def export(request: Request, purpose: str = Form(..., min_length=2, max_length=500),
           q: str = Form("", max_length=100), city: str = Form("", max_length=64),
           stage: str = Form("", max_length=32), use: str = Form("service", max_length=32),
           principal: Principal = Depends(require(Action.CUSTOMER_EXPORT))) -> Response:
    """The customers of the current search (up to EXPORT_LIMIT), masked as on screen; audited."""
    rows = _search_rows(request, principal, q.strip(), city.strip(), _stage(stage), EXPORT_LIMIT, 0)
    if not rows:
        raise HTTPException(400, "nothing to export: search first (q, city or stage)")
    if use not in EXPORT_USES:
        raise HTTPException(422, f"use: must be one of {', '.join(EXPORT_USES)}")
    text, no_consent = customers.export_csv(app_state(request), principal, [r["customer_id"] for r in rows],
                                            request, purpose.strip(), use)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="customers.csv"',
                             "X-Left-Out-No-Consent": str(no_consent)})


@router.get("/customers/{customer_id}")
def customer_360(customer_id: str, request: Request,
                 principal: Principal = Depends(require(Action.CUSTOMER_READ))) -> Response:
    state = app_state(request)
    view = customer_view.view(state, principal, customer_id, lang_of(request))
    return page(request, "console/customer.html", view=view, L=customer_view.labeller(lang_of(request)),
                journeys=journeys.customer_section(state, customer_id, lang_of(request)))


@router.post("/customers/{customer_id}/reveal")
def reveal(customer_id: str, request: Request, field: str = Form(..., max_length=32),
           reason: str = Form("", max_length=500),
           principal: Principal = Depends(require(Action.REVEAL))) -> Response:
    """An HTMX fragment: the clear value (audited) in place of the masked one, or the refusal shown under
    the form (HX-Retarget), so the person can give a reason and try again."""
    if field not in SENSITIVE_FIELDS:
        raise HTTPException(400, f"field: {field!r} is not a personal field that can be revealed")
    try:
        result = customers.reveal(app_state(request), principal, customer_id, [field], reason, request)
    except HTTPException as e:
        if e.status_code == 404:
            raise
        key = "reveal_need_reason" if e.status_code == 400 else "reveal_refused"
        response = page(request, "console/_revealed.html", field=field, value=None, error=key)
        response.headers["HX-Retarget"] = f"#reveal-error-{field}"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return page(request, "console/_revealed.html", field=field, value=result["values"][field], error=None)


@router.get("/tasks")
def tasks(request: Request, action: str = Query("", max_length=32), offset: Offset = 0,
          principal: Principal = Depends(require(Action.CUSTOMER_READ))) -> Response:
    chosen = action if action in ACTION_CODES else None
    data = customer_view.tasks(app_state(request), principal, action=chosen, limit=PAGE_SIZE, offset=offset,
                               lang=lang_of(request))

    def link(at: int) -> str:
        return "/console/tasks?" + urlencode({"action": chosen or "", "offset": at})

    return page(request, "console/tasks.html", data=data, action=chosen or "",
                is_agent=principal.role is Role.AGENT,
                prev_link=link(max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
                next_link=link(offset + PAGE_SIZE) if data["next_offset"] is not None else None)


__all__ = ["resolve", "router"]
