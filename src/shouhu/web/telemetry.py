"""Request telemetry: trace ids, one structured access-log line per request, Prometheus metrics, /metrics.

:class:`Telemetry` is pure ASGI middleware (outermost, so that it times everything). For each HTTP request
it starts a trace (:mod:`shouhu.observability.tracing`), answers with ``X-Request-ID`` and ``traceparent``,
counts and times the request by *route template*, and logs one ``shouhu.access`` line: method, route
template, status, milliseconds, trace id — never the URL or query string, which can hold a phone number
being searched for, and never a body.

``GET /metrics`` is the Prometheus text format. Without ``SHOUHU_METRICS_TOKEN`` it answers loopback
clients only (a scraper on the same host or through a sidecar); with it, any client presenting
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shouhu.observability import tracing
from shouhu.observability.metrics import CONTENT_TYPE, Metrics, refresh_run_samples

access_log = logging.getLogger("shouhu.access")
LOOPBACK = {"127.0.0.1", "::1"}
router = APIRouter(include_in_schema=False)


def route_template(app: Any, scope: Scope) -> str:
    """The full path template of the route that served ``scope``, else ``unmatched``.

    The router leaves the matched route in ``scope["route"]`` with its template relative to the router it was
    included in (``/customers/{customer_id}`` under ``/api/v1``): the prefix is what the concrete path has in
    front of the route's own part, the values filled in."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if template is not None and not isinstance(route, Mount):
        path = str(scope.get("path", ""))
        try:
            concrete = str(template).format(**{k: str(v) for k, v in scope.get("path_params", {}).items()})
        except (KeyError, IndexError, ValueError):
            concrete = None
        if concrete is not None and path.endswith(concrete):
            return path[: len(path) - len(concrete)] + str(template)
        return str(template)
    for candidate in getattr(getattr(app, "router", None), "routes", []):  # static files and other mounts
        if isinstance(candidate, Mount) and scope.get("endpoint") is candidate.app:
            return candidate.path + "/{path}"
    return "unmatched"


class Telemetry:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, fastapi_app: Any) -> None:
        self.app = app
        self.metrics = metrics
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        trace_id, span_id = tracing.start(headers.get("traceparent"), headers.get("x-request-id"))
        started = time.perf_counter()
        status = 500

        async def send_traced(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", trace_id.encode()),
                                      (b"traceparent", tracing.traceparent_for(trace_id, span_id).encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_traced)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(self.fastapi_app, scope)
            method = str(scope.get("method", ""))
            self.metrics.observe(method, route, status, seconds)
            access_log.info("%s %s %s %.1fms", method, route, status, seconds * 1000,
                            extra={"method": method, "route": route, "status": status,
                                   "duration_ms": round(seconds * 1000, 1), "trace_id": trace_id})


def _allowed(request: Request) -> bool:
    token = request.app.state.shouhu.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return request.client is not None and request.client.host in LOOPBACK


@router.get("/metrics")
def metrics(request: Request) -> Response:
    if not _allowed(request):
        return Response("metrics: loopback only, or set SHOUHU_METRICS_TOKEN and send it as a Bearer token\n",
                        status_code=403, media_type="text/plain")
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE)


def install(app: Any) -> None:
    """Wire telemetry into a FastAPI app: its metrics (with refresh-run history), the middleware, /metrics."""
    from shouhu.storage.runs import recent_runs

    registry = Metrics()
    engine = app.state.shouhu.engine

    def refresh_runs() -> Any:
        return refresh_run_samples(recent_runs(engine, 20))

    registry.add_source(refresh_runs)
    app.state.metrics = registry
    app.include_router(router)
    app.add_middleware(Telemetry, metrics=registry, fastapi_app=app)
