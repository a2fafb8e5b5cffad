"""Data-subject requests for the web layer (console, API, H5): receive, list, complete and refuse, each
audited; labels in zh-CN and English. The rules are in ``shouhu.compliance.dsr``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Request

from shouhu.access.policy import Principal
from shouhu.compliance import dsr, retention
from shouhu.errors import InvalidInput, StorageError
from shouhu.storage import dsr as store
from shouhu.storage.warehouse import Warehouse
from shouhu.web import display, i18n
from shouhu.web.auth import record
from shouhu.web.state import AppState

i18n.register({
    "dsr_requests": ("个人信息权利请求", "Data-subject requests"),
    "dsr_my": ("我的个人信息权利", "My data rights"),
    "dsr_my_hint": ("您可以查阅、复制、更正或删除您的个人信息，或关闭个性化推荐。撤回同意与关闭个性化推荐立即生效，"
                    "其他请求在15个工作日内办结。",
                    "You may see, copy, correct or delete your data, or turn off personalised recommendations. "
                    "Withdrawing a consent and the opt-out work at once; other requests are done within 15 "
                    "working days."),
    "dsr_new": ("提交新请求", "New request"), "dsr_kind": ("请求类型", "Request"),
    "dsr_submit": ("提交", "Submit"), "dsr_received": ("已收到您的请求", "Your request was received"),
    "dsr_none": ("暂无请求", "No requests"), "dsr_status": ("状态", "Status"), "dsr_due": ("办理期限", "Due"),
    "dsr_received_at": ("提交时间", "Received"), "dsr_completed_at": ("办结时间", "Completed"),
    "dsr_proof": ("办结凭证（SHA-256）", "Proof of completion (SHA-256)"),
    "dsr_download": ("下载我的个人信息副本（JSON）", "Download my copy (JSON)"),
    "dsr_field": ("需更正的信息", "What to correct"), "dsr_value": ("正确内容", "Correct value"),
    "dsr_purpose": ("撤回的授权", "Consent to withdraw"), "dsr_note": ("说明（选填）", "Note (optional)"),
    "dsr_decision": ("复核的决定（选填）", "Decision to review (optional)"),
    "dsr_customer": ("客户", "Customer"), "dsr_channel": ("渠道", "Channel"), "dsr_overdue": ("已逾期", "Overdue"),
    "dsr_trail": ("办理记录", "Trail"), "dsr_plan": ("删除方案", "Deletion plan"),
    "dsr_complete": ("办结", "Complete"), "dsr_reject": ("驳回", "Refuse"),
    "dsr_handler_note": ("办理说明（客户可见）", "Note (shown to the customer)"),
    "dsr_outcome": ("办理结果", "Outcome"), "dsr_log": ("代客户登记请求", "Log a request for the customer"),
    "dsr_holds": ("法律保全", "Legal holds"), "dsr_hold_place": ("设置保全", "Place a hold"),
    "dsr_hold_release": ("解除", "Release"), "dsr_hold_reason": ("保全原因（案号等）", "Reason (case number)"),
    "dsr_ev_received": ("收到请求", "Received"), "dsr_ev_done": ("办结", "Completed"),
    "dsr_ev_rejected": ("驳回", "Refused"), "dsr_ev_note": ("备注", "Note"),
    "dsr_copy_made": ("已生成副本", "Copy made"), "dsr_tables": ("张表", "tables"), "dsr_rows": ("行", "rows"),
    "dsr_store_serving": ("服务库", "Serving database"), "dsr_store_warehouse": ("数据仓库", "Warehouse"),
    "dsr_withdrawn": ("已撤回的授权", "Consents withdrawn"),
    "dsr_all": ("全部", "All"), "dsr_open": ("处理中", "Open"), "dsr_done": ("已完成", "Done"),
    "dsr_rejected": ("已驳回", "Refused"), "dsr_reject_reason": ("驳回理由（客户可见）", "Why (shown to the customer)"),
    "plan_erase": ("删除全部数据：服务库、数据仓库、文件，并销毁数据密钥",
                   "Erase everything: serving, warehouse, files; destroy the data key"),
    "plan_restrict": ("限制处理：保留合同记录至保存期满，删除营销与画像数据", "Restrict: keep the contract records "
                                                                           "until retention ends, delete marketing "
                                                                           "and profiling data"),
    "plan_reason_legal_hold": ("存在法律保全", "a legal hold is active"),
    "plan_reason_contract_retention": ("合同记录在法定保存期内（保险法第八十七条）",
                                       "contract records within the legal retention period (Insurance Law "
                                       "art. 87)"),
    "plan_reason_no_retention": ("无需保存的记录", "nothing must be kept"),
    "field_name": ("姓名", "Name"), "field_phone": ("手机号", "Phone"), "field_email": ("电子邮箱", "E-mail"),
    "field_address": ("地址", "Address"), "field_birth_date": ("出生日期", "Date of birth"),
    "field_occupation": ("职业", "Occupation"), "field_other": ("其他", "Other"),
    "chan_h5": ("客户自助", "Self-service"), "chan_console": ("柜面/电话", "Counter / phone"),
    "chan_api": ("接口", "API"), "chan_cli": ("命令行", "Command line"),
})


i18n.register({f"dsr_kind_{k.code}": (k.zh, k.en) for k in dsr.KINDS.values()})


display.AUDIT_ACTIONS.update({
    "dsr_submit": ("登记个人信息权利请求", "Data-subject request received"),
    "dsr_complete": ("办结个人信息权利请求", "Data-subject request completed"),
    "dsr_reject": ("驳回个人信息权利请求", "Data-subject request refused"),
    "dsr_copy_download": ("客户下载个人信息副本", "Customer downloaded their copy"),
    "legal_hold": ("设置法律保全", "Legal hold placed"), "legal_hold_release": ("解除法律保全", "Legal hold released"),
})
display.TARGET_KINDS.update({"dsr_request": ("个人信息权利请求", "data-subject request"),
                             "legal_hold": ("法律保全", "legal hold")})
for _key, _pair in {"kind": ("类型", "kind"), "channel": ("渠道", "channel"), "customer": ("客户", "customer"),
                    "proof": ("办结凭证", "proof"), "hold": ("保全编号", "hold"), "use": ("导出用途", "use"),
                    "no_consent": ("未获授权未导出", "left out, no consent")}.items():
    display.DETAIL_KEYS.setdefault(_key, _pair)
for _key, _pair in {**{k.code: (k.zh, k.en) for k in dsr.KINDS.values()},
                    "h5": ("客户自助", "self-service"), "console": ("柜面/电话", "counter / phone"),
                    "api": ("接口", "API"),
                    "cli": ("命令行", "command line"), "service": ("服务", "service"),
                    "marketing": ("营销推广", "marketing"), "partner_sharing": ("合作方共享", "partner sharing"),
                    "profiling": ("画像分析", "profiling")}.items():
    display.DETAIL_VALUES.setdefault(_key, _pair)


def kinds(lang: str) -> list[tuple[str, str]]:
    return [(k, dsr.label(k, lang)) for k in dsr.KINDS]


def status_label(status: str, lang: str) -> str:
    pair = dsr.STATUS_LABELS.get(status)
    return status if pair is None else i18n.label(pair, lang)


def shown(row: dict[str, Any], lang: str, now: datetime | None = None) -> dict[str, Any]:
    """A request with its labels; ``overdue`` when still open past its due time."""
    at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return row | {"kind_label": dsr.label(row["kind"], lang), "status_label": status_label(row["status"], lang),
                  "overdue": row["status"] == "open" and row["due_at"] < at}


def detail_from_form(form: dict[str, str]) -> dict[str, Any]:
    return {k: form[k].strip() for k in ("field", "value", "purpose", "note", "decision") if form.get(k, "").strip()}


def submit(state: AppState, principal: Principal, request: Request, customer_id: str, kind: str, channel: str,
           detail: dict[str, Any]) -> dict[str, Any]:
    made = dsr.submit(state.engine, customer_id, kind, channel, principal.user_id, detail)
    record(state, principal, "dsr_submit", "dsr_request", str(made["id"]), request, kind=kind, channel=channel,
           customer=customer_id)
    return made


def request_or_404(state: AppState, request_id: int) -> dict[str, Any]:
    row = store.request_row(state.engine, request_id)
    if row is None:
        raise HTTPException(404, f"no request {request_id}")
    return row


def _warehouse(state: AppState) -> Warehouse | None:
    try:
        return Warehouse(state.settings.warehouse)
    except (StorageError, OSError, ValueError):
        return None  # not built yet: the serving side is erased now, the warehouse at the next refresh


def plan(state: AppState, row: dict[str, Any]) -> dict[str, Any] | None:
    if row["kind"] != "deletion" or row["status"] != "open":
        return None
    wh = _warehouse(state)
    try:
        return dsr.deletion_plan(state.engine, str(row["customer_id"]), wh)
    finally:
        if wh is not None:
            wh.close()


def complete(state: AppState, principal: Principal, request: Request, request_id: int, note: str) -> dict[str, Any]:
    row = request_or_404(state, request_id)
    wh = _warehouse(state) if row["kind"] in ("deletion", "access", "portability") else None
    try:
        done = dsr.complete(state.engine, request_id, principal.user_id, cipher=state.cipher,
                            data_dir=state.settings.data_dir, warehouse=wh, note_text=note)
    finally:
        if wh is not None:
            wh.close()
    record(state, principal, "dsr_complete", "dsr_request", str(request_id), request, kind=row["kind"],
           customer=row["customer_id"], proof=done["proof_hash"])
    return done


def refuse(state: AppState, principal: Principal, request: Request, request_id: int, reason: str) -> dict[str, Any]:
    row = request_or_404(state, request_id)
    done = dsr.reject(state.engine, request_id, principal.user_id, reason)
    record(state, principal, "dsr_reject", "dsr_request", str(request_id), request, reason=reason,
           kind=row["kind"], customer=row["customer_id"])
    return done


def place_hold(state: AppState, principal: Principal, request: Request, customer_id: str, reason: str) -> int:
    hold = retention.place_hold(state.engine, customer_id, reason, principal.user_id)
    record(state, principal, "legal_hold", "customer", customer_id, request, reason=reason, hold=hold)
    return hold


def release_hold(state: AppState, principal: Principal, request: Request, hold_id: int) -> None:
    retention.release_hold(state.engine, hold_id, principal.user_id)
    record(state, principal, "legal_hold_release", "legal_hold", str(hold_id), request)


def unprocessable(e: InvalidInput) -> HTTPException:
    return HTTPException(422, e.message)
