"""Console: the identity review queue (confirm / reject), merge, split, revert and per-customer history.

The work is done by web.api.identity (the same functions the API calls); decisions are audited there.
Forms post with HTMX; a refused or invalid decision comes back as a fragment with its status code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.errors import ShouhuError
from shouhu.storage import decisions
from shouhu.web import display, i18n
from shouhu.web.api import identity as service
from shouhu.web.auth import app_state, require
from shouhu.web.params import RowId
from shouhu.web.render import lang_of, page

router = APIRouter()
Reviewer = Depends(require(Action.IDENTITY_REVIEW))
Decider = Depends(require(Action.IDENTITY_DECIDE))

i18n.register({
    "idr_queue": ("待复核的疑似重复", "Pairs awaiting review"),
    "idr_takes_effect": ("人工决定记入审计日志。“是同一人”与“合并客户”立即生效"
                         "（记录即刻归入同一客户，客户画像在下次数据刷新时重算）；"
                         "“不是同一人”、拆分与撤销在下次数据刷新时生效。",
                         "Decisions are audited. Same person and merge apply at once (the records join one "
                         "customer now; the profile is rebuilt at the next refresh); different people, split "
                         "and revert take effect at the next refresh."),
    "idr_applied_now": ("已生效，记录已归入客户", "applied: the records now belong to customer"),
    "idr_profile_next": ("客户画像将在下次数据刷新时重算", "the profile is rebuilt at the next refresh"),
    "idr_page": ("第{n}页", "Page {n}"),
    "idr_prev": ("上一页", "Previous"),
    "idr_next": ("下一页", "Next"),
    "idr_filter_all": ("全部", "All"),
    "idr_filter_split": ("仍为不同客户", "Still separate customers"),
    "idr_filter_same": ("已归为同一客户", "Already one customer"),
    "idr_filter_min": ("最低匹配概率(%)", "Minimum probability (%)"),
    "idr_filter_source": ("来源系统", "Source"),
    "idr_filter_all_sources": ("全部来源", "All sources"),
    "idr_filter_submit": ("筛选", "Filter"),
    "idr_rule": ("确定性规则", "deterministic rule"),
    "idr_model": ("匹配模型", "match model"),
    "idr_manual": ("人工决定", "steward's decision"),
    "idr_singleton": ("单条记录", "single record"),
    "idr_queue_empty": ("没有待复核的记录对", "No pair awaits review"),
    "idr_probability": ("匹配概率", "Match probability"),
    "idr_weight": ("匹配权重", "Match weight"),
    "idr_field": ("字段", "Field"),
    "idr_evidence": ("比对结果", "Comparison"),
    "idr_record_left": ("记录A", "Record A"),
    "idr_record_right": ("记录B", "Record B"),
    "idr_customer": ("当前客户", "Current customer"),
    "idr_same_customer": ("已归为同一客户", "already one customer"),
    "idr_records_unavailable": ("暂时无法读取源记录明细", "The source records cannot be read right now"),
    "idr_reason": ("原因（必填，记入审计日志）", "Reason (required, audited)"),
    "idr_confirm": ("是同一人", "Same person"),
    "idr_reject": ("不是同一人", "Different people"),
    "idr_merge": ("合并客户", "Merge customers"),
    "idr_merge_hint": ("两个客户号是同一人（证件号不同的客户不会被合并）。",
                       "Two customers are one person (customers with different ID numbers are never merged)."),
    "idr_customer_a": ("客户号A", "Customer A"),
    "idr_customer_b": ("客户号B", "Customer B"),
    "idr_split": ("拆分记录", "Split a record"),
    "idr_split_hint": ("把一条源记录从它所属的客户中拆出：按身份历史中的写法填写来源系统与记录号，"
                       "如“代理人CRM KH1388072703”。",
                       "Take one source record out of its customer: its source and record number as the "
                       "history shows them, e.g. \"Agency CRM KH1388072703\" (or agent_crm:KH1388072703)."),
    "idr_unique_id": ("源记录（来源系统 记录号）", "Record (source record_id)"),
    "idr_history": ("客户身份历史", "A customer's identity history"),
    "idr_history_hint": ("输入客户号，查看其源记录与所有人工决定。",
                         "Enter a customer id to see its records and decisions."),
    "idr_show": ("查看", "Show"),
    "idr_records": ("源记录", "Records"),
    "idr_decided_by": ("归并依据", "Linked by"),
    "idr_decisions": ("人工决定", "Decisions"),
    "idr_recent": ("最近的人工决定", "Recent decisions"),
    "idr_no_decisions": ("暂无人工决定", "No decisions yet"),
    "idr_id": ("编号", "No."),
    "idr_action": ("决定", "Decision"),
    "idr_by": ("决定人", "By"),
    "idr_when": ("时间", "When"),
    "idr_why": ("原因", "Why"),
    "idr_state": ("状态", "State"),
    "idr_active": ("生效中", "Active"),
    "idr_reverted": ("已撤销", "Reverted"),
    "idr_revert": ("撤销", "Revert"),
    "idr_done": ("已记录决定", "Decision recorded"),
    "idr_next_refresh": ("下次刷新生效", "takes effect at the next refresh"),
    "idr_act_confirm": ("确认同一人", "confirm"),
    "idr_act_reject": ("确认不同人", "reject"),
    "idr_act_merge": ("合并", "merge"),
    "idr_act_split": ("拆分", "split"),
})


_PROBLEMS_ZH = (("reason:", "请填写原因（至少2个字）"), ("verdict:", "请选择“是同一人”或“不是同一人”"),
                ("different valid ID numbers", "不能合并：两个客户的证件号不同，证件号不同的客户不会被合并"),
                ("with itself", "不能把客户与其自身合并"), ("already reverted", "该决定已撤销"),
                ("already a customer of its own", "该记录已是单独的客户，无需拆分"),
                ("same record", "两边是同一条记录"))


def _zh_problem(status: int, message: str) -> str:
    for marker, text in _PROBLEMS_ZH:
        if marker in message:
            return text
    if status == 404:
        return "未找到，或不在您的权限范围内"
    return "无法执行，请检查输入的客户号或记录号"


def _problem(request: Request, status: int, message: str, **context: object) -> Response:
    shown = _zh_problem(status, message) if lang_of(request) == "zh" else message
    return page(request, "console/identity_result.html", status_code=status, ok=False, message=shown,
                detail=message, **context)


def _reason_ok(reason: str) -> bool:
    return len(reason.strip()) >= 2


QUEUE_PAGE = 10
VIEWS = {"all": None, "split": False, "same": True}


@router.get("/identity")
def identity_page(request: Request, offset: int = Query(0, ge=0, le=1_000_000), view: str = Query("all", max_length=8),
                  source: str = Query("", max_length=32), least: str = Query("", alias="min", max_length=8),
                  principal: Principal = Reviewer) -> Response:
    """The review queue, QUEUE_PAGE pairs a page, filtered by source system, lowest match probability and
    whether the pair is already one customer; the filters travel in the page links."""
    state = app_state(request)
    chosen = view if view in VIEWS else "all"
    sources = decisions.record_sources(state.settings.serving)
    source = source if source in sources else ""
    try:
        floor: float | None = max(0.0, min(100.0, float(least))) if least.strip() else None
    except ValueError:
        floor = None
    queue = service.queue(state, principal, QUEUE_PAGE, offset=offset, source=source or None,
                          min_probability=None if floor is None else floor / 100, same_customer=VIEWS[chosen])
    filters = {"view": chosen, "source": source, "min": "" if floor is None else f"{floor:g}"}

    def link(at: int) -> str:
        return "/console/identity?" + urlencode(filters | {"offset": at})

    return page(request, "console/identity.html", queue=queue, filters=filters, sources=sources,
                page_no=offset // QUEUE_PAGE + 1,
                prev_link=link(max(offset - QUEUE_PAGE, 0)) if offset > 0 else None,
                next_link=link(queue["next_offset"]) if queue["next_offset"] is not None else None,
                decisions=service.recent_decisions(state, principal, 30), compared=service.COMPARED,
                fields=service.RECORD_FIELDS, labels=service.FIELD_LABELS)


@router.get("/identity/history")
def identity_history(request: Request, customer_id: str = Query("", max_length=64),
                     principal: Principal = Reviewer) -> Response:
    state = app_state(request)
    try:
        view = service.customer_history(state, principal, customer_id.strip())
    except HTTPException as e:
        return _problem(request, e.status_code, str(e.detail))
    return page(request, "console/identity_history.html", view=view, labels=service.FIELD_LABELS)


@router.post("/identity/decide")
def decide(request: Request, left: str = Form(...), right: str = Form(...), verdict: str = Form(...),
           reason: str = Form(""), slot: str = Form(""), principal: Principal = Decider) -> Response:
    state = app_state(request)
    target = {"HX-Retarget": f"#pair-{slot}-result", "HX-Reswap": "innerHTML"} if slot.isdigit() else {}
    if verdict not in ("confirm", "reject"):
        response = _problem(request, 400, "verdict: confirm or reject")
    elif not _reason_ok(reason):
        response = _problem(request, 400, "reason: say why (at least 2 characters)")
    else:
        try:
            body = service.PairDecision(left=left, right=right, reason=reason)
            result = service.decide_pair(state, principal, body, verdict == "confirm", request)
        except ValidationError as e:
            response = _problem(request, 400, e.errors()[0]["msg"])
        except HTTPException as e:
            response = _problem(request, e.status_code, str(e.detail))
        except ShouhuError as e:
            response = _problem(request, 400, str(e))
        else:
            return page(request, "console/identity_result.html", ok=True, result=result, slot=slot, left=left,
                        right=right)
    response.headers.update(target)
    return response


def _decision(request: Request, reason: str, act: Callable[[], Any]) -> Response:
    """Run a stewardship decision for a console form: the reason, the service's refusals and its
    validation errors become the result fragment with their status."""
    if not _reason_ok(reason):
        return _problem(request, 400, "reason: say why (at least 2 characters)")
    try:
        result = act()
    except ValidationError as e:
        return _problem(request, 400, f"{e.errors()[0]['loc'][0]}: {e.errors()[0]['msg']}")
    except HTTPException as e:
        return _problem(request, e.status_code, str(e.detail))
    except ShouhuError as e:
        return _problem(request, 400, str(e))
    return page(request, "console/identity_result.html", ok=True, result=result)


@router.post("/identity/merge")
def merge(request: Request, customer_a: str = Form(""), customer_b: str = Form(""), reason: str = Form(""),
          principal: Principal = Decider) -> Response:
    return _decision(request, reason, lambda: service.merge(
        app_state(request), principal,
        service.MergeRequest(customer_a=customer_a.strip(), customer_b=customer_b.strip(), reason=reason), request))


def _unique_id(text: str) -> str:
    """A record as typed: ``agent_crm:KH1`` or as the pages show it, ``代理人CRM KH1`` / ``Agency CRM KH1``."""
    text = text.strip()
    for code, names in display.SOURCES.items():
        for name in names:
            if text.startswith(name) and text[len(name):][:1] in (" ", ":", "："):
                return f"{code}:{text[len(name) + 1:].strip()}"
    return text


@router.post("/identity/split")
def split(request: Request, unique_id: str = Form(""), reason: str = Form(""),
          principal: Principal = Decider) -> Response:
    return _decision(request, reason, lambda: service.split(
        app_state(request), principal, service.SplitRequest(unique_id=_unique_id(unique_id), reason=reason),
        request))


@router.post("/identity/decisions/{decision_id}/revert")
def revert(decision_id: RowId, request: Request, reason: str = Form(""), principal: Principal = Decider) -> Response:
    return _decision(request, reason, lambda: service.revert(
        app_state(request), principal, decision_id, service.RevertRequest(reason=reason), request))
