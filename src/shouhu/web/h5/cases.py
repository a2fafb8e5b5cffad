"""H5: a customer files an address change, a claim-help request or a complaint for themselves and
follows its status. No customer id in the URL or form: the case is always the signed-in customer's."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.operations import cases as ops
from shouhu.web import cases, i18n
from shouhu.web.auth import app_state, require_customer_session
from shouhu.web.render import lang_of, page

router = APIRouter()
Customer = Depends(require_customer_session)

i18n.register({
    "h5_cases": ("我的服务申请", "My service requests"),
    "h5_case_new": ("提交新申请", "New request"),
    "h5_case_done": ("已提交,我们会尽快处理。", "Submitted: we will be in touch soon."),
    "h5_case_due": ("预计办结", "Expected by"),
    "h5_case_none": ("暂无服务申请", "No requests yet"),
    "h5_new_address": ("新地址(地址变更时填写)", "New address (for an address change)"),
    "h5_incident_date": ("出险日期(理赔协助时填写)", "Date of the event (for claim help)"),
})


def _page(request: Request, principal: Principal, status_code: int = 200, error: str | None = None,
          values: dict[str, str] | None = None) -> Response:
    state, lang = app_state(request), lang_of(request)
    assert principal.customer_id
    mine = cases.list_cases(state, principal, view="all", customer_id=principal.customer_id, limit=50, lang=lang)
    return page(request, "h5/cases.html", status_code=status_code, items=mine["items"], error=error,
                values=values or {}, done=request.query_params.get("done"),
                types=[(t, ops.CaseType(t).label(lang)) for t in ops.H5_TYPES],
                claim_types=[(t.value, t.label(lang)) for t in ops.ClaimType],
                policies=cases._policy_nos(state, principal, principal.customer_id), here="/h5/cases")


@router.get("/cases")
def my_cases(request: Request, principal: Principal = Customer) -> Response:
    return _page(request, principal)


@router.post("/cases")
async def submit(request: Request, principal: Principal = Customer) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    kind = form.get("case_type", "")
    wanted = {"address_change": ("new_address",), "claim_help": ("incident_date",), "complaint": ("category",)}
    fields = {k: form.get(k, "") for k in wanted.get(kind, ())}
    assert principal.customer_id
    try:
        cases.open_case(app_state(request), principal, request, customer_id=principal.customer_id, case_type=kind,
                        subject=form.get("subject", ""), detail=form.get("detail", ""),
                        policy_no=form.get("policy_no") or None, claim_type=form.get("claim_type") or None,
                        fields=fields)
    except HTTPException as e:
        if e.status_code == 404:
            raise
        return _page(request, principal, 400, str(e.detail), form)
    return RedirectResponse("/h5/cases?done=1", status_code=303)
