"""Console pages: sign in/out, dashboard, customer search and the customer 360 page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal, row_rule
from shouhu.access.roles import Action
from shouhu.storage import accounts
from shouhu.storage import customers as store
from shouhu.web import customers
from shouhu.web.auth import SESSION_COOKIE, app_state, login_staff, record, require, resolve, signed_in
from shouhu.web.render import page

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only same-site paths under /console (no open redirect)."""
    if not target or urlparse(target).netloc or not target.startswith("/console") or target.startswith("//"):
        return "/console/"
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    state = app_state(request)
    return page(request, "console/login.html", next=_safe_next(next), demo=state.demo, error=None)


@router.post("/login")
def login(request: Request, user_id: str = Form(...), password: str = Form(...),
          next: str | None = Form(None)) -> Response:
    state = app_state(request)
    try:
        principal = login_staff(state, request, user_id.strip(), password)
    except HTTPException as e:
        key = "too_many_attempts" if e.status_code == 429 else "login_failed"
        return page(request, "console/login.html", status_code=e.status_code, next=_safe_next(next),
                    demo=state.demo, error=key)
    token, _ = accounts.create_session(state.engine, "staff", principal.user_id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=state.settings.mode == "production", max_age=8 * 3600, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    state = app_state(request)
    form = await request.form()
    if form.get("csrf_token") != getattr(request.state, "csrf", None):
        raise HTTPException(403, "missing or wrong CSRF token")
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(state.engine, token)
    record(state, principal, "logout", "user", principal.user_id, request)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def dashboard(request: Request, principal: Principal = Depends(require(Action.DASHBOARD))) -> Response:
    data = store.dashboard(app_state(request).engine, row_rule(principal))
    return page(request, "console/dashboard.html", data=data)


@router.get("/customers")
def search(request: Request, q: str | None = None,
           principal: Principal = Depends(require(Action.CUSTOMER_READ))) -> Response:
    rows: list[dict[str, Any]] = customers.search(app_state(request), principal, q=q) if q else []
    template = "console/_search_results.html" if request.headers.get("hx-request") else "console/search.html"
    return page(request, template, q=q or "", rows=rows)


@router.get("/customers/{customer_id}")
def customer_360(customer_id: str, request: Request,
                 principal: Principal = Depends(require(Action.CUSTOMER_READ))) -> Response:
    view = customers.view_360(app_state(request), principal, customer_id)
    return page(request, "console/customer.html", view=view)


@router.post("/customers/{customer_id}/reveal")
def reveal(customer_id: str, request: Request, field: str = Form(...), reason: str = Form(...),
           principal: Principal = Depends(require(Action.REVEAL))) -> Response:
    result = customers.reveal(app_state(request), principal, customer_id, [field], reason, request)
    return page(request, "console/_revealed.html", field=field, value=result["values"][field])


__all__ = ["resolve", "router"]
