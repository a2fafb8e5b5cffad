"""Proposal links (建议书): share a customer's plan as an H5 link; list and revoke them.

Every route needs ``advice.run`` and a customer inside the caller's row scope (404 otherwise). The
token is returned once, by the creation; the H5 page ``/h5/proposal/{token}`` shows the snapshot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.advice.methods import DEFAULT_METHOD
from shouhu.web import advice, proposals
from shouhu.web.auth import app_state, require
from shouhu.web.params import RowId

router = APIRouter(tags=["advice"])
Adviser = Depends(require(Action.ADVICE_RUN))


class NewProposal(BaseModel):
    method: str = Field(DEFAULT_METHOD, description="life need method: " + ", ".join(advice.METHODS))
    budget: float | None = Field(None, ge=0, le=100_000_000, description="yearly premium budget (CNY)")
    days: int = Field(proposals.DEFAULT_DAYS, ge=1, le=proposals.MAX_DAYS, description="days the link lives")


@router.post("/customers/{customer_id}/proposals", status_code=201,
             summary="Share the customer's plan as an H5 link (token shown once; audited)")
def create_proposal(customer_id: str, body: NewProposal, request: Request,
                    principal: Principal = Adviser) -> dict[str, Any]:
    return proposals.create(app_state(request), principal, request, customer_id,
                            method=advice.check_method(body.method), budget=body.budget, days=body.days)


@router.get("/customers/{customer_id}/proposals", summary="The customer's proposal links (no tokens), newest first")
def list_proposals(customer_id: str, request: Request, principal: Principal = Adviser) -> dict[str, Any]:
    return proposals.links(app_state(request), principal, customer_id)


class Revoke(BaseModel):
    reason: str = Field("", max_length=500)


@router.post("/proposals/{proposal_id}/revoke", summary="Withdraw a proposal link at once (audited; 409 if done)")
def revoke_proposal(proposal_id: RowId, body: Revoke, request: Request, principal: Principal = Adviser
                    ) -> dict[str, Any]:
    return proposals.revoke(app_state(request), principal, request, proposal_id, body.reason)
