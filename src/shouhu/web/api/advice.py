"""Advice: questionnaires, assessments, needs diagnosis, plan and the policy review PDF of a customer.

Every route needs ``advice.run`` and a customer inside the caller's row scope (404 otherwise).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.web import advice
from shouhu.web.auth import app_state, require
from shouhu.web.customers import record_or_404

router = APIRouter(tags=["advice"])
Adviser = Depends(require(Action.ADVICE_RUN))
MethodQuery = Query("dime", description="life need method: " + ", ".join(advice.METHODS))


def _method(value: str) -> str:
    if value not in advice.METHODS:
        raise RequestValidationError([{"loc": ("query", "method"), "type": "value_error",
                                       "msg": f"unknown life need method {value!r}; valid: "
                                              + ", ".join(advice.METHODS)}])
    return value


@router.get("/questionnaires/{questionnaire}", summary="A questionnaire's definition (questions, options, levels)")
def get_questionnaire(questionnaire: Literal["risk_tolerance", "fact_find"], version: str | None = None,
                      principal: Principal = Adviser) -> dict[str, Any]:
    q = advice.questionnaire(questionnaire, version)
    return {"id": q.id, "version": q.version, "kind": q.kind, "zh": q.zh, "en": q.en,
            "questions": list(q.questions), "levels": list(q.levels)}


class AssessmentRequest(BaseModel):
    questionnaire: Literal["risk_tolerance", "fact_find"] = Field(
        description="risk_tolerance (scored R1-R5) or fact_find (needs facts)")
    answers: dict[str, Any] = Field(description="question id -> answer, as in GET /questionnaires/{id}")
    version: str | None = Field(None, max_length=16, description="questionnaire version; default the latest")


@router.post("/customers/{customer_id}/assessments", status_code=201,
             summary="Record a risk assessment or fact-find taken with the customer (audited)")
def create_assessment(customer_id: str, body: AssessmentRequest, request: Request,
                      principal: Principal = Adviser) -> dict[str, Any]:
    state = app_state(request)
    try:
        result = advice.take(state, principal, customer_id, body.questionnaire, body.answers, request, body.version)
    except advice.AnswersInvalid as e:
        raise RequestValidationError([{"loc": ("body", "answers", qid), "type": "value_error", "msg": reason}
                                      for qid, reason in e.problems.items()]) from None
    return result.to_dict()


@router.get("/customers/{customer_id}/assessments", summary="The customer's assessments, oldest first")
def list_assessments(customer_id: str, request: Request, principal: Principal = Adviser) -> dict[str, Any]:
    state = app_state(request)
    record_or_404(state, principal, customer_id)
    items = [a.to_dict() for a in advice.assessments(state, principal).history(customer_id)]
    return {"customer_id": customer_id, "items": items}


@router.get("/customers/{customer_id}/diagnosis", summary="Needs and protection gaps of the customer's household")
def get_diagnosis(customer_id: str, request: Request, method: str = MethodQuery,
                  principal: Principal = Adviser) -> dict[str, Any]:
    result = advice.advise(app_state(request), principal, customer_id, request, method=_method(method),
                           with_plan=False)
    return dict(result["diagnosis"])


@router.get("/customers/{customer_id}/plan",
            summary="Recommended protection plan, alternatives and suitability (every check is logged)")
def get_plan(customer_id: str, request: Request, method: str = MethodQuery,
             budget: float | None = Query(None, ge=0, le=100_000_000,
                                          description="yearly premium budget (CNY); default the fact-find's "
                                                      "budget, else the double-ten rule"),
             principal: Principal = Adviser) -> dict[str, Any]:
    return advice.advise(app_state(request), principal, customer_id, request, method=_method(method), budget=budget)


@router.get("/customers/{customer_id}/review.pdf", summary="Policy review report as PDF (audited as an export)",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def get_review_pdf(customer_id: str, request: Request,
                   lang: Literal["zh", "en"] = Query("zh", description="report language"),
                   principal: Principal = Adviser) -> Response:
    data = advice.review_pdf(app_state(request), principal, customer_id, lang, request)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{advice.pdf_name(customer_id)}"'})
