"""The FastAPI application: ``create_app(settings)``; ``shouhu serve`` runs it with uvicorn."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shouhu.errors import ShouhuError
from shouhu.privacy.crypto import cipher_from_settings
from shouhu.settings import Settings
from shouhu.storage import serving
from shouhu.web.auth import NotSignedIn
from shouhu.web.render import error_page
from shouhu.web.security import SecurityHeaders, swagger_page
from shouhu.web.state import AppState, OtpSender, log_sender

log = logging.getLogger("shouhu.web")
STATIC = Path(__file__).parent / "static"
VERSION = "1"


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def create_app(settings: Settings, *, otp_sender: OtpSender | None = None, migrate: bool = True) -> FastAPI:
    """The whole application over the serving database named by ``settings`` (migrated to head)."""
    url = settings.serving
    if migrate:
        serving.upgrade(url)
    engine = serving.engine_for(url)
    state = AppState(settings=settings, engine=engine, cipher=cipher_from_settings(settings),
                     otp_sender=otp_sender or log_sender)
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(lifespan=lifespan, title="shouhu (守护) API", version="0.1.0", openapi_url="/api/v1/openapi.json",
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  description="Customer operations for life insurers: customers, households, needs, scores, "
                              "actions. Authenticate with `Authorization: Bearer <token>` "
                              "(`POST /api/v1/auth/token` or `shouhu users token`).")
    app.state.shouhu = state
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders, production=settings.mode == "production")

    @app.get("/api/v1/docs", include_in_schema=False)
    async def api_docs(request: Request) -> Response:
        return swagger_page(request, "/api/v1/openapi.json", f"{app.title} · Swagger UI")

    from shouhu.web.api import register as register_api
    from shouhu.web.console import register as register_console
    from shouhu.web.h5 import register as register_h5

    register_api(app)
    register_console(app)
    register_h5(app)
    from shouhu.web.hosted import router as hosted_router

    app.include_router(hosted_router)
    from shouhu.web import telemetry

    telemetry.install(app)  # added last: outermost middleware, times everything

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if exc.area == "console":
            return RedirectResponse(f"/console/login?next={request.url.path}", status_code=303)
        if exc.area == "h5":
            return RedirectResponse("/h5/login", status_code=303)
        return JSONResponse({"error": "not_signed_in", "message": exc.detail}, status_code=401,
                            headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's HTTPException and unknown paths alike
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request) and exc.status_code in (403, 404, 405, 429):
            return error_page(request, exc.status_code, str(exc.detail))
        code = {400: "bad_request", 401: "not_signed_in", 403: "forbidden", 404: "not_found",
                409: "conflict", 429: "throttled"}.get(exc.status_code, "error")
        return JSONResponse({"error": code, "message": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(ShouhuError)
    async def domain_error(request: Request, exc: ShouhuError) -> Response:
        from shouhu.observability import current_trace_id
        from shouhu.web.errors import body_for, status_for

        status = status_for(exc)
        if status >= 500:
            log.error("%s on %s %s: %s", exc.code, request.method, request.url.path, exc)
        return JSONResponse(body_for(exc, status, current_trace_id()), status_code=status)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> Response:
        # The serving database locked or gone: a generic 503, the (redacted) driver text logged only.
        from shouhu.web.warehouse import redact

        log.warning("serving database unavailable: %s", redact(exc.orig or exc))
        return JSONResponse({"error": "unavailable", "message": "the service is busy; try again in a minute. "
                             "服务繁忙，请稍后再试"}, status_code=503, headers={"Retry-After": "60"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return JSONResponse({"error": "invalid_input", "message": "request is not valid",
                             "problems": [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]}
                                          for e in exc.errors()]}, status_code=422)

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/console/", status_code=303)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:  # browsers ask for it before reading the page's <link rel=icon>
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
