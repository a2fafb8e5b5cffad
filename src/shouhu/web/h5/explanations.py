"""H5: "why you see this" for the signed-in customer: each automated decision the platform made about
them in plain words, with the information used and the main reasons (no internal figures), a link to
ask for a human review and one to withdraw profiling consent. Always the signed-in customer's own:
no customer id in the URL."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from shouhu.access.policy import Principal
from shouhu.compliance.explain import CONSENT_URL, HUMAN_REVIEW_URL
from shouhu.web import explanations
from shouhu.web.auth import app_state, require_customer_session
from shouhu.web.render import lang_of, page

router = APIRouter()
Customer = Depends(require_customer_session)


@router.get("/explanations")
def explanations_page(request: Request, principal: Principal = Customer) -> Response:
    assert principal.customer_id
    data = explanations.explanation(app_state(request), principal, principal.customer_id, request,
                                    audience="customer", lang=lang_of(request))
    return page(request, "h5/explanations.html", e=data, here="/h5/explanations", review_url=HUMAN_REVIEW_URL,
                consent_url=CONSENT_URL)
