"""Console: the data-subject request queue (compliance): open requests soonest due first, overdue marked;
one request with its trail, the deletion plan (erase, or restrict while records are retained) and the
forms to complete or refuse it; logging a request received by phone or at a counter; legal holds."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.compliance import dsr
from shouhu.errors import InvalidInput
from shouhu.model.masking import mask
from shouhu.storage import dsr as store
from shouhu.web import dsr as web
from shouhu.web.auth import app_state, require
from shouhu.web.customers import record_or_404
from shouhu.web.params import RowId
from shouhu.web.render import lang_of, page

router = APIRouter()
Handler = Depends(require(Action.DSR_HANDLE))
Logger = Depends(require(Action.CONSENT_WRITE))


@router.get("/requests")
def queue(request: Request, status: str = Query("open", max_length=16), principal: Principal = Handler) -> Response:
    state = app_state(request)
    lang = lang_of(request)
    chosen = status if status in ("open", "done", "rejected") else None
    items = [web.shown(r, lang) for r in store.list_requests(state.engine, status=chosen)]
    return page(request, "console/requests.html", items=items, status=chosen or "all",
                holds=store.active_holds(state.engine))


def _detail(request: Request, request_id: int, error: str | None = None, status_code: int = 200) -> Response:
    state = app_state(request)
    lang = lang_of(request)
    row = web.request_or_404(state, request_id)
    return page(request, "console/request.html", status_code=status_code, r=web.shown(row, lang),
                trail=store.events_of(state.engine, request_id), plan=web.plan(state, row), error=error,
                proof_ok=dsr.verify_proof(row) if row["status"] != "open" else None,
                masked_value=mask(str(row["detail"].get("field", "")), row["detail"].get("value", "")))


@router.get("/requests/{request_id}")
def detail(request_id: RowId, request: Request, principal: Principal = Handler) -> Response:
    return _detail(request, request_id)


@router.post("/requests/{request_id}/complete")
async def complete(request_id: RowId, request: Request, principal: Principal = Handler) -> Response:
    form = await request.form()
    try:
        web.complete(app_state(request), principal, request, request_id, str(form.get("note") or "")[:2000])
    except InvalidInput as e:
        return _detail(request, request_id, e.message, 422)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id}/reject")
async def reject(request_id: RowId, request: Request, principal: Principal = Handler) -> Response:
    form = await request.form()
    try:
        web.refuse(app_state(request), principal, request, request_id, str(form.get("reason") or "")[:2000])
    except InvalidInput as e:
        return _detail(request, request_id, e.message, 422)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)


@router.post("/customers/{customer_id}/requests")
async def log_request(customer_id: str, request: Request, principal: Principal = Logger) -> Response:
    """A request the customer made by phone or at a counter, logged by service staff."""
    form = {k: str(v)[:600] for k, v in (await request.form()).items() if isinstance(v, str)}
    state = app_state(request)
    record_or_404(state, principal, customer_id)
    try:
        made = web.submit(state, principal, request, customer_id, form.get("kind", ""), "console",
                          web.detail_from_form(form))
    except InvalidInput as e:
        raise web.unprocessable(e) from None
    return RedirectResponse(f"/console/customers/{customer_id}?request={made['id']}", status_code=303)


@router.post("/customers/{customer_id}/holds")
async def place_hold(customer_id: str, request: Request, principal: Principal = Handler) -> Response:
    form = await request.form()
    state = app_state(request)
    record_or_404(state, principal, customer_id)
    try:
        web.place_hold(state, principal, request, customer_id, str(form.get("reason") or "")[:500])
    except InvalidInput as e:
        raise web.unprocessable(e) from None
    return RedirectResponse("/console/requests", status_code=303)


@router.post("/holds/{hold_id}/release")
async def release_hold(hold_id: RowId, request: Request, principal: Principal = Handler) -> Response:
    try:
        web.release_hold(app_state(request), principal, request, hold_id)
    except InvalidInput as e:
        raise web.unprocessable(e) from None
    return RedirectResponse("/console/requests", status_code=303)
