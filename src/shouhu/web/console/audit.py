"""Console: the audit log (filter, page, verify the hash chain) and the consent overview."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shouhu.access.policy import Principal, allowed
from shouhu.access.roles import Action
from shouhu.web import display, i18n
from shouhu.web.api import audit as service
from shouhu.web.auth import app_state, require
from shouhu.web.params import BeforeSeq
from shouhu.web.render import page

router = APIRouter()
Reader = Depends(require(Action.AUDIT_READ))
PAGE = 50

i18n.register({
    "aud_entries": ("审计记录", "Entries"),
    "aud_verify": ("校验哈希链", "Verify the hash chain"),
    "aud_verify_hint": ("重新计算每条记录的哈希；任何修改或删除都会被发现。",
                        "Recomputes every entry's hash; any change or removal is detected."),
    "aud_ok": ("审计日志完整", "The audit log is intact"),
    "aud_broken": ("审计日志被篡改", "The audit log was tampered with"),
    "aud_broken_at": ("首个异常记录序号", "First bad entry"),
    "aud_entries_verified": ("已校验记录数", "Entries verified"),
    "aud_head": ("链头哈希", "Head hash"),
    "aud_seq": ("序号", "Seq"),
    "aud_at": ("时间", "When"),
    "aud_actor": ("操作人", "Who"), "aud_anonymous": ("匿名访问", "anonymous"),
    "aud_role": ("角色", "Role"),
    "aud_action": ("操作", "Action"),
    "aud_target": ("对象", "Target"),
    "aud_reason": ("原因", "Why"),
    "aud_detail": ("详情", "Detail"),
    "aud_client": ("来源地址", "Client"),
    "aud_any_action": ("全部操作", "Any action"),
    "aud_filter": ("筛选", "Filter"),
    "aud_older": ("更早的记录", "Older entries"),
    "aud_none": ("没有符合条件的记录", "No entries"),
    "aud_consent": ("营销同意情况", "Marketing consent"),
    "aud_consented": ("已同意", "Consented"),
    "aud_not_consented": ("未同意", "Not consented"),
    "aud_unknown": ("未知", "Unknown"),
    "aud_consent_rate": ("同意率", "Consent rate"),
    "aud_stage": ("生命周期阶段", "Lifecycle stage"),
    "aud_customers": ("客户数", "Customers"),
})


@router.get("/audit")
def audit_page(request: Request, action: str | None = Query(None, max_length=48),
               actor: str | None = Query(None, max_length=64), target_id: str | None = Query(None, max_length=160),
               before_seq: BeforeSeq = None, principal: Principal = Reader) -> Response:
    state = app_state(request)
    entries = service.entries(state, action=action, actor=actor, target_id=target_id, limit=PAGE,
                              before_seq=before_seq)
    for e in entries["items"]:
        e["detail_text"] = json.dumps(e["detail"], ensure_ascii=False) if e["detail"] else ""
    filters = {"action": action or "", "actor": actor or "", "target_id": target_id or ""}
    if request.headers.get("hx-request"):
        return page(request, "console/audit_entries.html", entries=entries, filters=filters)
    consent = service.consent_summary(state, principal) if allowed(principal, Action.CONSENT_READ) else None
    actions = list(service.KNOWN_ACTIONS) + [a for a in display.AUDIT_ACTIONS if a not in service.KNOWN_ACTIONS]
    return page(request, "console/audit.html", entries=entries, filters=filters, actions=actions, consent=consent)


@router.get("/audit/verify")
def verify(request: Request, principal: Principal = Reader) -> Response:
    return page(request, "console/audit_verify.html", result=service.verification(app_state(request)))
