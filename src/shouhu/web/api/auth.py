"""Sign in for API clients: exchange a user name and password for a bearer token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal
from shouhu.access.roles import ACTIONS, LABELS
from shouhu.storage import accounts
from shouhu.web.auth import app_state, login_staff, record, signed_in

router = APIRouter(tags=["auth"])


class TokenRequest(BaseModel):
    user_id: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    name: str = Field(default="api", max_length=64, description="a label for the token")


class TokenResponse(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_in_days: int


@router.post("/auth/token", response_model=TokenResponse, summary="Get a bearer token (throttled)")
def create_token(body: TokenRequest, request: Request) -> TokenResponse:
    state = app_state(request)
    principal = login_staff(state, request, body.user_id, body.password)
    days = 30
    token = accounts.create_token(state.engine, principal.user_id, body.name, days=days)
    record(state, principal, "token_created", "user", principal.user_id, request, name=body.name)
    return TokenResponse(token=token, expires_in_days=days)


@router.get("/me", summary="Who am I, and what may I do")
def me(principal: Principal = Depends(signed_in)) -> dict[str, Any]:
    return {"user_id": principal.user_id, "display_name": principal.display_name, "role": principal.role.value,
            "role_zh": LABELS[principal.role][0], "role_en": LABELS[principal.role][1],
            "staff_id": principal.staff_id, "branch_id": principal.branch_id, "team_id": principal.team_id,
            "can_reveal": principal.can_reveal, "actions": sorted(a.value for a in ACTIONS[principal.role])}
