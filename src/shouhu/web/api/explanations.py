"""Explanations of the automated decisions about a customer (PIPL art. 24, 44, 48): every decision with
what was decided, when and by which model or rule, the inputs and their values (masked as the caller
sees them), the main reasons and the customer's options. Within the caller's row scope; audited."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.web import explanations
from shouhu.web.auth import app_state, require
from shouhu.web.render import json_response

router = APIRouter(tags=["customers"])
Reader = Depends(require(Action.CUSTOMER_READ))


@router.get("/customers/{customer_id}/explanations",
            summary="Every automated decision about the customer, explained: outcome (zh and en), when, model or "
                    "rule version, inputs with their values (masked), main reasons, the customer's options "
                    "(audited)", response_model=dict[str, Any])
def get_explanations(customer_id: str, request: Request, principal: Principal = Reader,
                     audience: Literal["staff", "customer"] = Query(
                         "staff", description="staff: with the internal ranking figures; customer: as the "
                                              "customer's H5 page shows it"),
                     lang: Literal["zh", "en"] = Query("zh", description="recorded in the audit entry")) -> Response:
    return json_response(explanations.explanation(app_state(request), principal, customer_id, request,
                                                  audience=audience, lang=lang))
