"""Customer H5 pages under /h5: sign in with phone + one-time code, my cover, robo-advisor (risk
questionnaire → protection plan), my policies (wallet: add and remove external policies), my review
report (PDF), sign out.

Every page but sign-in depends on ``require_customer_session``: the principal is the customer, whose
row rule is the customer only. No page takes a customer id: URLs and forms cannot name anyone else
(an external policy id of someone else is a 404).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal, row_rule
from shouhu.access.roles import Role
from shouhu.advice.methods import DEFAULT_METHOD
from shouhu.advice.plan import ROLE_EN, ROLE_ZH
from shouhu.advice.wallet import COLUMNS as WALLET_COLUMNS
from shouhu.advice.wallet import SA_COLUMNS, WalletError
from shouhu.model.vocab import CoverageType, PaymentFrequency, PolicyStatus, ProductType, Relation
from shouhu.storage import accounts
from shouhu.storage import customers as store
from shouhu.web import advice, customers, i18n
from shouhu.web.auth import H5_COOKIE, app_state, record, require_customer_session
from shouhu.web.h5 import signin
from shouhu.web.params import RowId
from shouhu.web.render import lang_of, page
from shouhu.web.security import pre_token, pre_token_ok

router = APIRouter()
Customer = Depends(require_customer_session)
PRE_COOKIE = "shouhu_h5_pre"  # CSRF for the sign-in forms (no session yet): double-submit cookie

i18n.register({
    "h5_home": ("我的保障", "My cover"),
    "h5_advisor": ("智能顾问", "Robo-advisor"),
    "h5_policies": ("我的保单", "My policies"),
    "h5_report": ("检视报告", "Review report"),
    "h5_sign_in_title": ("手机号登录", "Sign in with your phone"),
    "h5_phone_hint": ("请输入您在本公司留存的手机号", "The mobile number you gave us"),
    "h5_code_hint": ("请输入收到的6位验证码", "Enter the 6-digit code you received"),
    "h5_code_sent_maybe": ("如该手机号已在本公司登记,验证码已发送,5分钟内有效。",
                           "If this number is registered with us, a code has been sent; it is valid for 5 minutes."),
    "h5_change_phone": ("更换手机号", "Use another number"),
    "h5_resend": ("重新获取", "Send again"),
    "h5_bad_phone": ("请输入11位手机号", "Enter an 11-digit mobile number"),
    "h5_too_many_codes": ("获取验证码过于频繁,请稍后再试", "Too many codes requested; try again later"),
    "h5_form_expired": ("页面已过期,请重试", "The page expired; please try again"),
    "h5_hello": ("您好", "Hello"),
    "h5_policies_in_force": ("有效保单", "Policies in force"),
    "h5_premium": ("年缴保费(元)", "Yearly premium (CNY)"),
    "h5_cover_vs_need": ("保障与需求(万元)", "Cover and need (10k CNY)"),
    "h5_cover": ("已有保障", "Cover"),
    "h5_need": ("建议保障", "Need"),
    "h5_gap": ("缺口", "Gap"),
    "h5_start_advisor": ("测一测我的保障缺口", "Check my protection gaps"),
    "h5_download_report": ("下载我的保单检视报告(PDF)", "Download my policy review (PDF)"),
    "h5_risk_done": ("您的风险承受能力", "Your risk tolerance"),
    "h5_risk_confirm": ("您的顾问为您记录了以下答案,请确认或修改后提交",
                        "Your adviser recorded these answers for you: confirm or change them, then submit"),
    "h5_risk_todo": ("先做一个风险承受能力评估(9题)", "First, a short risk-tolerance check (9 questions)"),
    "h5_fact_todo": ("再告诉我们一些家庭情况(可选,方案更准确)",
                     "Then tell us about your family (optional, for a better plan)"),
    "h5_fact_done": ("家庭情况已填写", "Family facts saved"),
    "h5_see_plan": ("查看我的保障方案", "See my protection plan"),
    "h5_submit": ("提交", "Submit"),
    "h5_plan_title": ("我的保障方案", "My protection plan"),
    "h5_plan_note": ("方案仅供参考,投保以保险合同及核保结果为准。",
                     "For reference only: the policy contract and underwriting decide."),
    "h5_my_gaps": ("我的保障缺口", "My protection gaps"),
    "h5_recommended": ("推荐配置", "Recommended"),
    "h5_why": ("为什么推荐", "Why"),
    "h5_family_items": ("为家庭其他成员配置的产品", "Products for other family members"),
    "h5_not_suitable": ("暂不适合您的产品", "Products not suitable for you now"),
    "h5_our_policies": ("本公司保单", "Policies with us"),
    "h5_external": ("其他保险公司的保单", "Policies with other insurers"),
    "h5_add_external": ("添加他司保单", "Add a policy from another insurer"),
    "h5_remove": ("删除", "Remove"),
    "h5_added": ("已添加", "Added"),
    "h5_removed": ("已删除", "Removed"),
    "h5_none": ("暂无", "None yet"),
    "h5_fix_fields": ("请修改标出的项目", "Please correct the fields marked"),
    "h5_sa_group": ("保额(元,至少填一项)", "Sums assured (CNY, at least one)"),
    "h5_signed_out": ("您已退出", "You have signed out"),
    "h5_back_home": ("返回首页", "Back home"),
    "h5_report_note": ("报告中的姓名和证件号已脱敏。", "Names and ID numbers in the report are masked."),
    "w_policy_no": ("保单号", "Policy no."),
    "w_insurer": ("保险公司", "Insurer"),
    "w_product_name": ("产品名称", "Product name"),
    "w_product_type": ("产品类型", "Product type"),
    "w_issue_date": ("生效日期", "Issue date"),
    "w_status": ("保单状态", "Status"),
    "w_status_date": ("状态日期", "Status date"),
    "w_annual_premium": ("年缴保费(元)", "Yearly premium (CNY)"),
    "w_payment_frequency": ("缴费方式", "Payment frequency"),
    "w_premium_term_years": ("缴费年限", "Premium term (years)"),
    "w_coverage_term_years": ("保障年限(0=终身)", "Cover term (years, 0 = whole life)"),
    "w_waiting_days": ("等待期(天)", "Waiting period (days)"),
})

TEXT_FIELDS = ("policy_no", "insurer", "product_name")
SELECT_FIELDS = {"product_type": ProductType, "status": PolicyStatus, "payment_frequency": PaymentFrequency}
NUMBER_FIELDS = ("annual_premium", "premium_term_years", "coverage_term_years", "waiting_days")
FORM_FIELDS = tuple(c for c in WALLET_COLUMNS if c not in ("insured_id", "holder_id"))


def _h5(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    lang = lang_of(request)
    base = {"coverages": {c.value: c.label(lang) for c in CoverageType},
            "roles": (ROLE_ZH if lang == "zh" else ROLE_EN) | {"self": SELF[0] if lang == "zh" else SELF[1]},
            "here": context.pop("here", request.url.path)}
    return page(request, template, status_code=status_code, **(base | context))


# -- sign in --------------------------------------------------------------------------------------

def _login_page(request: Request, step: str, status_code: int = 200, **context: Any) -> Response:
    token, new = pre_token(request, PRE_COOKIE)
    response = _h5(request, "h5/login.html", status_code=status_code, step=step, pre=token, here="/h5/login",
                   **({"phone": "", "error": None} | context))
    if new:
        response.set_cookie(PRE_COOKIE, token, httponly=True, samesite="strict", path="/h5", max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request, "phone")


@router.post("/login/code")
def login_code(request: Request, phone: str = Form(""), csrf_token: str | None = Form(None)) -> Response:
    if not pre_token_ok(request, PRE_COOKIE, csrf_token):
        return _login_page(request, "phone", status_code=403, error="h5_form_expired")
    try:
        signin.request_code(app_state(request), request, phone)
    except HTTPException as e:
        key = "h5_too_many_codes" if e.status_code == 429 else "h5_bad_phone"
        return _login_page(request, "phone", status_code=e.status_code, phone=phone, error=key)
    return _login_page(request, "code", phone=signin.phone_or_400(phone))


@router.post("/login")
def login(request: Request, phone: str = Form(""), code: str = Form(""),
          csrf_token: str | None = Form(None)) -> Response:
    state = app_state(request)
    if not pre_token_ok(request, PRE_COOKIE, csrf_token):
        return _login_page(request, "phone", status_code=403, error="h5_form_expired")
    try:
        _, token, _ = signin.verify(state, request, phone, code)
    except HTTPException as e:
        key = {429: "too_many_attempts", 400: "h5_bad_phone"}.get(e.status_code, "code_wrong")
        return _login_page(request, "code" if e.status_code != 400 else "phone", status_code=e.status_code,
                           phone=phone, error=key)
    response = RedirectResponse("/h5/", status_code=303)
    signin.set_cookie(response, state, token)
    response.delete_cookie(PRE_COOKIE, path="/h5")
    return response


@router.post("/logout")
def logout(request: Request, principal: Principal = Customer) -> Response:
    state = app_state(request)
    token = request.cookies.get(H5_COOKIE)
    if token:
        accounts.end_session(state.engine, token)
    record(state, principal, "h5_logout", "customer", principal.customer_id or "", request)
    response = RedirectResponse("/h5/login", status_code=303)
    signin.clear_cookie(response)
    return response


# -- pages ----------------------------------------------------------------------------------------

def _me(principal: Principal) -> str:
    assert principal.role is Role.CUSTOMER and principal.customer_id
    return principal.customer_id


@router.get("/")
def home(request: Request, principal: Principal = Customer) -> Response:
    state, cid = app_state(request), _me(principal)
    lang = lang_of(request)
    me = customers.profile(state, principal, cid)
    gap_rows = store.rows_for(state.engine, row_rule(principal), "customer_gap", cid)
    gap = gap_rows[0] if gap_rows else {}
    chart: dict[str, list[Any]] = {"labels": [], "cover": [], "need": [], "gap": []}
    for c in advice.NEEDS:
        chart["labels"].append(CoverageType(c).label(lang))
        chart["cover"].append(round(float(me.get(f"sa_{c}") or 0) / 10_000, 1))
        chart["need"].append(round(float(gap.get(f"need_{c}") or 0) / 10_000, 1))
        chart["gap"].append(round(float(gap.get(f"gap_{c}") or 0) / 10_000, 1))
    done = advice.latest(state, principal, cid)
    return _h5(request, "h5/home.html", me=me, chart=chart, risk=done[advice.RISK],
               risk_label=advice.level_label(done[advice.RISK], lang))


def _advisor(request: Request, principal: Principal, status_code: int = 200, **extra: Any) -> Response:
    state, cid = app_state(request), _me(principal)
    lang = lang_of(request)
    done = advice.latest(state, principal, cid)
    # Self-service advice rests on the customer's own answers: a risk assessment recorded by staff is
    # shown pre-filled for the customer to confirm.
    confirm = done[advice.RISK] is not None and \
        advice.taken_by(state, principal, cid)[advice.RISK] != principal.user_id
    risk, fact = done[advice.RISK], done[advice.FACT_FIND]
    prefill = {advice.RISK: risk.answers if risk else {},
               advice.FACT_FIND: fact.answers if fact else advice.fact_find_defaults(
                   customers.profile(state, principal, cid))}
    return _h5(request, "h5/advisor.html", status_code=status_code, latest=done, confirm=confirm, prefill=prefill,
               risk_q=advice.questionnaire(advice.RISK), fact_q=advice.questionnaire(advice.FACT_FIND),
               relations={r.value: r.label(lang) for r in Relation}, dependent_rows=advice.DEPENDENT_ROWS,
               risk_label=advice.level_label(done[advice.RISK], lang), here="/h5/advisor",
               **({"values": {}, "errors": {}, "failed": None, "retake": request.query_params.get("retake")} | extra))


@router.get("/advisor")
def advisor(request: Request, principal: Principal = Customer) -> Response:
    return _advisor(request, principal)


@router.post("/advisor")
async def advisor_answer(request: Request, principal: Principal = Customer) -> Response:
    form = await request.form()
    qid = str(form.get("questionnaire") or "")
    q = advice.questionnaire(qid)
    answers = advice.answers_from_form(q, form)
    try:
        advice.take(app_state(request), principal, _me(principal), qid, answers, request)
    except advice.AnswersInvalid as e:
        return _advisor(request, principal, status_code=400, values={qid: answers}, errors={qid: e.problems},
                        failed=qid)
    return RedirectResponse("/h5/plan" if qid == advice.FACT_FIND else "/h5/advisor", status_code=303)


@router.get("/plan")
def plan(request: Request, principal: Principal = Customer) -> Response:
    state, cid = app_state(request), _me(principal)
    lang = lang_of(request)
    try:
        result = advice.advise(state, principal, cid, request, method=DEFAULT_METHOD)
    except HTTPException as e:
        if e.status_code != 503:
            raise
        return _h5(request, "h5/plan.html", status_code=503, result=None, unavailable=True)
    charts = advice.chart_data(result["diagnosis"], lang)
    _as_self(result, charts, cid, lang)
    return _h5(request, "h5/plan.html", result=result, charts=charts, unavailable=False,
               contact=request.query_params.get("contact"))


SELF = ("本人", "you")


def _as_self(result: dict[str, Any], charts: dict[str, Any], customer_id: str, lang: str) -> None:
    """On the customer's own pages the customer is 本人 ("you"), not 户主 or 配偶: the plan items, their
    explanations and the gap chart of the signed-in customer say so."""
    me = next((m for m in result["diagnosis"]["members"] if m.get("is_customer")), None)
    if me is None:
        return
    role, age = me["role"], me.get("age")
    said_zh, said_en = f"{ROLE_ZH.get(role, '成员')}({age}岁)", f"the {ROLE_EN.get(role, 'member')} ({age})"
    me["role_zh"], me["role_en"] = SELF
    plan = result["plan"]
    for items in [plan["recommended"]["items"], *(alt["items"] for alt in plan.get("alternatives", []))]:
        for item in items:
            if item.get("person_id") == customer_id:
                item["role"] = "self"
                item["zh"] = str(item.get("zh", "")).replace(said_zh, f"本人({age}岁)")
                item["en"] = str(item.get("en", "")).replace(said_en, f"you ({age})")
    for member in charts.get("members", []):
        if member.get("person_id") == customer_id:
            member["title"] = (f"{SELF[0]} · {age}岁" if lang == "zh" else f"{SELF[1]} · {age}")


def _policies(request: Request, principal: Principal, status_code: int = 200, **extra: Any) -> Response:
    state, cid = app_state(request), _me(principal)
    lang = lang_of(request)
    ours = store.detail(state.engine, row_rule(principal), cid)["policies"]
    theirs = advice.external_rows(state, principal, [cid])
    options = {name: [(m.value, m.label(lang)) for m in enum] for name, enum in SELECT_FIELDS.items()}
    return _h5(request, "h5/policies.html", status_code=status_code, ours=ours, theirs=theirs, options=options,
               text_fields=TEXT_FIELDS, number_fields=NUMBER_FIELDS, sa_fields=SA_COLUMNS, here="/h5/policies",
               labels={m.value: m.label(lang) for e in SELECT_FIELDS.values() for m in e},
               **({"values": {}, "errors": {}, "done": request.query_params.get("done")} | extra))


@router.get("/policies")
def policies(request: Request, principal: Principal = Customer) -> Response:
    return _policies(request, principal)


@router.post("/policies")
async def add_policy(request: Request, principal: Principal = Customer) -> Response:
    form = await request.form()
    raw = {k: str(form.get(k) or "") for k in FORM_FIELDS}
    try:
        advice.add_external(app_state(request), principal, _me(principal), raw, request)
    except WalletError as e:
        return _policies(request, principal, status_code=400, values=raw, errors=advice.wallet_problems(e))
    return RedirectResponse("/h5/policies?done=added", status_code=303)


def _error(request: Request, error: HTTPException) -> Response:
    """An error as an H5 page (the shared error page has the console's header)."""
    key = {404: "not_found", 503: "adv_unavailable"}.get(error.status_code, "forbidden")
    hint = {404: "err_not_found_hint", 403: "err_forbidden_hint"}.get(error.status_code)
    shown = i18n.translator("zh")(hint) if hint and lang_of(request) == "zh" else error.detail
    return _h5(request, "h5/error.html", status_code=error.status_code, key=key,
               message="" if error.status_code == 503 else shown)


@router.post("/policies/{row_id}/remove")
def remove_policy(row_id: RowId, request: Request, principal: Principal = Customer) -> Response:
    try:
        advice.remove_external(app_state(request), principal, _me(principal), row_id, request)
    except HTTPException as e:
        return _error(request, e)
    return RedirectResponse("/h5/policies?done=removed", status_code=303)


@router.get("/report.pdf")
def report(request: Request, principal: Principal = Customer) -> Response:
    cid = _me(principal)
    try:
        data = advice.review_pdf(app_state(request), principal, cid, lang_of(request), request)
    except HTTPException as e:
        return _error(request, e)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{advice.pdf_name(cid)}"'})
