"""KPI scorecards (agent → team → branch drill-down) and the incentive plan simulator.

Scorecards are aggregates: rows are decided by access.policy.scorecard_filters (an agent sees only
their own, a branch manager their branch). The simulator uses behaviour profiles, never customers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal, row_rule
from shouhu.access.roles import Action, Role
from shouhu.storage import workforce as store
from shouhu.storage.customers import scope_condition
from shouhu.web.auth import app_state, require
from shouhu.web.customers import record_or_404
from shouhu.workforce import scorecard, simulator
from shouhu.workforce.incentives import get_plan

router = APIRouter(tags=["workforce"])
Reader = Depends(require(Action.KPI_READ))
Simulator = Depends(require(Action.INCENTIVE_SIMULATE))


def scorecards(request: Request, principal: Principal, level: str, parent: str | None,
               start: date | None, end: date | None) -> dict[str, Any]:
    try:
        return scorecard.scorecards_for(app_state(request).engine, principal, level, parent=parent,
                                        start=start, end=end)
    except scorecard.NotAllowed as e:
        raise HTTPException(403, e.message) from None


class SimulateRequest(BaseModel):
    plan: str = "balanced"
    years: int = Field(5, ge=1, le=10)
    profiles: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="name -> fields overriding a built-in profile (policies_per_year, premium, "
                                          "free_look, lapse_first_year, lapse_later, unsuitable)")


def simulate(body: SimulateRequest) -> dict[str, Any]:
    profiles = dict(simulator.PROFILES)
    for name, fields in body.profiles.items():
        profiles[name] = simulator.profile_from_mapping(name, fields)
    return simulator.compare(get_plan(body.plan), profiles, body.years)


def handovers(request: Request, principal: Principal) -> dict[str, Any]:
    """Orphan moves to the caller (agents) or within the caller's row scope (everyone else)."""
    rule = row_rule(principal)
    with app_state(request).engine.connect() as conn:
        rows = store.moves(conn, kind="orphan", to_staff=principal.staff_id if principal.role is Role.AGENT else None,
                           scope=scope_condition(rule, store.pod_move.c.customer_id))
    return {"handovers": rows}


@router.get("/workforce/handovers", summary="Customers and policies handed over when an agent left (孤儿单)")
def get_handovers(request: Request, principal: Principal = Depends(require(Action.CUSTOMER_READ))) -> dict[str, Any]:
    return handovers(request, principal)


@router.get("/customers/{customer_id}/pod", summary="A customer's service pod and each policy's producers")
def get_pod(customer_id: str, request: Request,
            principal: Principal = Depends(require(Action.CUSTOMER_READ))) -> dict[str, Any]:
    record_or_404(app_state(request), principal, customer_id)
    with app_state(request).engine.connect() as conn:
        return store.pod_of(conn, customer_id)


@router.get("/workforce/scorecards", summary="KPI scorecards per agent, team or branch, with bands")
def get_scorecards(request: Request, principal: Principal = Reader,
                   level: str = Query("agent", pattern="^(agent|team|branch)$"), parent: str | None = None,
                   start: date | None = None, end: date | None = None) -> dict[str, Any]:
    return scorecards(request, principal, level, parent, start, end)


@router.post("/workforce/simulate", summary="Simulate an incentive plan's payouts for behaviour profiles")
def post_simulate(body: SimulateRequest, principal: Principal = Simulator) -> dict[str, Any]:
    return simulate(body)
