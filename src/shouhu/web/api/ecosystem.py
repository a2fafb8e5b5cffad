"""Ecosystem services (增值服务生态) for staff: the catalogue with entitlements by tier, a customer's
remaining units, service orders (list, place, move on) with their SLA state, SLA breaches, provider
settlements and the ecosystem funnel. User guide: docs/partners.md, "Ecosystem services".

Reading needs customer.read and sees the orders of the customers in the caller's row scope; placing and
moving orders needs ecosystem.order (service staff, health managers, head office); settlements and the
funnel need ecosystem.manage (head office)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.web import ecosystem as web
from shouhu.web.auth import app_state, require
from shouhu.web.params import Offset

router = APIRouter(prefix="/ecosystem", tags=["ecosystem services"])
Reader = Depends(require(Action.CUSTOMER_READ))
Writer = Depends(require(Action.ECO_ORDER_WRITE))
Manager = Depends(require(Action.ECO_MANAGE))
Lang = Literal["zh", "en"]
Status = Literal["requested", "accepted", "scheduled", "completed", "cancelled"]
Category = Literal["health_checkup", "family_doctor", "green_channel", "elderly_care", "legal", "finance", "dental"]
RowKey = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="an EO... or ES... id")]
Period = r"^\d{4}-(0[1-9]|1[0-2])$"


@router.get("/services", summary="The service catalogue by category, with SLAs and units per tier")
def services(request: Request, category: Category | None = None, lang: Lang = "zh",
             principal: Principal = Reader) -> dict[str, Any]:
    return web.catalogue(app_state(request), lang, category)


@router.get("/customers/{customer_id}/entitlements",
            summary="A customer's tier and what is left of each entitlement this programme year")
def entitlements(customer_id: str, request: Request, lang: Lang = "zh", principal: Principal = Reader
                 ) -> dict[str, Any]:
    return web.entitlements(app_state(request), principal, customer_id, lang)


@router.get("/orders", summary="Service orders of your customers, newest first")
def list_orders(request: Request, status: Status | None = None,
                sla: Literal["due", "breached", "done"] | None = Query(None, description="SLA state"),
                customer_id: str | None = Query(None, max_length=64), limit: int = Query(50, ge=1, le=500),
                offset: Offset = 0, lang: Lang = "zh", principal: Principal = Reader) -> dict[str, Any]:
    return web.list_orders(app_state(request), principal, lang, status=status, sla=sla, customer_id=customer_id,
                           limit=limit, offset=offset)


class NewOrder(BaseModel):
    customer_id: str = Field(min_length=1, max_length=64)
    service_code: str = Field(min_length=1, max_length=64)
    pay: bool = Field(False, description="charge the retail price when no entitlement unit is left")
    request_key: str | None = Field(None, min_length=8, max_length=60, pattern=r"^[A-Za-z0-9_-]+$",
                                    description="the same key again returns the first order (retries)")


@router.post("/orders", status_code=201,
             summary="Order a service for a customer (uses an entitlement unit; 409 when none is left)")
def place(body: NewOrder, request: Request, lang: Lang = "zh", principal: Principal = Writer) -> dict[str, Any]:
    return web.place(app_state(request), principal, request, customer_id=body.customer_id,
                     service_code=body.service_code, pay=body.pay, request_key=body.request_key, lang=lang)


@router.get("/orders/{eco_order_id}", summary="One service order with its history")
def get_order(request: Request, eco_order_id: RowKey, lang: Lang = "zh", principal: Principal = Reader
              ) -> dict[str, Any]:
    return web.get_order(app_state(request), principal, eco_order_id, lang)


class StatusChange(BaseModel):
    status: Status
    scheduled_for: AwareDatetime | None = Field(None, description="the appointment (needed to schedule)")
    reason: str = Field("", max_length=500, description="needed to cancel")


@router.post("/orders/{eco_order_id}/status", summary="Move an order on (audited; 409 if the lifecycle forbids it)")
def change_status(body: StatusChange, request: Request, eco_order_id: RowKey, lang: Lang = "zh",
                  principal: Principal = Writer) -> dict[str, Any]:
    return web.move(app_state(request), principal, request, eco_order_id, body.status,
                    scheduled_for=body.scheduled_for, reason=body.reason, lang=lang)


@router.get("/sla-breaches", summary="Orders of your customers that breached their SLA or are past due")
def breaches(request: Request, limit: int = Query(100, ge=1, le=500), offset: Offset = 0, lang: Lang = "zh",
             principal: Principal = Reader) -> dict[str, Any]:
    return web.list_orders(app_state(request), principal, lang, sla="breached", limit=limit, offset=offset)


@router.get("/settlements", summary="Provider settlements (all providers, or one), oldest month first")
def settlements(request: Request, provider: str | None = Query(None, max_length=64),
                period: str | None = Query(None, pattern=Period), principal: Principal = Manager
                ) -> dict[str, Any]:
    items = web.settlements(app_state(request), provider, period)
    return {"items": items, "count": len(items)}


class SettleRun(BaseModel):
    provider: str = Field(min_length=1, max_length=64)
    period: str = Field(pattern=Period, description="a month that is over, YYYY-MM (China time)")


@router.post("/settlements", summary="Settle a provider's completed orders of a month (safe to repeat)")
def settle(body: SettleRun, request: Request, lang: Lang = "zh", principal: Principal = Manager) -> dict[str, Any]:
    return {"settlement": web.settle(app_state(request), principal, request, body.provider, body.period, lang)}


@router.get("/settlements/{settlement_id}", summary="A settlement statement with the orders it pays")
def get_settlement(request: Request, settlement_id: RowKey, lang: Lang = "zh",
                   principal: Principal = Manager) -> dict[str, Any]:
    return web.statement(app_state(request), settlement_id, lang)


@router.post("/settlements/{settlement_id}/confirm", summary="Confirm a draft settlement (final; audited)")
def confirm(request: Request, settlement_id: RowKey, lang: Lang = "zh", principal: Principal = Manager
            ) -> dict[str, Any]:
    return web.confirm(app_state(request), principal, request, settlement_id, lang)


@router.get("/funnel", summary="Ecosystem users registered in a period through the funnel to customers")
def funnel(request: Request, since: date | None = None, until: date | None = None,
           by: Literal["source", "scene", "all"] = "source", lang: Lang = "zh", principal: Principal = Manager
           ) -> dict[str, Any]:
    end = until or web.today()
    return web.funnel(app_state(request), since or end - timedelta(days=89), end, by, lang)
