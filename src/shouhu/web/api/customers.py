"""Customers: search, the 360 view and its parts, reveal (audited) and export (audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal, row_rule
from shouhu.access.roles import Action
from shouhu.storage import customers as store
from shouhu.web import customers
from shouhu.web.auth import app_state, require

router = APIRouter(tags=["customers"])
Reader = Depends(require(Action.CUSTOMER_READ))


@router.get("/customers", summary="Search customers (exact, by name, phone, ID number or customer id)")
def search(request: Request, principal: Principal = Reader,
           q: str | None = Query(None, description="name, phone, ID number or customer id"),
           name: str | None = None, phone: str | None = None, id_number: str | None = None,
           city: str | None = None, lifecycle_stage: str | None = None,
           limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)) -> dict[str, Any]:
    rows = customers.search(app_state(request), principal, q=q, name=name, phone=phone, id_number=id_number,
                            city=city, lifecycle_stage=lifecycle_stage, limit=limit, offset=offset)
    return {"items": rows, "count": len(rows)}


@router.get("/customers/{customer_id}", summary="A customer's profile and 360 facts (masked)")
def get_customer(customer_id: str, request: Request, principal: Principal = Reader) -> dict[str, Any]:
    return customers.profile(app_state(request), principal, customer_id)


@router.get("/customers/{customer_id}/360", summary="Everything the 360 page shows")
def get_360(customer_id: str, request: Request, principal: Principal = Reader) -> dict[str, Any]:
    return customers.view_360(app_state(request), principal, customer_id)


@router.get("/customers/{customer_id}/household", summary="Household members (outside your scope: role only)")
def get_household(customer_id: str, request: Request, principal: Principal = Reader) -> dict[str, Any]:
    state = app_state(request)
    return {"members": customers.view_360(state, principal, customer_id)["household"]}


@router.get("/customers/{customer_id}/provenance", summary="Where each golden field came from")
def get_provenance(customer_id: str, request: Request, principal: Principal = Reader) -> dict[str, Any]:
    state = app_state(request)
    customers.record_or_404(state, principal, customer_id)
    doc = store.provenance(state.engine, row_rule(principal), customer_id)
    shown = {k: {kk: vv for kk, vv in v.items() if kk != "value"} for k, v in doc.items()}
    return {"customer_id": customer_id, "fields": shown}


class RevealRequest(BaseModel):
    fields: list[str] = Field(min_length=1, description="e.g. phone, id_number, name, annual_income")
    reason: str = Field(min_length=2, max_length=500, description="why; written to the audit log")


@router.post("/customers/{customer_id}/reveal", summary="Show masked fields in clear (audited)")
def reveal(customer_id: str, body: RevealRequest, request: Request,
           principal: Principal = Depends(require(Action.REVEAL))) -> dict[str, Any]:
    return customers.reveal(app_state(request), principal, customer_id, body.fields, body.reason, request)


class ExportRequest(BaseModel):
    customer_ids: list[str] = Field(min_length=1, max_length=100_000)
    purpose: str = Field(min_length=2, max_length=500)


@router.post("/customers/export", summary="CSV of customers you may see, masked (audited)",
             response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export(body: ExportRequest, request: Request,
           principal: Principal = Depends(require(Action.CUSTOMER_EXPORT))) -> Response:
    text = customers.export_csv(app_state(request), principal, body.customer_ids, request, body.purpose)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="customers.csv"'})


@router.get("/dashboard", summary="Aggregates within your scope")
def dashboard(request: Request, principal: Principal = Depends(require(Action.DASHBOARD))) -> dict[str, Any]:
    return store.dashboard(app_state(request).engine, row_rule(principal))
