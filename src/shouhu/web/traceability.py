"""What the traceability API, console and H5 pages share: the receipt signing key of this server, the
session within the caller's reach (404 otherwise), and Chinese / English labels of the ledger's codes."""

from __future__ import annotations

import threading
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import HTTPException

from shouhu.access.policy import Principal, row_rule
from shouhu.access.roles import Role
from shouhu.compliance import traceability as trace
from shouhu.storage import customers as customer_store
from shouhu.storage import traceability as store
from shouhu.web import display, i18n
from shouhu.web.state import AppState

_keys: dict[str, Ed25519PrivateKey] = {}
_lock = threading.Lock()

i18n.register({
    "trace": ("销售可回溯", "Sales traceability"),
    "trace_hint": ("互联网保险销售过程记录：页面版本、客户操作轨迹（最小化、按会话哈希链接），并以默克尔根封存。",
                   "Online sales records: page versions and the customer's operations (minimised, hash-chained "
                   "per session), sealed under Merkle roots."),
    "trace_sessions": ("销售会话", "Sales sessions"), "trace_none": ("暂无销售会话", "No sales session yet"),
    "trace_session": ("会话", "Session"), "trace_customer": ("客户", "Customer"),
    "trace_product": ("产品", "Product"), "trace_application": ("投保单号", "Application"),
    "trace_policy": ("保单号", "Policy"), "trace_channel": ("渠道", "Channel"),
    "trace_started": ("开始时间", "Started"), "trace_closed": ("结束时间", "Closed"),
    "trace_outcome": ("结果", "Outcome"), "trace_events": ("事件数", "Events"),
    "trace_sealed": ("封存", "Sealed"), "trace_open": ("进行中", "Open"),
    "trace_pending": ("待封存", "Awaiting seal"), "trace_seal_no": ("第{n}批", "seal {n}"),
    "trace_retain": ("保存至", "Kept until"), "trace_retain_running": ("合同有效期内（终止后起算）",
                                                                    "While the contract runs (counted from its end)"),
    "trace_term": ("保险期间", "Cover"), "trace_cover": ("保险期间起止", "Cover period"),
    "trace_search": ("会话、客户、投保单或保单号", "Session, customer, application or policy"),
    "trace_find": ("查找", "Find"), "trace_verify": ("校验整个台账", "Verify the whole ledger"),
    "trace_verify_ok": ("台账校验通过：页面 {pages} 个，会话 {sessions} 个，事件 {events} 条，封存 {seals} 批。",
                        "Ledger verified: {pages} pages, {sessions} sessions, {events} events, {seals} seals."),
    "trace_verify_bad": ("台账校验失败", "Ledger verification failed"),
    "trace_broken_page": ("页面", "Page"), "trace_broken_session": ("会话", "Session"),
    "trace_broken_seal": ("封存批次", "Seal"),
    "trace_replay": ("销售过程回放", "Sales replay"),
    "trace_masked_hint": ("个人信息已脱敏显示；每次查看均记入审计日志。",
                          "Personal details are masked; every viewing is written to the audit log."),
    "trace_chain_ok": ("哈希链校验通过", "Hash chain verified"),
    "trace_chain_bad": ("哈希链校验失败", "Hash chain broken"),
    "trace_shredded_hint": ("客户的数据密钥已销毁：个人信息不可再读取，哈希与证明仍然有效。",
                            "The customer's data key was destroyed: personal details are unreadable; hashes and "
                            "proofs still verify."),
    "trace_shredded": ("已销毁", "shredded"),
    "trace_pages": ("展示的页面版本", "Page versions shown"), "trace_page": ("页面", "Page"),
    "trace_page_kind": ("类型", "Kind"), "trace_page_version": ("版本", "Version"),
    "trace_page_hash": ("内容哈希", "Content hash"), "trace_views": ("浏览次数", "Views"),
    "trace_read_time": ("阅读时长", "Reading time"), "trace_read_end": ("阅读至末尾", "Read to the end"),
    "trace_timeline": ("操作轨迹", "Operation trail"), "trace_seq": ("序号", "No."),
    "trace_at": ("时间", "Time"), "trace_type": ("操作", "Operation"), "trace_detail": ("内容", "Detail"),
    "trace_hash": ("哈希", "Hash"), "trace_yes": ("是", "yes"), "trace_no": ("否", "no"),
    "trace_seconds": ("秒", "s"), "trace_head": ("会话头哈希", "Session head hash"),
    "trace_proof": ("封存证明", "Seal proof"), "trace_root": ("默克尔根", "Merkle root"),
    "trace_proof_ok": ("包含证明校验通过", "Inclusion proof verified"),
    "trace_receipt": ("销售回执", "Sales receipt"),
    "trace_receipt_json": ("下载回执（JSON）", "Download the receipt (JSON)"),
    "trace_content": ("页面内容", "Page content"), "trace_published": ("发布时间", "Published"),
    "trace_published_by": ("发布人", "Published by"),
    "h5_receipts": ("我的销售回执", "My sales receipts"),
    "h5_receipts_hint": ("每次在线投保的关键步骤都已记录并封存；回执带有电子签名，可自行校验。",
                         "The key steps of each online application are recorded and sealed; each receipt is "
                         "signed so that you can check it yourself."),
    "h5_receipts_none": ("暂无销售回执", "No sales receipt yet"),
    "h5_receipt_verified": ("签名与封存证明校验通过", "Signature and seal proof verified"),
    "h5_receipt_failed": ("校验未通过", "Verification failed"),
    "h5_receipt_pending": ("记录已完成，等待封存后生成回执", "Recorded; the receipt is made once it is sealed"),
    "h5_receipt_pages": ("您看到的页面", "Pages you were shown"),
    "h5_receipt_key": ("验签公钥", "Public key"),
})

LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "type": trace.EVENT_TYPES, "kind": trace.PAGE_KINDS, "outcome": trace.OUTCOMES,
    "term": {"short": ("一年期及以下", "One year or less"), "long": ("一年期以上", "More than a year"),
             "none": ("未成交", "No contract")},
    "data": {"duration_ms": ("停留", "Time on page"), "scrolled_to_end": ("阅读至末尾", "Read to the end"),
             "field": ("项目", "Field"), "value": ("勾选", "Ticked"), "question": ("问题", "Question"),
             "answer": ("回答", "Answer"), "method": ("方式", "Method"), "amount_fen": ("金额", "Amount"),
             "policy_no": ("保单号", "Policy"), "cover_start": ("保险起期", "Cover from"),
             "cover_end": ("保险止期", "Cover to"), "outcome": ("结果", "Outcome")},
    "answer": {"yes": ("是", "yes"), "no": ("否", "no"), "unknown": ("不确定", "not sure")},
    "personal": {"name": ("姓名", "Name"), "phone": ("手机号", "Phone"), "id_number": ("证件号", "ID number"),
                 "signature": ("签名", "Signature")},
}

display.AUDIT_ACTIONS.update({
    "trace.replay": ("查看销售回放", "Sales replay viewed"), "trace.list": ("查看销售会话", "Sales sessions listed"),
    "trace.verify": ("校验销售台账", "Sales ledger verified"),
    "trace.receipt": ("获取销售回执", "Sales receipt issued"),
    "trace.session": ("记录销售会话", "Sales session recorded"),
})
display.TARGET_KINDS.update({"trace_session": ("销售会话", "sales session"), "trace": ("销售台账", "sales ledger")})
for _key, _pair in {"masked": ("脱敏显示", "masked"), "ok": ("校验通过", "passed"), "shown": ("显示条数", "shown"),
                    "broken": ("问题位置", "broken at"), "q": ("查询条件", "query"), "step": ("步骤", "step")}.items():
    display.DETAIL_KEYS.setdefault(_key, _pair)  # never reword a key another page owns
for _key, _pair in {"start": ("开始", "start"), "close": ("结束", "close"), **trace.OUTCOMES}.items():
    display.DETAIL_VALUES.setdefault(_key, _pair)


def label(group: str, code: Any, lang: str) -> str:
    pair = LABELS.get(group, {}).get(str(code))
    if pair is None:
        return str(code)
    return pair[0] if lang == "zh" else pair[1]


def signing_key(state: AppState) -> Ed25519PrivateKey:
    """This server's receipt signing key (read once per data directory)."""
    where = str(state.settings.data_dir)
    with _lock:
        if where not in _keys:
            _keys[where] = trace.signing_key(state.settings)
        return _keys[where]


def session_or_404(state: AppState, principal: Principal, session_id: str) -> dict[str, Any]:
    """The session if the caller may see its customer: a customer only their own; staff within their row scope."""
    s = store.get_session(state.engine, session_id) if len(session_id) <= 64 else None
    if s is None:
        raise HTTPException(404, f"no sales session {session_id[:64]}")
    if principal.role is Role.CUSTOMER:
        if s["customer_id"] != principal.customer_id:
            raise HTTPException(404, f"no sales session {session_id[:64]}")
        return s
    rule = row_rule(principal)
    if not rule.everything and customer_store.get_record(state.engine, rule, s["customer_id"]) is None:
        raise HTTPException(404, f"no sales session {session_id[:64]} that you may see")
    return s


def customer_masked(state: AppState, customer_id: str) -> dict[str, Any]:
    """Masked name and phone of the session's customer, when the platform knows them."""
    from shouhu.access.policy import RowRule

    row = customer_store.get_record(state.engine, RowRule(), customer_id)
    if row is None:
        return {}
    return {"name": row.get("name_masked"), "phone": row.get("phone_masked")}


def timeline_rows(replayed: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Each event with its label and a list of (label, value, is_code) for the detail column."""
    out = []
    for e in replayed["events"]:
        parts: list[tuple[str, str, bool]] = []
        order = list(LABELS["data"])
        for key, value in sorted(e["data"].items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99):
            if value is None:
                continue
            name = label("data", key, lang)
            if key == "duration_ms":
                parts.append((name, f"{int(value) / 1000:.0f}{i18n.label(('秒', 's'), lang)}", False))
            elif isinstance(value, bool):
                parts.append((name, i18n.label(("是", "yes") if value else ("否", "no"), lang), False))
            elif key == "answer":
                parts.append((name, label("answer", value, lang), str(value) not in LABELS["answer"]))
            elif key == "outcome":
                parts.append((name, label("outcome", value, lang), False))
            elif key == "amount_fen":
                parts.append((name, f"{int(value) / 100:,.2f}", False))
            else:
                parts.append((name, str(value), key in ("field", "question", "method", "policy_no")))
        for key, value in (e["personal"] or {}).items():
            shredded = value == trace.SHREDDED
            parts.append((label("personal", key, lang),
                          i18n.label(("已销毁", "shredded"), lang) if shredded else value, False))
        out.append(e | {"label": label("type", e["type"], lang), "parts": parts})
    return out
