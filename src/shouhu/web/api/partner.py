"""The partner API (/api/v1/partner/...): embedded insurance for partners' scenes, authenticated by the
partner's API key (``Authorization: Bearer shk_...``), never by a staff token.

Every write takes an ``Idempotency-Key`` header (``partners.idempotency``): the first answer is stored
and replayed, 409 while in flight, 422 on a reused key with a different body. A partner over its rate
limit gets 429 with Retry-After. Each call is logged in ``partner_request`` (route template, status,
whether an idempotency key came; no ids or values), which the sandbox conformance report reads.
Licence rules: ``partners.licence``; user guide: docs/partners.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from shouhu.compliance import traceability as trace
from shouhu.errors import InvalidInput, ShouhuError, UnknownName
from shouhu.partners import idempotency, inputs, registry, sales
from shouhu.partners.registry import Caller, Forbidden, Unauthorised
from shouhu.storage import partners as store
from shouhu.storage import traceability as trace_store
from shouhu.web.auth import app_state
from shouhu.web.params import Version
from shouhu.web.telemetry import route_template

router = APIRouter(prefix="/partner", tags=["partner"])
CODE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"

STATUS: dict[type[ShouhuError], int] = {
    Unauthorised: 401, Forbidden: 403, sales.NotFound: 404, UnknownName: 404, trace.NotFound: 404,
    sales.Conflict: 409, trace.Conflict: 409, idempotency.InFlight: 409, sales.Gone: 410,
    idempotency.Reused: 422, InvalidInput: 422,
}


def status_of(e: ShouhuError) -> int:
    for kind in type(e).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 422


def error(e: ShouhuError) -> JSONResponse:
    body: dict[str, Any] = {"error": e.code, "message": e.message}
    for name in ("field", "disclosure", "rule", "policy_no"):
        if name in e.data:
            body[name] = str(e.data[name])
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(e, Unauthorised) else None
    return JSONResponse(body, status_code=status_of(e), headers=headers)


def _log(request: Request, caller: Caller | None, status: int, err: str | None, started: float) -> None:
    if caller is None:
        return
    route = route_template(request.app, request.scope)  # the full template, never the ids in the URL
    store.log_requests(app_state(request).engine, [{
        "partner_id": caller.partner_id, "mode": caller.mode, "at": registry.stamp(registry.now_utc()),
        "method": request.method, "route": str(route)[:128], "status_code": status, "error": err,
        "idempotency_key": bool(request.headers.get("Idempotency-Key")),
        "duration_ms": int((time.perf_counter() - started) * 1000)}])


async def partner(request: Request) -> Caller:
    """The partner of the request's key; the rate limit is counted here."""
    auth = request.headers.get("Authorization", "")
    presented = auth[7:] if auth.lower().startswith("bearer ") else request.headers.get("X-Api-Key")
    state = app_state(request)
    try:
        caller = registry.authenticate(state.engine, presented)
    except Unauthorised as e:
        raise HTTPException(401, e.message, headers={"WWW-Authenticate": "Bearer"}) from None
    except Forbidden as e:
        raise HTTPException(403, e.message) from None
    limiter = getattr(request.app.state, "partner_limiter", None)
    if limiter is None:  # one window per application (each web worker process has its own)
        limiter = request.app.state.partner_limiter = registry.RateLimiter()
    wait = limiter.allow(caller.partner_id, caller.mode, caller.rate_per_minute)
    if wait:
        _log(request, caller, 429, "throttled", time.perf_counter())
        raise HTTPException(429, f"rate limit of {caller.rate_per_minute} requests a minute reached; "
                                 f"retry in {wait} s", headers={"Retry-After": str(wait)})
    return caller


Partner = Depends(partner)


def check_text(request: Request, body: bytes | None) -> None:
    """No NUL or unpaired surrogate in path and query parameters or the JSON body (``partners.inputs``)."""
    for name, value in [*request.path_params.items(), *request.query_params.items()]:
        inputs.check_storable(value, name)
    try:
        parsed = json.loads(body) if body else None
    except ValueError:  # not JSON: the route's model refused it already, or it takes no body
        return
    inputs.check_storable(parsed)


def run(request: Request, caller: Caller, body: bytes | None, work: Callable[[], Any], status: int = 200) -> Response:
    """Carry out ``work`` under the request's idempotency key (writes) and log the call."""
    started = time.perf_counter()
    state = app_state(request)
    key = request.headers.get("Idempotency-Key")
    route = f"{request.method} {request.url.path}"
    response: Response
    try:
        check_text(request, body)
        if key is not None and body is not None:
            replay = idempotency.begin(state.engine, caller.partner_id, caller.mode, key, route, body)
            if replay is not None:
                response = Response(replay.body, status_code=replay.status_code, media_type="application/json",
                                    headers={"Idempotent-Replayed": "true"})
                _log(request, caller, replay.status_code, None, started)
                return response
    except ShouhuError as e:
        _log(request, caller, status_of(e), e.code, started)
        return error(e)
    try:
        result = work()
        response = Response(json.dumps(result, ensure_ascii=False, default=str), status_code=status,
                            media_type="application/json")
        err = None
    except ShouhuError as e:
        response, err = error(e), e.code
    except Exception:
        if key is not None and body is not None:
            idempotency.finish(state.engine, caller.partner_id, key, 500, "")
        _log(request, caller, 500, "server_error", started)
        raise
    if key is not None and body is not None:
        idempotency.finish(state.engine, caller.partner_id, key, response.status_code, bytes(response.body).decode())
    _log(request, caller, response.status_code, err, started)
    return response


IdemKey = Header(None, alias="Idempotency-Key", max_length=255,
                 description="any unique string per intended write (a UUID); kept 72 hours")


class QuoteIn(BaseModel):
    product_code: str = Field(pattern=CODE, description="RS01 TD01 AC01 HM01 (as agreed with the insurer)")
    facts: dict[str, Any] = Field(description="the scene's facts the product is priced on (docs/partners.md)")


@router.post("/quotes", status_code=201, summary="Price a scene product; returns the disclosures to show")
async def quote(body: QuoteIn, request: Request, caller: Caller = Partner, key: str | None = IdemKey) -> Response:
    raw = await request.body()
    return run(request, caller, raw, lambda: sales.quote(app_state(request).engine, caller, body.product_code,
                                                         body.facts), 201)


class Acknowledgement(BaseModel):
    code: str = Field(pattern=CODE)
    version: int = Field(ge=1, le=2_147_483_647)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    at: str | None = Field(None, max_length=40, description="when the customer ticked it (ISO 8601)")


class Applicant(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(min_length=15, max_length=18, description="居民身份证号码")
    phone: str = Field(min_length=11, max_length=20)


class BindIn(BaseModel):
    quote_id: str = Field(pattern=CODE)
    partner_order_no: str = Field(pattern=CODE, description="your order number: one policy per order")
    customer_ref: str = Field(pattern=CODE, description="your id of the customer")
    applicant: Applicant
    acknowledgements: list[Acknowledgement] = Field(max_length=50)
    trace_session_id: str = Field(pattern=CODE, description="the traceability session of this sale")


@router.post("/policies", status_code=201, summary="Bind a quote (licensed intermediaries)")
async def bind(body: BindIn, request: Request, caller: Caller = Partner, key: str | None = IdemKey) -> Response:
    raw = await request.body()
    state = app_state(request)
    return run(request, caller, raw, lambda: sales.bind(
        state.engine, state.cipher, caller, quote_id=body.quote_id, partner_order_no=body.partner_order_no,
        customer_ref=body.customer_ref, applicant=body.applicant.model_dump(),
        acknowledgements=[a.model_dump() for a in body.acknowledgements],
        trace_session_id=body.trace_session_id), 201)


@router.get("/policies/{policy_no}", summary="A policy the partner sold (never the applicant's details)")
def policy(policy_no: str, request: Request, caller: Caller = Partner) -> Response:
    def work() -> dict[str, Any]:
        sales.check(caller, "read")
        engine = app_state(request).engine
        p = sales.own_policy(engine, caller, policy_no)
        return sales.public_policy(p) | {"claims": [sales.public_claim(c) for c in store.claims_of(engine, policy_no)]}
    return run(request, caller, None, work)


@router.get("/orders/{partner_order_no}", summary="The policy of one of the partner's order numbers")
def order(partner_order_no: str, request: Request, caller: Caller = Partner) -> Response:
    def work() -> dict[str, Any]:
        sales.check(caller, "read")
        p = store.policy_by_order(app_state(request).engine, caller.partner_id, partner_order_no)
        if p is None or p["mode"] != caller.mode:
            raise sales.NotFound(f"no policy for order {partner_order_no:.64}", field="partner_order_no")
        return sales.public_policy(p)
    return run(request, caller, None, work)


class ChangeIn(BaseModel):
    kind: str = Field(pattern=r"^(cancel|modify)$")
    facts: dict[str, Any] | None = Field(None, description="modify: the scene facts that change")


@router.post("/policies/{policy_no}/changes", status_code=201, summary="Preview a cancellation or modification")
async def change(policy_no: str, body: ChangeIn, request: Request, caller: Caller = Partner,
                 key: str | None = IdemKey) -> Response:
    raw = await request.body()
    return run(request, caller, raw, lambda: sales.preview_change(
        app_state(request).engine, caller, policy_no, body.kind, {"facts": body.facts or {}}), 201)


@router.post("/changes/{change_id}/confirm", summary="Confirm a previewed change (within 15 minutes)")
async def confirm(change_id: str, request: Request, caller: Caller = Partner, key: str | None = IdemKey) -> Response:
    raw = await request.body()
    return run(request, caller, raw, lambda: sales.confirm_change(app_state(request).engine, caller, change_id))


class NoticeIn(BaseModel):
    policy_no: str = Field(pattern=CODE)
    event_type: str = Field(pattern=r"^[a-z_]{2,32}$", description="accident illness hospital delay loss other")
    occurred_at: str = Field(max_length=40, description="ISO 8601 with offset")
    details: dict[str, Any] | None = Field(None, description="codes and numbers only; no names or ID numbers")


@router.post("/claims", status_code=201, summary="A claim notice (报案)")
async def claim(body: NoticeIn, request: Request, caller: Caller = Partner, key: str | None = IdemKey) -> Response:
    raw = await request.body()
    return run(request, caller, raw, lambda: sales.notice(app_state(request).engine, caller, body.policy_no,
                                                          body.event_type, body.occurred_at, body.details), 201)


class TriggerIn(BaseModel):
    id: str = Field(min_length=1, max_length=128, description="your id of the event (one claim per policy and id)")
    type: str = Field(pattern=r"^(return_shipped|flight_delayed|flight_cancelled)$")
    order_no: str | None = Field(None, pattern=CODE)
    flight_no: str | None = Field(None, pattern=r"^[A-Z0-9]{2}[0-9]{1,4}$")
    departure_date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    delay_minutes: int | None = Field(None, ge=0, le=10_000)
    shipped_on: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    shipping_fee_fen: int | None = Field(None, ge=0, le=1_000_000)


@router.post("/triggers", summary="A trigger event: automatic claims for the policies it names")
async def triggers(body: TriggerIn, request: Request, caller: Caller = Partner, key: str | None = IdemKey
                   ) -> Response:
    raw = await request.body()
    facts = body.model_dump(exclude_none=True)
    return run(request, caller, raw, lambda: {"claims": sales.trigger(app_state(request).engine, caller, facts)})


@router.get("/disclosures/{code}/{version}", summary="A disclosure page version (content and SHA-256)")
def disclosure(code: str, version: Version, request: Request, caller: Caller = Partner) -> Response:
    def work() -> dict[str, Any]:
        page = trace_store.page(app_state(request).engine, code[:64], version)
        if page is None:
            raise sales.NotFound(f"no page {code:.64} version {version}", field="code")
        return {k: page[k] for k in ("code", "version", "kind", "title", "content", "sha256", "published_at")}
    return run(request, caller, None, work)


class SessionIn(BaseModel):
    product_code: str = Field(pattern=CODE)
    customer_ref: str = Field(pattern=CODE, description="your id of the customer")


@router.post("/trace/sessions", status_code=201, summary="Open the traceability session of a sale")
async def trace_start(body: SessionIn, request: Request, caller: Caller = Partner, key: str | None = IdemKey
                      ) -> Response:
    raw = await request.body()

    def work() -> dict[str, Any]:
        sales.check(caller, "bind", body.product_code)
        customer = f"{caller.partner_id}:{body.customer_ref}"[:64]
        return trace.start_session(app_state(request).engine, customer_id=customer,
                                   product_code=body.product_code, channel=caller.partner_id,
                                   recorded_by=f"partner:{caller.partner_id}")
    return run(request, caller, raw, work, 201)


class EventsIn(BaseModel):
    events: list[dict[str, Any]] = Field(min_length=1, max_length=trace.MAX_EVENTS)


@router.post("/trace/sessions/{session_id}/events", summary="Record the customer's operations (idempotent)")
async def trace_events(session_id: str, body: EventsIn, request: Request, caller: Caller = Partner,
                       key: str | None = IdemKey) -> Response:
    raw = await request.body()
    state = app_state(request)

    def work() -> dict[str, Any]:
        sales.check(caller, "bind")
        s = trace_store.get_session(state.engine, session_id[:64])
        if s is None or s["channel"] != caller.partner_id:
            raise sales.NotFound(f"no traceability session {session_id:.64}", field="session_id")
        return trace.record_events(state.engine, state.cipher, session_id, body.events)
    return run(request, caller, raw, work)


# --- webhooks (partners.webhooks; docs/partners.md "Webhooks") -----------------------------------------

class EndpointIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000, description="https URL (http only for localhost in sandbox)")
    events: list[str] = Field(default_factory=lambda: ["*"], max_length=20, description='event types, or ["*"]')


def _hooks(caller: Caller) -> Any:
    from shouhu.partners import webhooks

    sales.check(caller, "webhooks")
    return webhooks


@router.post("/webhooks", status_code=201, summary="Register a webhook endpoint (its secret is shown once)")
async def add_hook(body: EndpointIn, request: Request, caller: Caller = Partner, key: str | None = IdemKey
                   ) -> Response:
    raw = await request.body()
    state = app_state(request)
    return run(request, caller, raw, lambda: _hooks(caller).add_endpoint(
        state.engine, state.cipher, caller.partner_id, body.url, body.events,
        allow_http=caller.mode == "sandbox"), 201)


@router.get("/webhooks", summary="The partner's webhook endpoints (never their secrets)")
def list_hooks(request: Request, caller: Caller = Partner) -> Response:
    return run(request, caller, None, lambda: _hooks(caller).list_endpoints(app_state(request).engine,
                                                                              caller.partner_id))


@router.post("/webhooks/{endpoint_id}/{action}", summary="enable, disable, ping or rotate-secret an endpoint")
async def hook_action(endpoint_id: str, action: str, request: Request, caller: Caller = Partner,
                      key: str | None = IdemKey) -> Response:
    raw = await request.body()
    state = app_state(request)

    def work() -> Any:
        hooks = _hooks(caller)
        if action == "enable":
            return hooks.enable(state.engine, endpoint_id, partner_id=caller.partner_id)
        if action == "disable":
            return hooks.disable(state.engine, endpoint_id, partner_id=caller.partner_id)
        if action == "ping":
            return hooks.ping(state.engine, state.cipher, endpoint_id, mode=caller.mode, partner_id=caller.partner_id)
        if action == "rotate-secret":
            return hooks.rotate_secret(state.engine, state.cipher, endpoint_id, partner_id=caller.partner_id)
        raise InvalidInput("action: enable, disable, ping or rotate-secret", field="action")
    return run(request, caller, raw, work)


@router.get("/webhooks/deliveries", summary="Deliveries of the partner's events, newest first")
def list_deliveries(request: Request, caller: Caller = Partner, state: str | None = None) -> Response:
    return run(request, caller, None, lambda: _hooks(caller).deliveries(
        app_state(request).engine, caller.partner_id, state=state if state and len(state) <= 16 else None))


@router.post("/webhook-replays/{target_id}", summary="Send an event (or a delivery's event) again")
async def replay_hook(target_id: str, request: Request, caller: Caller = Partner, key: str | None = IdemKey
                      ) -> Response:
    raw = await request.body()
    return run(request, caller, raw, lambda: {"deliveries": _hooks(caller).replay(
        app_state(request).engine, target_id, partner_id=caller.partner_id)})


class LinkIn(BaseModel):
    product_code: str = Field(pattern=CODE)
    customer_ref: str = Field(pattern=CODE, description="your id of the customer")
    partner_order_no: str = Field(pattern=CODE, description="your order number: one policy per order")
    facts: dict[str, Any] = Field(description="the scene's facts (the insurer prices on them)")
    return_url: str | None = Field(None, max_length=2000, description="on one of your registered origins")


@router.post("/hosted-links", status_code=201, summary="A one-time link to the insurer's hosted sales page")
async def hosted_link(body: LinkIn, request: Request, caller: Caller = Partner, key: str | None = IdemKey
                      ) -> Response:
    from shouhu.partners import hosted

    raw = await request.body()
    return run(request, caller, raw, lambda: hosted.create_link(
        app_state(request).engine, caller, product_code=body.product_code, customer_ref=body.customer_ref,
        partner_order_no=body.partner_order_no, facts=body.facts, return_url=body.return_url), 201)


# --- sandbox conformance (partners.conformance; docs/partners.md "Sandbox conformance and go-live") ---

class ConformanceIn(BaseModel):
    since: str | None = Field(None, max_length=40, description="replay from this time (ISO 8601 with offset); "
                                                              "default: the last 30 days")


@router.post("/conformance-reports", status_code=201, summary="Run the conformance report (sandbox key)")
async def conformance_report(request: Request, body: ConformanceIn | None = None, caller: Caller = Partner,
                             key: str | None = IdemKey) -> Response:
    from shouhu.partners import conformance

    raw = await request.body()

    def work() -> dict[str, Any]:
        if caller.mode != "sandbox":
            raise Forbidden("conformance reports replay the sandbox: call with a sandbox key (shk_test_...)",
                            field="mode")
        since = conformance.parse_since(body.since) if body and body.since else None
        return conformance.run(app_state(request).engine, caller.partner_id, since=since)
    return run(request, caller, raw, work, 201)


@router.get("/conformance-reports/latest", summary="The calling partner's latest conformance report")
def conformance_latest(request: Request, caller: Caller = Partner) -> Response:
    from shouhu.partners import conformance

    return run(request, caller, None, lambda: conformance.latest(app_state(request).engine, caller.partner_id))
