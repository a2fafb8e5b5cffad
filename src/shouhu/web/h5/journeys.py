"""H5: the customer's inbox (messages and content that journeys pushed) and their consents, where
withdrawing is exactly as easy as granting (one tap each) and takes effect for the very next send.
Always the signed-in customer's own: no customer id in the URL or form."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import update

from shouhu.access.policy import Principal
from shouhu.errors import InvalidInput
from shouhu.journeys.engine import utcnow
from shouhu.storage import journeys as store
from shouhu.web import i18n
from shouhu.web import journeys as web
from shouhu.web.auth import app_state, require_customer_session
from shouhu.web.render import page

router = APIRouter()
Customer = Depends(require_customer_session)

i18n.register({
    "h5_inbox": ("我的消息", "My messages"), "h5_inbox_none": ("暂无消息", "No messages yet"),
    "h5_consent": ("授权管理", "My consents"),
    "h5_consent_hint": ("您可以随时同意或撤回，撤回立即生效。",
                        "Grant or withdraw at any time; a withdrawal works at once."),
    "h5_consent_saved": ("已保存", "Saved"),
    "h5_purpose_marketing": ("接收产品与活动推荐", "Product and event offers"),
    "h5_purpose_health_data": ("使用我的健康数据提供健康管理服务", "Use my health data for health services"),
    "h5_purpose_profiling": ("根据我的情况个性化推荐", "Personalised recommendations"),
    "h5_purpose_partner_sharing": ("与合作机构共享必要信息", "Share what is needed with partners"),
})


@router.get("/inbox")
def inbox(request: Request, principal: Principal = Customer) -> Response:
    state = app_state(request)
    assert principal.customer_id
    items = store.inbox_of(state.engine, principal.customer_id)
    unread = [i["id"] for i in items if i["read_at"] is None]
    if unread:  # opening the inbox reads what it shows
        with state.engine.begin() as conn:
            conn.execute(update(store.inbox).where(store.inbox.c.id.in_(unread),
                                                   store.inbox.c.customer_id == principal.customer_id)
                         .values(read_at=store.stamp(utcnow())))
    return page(request, "h5/inbox.html", items=items, here="/h5/inbox")


@router.get("/consent")
def consent(request: Request, principal: Principal = Customer) -> Response:
    state = app_state(request)
    assert principal.customer_id
    rows = [{"purpose": r["purpose"], "granted": r["granted"] if r["answered"] else None}
            for r in web.purposes_of(state, principal.customer_id)]
    return page(request, "h5/consent.html", rows=rows, saved=request.query_params.get("saved"), here="/h5/consent")


@router.post("/consent")
async def change(request: Request, principal: Principal = Customer) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    state = app_state(request)
    assert principal.customer_id
    try:
        if form.get("action") == "grant":
            web.change_consent(state, principal, request, principal.customer_id, form.get("purpose", ""), "any",
                               True, "h5")
        else:  # a withdrawal covers every channel: a grant given on one channel must not outlive it
            web.withdraw_everywhere(state, principal, request, principal.customer_id, form.get("purpose", ""), "h5")
    except InvalidInput as e:
        raise HTTPException(422, e.message) from None
    return RedirectResponse("/h5/consent?saved=1", status_code=303)
