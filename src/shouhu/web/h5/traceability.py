"""H5: the signed-in customer's sales receipts (销售回执): every online application of theirs that was
recorded, whether its receipt verifies (signature and seal proof), and the receipt to download as JSON.
Always the signed-in customer's own: no customer id in the URL; another customer's session is a 404."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from shouhu.access.policy import Principal
from shouhu.compliance import traceability as trace
from shouhu.storage import traceability as store
from shouhu.web import traceability as web
from shouhu.web.auth import app_state, record, require_customer_session
from shouhu.web.render import lang_of, page

router = APIRouter()
Customer = Depends(require_customer_session)


def _receipt(request: Request, principal: Principal, session_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    state = app_state(request)
    s = web.session_or_404(state, principal, session_id)
    if s["seal_seq"] is None:
        return s, None
    return s, trace.receipt(state.engine, session_id, web.signing_key(state))


@router.get("/trace")
def receipts(request: Request, principal: Principal = Customer) -> Response:
    state = app_state(request)
    assert principal.customer_id
    rows = store.list_sessions(state.engine, customer_id=principal.customer_id, closed_only=True, limit=100)
    lang = lang_of(request)
    return page(request, "h5/trace.html", rows=rows, here="/h5/trace", L=lambda group, c: web.label(group, c, lang))


@router.get("/trace/{session_id}")
def receipt_page(session_id: str, request: Request, principal: Principal = Customer) -> Response:
    state = app_state(request)
    s, doc = _receipt(request, principal, session_id)
    problems = trace.verify_receipt(doc, web.signing_key(state).public_key()) if doc else []
    lang = lang_of(request)
    return page(request, "h5/trace_receipt.html", s=s, doc=doc, problems=problems, here="/h5/trace",
                key_id=trace.key_id(web.signing_key(state).public_key()),
                L=lambda group, c: web.label(group, c, lang))


@router.get("/trace/{session_id}/receipt.json")
def receipt_json(session_id: str, request: Request, principal: Principal = Customer) -> Response:
    state = app_state(request)
    _, doc = _receipt(request, principal, session_id)
    if doc is None:
        raise HTTPException(409, "the session is not sealed yet; the receipt is made once it is")
    record(state, principal, "trace.receipt", "trace_session", session_id, request, channel="h5")
    body = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    return Response(body.encode("utf-8"), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="receipt-{session_id}.json"'})
