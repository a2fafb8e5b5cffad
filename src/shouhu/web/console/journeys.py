"""Console pages for journeys: the list with the editor (YAML form: check, then publish as a new version),
one journey with per-node statistics, A/B conversion and a funnel, and consent on the customer page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.errors import InvalidInput
from shouhu.storage import journeys as store
from shouhu.web import i18n
from shouhu.web import journeys as web
from shouhu.web.auth import app_state, require
from shouhu.web.customers import record_or_404
from shouhu.web.render import lang_of, page

router = APIRouter()
Reader = Depends(require(Action.JOURNEY_READ))
Manager = Depends(require(Action.JOURNEY_MANAGE))
ConsentWriter = Depends(require(Action.CONSENT_WRITE))

i18n.register({
    "journeys": ("客户旅程", "Journeys"),
    "journey_none": ("还没有发布的旅程", "No journey published yet"),
    "journey_key": ("旅程编码", "Key"), "journey_name": ("名称", "Name"), "journey_status": ("状态", "Status"),
    "journey_version": ("当前版本", "Version"), "journey_enrolled": ("进入人数", "Enrolled"),
    "journey_active": ("旅程中", "Active"), "journey_converted": ("达成目标", "Converted"),
    "journey_editor": ("旅程编辑器（YAML）", "Journey editor (YAML)"),
    "journey_editor_hint": ("发布修改会生成新版本；已在旅程中的客户按其进入时的版本走完。",
                            "Publishing an edit creates a new version; people already inside finish the version "
                            "they entered."),
    "journey_check": ("检查", "Check"), "journey_publish": ("发布", "Publish"),
    "journey_ok": ("检查通过", "The journey is valid"), "journey_errors": ("需要修改", "Please fix"),
    "journey_nodes": ("节点", "Nodes"), "journey_node": ("节点", "Node"), "journey_type": ("类型", "Type"),
    "journey_next": ("下一步", "Goes to"), "journey_detail": ("内容", "Detail"),
    "journey_stats": ("节点统计", "Node statistics"), "journey_entered": ("进入", "Entered"),
    "journey_done": ("完成", "Done"), "journey_in_progress": ("进行中", "In progress"),
    "journey_dropped": ("中途退出", "Dropped"), "journey_median": ("停留时间中位数", "Median time"),
    "journey_entry": ("进入条件", "Entry"), "journey_goal": ("目标", "Goal"), "journey_days": ("天内", " days"),
    "journey_outcomes": ("结果", "Outcomes"), "journey_conversion": ("目标转化（按版本与分组）",
                                                                  "Conversion by version and arm"),
    "journey_arm": ("分组", "Arm"), "journey_rate": ("转化率", "Rate"), "journey_vs": ("对照", "Versus"),
    "journey_lift": ("提升", "Lift"), "journey_p": ("p 值", "p-value"), "journey_significant": ("显著", "Significant"),
    "journey_funnel": ("漏斗", "Funnel"), "journey_funnel_steps": ("节点（逗号分隔）", "Nodes (comma separated)"),
    "journey_funnel_by": ("细分", "Breakdown"), "journey_show": ("查看", "Show"),
    "journey_pause": ("暂停进入", "Pause"), "journey_activate": ("恢复进入", "Activate"),
    "journey_archive": ("归档", "Archive"), "journey_edit": ("编辑", "Edit"),
    "journey_versions": ("版本", "Versions"), "journey_published": ("已发布版本", "Published version"),
    "journey_unchanged": ("内容未变化，未生成新版本", "Unchanged: no new version"),
    "journey_status_active": ("进行中", "Active"), "journey_status_paused": ("已暂停", "Paused"),
    "journey_status_archived": ("已归档", "Archived"),
    "consent_record": ("记录客户授权", "Record consent"), "consent_grant": ("同意", "Grant"),
    "consent_withdraw": ("撤回", "Withdraw"), "consent_purpose": ("用途", "Purpose"),
    "consent_channel": ("渠道", "Channel"), "consent_state": ("当前状态", "Current"),
    "consent_granted": ("已同意", "Granted"), "consent_withdrawn": ("已撤回", "Withdrawn"),
    "consent_never": ("未授权", "Not asked"), "consent_note": ("依据（选填）", "Evidence (optional)"),
    "purpose_marketing": ("营销推广", "Marketing"), "purpose_health_data": ("健康数据", "Health data"),
    "purpose_profiling": ("画像分析", "Profiling"), "purpose_partner_sharing": ("合作方共享", "Partner sharing"),
    "dnc": ("免打扰", "Do not contact"), "dnc_block": ("加入免打扰", "Block contact"),
    "dnc_unblock": ("解除免打扰", "Lift the block"), "dnc_reason": ("原因", "Reason"),
    "messages_recent": ("最近消息", "Recent messages"), "message_channel": ("渠道", "Channel"),
    "message_status": ("状态", "Status"), "message_reason": ("原因", "Reason"), "message_at": ("时间", "Time"),
})


def _source_of(state: Any, key: str) -> str:
    found = store.get_journey(state.engine, key)
    if found is None:
        raise HTTPException(404, f"no journey {key}")
    row = store.version_row(state.engine, key, int(found["current_version"]))
    return str(row["source"]) if row else ""


@router.get("/journeys")
def list_page(request: Request, edit: str | None = Query(None, max_length=64), principal: Principal = Reader
              ) -> Response:
    state = app_state(request)
    source = _source_of(state, edit) if edit else ""
    return page(request, "console/journeys.html", journeys=store.list_journeys(state.engine), source=source,
                nodes=None, errors=[], message=request.query_params.get("published"))


@router.post("/journeys/check")
async def check(request: Request, principal: Principal = Reader) -> Response:
    form = await request.form()
    source = str(form.get("source") or "")
    state = app_state(request)
    journey, errors = web.check(source)
    return page(request, "console/journeys.html", status_code=200 if journey else 422,
                journeys=store.list_journeys(state.engine), source=source,
                nodes=web.nodes_table(journey, lang_of(request)) if journey else None, errors=errors, message=None)


@router.post("/journeys")
async def publish(request: Request, principal: Principal = Manager) -> Response:
    form = await request.form()
    source = str(form.get("source") or "")
    state = app_state(request)
    try:
        result = web.publish(state, principal, request, source)
    except InvalidInput as e:
        errors = [str(p) for p in e.data.get("problems", [])] or [e.message]
        return page(request, "console/journeys.html", status_code=422, journeys=store.list_journeys(state.engine),
                    source=source, nodes=None, errors=errors, message=None)
    flag = "v" + str(result["version"]) if result["created"] else "unchanged"
    return RedirectResponse(f"/console/journeys/{result['journey']}?published={flag}", status_code=303)


@router.get("/journeys/{journey_key}")
def journey_page(journey_key: str, request: Request, steps: str = Query("", max_length=500),
                 by: str | None = Query(None, max_length=16), principal: Principal = Reader) -> Response:
    chosen = [s.strip() for s in steps.split(",") if s.strip()]
    breakdown = by if by in ("channel", "segment", "agent", "arm", "version") else None
    lang = lang_of(request)
    data = web.detail(app_state(request), journey_key, chosen, breakdown, lang)
    return page(request, "console/journey.html", j=data, steps=steps, by=breakdown or "", L=web.labeller(lang),
                published=request.query_params.get("published"))


@router.post("/journeys/{journey_key}/status")
async def status(journey_key: str, request: Request, principal: Principal = Manager) -> Response:
    form = await request.form()
    web.set_status(app_state(request), principal, request, journey_key, str(form.get("status") or ""))
    return RedirectResponse(f"/console/journeys/{journey_key}", status_code=303)


@router.post("/customers/{customer_id}/consent")
async def consent(customer_id: str, request: Request, principal: Principal = ConsentWriter) -> Response:
    state = app_state(request)
    record_or_404(state, principal, customer_id)
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    action = form.get("action", "")
    try:
        if action in ("grant", "withdraw"):
            web.change_consent(state, principal, request, customer_id, form.get("purpose", ""),
                               form.get("channel", "any"), action == "grant", "console", form.get("note") or None)
        elif action in ("block", "unblock"):
            web.contact_block(state, principal, request, customer_id, form.get("channel", "any"), action == "block",
                              form.get("reason", ""))
        else:
            raise InvalidInput("action must be grant, withdraw, block or unblock", field="action")
    except InvalidInput as e:
        raise HTTPException(422, e.message) from None
    return RedirectResponse(f"/console/customers/{customer_id}#journeys", status_code=303)
