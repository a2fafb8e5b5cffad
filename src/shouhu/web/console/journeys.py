"""Console pages for journeys: the list with the editor (YAML form: check, then publish as a new version),
one journey with per-node statistics, A/B conversion and a funnel, and consent on the customer page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.errors import InvalidInput
from shouhu.journeys import editing
from shouhu.journeys.definition import CHANNELS, EVENT_TYPES, NODE_TYPES, OPS
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
    "journey_graph": ("旅程图", "Journey graph"),
    "journey_new": ("新建旅程", "New journey"), "journey_new_hint": ("填写后生成旅程草稿，再逐个添加节点。",
                                                                 "Makes a draft; then add nodes one by one."),
    "journey_name_zh": ("中文名称", "Chinese name"), "journey_name_en": ("英文名称", "English name"),
    "journey_entry_event": ("进入事件", "Entry event"),
    "journey_goal_event": ("目标事件（选填）", "Goal event (optional)"),
    "journey_goal_days": ("归因天数", "Attribution days"), "journey_make": ("生成草稿", "Make the draft"),
    "journey_add": ("添加节点", "Add a node"), "journey_add_hint": (
        "新节点放在所选出口上，原来的去向接在新节点之后；提交后重新检查，发布前可在上方YAML中继续修改。",
        "The new node goes on the chosen exit and leads where it led; the journey is checked again and the "
        "YAML above stays editable until you publish."),
    "journey_after": ("放在", "Place on"), "journey_before_start": ("最前面（开始之前）", "Before the start"),
    "journey_node_id": ("节点编码", "Node id"), "journey_add_btn": ("添加", "Add"),
    "journey_remove": ("删除节点", "Remove a node"), "journey_remove_btn": ("删除", "Remove"),
    "jf_wait_mode": ("等待方式", "Wait for"), "jf_duration": ("时长（如 3d、2h）", "Duration (3d, 2h)"),
    "jf_until_time": ("到时刻（HH:MM）", "Until time (HH:MM)"), "jf_until_event": ("等待事件", "Until event"),
    "jf_timeout": ("最长等待（如 7d）", "Timeout (7d)"), "jf_attr": ("客户属性", "Attribute"),
    "jf_op": ("比较", "Operator"), "jf_value": ("值", "Value"), "jf_arms": ("分组:比例（如 a:45,b:45）",
                                                                        "Arms name:weight (a:45,b:45)"),
    "jf_holdout": ("对照组%", "Holdout %"), "jf_channel": ("渠道", "Channel"), "jf_template": ("模板编码", "Template"),
    "jf_title": ("标题", "Title"), "jf_due_in": ("期限（如 2d）", "Due in (2d)"), "jf_priority": ("优先级 1-3",
                                                                                          "Priority 1-3"),
    "jf_summary": ("摘要", "Summary"), "jf_link": ("链接", "Link"), "jf_tag": ("标签编码", "Tag"),
    "exit_next": ("下一步", "next"), "exit_timeout_next": ("超时", "on timeout"), "exit_else": ("其他情况", "else"),
    "exit_case": ("条件", "case "), "exit_arm": ("分组", "arm "),
    "wait_duration": ("一段时间", "a duration"), "wait_until_time": ("到某时刻", "a time of day"),
    "wait_until_event": ("某事件（有超时）", "an event (with timeout)"),
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


def _editor(request: Request, source: str, errors: list[str] | None = None, message: str | None = None,
            checked: bool = True) -> Response:
    """The list with the editor holding ``source``: checked (nodes, graph or problems) unless ``checked`` is
    false, with the form editor's choices (where a node can go, which nodes can be removed)."""
    state = app_state(request)
    lang = lang_of(request)
    journey, problems = web.check(source) if checked and source.strip() else (None, [])
    problems = [*(errors or []), *problems]
    return page(request, "console/journeys.html", status_code=422 if problems else 200,
                journeys=store.list_journeys(state.engine), source=source,
                nodes=web.nodes_table(journey, lang) if journey else None,
                graph=web.graph(journey, lang) if journey else None, errors=problems, message=message,
                slots=_slot_options(source, lang), node_ids=editing.node_ids(source), L=web.labeller(lang),
                node_types=NODE_TYPES, channels=CHANNELS, events=EVENT_TYPES, ops=OPS)


def _slot_options(source: str, lang: str) -> list[tuple[str, str]]:
    """Where the add-node form can put a node, as (value, label): "remind · 下一步", "split · 分组 sms"."""
    t = i18n.translator(lang)
    out = []
    for value, node, exit_ in editing.slots(source):
        if value == "@start":
            out.append((value, t("journey_before_start")))
            continue
        kind, _, rest = exit_.partition(":")
        what = t(f"exit_{kind}") + (str(int(rest) + 1) if kind == "case" else rest)
        out.append((value, f"{node} · {what}"))
    return out


@router.get("/journeys")
def list_page(request: Request, edit: str | None = Query(None, max_length=64), principal: Principal = Reader
              ) -> Response:
    source = _source_of(app_state(request), edit) if edit else ""
    return _editor(request, source, message=request.query_params.get("published"), checked=False)


@router.post("/journeys/check")
async def check(request: Request, principal: Principal = Reader) -> Response:
    form = await request.form()
    return _editor(request, str(form.get("source") or ""))


def _form_text(form: Any, name: str, limit: int = 500) -> str:
    value = str(form.get(name) or "")
    if len(value) > limit:
        raise HTTPException(422, f"{name}: at most {limit} characters")
    return value


@router.post("/journeys/new")
async def new(request: Request, principal: Principal = Reader) -> Response:
    """The form for a new journey: a starting YAML with its entry, goal and one end node."""
    form = await request.form()
    try:
        days = int(_form_text(form, "goal_days", 8) or 30)
    except ValueError:
        return _editor(request, "", ["goal_days: must be a whole number of days"])
    try:
        source = editing.starter(_form_text(form, "key", 64), _form_text(form, "name_zh", 200),
                                 _form_text(form, "name_en", 200), _form_text(form, "event", 64),
                                 _form_text(form, "goal_event", 64), days)
    except InvalidInput as e:
        return _editor(request, "", [e.message])
    return _editor(request, source)


@router.post("/journeys/add-node")
async def add_node(request: Request, principal: Principal = Reader) -> Response:
    """Put a new node on one exit of a node (or before the start); the YAML is rewritten and checked."""
    form = await request.form()
    source = _form_text(form, "source", 100_000)
    node_type = _form_text(form, "node_type", 16)
    fields = {f: _form_text(form, f) for f in editing.FIELDS.get(node_type, ())}
    try:
        source = editing.insert_node(source, _form_text(form, "after", 130), _form_text(form, "node_id", 64),
                                     node_type, fields)
    except InvalidInput as e:
        return _editor(request, source, [e.message])
    return _editor(request, source)


@router.post("/journeys/remove-node")
async def remove_node(request: Request, principal: Principal = Reader) -> Response:
    form = await request.form()
    source = _form_text(form, "source", 100_000)
    try:
        source = editing.remove_node(source, _form_text(form, "remove", 64))
    except InvalidInput as e:
        return _editor(request, source, [e.message])
    return _editor(request, source)


@router.post("/journeys")
async def publish(request: Request, principal: Principal = Manager) -> Response:
    form = await request.form()
    source = str(form.get("source") or "")
    state = app_state(request)
    try:
        result = web.publish(state, principal, request, source)
    except InvalidInput as e:
        errors = [str(p) for p in e.data.get("problems", [])] or [e.message]
        return _editor(request, source, errors, checked=False)
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
