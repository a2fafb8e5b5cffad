"""Console: build a segment rule (with tags), count it, preview its customers (masked), export a CSV.

Everything runs through web.api.segments, so counts and exports are limited to the caller's scope
and exports are audited there.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.web import i18n
from shouhu.web.api import segments as service
from shouhu.web.auth import app_state, require
from shouhu.web.params import MAX_OFFSET
from shouhu.web.render import page

router = APIRouter()
Reader = Depends(require(Action.SEGMENT_READ))
PAGE = 20

i18n.register({
    "seg_rule": ("客群规则", "Rule"),
    "seg_rule_hint": ('例如：age >= 30 and city in ("上海市", "北京市") and policies_in_force == 0',
                      'e.g. age >= 30 and city in ("上海市", "北京市") and policies_in_force == 0'),
    "seg_tags": ("同时具备标签", "Also require tags"),
    "seg_tags_scope": ("标签（您权限范围内的客户数）", "Tags (customers within your scope)"),
    "seg_count": ("计数", "Count"),
    "seg_preview": ("预览客户", "Preview customers"),
    "seg_export": ("导出CSV（脱敏）", "Export CSV (masked)"),
    "seg_purpose": ("导出用途（必填，记入审计日志）", "Purpose (required, audited)"),
    "seg_customers": ("符合条件的客户", "Matching customers"),
    "seg_scope_note": ("仅统计您权限范围内的客户。", "Only customers within your scope are counted."),
    "seg_columns": ("可用字段", "Columns a rule can use"),
    "seg_col_type": ("类型", "Type"),
    "seg_sensitive": ("敏感", "sensitive"),
    "seg_not_usable": ("（您的角色不可用）", "(not for your role)"),
    "seg_more": ("下一页", "Next page"),
    "seg_prev": ("上一页", "Previous page"),
    "seg_error": ("规则有误", "The rule has a problem"),
    "seg_none": ("没有符合条件的客户", "No customer matches"),
    "seg_chart": ("各标签客户数", "Customers per tag"),
    "seg_col_column": ("字段", "Column"),
    "seg_col_customer_id": ("客户号", "Customer"),
    "seg_col_name": ("姓名", "Name"),
    "seg_col_phone": ("手机", "Phone"),
    "seg_col_age": ("年龄", "Age"),
    "seg_col_city": ("城市", "City"),
    "seg_col_lifecycle": ("生命周期", "Lifecycle"),
    "seg_col_policies_in_force": ("有效保单", "Policies in force"),
})


def _context(request: Request, principal: Principal) -> dict[str, Any]:
    state = app_state(request)
    return {"tags": service.tags_in_scope(state, principal), "columns": service.columns()}


def _error(request: Request, status: int, message: str, position: int | None = None, rule: str = "") -> Response:
    return page(request, "console/segments_result.html", status_code=status, error=message, position=position,
                rule=rule)


@router.get("/segments")
def segments_page(request: Request, principal: Principal = Reader) -> Response:
    return page(request, "console/segments.html", rule="", chosen=[], error=None, **_context(request, principal))


@router.post("/segments/count")
def count(request: Request, rule: str = Form(""), tags: list[str] = Form([]),
          principal: Principal = Reader) -> Response:
    state = app_state(request)
    try:
        checked = service.check(state, principal, rule, tags)
        n = service.count(state, principal, checked)
    except service.BadRule as e:
        return _error(request, 400, e.message, e.position, rule)
    except HTTPException as e:
        return _error(request, e.status_code, str(e.detail))
    service.audit_sensitive(state, principal, checked, request, "count")
    return page(request, "console/segments_result.html", error=None, count=n, preview=None, rule=rule)


@router.post("/segments/preview")
def preview(request: Request, rule: str = Form(""), tags: list[str] = Form([]),
            offset: int = Form(0, ge=0, le=MAX_OFFSET),
            principal: Principal = Reader) -> Response:
    state = app_state(request)
    try:
        checked = service.check(state, principal, rule, tags)
        result = service.preview(state, principal, checked, limit=PAGE, offset=max(0, offset))
    except service.BadRule as e:
        return _error(request, 400, e.message, e.position, rule)
    except HTTPException as e:
        return _error(request, e.status_code, str(e.detail))
    service.audit_sensitive(state, principal, checked, request, "preview")
    return page(request, "console/segments_result.html", error=None, count=result["customers"], preview=result,
                rule=rule, page_size=PAGE)


@router.post("/segments/export")
def export(request: Request, rule: str = Form(""), tags: list[str] = Form([]), purpose: str = Form(""),
           use: str = Form("service", max_length=32),
           principal: Principal = Depends(require(Action.SEGMENT_EXPORT))) -> Response:
    state = app_state(request)

    def again(status: int, message: str) -> Response:
        return page(request, "console/segments.html", status_code=status, rule=rule, chosen=tags, error=message,
                    **_context(request, principal))

    if len(purpose.strip()) < 2:
        return again(400, "purpose: say what the export is for (at least 2 characters)")
    try:
        checked = service.check(state, principal, rule, tags)
        text, rows, no_consent = service.export_csv(state, principal, checked, purpose, request, use)
    except service.BadRule as e:
        return again(400, e.message)
    except HTTPException as e:
        return again(e.status_code, str(e.detail))
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="segment.csv"', "X-Rows": str(rows),
                             "X-Left-Out-No-Consent": str(no_consent)})
