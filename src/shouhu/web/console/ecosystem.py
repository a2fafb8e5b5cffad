"""Console pages for ecosystem services (增值服务): the catalogue by category with SLAs and units per tier,
service orders with their SLA state and status actions (and, for one customer, the entitlements left and
an order form), provider settlement statements by provider and month, and the ecosystem funnel chart."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.partners import ecosystem as eco
from shouhu.web import display, i18n
from shouhu.web import ecosystem as web
from shouhu.web.auth import app_state, require
from shouhu.web.params import Offset
from shouhu.web.render import lang_of, page

router = APIRouter()
Reader = Depends(require(Action.CUSTOMER_READ))
Writer = Depends(require(Action.ECO_ORDER_WRITE))
Manager = Depends(require(Action.ECO_MANAGE))
STATUSES = tuple(eco.OrderStatus.codes())

i18n.register({
    "eco_nav": ("增值服务", "Ecosystem services"),
    "eco_catalogue": ("服务目录", "Catalogue"), "eco_orders": ("服务订单", "Service orders"),
    "eco_settlements": ("服务商结算", "Provider settlement"), "eco_funnel": ("生态转化漏斗", "Ecosystem funnel"),
    "eco_empty": ("服务目录为空，请由管理员导入服务目录：", "The catalogue is empty; an administrator loads it with:"),
    "eco_service": ("服务", "Service"), "eco_provider": ("服务商", "Provider"), "eco_sla": ("服务时效", "SLA"),
    "eco_unit_price": ("结算单价", "Price to provider"), "eco_retail": ("零售价", "Retail price"),
    "eco_benefit_only": ("仅限权益", "Benefit only"),
    "eco_units_hint": ("每个服务年度（自然年）的可用次数；空白表示该等级不含此权益。",
                       "Units per programme year (calendar year); blank: not a benefit of that tier."),
    "eco_status": ("订单状态", "Status"), "eco_sla_state": ("时效", "SLA"), "eco_due": ("履约时限", "Due"),
    "eco_requested": ("下单时间", "Requested"), "eco_basis": ("方式", "Basis"), "eco_tier": ("客户等级", "Tier"),
    "eco_basis_entitlement": ("权益", "Entitlement"), "eco_basis_paid": ("自费", "Paid"),
    "eco_all": ("全部", "All"), "eco_none": ("没有服务订单", "No service orders"),
    "eco_move": ("更新", "Update"), "eco_schedule_for": ("预约时间", "Appointment"),
    "eco_reason": ("取消原因", "Reason to cancel"), "eco_for_customer": ("客户权益与下单", "Entitlements and ordering"),
    "eco_year": ("服务年度", "Programme year"), "eco_quantity": ("年度次数", "Units a year"),
    "eco_used": ("已用", "Used"), "eco_remaining": ("剩余", "Left"), "eco_order": ("下单", "Order"),
    "eco_pay": ("无剩余权益时自费", "Pay when no unit is left"), "eco_ordered": ("已下单", "Ordered"),
    "eco_customer_filter": ("客户编号", "Customer id"), "eco_filter": ("筛选", "Filter"),
    "eco_period": ("结算月份", "Month"), "eco_run_settlement": ("生成/更新结算单", "Settle the month"),
    "eco_seq": ("批次", "Batch"), "eco_orders_n": ("订单数", "Orders"), "eco_gross": ("应结金额", "Gross"),
    "eco_deduction": ("超时扣减", "Breach deductions"), "eco_amount": ("实结金额", "Amount due"),
    "eco_confirm": ("确认结算单", "Confirm"), "eco_confirmed_by": ("确认人", "Confirmed by"),
    "eco_statement": ("结算明细", "Statement"), "eco_completed": ("完成时间", "Completed"),
    "eco_breached": ("超时", "Breached"), "eco_settled": ("结算金额", "Settled"),
    "eco_no_settlements": ("暂无结算单", "No settlements"), "eco_settlement_draft": ("草稿", "Draft"),
    "eco_settlement_confirmed": ("已确认", "Confirmed"), "eco_since": ("注册起", "Registered from"),
    "eco_until": ("注册止", "to"), "eco_by": ("分组", "Group by"), "eco_by_source": ("来源", "Source"),
    "eco_by_scene": ("场景", "Scene"), "eco_by_all": ("合计", "All"), "eco_group": ("分组", "Group"),
    "eco_users": ("人数", "Users"), "eco_rate_prev": ("环节转化率", "From previous step"),
    "eco_rate_reg": ("注册转化率", "From registration"),
    "eco_no_users": ("该期间没有生态用户注册", "No ecosystem users registered in the period"),
    "eco_ecosystem_user": ("生态用户", "Ecosystem user"),
})


def _form(form: Any) -> dict[str, str]:
    return {k: str(v)[:600] for k, v in form.items() if isinstance(v, str)}


def _back(path: str, error: str | None = None, **params: str) -> RedirectResponse:
    query = {k: v for k, v in params.items() if v} | ({"error": error[:300]} if error else {})
    return RedirectResponse(path + ("?" + urlencode(query) if query else ""), status_code=303)


@router.get("/ecosystem")
def catalogue_page(request: Request, principal: Principal = Reader) -> Response:
    data = web.catalogue(app_state(request), lang_of(request))
    return page(request, "console/ecosystem/catalogue.html", data=data, tab="catalogue")


@router.get("/ecosystem/orders")
def orders_page(request: Request, status: str = Query("", max_length=16), sla: str = Query("", max_length=16),
                customer_id: str = Query("", max_length=64), offset: Offset = 0,
                principal: Principal = Reader) -> Response:
    state, lang = app_state(request), lang_of(request)
    chosen_status = status if status in STATUSES else None
    chosen_sla = sla if sla in web.SLA_VIEWS else None
    mine = web.entitlements(state, principal, customer_id, lang) if customer_id else None
    data = web.list_orders(state, principal, lang, status=chosen_status, sla=chosen_sla,
                           customer_id=customer_id or None, offset=offset)
    keep = {"status": chosen_status or "", "sla": chosen_sla or "", "customer_id": customer_id}
    return page(request, "console/ecosystem/orders.html", data=data, mine=mine, tab="orders", keep=keep,
                statuses=[(s.value, s.label(lang)) for s in eco.OrderStatus],
                sla_views=[(v, web.pick(web.SLA_STATES[v], lang)) for v in web.SLA_VIEWS],
                error=request.query_params.get("error"), ordered=request.query_params.get("ordered"),
                next_link=("/console/ecosystem/orders?" + urlencode(keep | {"offset": data["next_offset"]})
                           if data["next_offset"] is not None else None))


@router.post("/ecosystem/orders")
async def place(request: Request, principal: Principal = Writer) -> Response:
    form = _form(await request.form())
    customer_id = form.get("customer_id", "")
    try:
        row = web.place(app_state(request), principal, request, customer_id=customer_id,
                        service_code=form.get("service_code", ""), pay=form.get("pay") == "yes",
                        request_key=form.get("request_key") or None)
    except HTTPException as e:
        if e.status_code == 404:
            raise
        return _back("/console/ecosystem/orders", str(e.detail), customer_id=customer_id)
    return _back("/console/ecosystem/orders", customer_id=customer_id, ordered=row["order_id"])


def _appointment(text: str) -> datetime | None:
    """A console datetime-local value (no zone) as China time; nothing given: None."""
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=display.LOCAL_TZ)
    except ValueError:
        raise HTTPException(422, f"scheduled_for: a date and time such as 2026-12-10T14:30, not {text!r}") from None


@router.post("/ecosystem/orders/{eco_order_id}/status")
async def move(eco_order_id: str, request: Request, principal: Principal = Writer) -> Response:
    form = _form(await request.form())
    back = {"customer_id": form.get("back_customer", ""), "status": form.get("back_status", ""),
            "sla": form.get("back_sla", "")}
    try:
        web.move(app_state(request), principal, request, eco_order_id[:64], form.get("status", ""),
                 scheduled_for=_appointment(form.get("scheduled_for", "")), reason=form.get("reason", ""))
    except HTTPException as e:
        if e.status_code == 404:
            raise
        return _back("/console/ecosystem/orders", str(e.detail), **back)
    return _back("/console/ecosystem/orders", **back)


def _last_month() -> str:
    first = web.today().replace(day=1) - timedelta(days=1)
    return first.strftime("%Y-%m")


@router.get("/ecosystem/settlements")
def settlements_page(request: Request, provider: str = Query("", max_length=64),
                     period: str = Query("", max_length=7), settlement: str = Query("", max_length=64),
                     principal: Principal = Manager) -> Response:
    state, lang = app_state(request), lang_of(request)
    month = period if eco.PERIOD.match(period) else None
    rows = web.settlements(state, provider or None, month)
    shown = web.statement(state, settlement, lang) if settlement else None
    providers = web.catalogue(state, lang)["providers"]
    return page(request, "console/ecosystem/settlements.html", tab="settlements", rows=rows, shown=shown,
                providers=providers, names={p["provider_id"]: p["name"] for p in providers},
                provider=provider, period=month or "", default_period=_last_month(), yuan=web.yuan,
                error=request.query_params.get("error"))


@router.post("/ecosystem/settlements")
async def settle(request: Request, principal: Principal = Manager) -> Response:
    form = _form(await request.form())
    provider, period = form.get("provider", ""), form.get("period", "")
    try:
        row = web.settle(app_state(request), principal, request, provider, period)
    except HTTPException as e:
        return _back("/console/ecosystem/settlements", str(e.detail), provider=provider)
    return _back("/console/ecosystem/settlements", provider=provider, period=period,
                 settlement=row["settlement_id"] if row else "")


@router.post("/ecosystem/settlements/{settlement_id}/confirm")
async def confirm(settlement_id: str, request: Request, principal: Principal = Manager) -> Response:
    row = web.confirm(app_state(request), principal, request, settlement_id[:64])
    return _back("/console/ecosystem/settlements", provider=row["provider_id"], period=row["period"],
                 settlement=settlement_id)


def _date(text: str, default: date) -> date:
    try:
        day = date.fromisoformat(text) if text else default
    except ValueError:
        return default
    return day if 2000 <= day.year <= 2100 else default


@router.get("/ecosystem/funnel")
def funnel_page(request: Request, since: str = Query("", max_length=10), until: str = Query("", max_length=10),
                by: str = Query("source", max_length=8), principal: Principal = Manager) -> Response:
    end = _date(until, web.today())
    start = _date(since, end - timedelta(days=89))
    data = web.funnel(app_state(request), start, end, by if by in web.FUNNEL_BY else "source", lang_of(request))
    return page(request, "console/ecosystem/funnel.html", tab="funnel", data=data)
