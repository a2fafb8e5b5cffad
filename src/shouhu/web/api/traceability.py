"""Sales traceability (销售可回溯): the hosted sales pages and partner systems record a session, its events
(validated: an unknown page version or event type is a 422 naming the field; idempotent by
``client_event_id``) and its close; compliance fetches a session's signed receipt; anyone fetches the
public key that verifies receipts. docs/traceability.md."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.compliance import traceability as trace
from shouhu.errors import ShouhuError
from shouhu.storage import traceability as store
from shouhu.web import traceability as web
from shouhu.web.auth import app_state, record, require
from shouhu.web.render import json_response

router = APIRouter(tags=["traceability"])
Writer = Depends(require(Action.TRACE_WRITE))
Reader = Depends(require(Action.TRACE_READ))
CODE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


def _error(e: ShouhuError) -> Response:
    status = 404 if isinstance(e, trace.NotFound) else 409 if isinstance(e, trace.Conflict) else 422
    body: dict[str, Any] = {"error": e.code, "message": e.message}
    if "field" in e.data:
        body["field"] = str(e.data["field"])
    return JSONResponse(body, status_code=status)


class SessionStart(BaseModel):
    customer_id: str = Field(pattern=CODE, description="the platform's customer id of the applicant (投保人)")
    product_code: str = Field(pattern=CODE)
    application_no: str | None = Field(None, pattern=CODE, description="投保单号, when known")
    channel: str = Field("web", pattern=CODE, description="web, app, wechat, partner code ...")
    started_at: datetime | None = Field(None, description="ISO 8601 with offset; default: now")


@router.post("/trace/sessions", status_code=201, summary="Start a sales session (its header opens the hash chain)")
def start(body: SessionStart, request: Request, principal: Principal = Writer) -> Response:
    state = app_state(request)
    if body.started_at is not None and body.started_at.tzinfo is None:
        return JSONResponse({"error": "invalid_input", "field": "started_at",
                             "message": "started_at: needs a time zone offset"}, status_code=422)
    try:
        made = trace.start_session(state.engine, customer_id=body.customer_id, product_code=body.product_code,
                                   application_no=body.application_no, channel=body.channel,
                                   recorded_by=principal.user_id, started_at=body.started_at)
    except ShouhuError as e:
        return _error(e)
    record(state, principal, "trace.session", "trace_session", made["session_id"], request, step="start",
           customer_id=body.customer_id)
    return json_response(made, 201)


class EventBatch(BaseModel):
    events: list[dict[str, Any]] = Field(min_length=1, max_length=trace.MAX_EVENTS, description=(
        "each: type (page_view confirm answer input sign pay submit), at (ISO 8601 with offset), page_code + "
        "page_version (+ page_hash), the type's codes; personal details only in 'personal' (sealed)"))


@router.post("/trace/sessions/{session_id}/events", summary="Record a batch of events, all or none (idempotent)")
def events(session_id: str, body: EventBatch, request: Request, principal: Principal = Writer) -> Response:
    state = app_state(request)
    web.session_or_404(state, principal, session_id)
    try:
        done = trace.record_events(state.engine, state.cipher, session_id, body.events)
    except ShouhuError as e:
        return _error(e)
    return json_response(done)


class SessionClose(BaseModel):
    outcome: str = Field(description="issued submitted declined abandoned expired")
    policy_no: str | None = Field(None, pattern=CODE)
    cover_start: date | None = Field(None, description="保险期间起期; none: no contract")
    cover_end: date | None = Field(None, description="保险期间止期; none with a start: open-ended (e.g. whole life)")


@router.post("/trace/sessions/{session_id}/close", summary="Close a session: outcome and cover period (retention)")
def close(session_id: str, body: SessionClose, request: Request, principal: Principal = Writer) -> Response:
    state = app_state(request)
    web.session_or_404(state, principal, session_id)
    try:
        done = trace.close_session(state.engine, session_id, outcome=body.outcome, policy_no=body.policy_no,
                                   cover_start=body.cover_start, cover_end=body.cover_end)
    except ShouhuError as e:
        return _error(e)
    record(state, principal, "trace.session", "trace_session", session_id, request, step="close",
           outcome=body.outcome)
    return json_response(done)


@router.get("/trace/pages", summary="Published sales page versions with their content hashes")
def pages(request: Request, principal: Principal = Writer) -> list[dict[str, Any]]:
    return store.pages(app_state(request).engine)


@router.get("/trace/sessions/{session_id}/receipt", summary="The signed sales receipt of a sealed session")
def receipt(session_id: str, request: Request, principal: Principal = Reader) -> Response:
    state = app_state(request)
    web.session_or_404(state, principal, session_id)
    try:
        doc = trace.receipt(state.engine, session_id, web.signing_key(state))
    except ShouhuError as e:
        return _error(e)
    record(state, principal, "trace.receipt", "trace_session", session_id, request)
    return json_response(doc)


@router.get("/trace/public-key", summary="The Ed25519 public key that verifies sales receipts (PEM)",
            response_class=PlainTextResponse)
def public_key(request: Request) -> Response:
    key = web.signing_key(app_state(request))
    return PlainTextResponse(trace.public_key_pem(key), headers={"X-Key-Id": trace.key_id(key.public_key())})
