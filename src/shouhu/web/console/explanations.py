"""Console page: the explanations of every automated decision about one customer (linked from the 360
page), Chinese first with English. Within the caller's row scope (404 outside it); audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.web import explanations
from shouhu.web.auth import app_state, require
from shouhu.web.render import lang_of, page

router = APIRouter()
Reader = Depends(require(Action.CUSTOMER_READ))


@router.get("/customers/{customer_id}/explanations")
def explanations_page(customer_id: str, request: Request, principal: Principal = Reader) -> Response:
    lang = lang_of(request)
    data = explanations.explanation(app_state(request), principal, customer_id, request, audience="staff",
                                    lang=lang)
    return page(request, "console/explanations.html", e=data,
                source=lambda code: explanations.source_label(code, lang))
