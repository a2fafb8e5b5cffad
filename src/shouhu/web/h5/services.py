"""H5 "my services" (我的增值服务): the signed-in customer's entitlements by their tier with the units left
this programme year, ordering a service on an entitlement (the SLA due time is shown at once), and their
orders. No customer id in the URL or form: it is always the signed-in customer's. Paid orders are taken
by service staff (the H5 has no payment)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.web import ecosystem as web
from shouhu.web import i18n
from shouhu.web.auth import app_state, require_customer_session
from shouhu.web.render import lang_of, page

router = APIRouter()
Customer = Depends(require_customer_session)
KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

i18n.register({
    "h5_services": ("我的增值服务", "My services"),
    "h5_services_tier": ("会员等级", "Your tier"),
    "h5_services_year": ("服务年度", "Programme year"),
    "h5_services_left": ("剩余", "Left"),
    "h5_services_of": ("次 / 共", "of"),
    "h5_services_unlimited": ("不限次数", "Unlimited"),
    "h5_services_used_up": ("本年度已用完", "Used up this year"),
    "h5_services_order": ("预约服务", "Book"),
    "h5_services_sla": ("服务时效", "Response time"),
    "h5_services_ordered": ("预约成功", "Booked"),
    "h5_services_due": ("服务商将在此时间前与您联系或完成服务", "The provider will contact you or serve you by"),
    "h5_services_mine": ("我的服务订单", "My service orders"),
    "h5_services_none": ("暂无服务订单", "No service orders yet"),
    "h5_services_no_benefits": ("您当前的等级暂无可用的增值服务。", "Your tier has no services at the moment."),
    "h5_services_refused": ("该服务本年度已无可用的权益次数，如需使用请联系您的服务专员。",
                            "No units of this service are left for you this year; your service team can help."),
    "h5_services_unavailable": ("该服务暂时无法预约，请稍后再试或联系您的服务专员。",
                                "This service cannot be booked at the moment; try later or ask your service team."),
})


def _ordered(request: Request, principal: Principal, lang: str) -> dict[str, object] | None:
    order_id = request.query_params.get("ordered", "")[:64]
    if not order_id:
        return None
    try:
        return web.get_order(app_state(request), principal, order_id, lang)
    except HTTPException:
        return None  # not this customer's order: show nothing rather than an error


def _page(request: Request, principal: Principal, status_code: int = 200, error: str | None = None) -> Response:
    state, lang = app_state(request), lang_of(request)
    assert principal.customer_id
    mine = web.entitlements(state, principal, principal.customer_id, lang)
    orders = web.list_orders(state, principal, lang, customer_id=principal.customer_id, limit=50)
    return page(request, "h5/services.html", status_code=status_code, mine=mine, orders=orders["items"],
                error=error, ordered=_ordered(request, principal, lang), request_key=secrets.token_urlsafe(12),
                here="/h5/services")


@router.get("/services")
def my_services(request: Request, principal: Principal = Customer) -> Response:
    return _page(request, principal)


@router.post("/services")
async def book(request: Request, principal: Principal = Customer) -> Response:
    form = {k: str(v)[:64] for k, v in (await request.form()).items() if isinstance(v, str)}
    key = form.get("request_key", "")
    usable = 8 <= len(key) <= 60 and set(key) <= KEY_CHARS  # else no retry protection, nothing worse
    assert principal.customer_id
    try:
        row = web.place(app_state(request), principal, request, customer_id=principal.customer_id,
                        service_code=form.get("service_code", ""),
                        request_key=key if usable else None, lang=lang_of(request))
    except HTTPException as e:
        if e.status_code == 404:
            raise
        message = "h5_services_refused" if e.status_code == 409 else "h5_services_unavailable"
        return _page(request, principal, e.status_code, i18n.translator(lang_of(request))(message))
    return RedirectResponse(f"/h5/services?ordered={row['order_id']}", status_code=303)
