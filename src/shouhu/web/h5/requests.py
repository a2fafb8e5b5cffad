"""H5: the signed-in customer's data-subject requests: the list with status, due time and proof of
completion, a form for a new one, and the download of their copy once it is made. Always their own."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.compliance import dsr
from shouhu.errors import InvalidInput
from shouhu.storage import dsr as store
from shouhu.web import dsr as web
from shouhu.web.auth import app_state, record, require_customer_session
from shouhu.web.params import RowId
from shouhu.web.render import lang_of, page

router = APIRouter()
Customer = Depends(require_customer_session)


def _page(request: Request, principal: Principal, kind: str = "", error: str | None = None,
          status_code: int = 200) -> Response:
    state = app_state(request)
    assert principal.customer_id
    lang = lang_of(request)
    items = [web.shown(r, lang) for r in store.list_requests(state.engine, customer_id=principal.customer_id)]
    items.sort(key=lambda r: r["received_at"], reverse=True)
    return page(request, "h5/requests.html", status_code=status_code, items=items, kinds=web.kinds(lang),
                chosen=kind if kind in dsr.KINDS else "access", fields=dsr.CORRECTABLE, purposes=dsr.PURPOSES,
                error=error, saved=request.query_params.get("saved"), here="/h5/requests")


@router.get("/requests")
def requests_page(request: Request, principal: Principal = Customer) -> Response:
    return _page(request, principal)


@router.get("/requests/new")
def new(request: Request, kind: str = Query("access", max_length=32), principal: Principal = Customer) -> Response:
    return _page(request, principal, kind)


@router.post("/requests")
async def submit(request: Request, principal: Principal = Customer) -> Response:
    form = {k: str(v)[:600] for k, v in (await request.form()).items() if isinstance(v, str)}
    state = app_state(request)
    assert principal.customer_id
    try:
        web.submit(state, principal, request, principal.customer_id, form.get("kind", ""), "h5",
                   web.detail_from_form(form))
    except InvalidInput as e:
        return _page(request, principal, form.get("kind", ""), e.message, 422)
    return RedirectResponse("/h5/requests?saved=1", status_code=303)


@router.get("/requests/{request_id}/copy")
def copy(request_id: RowId, request: Request, principal: Principal = Customer) -> Response:
    state = app_state(request)
    row = store.request_row(state.engine, request_id)
    if row is None or row["customer_id"] != principal.customer_id:
        raise HTTPException(404, "no such request")
    path = dsr.copy_path(state.settings.data_dir, row)
    if path is None:
        raise HTTPException(404, "the copy is not ready (or was deleted)")
    record(state, principal, "dsr_copy_download", "dsr_request", str(request_id), request)
    return FileResponse(path, media_type="application/json", filename=f"my-data-{request_id}.json")
