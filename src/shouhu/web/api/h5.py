"""Customer sign-in for H5 clients: phone + one-time code. The session cookie it sets is the H5 pages'
(path ``/h5``); the pages themselves are server-rendered under /h5."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shouhu.web.auth import app_state
from shouhu.web.h5 import signin

router = APIRouter(tags=["h5"])


class CodeRequest(BaseModel):
    phone: str = Field(min_length=11, max_length=20, description="mainland mobile number, e.g. 13812345678")


class SessionRequest(BaseModel):
    phone: str = Field(min_length=11, max_length=20)
    code: str = Field(pattern=r"^\s*\d{6}\s*$", description="the 6-digit code")


@router.post("/h5/code", status_code=202,
             summary="Send a one-time code (same answer whether or not the phone is a customer's; throttled)")
def send_code(body: CodeRequest, request: Request) -> dict[str, Any]:
    signin.request_code(app_state(request), request, body.phone)
    return {"message": signin.SENT_MESSAGE, "expires_in_s": int(signin.CODE_TTL_S)}


@router.post("/h5/session", summary="Sign a customer in with the code; sets the H5 session cookie (throttled)")
def create_session(body: SessionRequest, request: Request) -> JSONResponse:
    state = app_state(request)
    _, token, csrf = signin.verify(state, request, body.phone, body.code)
    response = JSONResponse({"signed_in": True, "csrf_token": csrf, "pages": "/h5/"})
    signin.set_cookie(response, state, token)
    return response
