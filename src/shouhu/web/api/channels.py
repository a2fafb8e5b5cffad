"""Channel collaboration: attribution side by side, ROI on insurance outcomes, budget reallocation.

Company-wide aggregates (no customer rows), for roles with Action.CHANNELS_READ. Each call reads the
warehouse read-only through shouhu.channels.service; the console page /console/channels uses the
same functions.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.channels import service
from shouhu.channels.models import DEFAULT_MODELS
from shouhu.channels.optimise import Constraints
from shouhu.web.auth import app_state, require
from shouhu.web.warehouse import read_warehouse

router = APIRouter(tags=["channels"])
Reader = Depends(require(Action.CHANNELS_READ))


def attribution(request: Request, lookback_days: int, period_days: int) -> dict[str, Any]:
    with read_warehouse(app_state(request)) as wh:
        return service.attribute(wh, models=DEFAULT_MODELS, lookback_days=lookback_days,
                                 period_days=period_days).to_dict()


def roi(request: Request, period: str) -> dict[str, Any]:
    with read_warehouse(app_state(request)) as wh:
        result = service.roi(wh, period=period)
    return {"period": result["period"], "by_channel": result["by_channel"], "rows": result["rows"]}


class PlanRequest(BaseModel):
    budget: float | None = Field(None, ge=0, le=1e12, description="total for the horizon; default: today's spend")
    weeks: int = Field(13, ge=1, le=104)
    outcome: Literal["policies", "premium", "value"] = "policies"
    floors: dict[str, float] = Field(default_factory=dict, description="channel -> minimum spend")
    caps: dict[str, float] = Field(default_factory=dict, description="channel -> maximum spend")
    fixed: list[str] = Field(default_factory=list, description="channels held at today's spend")
    max_change: float | None = Field(None, ge=0, le=10, description="largest change per channel, "
                                                                      "as a fraction of today's spend")


def plan(request: Request, body: PlanRequest) -> dict[str, Any]:
    constraints = Constraints(floors=body.floors, caps=body.caps, fixed=tuple(body.fixed),
                              max_change=body.max_change)
    with read_warehouse(app_state(request)) as wh:
        return service.plan(wh, body.budget, weeks=body.weeks, outcome=body.outcome,
                            constraints=constraints).to_dict()


@router.get("/channels/attribution", summary="Attribution models side by side (conversions and value)")
def get_attribution(request: Request, principal: Principal = Reader,
                    lookback_days: int = Query(90, ge=1, le=730), period_days: int = Query(365, ge=7, le=3650)
                    ) -> dict[str, Any]:
    return attribution(request, lookback_days, period_days)


@router.get("/channels/roi", summary="Channel ROI on insurance outcomes (persistency, value)")
def get_roi(request: Request, principal: Principal = Reader,
            period: Literal["month", "quarter", "year"] = "quarter") -> dict[str, Any]:
    return roi(request, period)


@router.post("/channels/plan", summary="Reallocate a budget across channels under constraints")
def post_plan(body: PlanRequest, request: Request, principal: Principal = Reader) -> dict[str, Any]:
    return plan(request, body)
