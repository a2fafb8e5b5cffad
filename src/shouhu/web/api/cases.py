"""Service cases (保全/理赔协助/投诉): list, open, one case, status changes, reopen, comments, the claim
document checklist and the audited reveal of a case's sensitive fields."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.web import cases
from shouhu.web.auth import app_state, require
from shouhu.web.params import Offset, RowId

router = APIRouter(tags=["service cases"])
Reader = Depends(require(Action.CUSTOMER_READ))
Writer = Depends(require(Action.CASE_WRITE))
Lang = Literal["zh", "en"]
View = Literal["open", "breached", "waiting", "closed", "all"]
CaseTypeName = Literal["beneficiary_change", "address_change", "account_change", "partial_surrender", "claim_help",
                       "complaint"]


@router.get("/cases", summary="Service cases of your customers, soonest resolution due first")
def list_cases(request: Request, principal: Principal = Reader, view: View = "open",
               customer_id: str | None = Query(None, max_length=64), limit: int = Query(50, ge=1, le=500),
               offset: Offset = 0, lang: Lang = "zh") -> dict[str, Any]:
    return cases.list_cases(app_state(request), principal, view=view, customer_id=customer_id, limit=limit,
                            offset=offset, lang=lang)


class NewCase(BaseModel):
    customer_id: str = Field(max_length=64)
    case_type: CaseTypeName
    subject: str = Field(min_length=2, max_length=200)
    detail: str = Field("", max_length=4000)
    policy_no: str | None = Field(None, max_length=96)
    claim_type: Literal["medical", "critical_illness", "accident", "disability", "death"] | None = None
    priority: int = Field(2, ge=1, le=3, description="1 high, 2 normal, 3 low")
    fields: dict[str, str] = Field(default_factory=dict, description="the case type's form (docs/operations.md)")


@router.post("/cases", summary="Open a case about a customer you see (audited; SLA due times set)", status_code=201)
def open_case(body: NewCase, request: Request, principal: Principal = Writer) -> dict[str, Any]:
    return cases.open_case(app_state(request), principal, request, customer_id=body.customer_id,
                           case_type=body.case_type, subject=body.subject, detail=body.detail,
                           policy_no=body.policy_no, claim_type=body.claim_type, priority=body.priority,
                           fields=body.fields)


@router.get("/cases/{case_id}", summary="One case with its history")
def get_case(case_id: RowId, request: Request, principal: Principal = Reader, lang: Lang = "zh") -> dict[str, Any]:
    return cases.get_case(app_state(request), principal, case_id, lang)


class StatusChange(BaseModel):
    status: Literal["in_progress", "waiting_customer", "resolved", "closed"]
    note: str = Field("", max_length=2000)


@router.post("/cases/{case_id}/status", summary="Move a case on (audited; 409 if the lifecycle forbids it)")
def change_status(case_id: RowId, body: StatusChange, request: Request, principal: Principal = Writer
                  ) -> dict[str, Any]:
    return cases.change_status(app_state(request), principal, request, case_id, body.status, body.note)


class Reason(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


@router.post("/cases/{case_id}/reopen", summary="Reopen a resolved or closed case (audited; 409 otherwise)")
def reopen(case_id: RowId, body: Reason, request: Request, principal: Principal = Writer) -> dict[str, Any]:
    state = app_state(request)
    row = cases.case_or_404(state, principal, case_id)
    if row["status"] not in ("resolved", "closed"):
        raise HTTPException(409, f"case {case_id} is {row['status']}: only a resolved or closed case can be reopened")
    return cases.change_status(state, principal, request, case_id, "in_progress", body.reason)


class Comment(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


@router.post("/cases/{case_id}/comments", summary="Comment on a case (audited; the first answers the response SLA)")
def comment(case_id: RowId, body: Comment, request: Request, principal: Principal = Writer) -> dict[str, Any]:
    return cases.comment(app_state(request), principal, request, case_id, body.note)


class Document(BaseModel):
    code: str = Field(max_length=48)
    received: bool = True


@router.post("/cases/{case_id}/checklist", summary="Mark a claim document received or missing (audited)")
def mark_document(case_id: RowId, body: Document, request: Request, principal: Principal = Writer) -> dict[str, Any]:
    return cases.mark_document(app_state(request), principal, request, case_id, body.code, body.received)


@router.post("/cases/{case_id}/reveal", summary="A case's sensitive fields in clear (reveal grant; audited)")
def reveal(case_id: RowId, body: Reason, request: Request,
           principal: Principal = Depends(require(Action.REVEAL))) -> dict[str, Any]:
    return cases.reveal(app_state(request), principal, request, case_id, body.reason)
