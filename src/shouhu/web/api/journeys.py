"""Journeys: the list, statistics (nodes, A/B conversion), events in from other systems, and consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field, field_validator

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.errors import InvalidInput
from shouhu.journeys import analytics
from shouhu.journeys import engine as jeng
from shouhu.storage import journeys as store
from shouhu.web import journeys as web
from shouhu.web.auth import app_state, record, require
from shouhu.web.customers import record_or_404

router = APIRouter(tags=["journeys"])
Reader = Depends(require(Action.JOURNEY_READ))
Manager = Depends(require(Action.JOURNEY_MANAGE))
CustomerReader = Depends(require(Action.CUSTOMER_READ))
ConsentWriter = Depends(require(Action.CONSENT_WRITE))


@router.get("/journeys", summary="Journeys with status, current version, enrolments and conversions")
def list_journeys(request: Request, principal: Principal = Reader) -> list[dict[str, Any]]:
    return store.list_journeys(app_state(request).engine)


@router.get("/journeys/{journey_key}/stats", summary="Per-node counts and timing; conversion per version and arm")
def stats(journey_key: str, request: Request, principal: Principal = Reader) -> dict[str, Any]:
    engine = app_state(request).engine
    if store.get_journey(engine, journey_key) is None:
        raise HTTPException(404, f"no journey {journey_key}")
    return {"nodes": analytics.node_stats(engine, journey_key), "conversion": analytics.conversion(engine, journey_key)}


class Event(BaseModel):
    customer_id: str = Field(min_length=1, max_length=64)
    event_type: str = Field(pattern=r"^(custom\.)?[a-z][a-z0-9_]{1,63}$")
    occurred_at: datetime = Field(description="ISO 8601 with a time zone offset")
    policy_no: str | None = Field(None, max_length=64)
    payload: dict[str, Any] | None = None
    event_key: str | None = Field(None, max_length=200, description="idempotency key; default from the fact")

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("needs a time zone offset, e.g. 2026-12-07T10:00:00+08:00")
        return v


class Events(BaseModel):
    events: list[Event] = Field(min_length=1, max_length=10_000)


@router.post("/journeys/events", summary="Take in events (idempotent by event_key); the worker acts on them")
def post_events(body: Events, request: Request, principal: Principal = Manager) -> dict[str, int]:
    state = app_state(request)
    rows = [jeng.event_row(e.customer_id, e.event_type, e.occurred_at, policy_no=e.policy_no, payload=e.payload,
                           event_key=e.event_key) for e in body.events]
    added = jeng.add_events(state.engine, rows)
    record(state, principal, "journey_events", "journey", "events", request, received=len(rows), added=added)
    return {"received": len(rows), "added": added}


@router.get("/customers/{customer_id}/consent", summary="Current consent per purpose and channel, and history")
def get_consent(customer_id: str, request: Request, principal: Principal = CustomerReader) -> dict[str, Any]:
    state = app_state(request)
    record_or_404(state, principal, customer_id)
    return {"current": web.consent_rows(state, customer_id),
            "history": [{k: h[k] for k in ("purpose", "channel", "granted", "source", "actor", "recorded_at")}
                        for h in store.consent_history(state.engine, customer_id)]}


class ConsentChange(BaseModel):
    purpose: Literal["marketing", "health_data", "profiling", "partner_sharing"]
    channel: Literal["any", "email", "sms", "wecom", "phone", "inbox"] = "any"
    granted: bool
    note: str | None = Field(None, max_length=200)


@router.post("/customers/{customer_id}/consent", summary="Record a grant or a withdrawal (append-only, audited)")
def post_consent(customer_id: str, body: ConsentChange, request: Request, principal: Principal = ConsentWriter
                 ) -> dict[str, Any]:
    state = app_state(request)
    record_or_404(state, principal, customer_id)
    try:
        web.change_consent(state, principal, request, customer_id, body.purpose, body.channel, body.granted, "api",
                           body.note)
    except InvalidInput as e:
        raise HTTPException(422, e.message) from None
    return {"customer_id": customer_id, "purpose": body.purpose, "channel": body.channel, "granted": body.granted}


Purpose = Literal["marketing", "health_data", "profiling", "partner_sharing"]
ContactChannel = Literal["any", "email", "sms", "wecom", "phone", "inbox"]


@router.get("/customers/{customer_id}/consent/impact",
            summary="Dry run: what withdrawing a purpose would stop (journeys, sales actions); records nothing")
def consent_impact(customer_id: str, request: Request, purpose: Purpose = "marketing", channel: ContactChannel = "any",
                   principal: Principal = ConsentWriter) -> dict[str, Any]:
    state = app_state(request)
    record_or_404(state, principal, customer_id)
    return jeng.withdrawal_impact(state.engine, customer_id, purpose, channel)
