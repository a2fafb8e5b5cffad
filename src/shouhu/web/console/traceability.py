"""Console pages of the sales traceability ledger (销售可回溯): the sessions with the whole-ledger check, one
session's replay against the page versions shown (masked; every viewing audited) and a page version's
content. Compliance reads them (``trace.read``). docs/traceability.md."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.compliance import traceability as trace
from shouhu.storage import traceability as store
from shouhu.web import traceability as web
from shouhu.web.auth import app_state, record, require
from shouhu.web.params import Offset, Version
from shouhu.web.render import lang_of, page

router = APIRouter()
Reader = Depends(require(Action.TRACE_READ))


@router.get("/trace")
def sessions(request: Request, principal: Principal = Reader, q: str = Query("", max_length=64),
             verify: bool = False, offset: Offset = 0) -> Response:
    state = app_state(request)
    rows = store.list_sessions(state.engine, q=q.strip() or None, limit=100, offset=offset)
    checked = trace.verify(state.engine) if verify else None
    record(state, principal, "trace.list", "trace", "*", request, q=q.strip(), shown=len(rows))
    if checked is not None:
        record(state, principal, "trace.verify", "trace", "*", request, ok=checked.ok,
               broken=checked.broken_id or "")
    lang = lang_of(request)
    return page(request, "console/trace.html", rows=rows, q=q, checked=checked, offset=offset,
                counts=trace.status(state.engine), L=lambda group, code: web.label(group, code, lang))


@router.get("/trace/sessions/{session_id}")
def replay(session_id: str, request: Request, principal: Principal = Reader) -> Response:
    state = app_state(request)
    web.session_or_404(state, principal, session_id)
    replayed = trace.replay(state.engine, state.cipher, session_id, masked=True)
    proof = None
    if replayed["session"]["seal_seq"] is not None:
        try:
            proof = trace.proof(state.engine, session_id)
            proof["ok"] = trace.check_proof(proof)
        except (trace.Conflict, trace.NotFound):
            proof = None
    record(state, principal, "trace.replay", "trace_session", session_id, request, masked=True,
           customer_id=replayed["session"]["customer_id"])
    lang = lang_of(request)
    return page(request, "console/trace_session.html", s=replayed["session"], replayed=replayed, proof=proof,
                timeline=web.timeline_rows(replayed, lang),
                who=web.customer_masked(state, replayed["session"]["customer_id"]),
                L=lambda group, code: web.label(group, code, lang))


@router.get("/trace/pages/{code}/{version}")
def page_version(code: str, version: Version, request: Request, principal: Principal = Reader) -> Response:
    state = app_state(request)
    found = store.page(state.engine, code, version) if len(code) <= 64 else None
    if found is None:
        raise HTTPException(404, f"no sales page {code[:64]} v{version}")
    lang = lang_of(request)
    return page(request, "console/trace_page.html", p=found, hash_ok=trace.sha256(found["content"]) == found["sha256"],
                L=lambda group, c: web.label(group, c, lang))
