"""Renewal collection (续期催收): premiums due, in the grace period and reinstatable; outcomes; the
grace-period calendar; the persistency impact of the caller's scope."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.web import renewals
from shouhu.web.auth import app_state, require

router = APIRouter(tags=["renewal collection"])
Reader = Depends(require(Action.CUSTOMER_READ))
Writer = Depends(require(Action.ACTIVITY_WRITE))
Lang = Literal["zh", "en"]


@router.get("/renewals", summary="Premiums due soon, in the 60-day grace period, or lapsed and reinstatable")
def list_due(request: Request, principal: Principal = Reader,
             state: Literal["upcoming", "grace", "lapsed"] | None = None,
             alerts: bool = Query(False, description="only grace-period premiums whose cover stops within 7 days"),
             customer_id: str | None = Query(None, max_length=64), limit: int = Query(50, ge=1, le=500),
             offset: int = Query(0, ge=0, le=1_000_000), lang: Lang = "zh") -> dict[str, Any]:
    return renewals.list_due(app_state(request), principal, view=state, customer_id=customer_id, alerts=alerts,
                             limit=limit, offset=offset, lang=lang)


@router.get("/renewals/calendar", summary="Grace-period calendar: premiums whose cover stops per day")
def calendar(request: Request, principal: Principal = Reader,
             start: str | None = Query(None, max_length=10, description="YYYY-MM-DD, default today"),
             days: int = Query(30, ge=1, le=120)) -> dict[str, Any]:
    return renewals.calendar(app_state(request), principal, start=start, days=days)


@router.get("/renewals/impact", summary="Annualised premium at risk in the grace period, share of premium in force")
def impact(request: Request, principal: Principal = Reader) -> dict[str, Any]:
    return renewals.impact(app_state(request), principal)


class Outcome(BaseModel):
    due_date: str = Field(max_length=10, description="the premium's due date (YYYY-MM-DD), as listed")
    outcome: Literal["paid", "promised", "refused", "unreachable"]
    promised_date: str | None = Field(None, max_length=10, description="YYYY-MM-DD, required for promised")
    note: str = Field("", max_length=2000)


@router.post("/renewals/{policy_no}/outcome", summary="Record a collection outcome (audited)", status_code=201)
def record_outcome(body: Outcome, request: Request, principal: Principal = Writer,
                   policy_no: str = Path(max_length=96)) -> dict[str, Any]:
    return renewals.record_outcome(app_state(request), principal, request, policy_no=policy_no,
                                   due_date=body.due_date, outcome=body.outcome,
                                   promised_date=body.promised_date, note=body.note)
