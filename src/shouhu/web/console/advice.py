"""Console: run a needs diagnosis with a customer (risk questionnaire, fact-find, gaps, plan, review report).

Every page needs ``advice.run``; the customer must be inside the caller's row scope (404 otherwise).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.advice.methods import DEFAULT_METHOD
from shouhu.advice.plan import ROLE_EN, ROLE_ZH
from shouhu.model.vocab import CoverageType, Gender, Relation
from shouhu.web import advice, customers, i18n
from shouhu.web.auth import app_state, require
from shouhu.web.render import lang_of, page

router = APIRouter()
Adviser = Depends(require(Action.ADVICE_RUN))

i18n.register({
    "adv_title": ("需求诊断与保障规划", "Needs diagnosis and protection plan"),
    "adv_pick": ("选择客户", "Choose a customer"),
    "adv_pick_hint": ("按姓名、手机号、证件号或客户号查询您权限内的客户",
                      "Search your customers by name, phone, ID number or customer id"),
    "adv_open_360": ("客户360视图", "Customer 360"),
    "adv_step_risk": ("第一步 · 风险承受能力评估", "Step 1 · Risk tolerance"),
    "adv_step_fact": ("第二步 · 保障需求问诊", "Step 2 · Needs fact-find"),
    "adv_step_run": ("第三步 · 缺口诊断与保障方案", "Step 3 · Gaps and protection plan"),
    "adv_step_report": ("保单检视报告", "Policy review report"),
    "adv_not_assessed": ("尚未评估(推荐时按R1处理)", "Not assessed (treated as R1 when recommending)"),
    "adv_not_taken": ("尚未填写(使用客户档案数据)", "Not taken (the customer record is used)"),
    "adv_taken_at": ("评估时间", "Taken"),
    "adv_save": ("保存", "Save"),
    "adv_retake": ("重新评估", "Take again"),
    "adv_edit": ("修改", "Edit"),
    "adv_saved": ("已保存", "Saved"),
    "adv_fix": ("请修改标出的答案", "Please correct the answers marked"),
    "adv_method": ("寿险需求测算方法", "Life need method"),
    "adv_budget": ("年缴保费预算(元,可不填)", "Yearly premium budget (CNY, optional)"),
    "adv_run": ("诊断并生成方案", "Diagnose and plan"),
    "adv_gaps": ("保障缺口", "Protection gaps"),
    "adv_need": ("需求", "Need"),
    "adv_existing": ("已生效保额", "Effective cover"),
    "adv_waiting": ("等待期内", "In waiting period"),
    "adv_gap": ("缺口", "Gap"),
    "adv_coverage": ("保障类型", "Coverage"),
    "adv_explain": ("测算说明", "How it was worked out"),
    "adv_hidden_members": ("不在您权限范围内的家庭成员(只显示家庭角色)",
                           "Household members outside your scope (role only)"),
    "adv_fact_used": ("已采用需求问诊的答案", "Uses the fact-find answers"),
    "adv_fact_not_used": ("未采用需求问诊:使用客户档案数据", "No fact-find used: the customer record is used"),
    "adv_product": ("产品", "Product"),
    "adv_member": ("被保险人", "Insured"),
    "adv_sum_assured": ("保额(元)", "Sum assured (CNY)"),
    "adv_premium": ("年缴保费(元)", "Yearly premium (CNY)"),
    "adv_suitability": ("适当性检查", "Suitability checks"),
    "adv_blocked": ("因适当性被排除的产品", "Products blocked by suitability"),
    "adv_reason": ("原因", "Reason"),
    "adv_risk_level": ("客户风险等级", "Customer risk level"),
    "adv_seller": ("销售人员资质", "Seller qualification"),
    "adv_seller_you": ("您本人的资质", "your own grade"),
    "adv_seller_customer_agent": ("客户服务代理人的资质", "the grade of the customer's agent"),
    "adv_seller_self_service": ("自助投保,无销售人员", "self-service, no seller"),
    "adv_seller_none": ("无销售人员资质记录", "no seller grade on record"),
    "adv_affordability": ("承受能力", "Affordability"),
    "adv_alternatives": ("备选方案", "Alternatives"),
    "adv_hidden_items": ("其他家庭成员(不在您的权限范围内)", "Other household members (outside your scope)"),
    "adv_view_html": ("在线查看", "View online"),
    "adv_download_pdf": ("下载PDF", "Download PDF"),
    "adv_unavailable": ("数据仓库暂时不可用(可能正在刷新),请稍后再试", "The warehouse is busy (a refresh may be "
                        "running); try again in a minute"),
    "adv_no_items": ("预算内没有可推荐的产品", "No product fits the budget"),
    "adv_yes": ("是", "Yes"),
    "adv_no": ("否", "No"),
    "adv_relation": ("关系", "Relation"),
    "adv_age": ("年龄", "Age"),
    "adv_wan": ("万元", "10k CNY"),
    "adv_checks_logged": ("条适当性检查已记入合规日志", "suitability checks written to the compliance log"),
    "adv_total_gap": ("缺口合计", "Total gap"),
    "adv_external": ("份他司保单已计入", "external policies included"),
    "adv_level": ("等级", "Level"),
    "adv_score": ("得分", "Score"),
})


def labels(lang: str) -> dict[str, Any]:
    """Coverage and household-role labels in the page's language."""
    return {"coverages": {c.value: c.label(lang) for c in CoverageType},
            "roles": ROLE_ZH if lang == "zh" else ROLE_EN, "genders": {g.value: g.label(lang) for g in Gender}}


def _context(request: Request, principal: Principal, customer_id: str, **extra: Any) -> dict[str, Any]:
    state = app_state(request)
    lang = lang_of(request)
    customer = customers.profile(state, principal, customer_id)  # 404 outside the caller's scope
    done = advice.latest(state, principal, customer_id)
    return {"customer": customer, "latest": done, "risk_q": advice.questionnaire(advice.RISK),
            "fact_q": advice.questionnaire(advice.FACT_FIND), "methods": advice.METHODS,
            "relations": {r.value: r.label(lang) for r in Relation}, "dependent_rows": advice.DEPENDENT_ROWS,
            "risk_label": advice.level_label(done[advice.RISK], lang), "values": {}, "errors": {}, "failed": None,
            "saved": request.query_params.get("saved"), "method": DEFAULT_METHOD, "budget": "",
            "result": None, "unavailable": False, "run_error": None, "charts": None,
            "fact_defaults": advice.fact_find_defaults(customer)} | labels(lang) | extra


def _budget(raw: str | None) -> tuple[float | None, str | None]:
    text = (raw or "").replace(",", "").strip()
    if not text:
        return None, None
    try:
        value = float(text)
    except ValueError:
        return None, f"budget: {raw!r} is not a number"
    if not 0 <= value <= 100_000_000:
        return None, "budget: must be between 0 and 100,000,000"
    return value, None


def _run(request: Request, principal: Principal, customer_id: str, method: str, budget_text: str | None
         ) -> dict[str, Any]:
    """The result part of the page: {result, unavailable, run_error}."""
    if method not in advice.METHODS:
        return {"run_error": f"method: unknown life need method {method!r}"}
    budget, error = _budget(budget_text)
    if error:
        return {"run_error": error}
    try:
        result = advice.advise(app_state(request), principal, customer_id, request, method=method, budget=budget)
    except HTTPException as e:
        if e.status_code == 503:
            return {"unavailable": True}
        raise
    return {"result": result, "charts": advice.chart_data(result["diagnosis"], lang_of(request))}


@router.get("/advice")
def advice_page(request: Request, customer_id: str | None = None, q: str | None = None, run: str | None = None,
                method: str = DEFAULT_METHOD, budget: str | None = None,
                principal: Principal = Adviser) -> Response:
    if not customer_id:
        rows = customers.search(app_state(request), principal, q=q) if q else []
        return page(request, "console/advice_pick.html", q=q or "", rows=rows)
    extra: dict[str, Any] = {"method": method, "budget": budget or ""}
    if run:
        extra |= _run(request, principal, customer_id, method, budget)
    return page(request, "console/advice.html", **_context(request, principal, customer_id, **extra))


@router.get("/advice/result")
def advice_result(request: Request, customer_id: str, method: str = DEFAULT_METHOD, budget: str | None = None,
                  principal: Principal = Adviser) -> Response:
    customers.record_or_404(app_state(request), principal, customer_id)
    part = _run(request, principal, customer_id, method, budget)
    return page(request, "console/advice_result.html", customer_id=customer_id, method=method,
                result=part.get("result"), charts=part.get("charts"), unavailable=part.get("unavailable", False),
                run_error=part.get("run_error"), **labels(lang_of(request)))


@router.post("/advice/assessments")
async def take_assessment(request: Request, principal: Principal = Adviser) -> Response:
    form = await request.form()
    customer_id = str(form.get("customer_id") or "")
    qid = str(form.get("questionnaire") or "")
    q = advice.questionnaire(qid)
    answers = advice.answers_from_form(q, form)
    try:
        advice.take(app_state(request), principal, customer_id, qid, answers, request)
    except advice.AnswersInvalid as e:
        ctx = _context(request, principal, customer_id, values={qid: answers}, errors={qid: e.problems}, failed=qid)
        return page(request, "console/advice.html", status_code=400, **ctx)
    return RedirectResponse(f"/console/advice?customer_id={customer_id}&saved={qid}#step-{qid}", status_code=303)


def _busy(request: Request) -> Response:
    return page(request, "error.html", status_code=503, key="adv_unavailable", message="")


@router.get("/advice/review")
def review_html(request: Request, customer_id: str, principal: Principal = Adviser) -> Response:
    try:
        html = advice.review_html(app_state(request), principal, customer_id, lang_of(request))
    except HTTPException as e:
        if e.status_code != 503:
            raise
        return _busy(request)
    return HTMLResponse(html)


@router.get("/advice/review.pdf")
def review_pdf(request: Request, customer_id: str, principal: Principal = Adviser) -> Response:
    try:
        data = advice.review_pdf(app_state(request), principal, customer_id, lang_of(request), request)
    except HTTPException as e:
        if e.status_code != 503:
            raise
        return _busy(request)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{advice.pdf_name(customer_id)}"'})
