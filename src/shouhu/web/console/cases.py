"""Console pages for service cases: the list (due and breached first), one case with its history and
status buttons, and the new-case form opened from the customer 360 page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.operations import cases as ops
from shouhu.web import cases, i18n
from shouhu.web.auth import app_state, require
from shouhu.web.customers import record_or_404
from shouhu.web.params import Offset, RowId
from shouhu.web.render import lang_of, page
from shouhu.web.shaping import shape

router = APIRouter()
Reader = Depends(require(Action.CUSTOMER_READ))
Writer = Depends(require(Action.CASE_WRITE))
VIEWS = ("open", "breached", "waiting", "closed", "all")

i18n.register({
    "cases": ("服务工单", "Service cases"),
    "case_new": ("新建服务工单", "New service case"),
    "case_view_open": ("处理中", "Open"), "case_view_breached": ("已超时", "Breached"),
    "case_view_waiting": ("等待客户", "Waiting on customer"), "case_view_closed": ("已结束", "Finished"),
    "case_view_all": ("全部", "All"),
    "case_none": ("没有服务工单", "No cases"),
    "case_type": ("工单类型", "Case type"), "case_subject": ("事由", "Subject"), "case_detail": ("说明", "Details"),
    "case_policy": ("保单号", "Policy"), "case_claim_type": ("理赔类型", "Claim type"),
    "case_priority": ("优先级", "Priority"), "case_status": ("状态", "Status"),
    "case_response_due": ("首次响应时限", "Response due"), "case_resolution_due": ("办结时限", "Resolution due"),
    "case_sla": ("时效", "SLA"), "case_owner": ("负责人", "Owner"), "case_opened": ("受理时间", "Opened"),
    "case_channel": ("来源", "Channel"), "case_history": ("处理记录", "History"),
    "case_checklist": ("理赔材料清单", "Claim documents"), "case_received": ("已收到", "Received"),
    "case_missing": ("待补充", "Missing"), "case_move": ("更新状态", "Change status"),
    "case_reopen": ("重新打开", "Reopen"), "case_note": ("备注", "Note"), "case_submit": ("提交", "Submit"),
    "case_fields": ("申请内容", "Request"), "case_masked_hint": ("敏感信息已脱敏显示", "Sensitive values are masked"),
    "case_sla_note": ("时效说明", "SLA note"), "case_first_response": ("首次响应", "First response"),
    "case_kind_created": ("受理", "Opened"), "case_kind_status": ("状态变更", "Status change"),
    "case_kind_comment": ("备注", "Comment"), "case_kind_breach": ("超时", "SLA breach"),
    "case_kind_escalation": ("升级", "Escalation"), "case_kind_reopen": ("重新打开", "Reopened"),
    "case_kind_checklist": ("材料", "Documents"),
})


def _form_values(form: Any) -> dict[str, str]:
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


@router.get("/cases")
def list_page(request: Request, view: str = Query("open", max_length=16),
              customer_id: str | None = Query(None, max_length=64), offset: Offset = 0,
              principal: Principal = Reader) -> Response:
    chosen = view if view in VIEWS else "open"
    state = app_state(request)
    if customer_id:
        record_or_404(state, principal, customer_id)
    data = cases.list_cases(state, principal, view=chosen, customer_id=customer_id or None, limit=50,
                            offset=offset, lang=lang_of(request))

    def link(**kw: Any) -> str:
        return "/console/cases?" + urlencode({"view": chosen, "customer_id": customer_id or ""} | kw)

    return page(request, "console/cases.html", data=data, view=chosen, views=VIEWS, customer_id=customer_id or "",
                next_link=link(offset=data["next_offset"]) if data["next_offset"] is not None else None)


def _new_form(request: Request, principal: Principal, customer_id: str, status_code: int = 200,
              error: str | None = None, values: dict[str, str] | None = None) -> Response:
    state = app_state(request)
    customer = shape(principal, record_or_404(state, principal, customer_id), state.cipher)
    lang = lang_of(request)
    policies = cases._policy_nos(state, principal, customer_id)
    return page(request, "console/case_new.html", status_code=status_code, customer=customer, policies=policies,
                types=[(t.value, t.label(lang)) for t in ops.CaseType],
                claim_types=[(t.value, t.label(lang)) for t in ops.ClaimType],
                fields={k: [(s.name, s.zh if lang == "zh" else s.en, s.hint) for s in v]
                        for k, v in ops.FIELDS.items()},
                error=error, values=values or {})


@router.get("/cases/new")
def new_page(request: Request, customer_id: str = Query(max_length=64), principal: Principal = Writer) -> Response:
    return _new_form(request, principal, customer_id)


@router.post("/cases")
async def create(request: Request, principal: Principal = Writer) -> Response:
    form = _form_values(await request.form())
    customer_id = form.get("customer_id", "")
    fields = {k[2:]: v for k, v in form.items() if k.startswith("f_") and v.strip()}
    kind = form.get("case_type", "")
    fields = {k: v for k, v in fields.items() if k in {s.name for s in ops.FIELDS.get(kind, ())}}
    try:
        priority = int(form.get("priority") or 2)
        made = cases.open_case(app_state(request), principal, request, customer_id=customer_id, case_type=kind,
                               subject=form.get("subject", ""), detail=form.get("detail", ""),
                               policy_no=form.get("policy_no") or None, claim_type=form.get("claim_type") or None,
                               priority=priority, fields=fields)
    except (HTTPException, ValueError) as e:
        if isinstance(e, HTTPException) and e.status_code == 404:
            raise
        return _new_form(request, principal, customer_id, 400, getattr(e, "detail", str(e)), form)
    return RedirectResponse(f"/console/cases/{made['id']}", status_code=303)


@router.get("/cases/{case_id}")
def case_page(case_id: RowId, request: Request, principal: Principal = Reader) -> Response:
    lang = lang_of(request)
    data = cases.get_case(app_state(request), principal, case_id, lang)
    moves = sorted(ops.TRANSITIONS[data["status"]])
    return page(request, "console/case.html", case=data, moves=[(m, ops.CaseStatus(m).label(lang)) for m in moves],
                can_reopen=data["status"] in ops.DONE, error=request.query_params.get("error"))


@router.post("/cases/{case_id}/status")
async def move(case_id: RowId, request: Request, principal: Principal = Writer) -> Response:
    form = _form_values(await request.form())
    try:
        cases.change_status(app_state(request), principal, request, case_id, form.get("status", ""),
                            form.get("note", ""))
    except HTTPException as e:
        if e.status_code == 404:
            raise
        return RedirectResponse(f"/console/cases/{case_id}?" + urlencode({"error": str(e.detail)[:200]}),
                                status_code=303)
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)
