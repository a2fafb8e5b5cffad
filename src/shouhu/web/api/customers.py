"""Customers: search, the 360 view and its parts, reveal (audited) and export (audited); the dashboard's
aggregates and the task list (next best actions), all within the caller's row scope."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal, row_rule
from shouhu.access.roles import Action
from shouhu.storage import customers as store
from shouhu.web import customer_view, customers
from shouhu.web.auth import app_state, require
from shouhu.web.params import Offset
from shouhu.web.render import json_response

router = APIRouter(tags=["customers"])
Reader = Depends(require(Action.CUSTOMER_READ))
Lang = Literal["zh", "en"]
LangQuery = Query("zh", description="language of the labels: zh (default) or en")
# scoring.nba.ACTION_TYPES, spelled out for the OpenAPI document (a test keeps the two equal).
ActionCode = Literal["retention_contact", "grace_collection", "reinstatement", "claim_help", "policy_review",
                     "close_gap", "health_programme", "upgrade_membership"]


@router.get("/customers", summary="Search customers, best match first, paged: q = customer id, ID number or "
                                  "phone (exact), or name, surname, pinyin, initials, last 4 phone digits (partial)",
            response_model=dict[str, Any])
async def search(request: Request, principal: Principal = Reader,
                 q: str | None = Query(None, max_length=100,
                                       description="customer id, ID number or phone (exact); name, surname, "
                                                   "pinyin, initials, last 4 phone digits (partial)"),
                 name: str | None = Query(None, max_length=100), phone: str | None = Query(None, max_length=32),
                 id_number: str | None = Query(None, max_length=32), city: str | None = Query(None, max_length=64),
                 lifecycle_stage: str | None = Query(None, max_length=32),
                 limit: int = Query(50, ge=1, le=200), offset: Offset = 0) -> Response:
    rows = customers.search(app_state(request), principal, q=q, name=name, phone=phone, id_number=id_number,
                            city=city, lifecycle_stage=lifecycle_stage, limit=limit + 1, offset=offset)
    more = len(rows) > limit
    items = rows[:limit]
    return json_response({"items": items, "count": len(items), "offset": offset, "limit": limit,
                          "next_offset": offset + limit if more else None})


@router.get("/customers/{customer_id}", summary="A customer's profile and 360 facts (masked)",
            response_model=dict[str, Any])
async def get_customer(customer_id: str, request: Request, principal: Principal = Reader) -> Response:
    # async on purpose (also search and get_360): sub-millisecond indexed reads run faster on the event
    # loop than handed to the thread pool, where concurrent requests fight over the GIL; json_response
    # for the same reason (bench/bench_web.py, docs/benchmarks.md)
    return json_response(customers.profile(app_state(request), principal, customer_id))


@router.get("/customers/{customer_id}/360",
            summary="Everything the 360 page shows: profile, provenance, household graph, policies, cover "
                    "versus need, scores with reasons, next best actions, timeline", response_model=dict[str, Any])
async def get_360(customer_id: str, request: Request, principal: Principal = Reader,
                  lang: Lang = LangQuery) -> Response:
    return json_response(customer_view.view(app_state(request), principal, customer_id, lang))


@router.get("/customers/{customer_id}/household", summary="Household members (outside your scope: role only)")
def get_household(customer_id: str, request: Request, principal: Principal = Reader,
                  lang: Lang = LangQuery) -> dict[str, Any]:
    return customer_view.household(app_state(request), principal, customer_id, lang)


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
    use: Literal["service", "marketing", "partner_sharing", "profiling"] = Field(
        "service", description="What the list is for: other than service, only customers whose consent covers it")


@router.post("/customers/export", summary="CSV of customers you may see, masked (audited)",
             response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export(body: ExportRequest, request: Request,
           principal: Principal = Depends(require(Action.CUSTOMER_EXPORT))) -> Response:
    text, no_consent = customers.export_csv(app_state(request), principal, body.customer_ids, request, body.purpose,
                                            body.use)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="customers.csv"',
                             "X-Left-Out-No-Consent": str(no_consent)})


@router.get("/dashboard",
            summary="Aggregates within your scope: customers, in-force premium, persistency, lifecycle funnel, "
                    "channel mix, gaps, value tiers")
def dashboard(request: Request, principal: Principal = Depends(require(Action.DASHBOARD)),
              lang: Lang = LangQuery) -> dict[str, Any]:
    return customer_view.dashboard(app_state(request), principal, lang)


@router.get("/tasks", summary="Next best actions across your customers (an agent: their own book), best first")
def tasks(request: Request, principal: Principal = Reader,
          action: ActionCode | None = Query(None, description="only this action type"),
          kind: Literal["service", "sales"] | None = Query(None, description="service or sales actions only"),
          limit: int = Query(50, ge=1, le=500), offset: Offset = 0,
          lang: Lang = LangQuery) -> dict[str, Any]:
    return customer_view.tasks(app_state(request), principal, action=action, kind=kind, limit=limit,
                               offset=offset, lang=lang)
