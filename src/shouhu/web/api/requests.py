"""Data-subject requests: log one for a customer (staff with consent.write), and, for compliance, the queue,
one request with its trail, completing it (the work is done then: copies, erasure) or refusing it."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.errors import InvalidInput
from shouhu.storage import dsr as store
from shouhu.web import dsr as web
from shouhu.web.auth import app_state, require
from shouhu.web.customers import record_or_404
from shouhu.web.params import Offset, RowId

router = APIRouter()
Logger = Depends(require(Action.CONSENT_WRITE))
Handler = Depends(require(Action.DSR_HANDLE))

Kind = Literal["access", "portability", "correction", "deletion", "opt_out_personalised", "consent_withdrawal",
               "human_review"]


class NewRequest(BaseModel):
    kind: Kind
    detail: dict[str, str] = Field(default_factory=dict, max_length=10,
                                   description="correction: field, value; consent_withdrawal: purpose; any: note")


class Completion(BaseModel):
    note: str = Field("", max_length=2000, description="what was done (shown to the customer)")


class Refusal(BaseModel):
    reason: str = Field(min_length=2, max_length=2000)


@router.post("/customers/{customer_id}/requests", summary="Log a data-subject request received for a customer")
def log_request(customer_id: str, body: NewRequest, request: Request, principal: Principal = Logger
                ) -> dict[str, Any]:
    state = app_state(request)
    record_or_404(state, principal, customer_id)
    try:
        return web.submit(state, principal, request, customer_id, body.kind, "api", body.detail)
    except InvalidInput as e:
        raise web.unprocessable(e) from None


@router.get("/requests", summary="Data-subject requests, the soonest due first")
def list_requests(request: Request, status: Literal["open", "done", "rejected"] | None = Query(None),
                  offset: Offset = 0, principal: Principal = Handler) -> dict[str, Any]:
    state = app_state(request)
    items = [web.shown(r, "en") for r in store.list_requests(state.engine, status=status, offset=offset)]
    return {"items": items, "count": len(items)}


@router.get("/requests/{request_id}", summary="One request with its trail and, for a deletion, the plan")
def get_request(request_id: RowId, request: Request, principal: Principal = Handler) -> dict[str, Any]:
    state = app_state(request)
    row = web.request_or_404(state, request_id)
    return web.shown(row, "en") | {"trail": store.events_of(state.engine, request_id), "plan": web.plan(state, row)}


@router.post("/requests/{request_id}/complete", summary="Do what the request asks and close it with its proof")
def complete(request_id: RowId, body: Completion, request: Request, principal: Principal = Handler
             ) -> dict[str, Any]:
    try:
        return web.complete(app_state(request), principal, request, request_id, body.note)
    except InvalidInput as e:
        raise web.unprocessable(e) from None


@router.post("/requests/{request_id}/reject", summary="Refuse the request, saying why")
def reject(request_id: RowId, body: Refusal, request: Request, principal: Principal = Handler) -> dict[str, Any]:
    try:
        return web.refuse(app_state(request), principal, request, request_id, body.reason)
    except InvalidInput as e:
        raise web.unprocessable(e) from None
