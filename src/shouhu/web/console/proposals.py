"""Console: share the plan on the advice page as a proposal link (建议书) and withdraw it (HTMX
fragments). Needs ``advice.run``; the customer must be in the caller's row scope (404 otherwise)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.advice.methods import DEFAULT_METHOD
from shouhu.web import i18n, proposals
from shouhu.web.auth import app_state, require
from shouhu.web.console.advice import _budget
from shouhu.web.params import RowId
from shouhu.web.render import page

router = APIRouter()
Adviser = Depends(require(Action.ADVICE_RUN))

i18n.register({
    "prop_share": ("生成建议书链接", "Share as a proposal link"),
    "prop_share_hint": ("客户凭链接在手机上查看本方案(姓名脱敏,不含证件号和手机号),{days}天内有效,可随时撤回",
                        "The customer opens this plan on a phone with the link (name masked, no ID or phone); "
                        "valid {days} days, withdraw any time"),
    "prop_link": ("建议书链接(仅显示一次)", "Proposal link (shown once)"),
    "prop_revoke": ("撤回链接", "Withdraw link"),
    "prop_revoked": ("链接已撤回", "Link withdrawn"),
    "prop_expires": ("有效期至", "Valid until"),
    "prop_failed": ("未能生成", "Not created"),
})


@router.post("/advice/proposals")
def share(request: Request, customer_id: str = Form(..., max_length=64), method: str = Form(DEFAULT_METHOD),
          budget: str = Form("", max_length=32), principal: Principal = Adviser) -> Response:
    value, error = _budget(budget)
    if error:
        return page(request, "console/_proposal_link.html", status_code=400, link=None, error=error)
    try:
        link = proposals.create(app_state(request), principal, request, customer_id, method=method, budget=value)
    except HTTPException as e:
        if e.status_code == 404:
            raise
        return page(request, "console/_proposal_link.html", status_code=e.status_code, link=None, error=str(e.detail))
    return page(request, "console/_proposal_link.html", link=link, error=None)


@router.post("/proposals/{proposal_id}/revoke")
def withdraw(proposal_id: RowId, request: Request, principal: Principal = Adviser) -> Response:
    try:
        proposals.revoke(app_state(request), principal, request, proposal_id)
    except HTTPException as e:
        if e.status_code != 409:
            raise
    return page(request, "console/_proposal_link.html", link=None, error=None, revoked=proposal_id)
