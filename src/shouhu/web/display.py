"""How codes and times are shown to staff: Chinese labels for the codes stored in the data (source
systems, identity comparison levels, quarantine reasons, attribution models, audit actions, account
scopes) and times in the business time zone (Asia/Shanghai) instead of UTC ISO strings.

Everything here is for display only: the stored values and the API keep their codes. A code without a
label is shown as it is (so nothing is hidden), and the zh-CN browser test names it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shouhu.access.roles import LABELS as ROLE_LABELS
from shouhu.access.roles import Role
from shouhu.model.schema import ENTITIES
from shouhu.model.vocab import Channel, Gender, IdType, MaritalStatus, PaymentFrequency, PolicyStatus

Pair = tuple[str, str]
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _pick(pair: Pair | None, code: str, lang: str) -> str:
    if pair is None:
        return code
    return pair[0] if lang == "zh" else pair[1]


# --- times ---------------------------------------------------------------------------------------

def _parse(value: Any) -> datetime | date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def local_time(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored moment as Beijing time: aware values (the audit log and accounts write UTC) are
    converted; naive ones were written by this server with ``datetime.now()`` and are taken as its
    local time. A date stays a date; text that is not a moment is shown as it is; nothing is "—"."""
    parsed = _parse(value)
    if parsed is None:
        return "—" if value is None or value == "" else str(value)
    if not isinstance(parsed, datetime):
        return parsed.isoformat()
    moment = parsed if parsed.tzinfo is not None else parsed.astimezone()
    return moment.astimezone(LOCAL_TZ).strftime(fmt)


def local_minutes(value: Any) -> str:
    return local_time(value, "%Y-%m-%d %H:%M")


# --- codes of the data ---------------------------------------------------------------------------

SOURCES: dict[str, Pair] = {
    "agent_crm": ("代理人CRM", "Agency CRM"), "bancassurance": ("银保系统", "Bancassurance"),
    "broker": ("中介平台", "Broker platform"), "internet": ("互联网平台", "Internet platform"),
    "app": ("自营App/微信", "Own app / WeChat"), "core": ("核心业务系统", "Policy admin system"),
    "group": ("团险系统", "Group system"), "manual": ("人工录入", "Manual entry"),
}


def source_label(code: Any, lang: str) -> str:
    text = "" if code is None else str(code)
    return _pick(SOURCES.get(text), text, lang) if text else "—"


def record_ref(unique_id: Any, lang: str) -> str:
    """A source record's id (``source:record_id``) with the source system named: "代理人CRM KH1388072703"."""
    text = "" if unique_id is None else str(unique_id)
    source, sep, record_id = text.partition(":")
    return f"{source_label(source, lang)} {record_id}" if sep else (text or "—")


_FIELD_NAMES: dict[str, Pair] = {}
for _entity in ENTITIES.values():
    for _field in _entity.fields:
        _FIELD_NAMES.setdefault(_field.name, (_field.zh, _field.en))
_FIELD_NAMES.setdefault("_record", ("整行记录", "Whole record"))


def entity_label(name: Any, lang: str) -> str:
    text = "" if name is None else str(name)
    found = ENTITIES.get(text)
    return text if found is None else (found.zh if lang == "zh" else found.en)


def field_label(name: Any, lang: str) -> str:
    text = "" if name is None else str(name)
    return _pick(_FIELD_NAMES.get(text), text, lang) if text else "—"


_VALUE_VOCABS = {"channel": Channel, "gender": Gender, "id_type": IdType, "marital_status": MaritalStatus}


def record_value(field: str, value: Any, lang: str) -> str:
    """A source record's value as shown in the identity review (codes of known vocabularies labelled)."""
    if value is None or value == "":
        return "—"
    vocab = _VALUE_VOCABS.get(field)
    if vocab is not None:
        try:
            return vocab(str(value)).label(lang)
        except ValueError:
            pass
    return str(value)


# Identity comparison levels (identity.model's labels and Splink's own).
_LEVELS: dict[str, Pair] = {
    "null": ("缺失，不计", "missing, not counted"),
    "exact": ("完全一致", "exact"),
    "exact (simplified)": ("完全一致（简体）", "exact (simplified)"),
    "same pinyin": ("拼音相同", "same pinyin"),
    "pinyin jaro-winkler >= 0.92": ("拼音高度相似", "pinyin very similar"),
    "same surname, given name jaro-winkler >= 0.8": ("同姓，名字相似", "same surname, similar given name"),
    "one digit apart": ("相差一位数字", "one digit apart"),
    "jaro-winkler >= 0.9": ("高度相似", "very similar"),
    "one stretch apart (a typo)": ("疑似录入错误（一处不同）", "one stretch apart (a typo)"),
    "all other comparisons": ("不一致", "different"),
    "else": ("不一致", "different"),
}


def comparison_label(level: Any, lang: str) -> str:
    text = "" if level is None else str(level).strip()
    pair = _LEVELS.get(text.lower())
    if pair is None and text.lower().startswith("exact match"):
        pair = ("完全一致", "exact")
    if pair is None and text.isdigit():
        pair = (f"第{text}级", f"level {text}")
    return _pick(pair, text, lang) if text else "—"


# Quarantine reasons (ingest.validate and ingest.readers write them in English).
_ENUM_VALUES: dict[str, str] = {}
for _vocab in (Channel, Gender, IdType, MaritalStatus, PaymentFrequency, PolicyStatus):
    for _member in _vocab:
        _ENUM_VALUES[_member.value] = _member.label("zh")

_REASONS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^required value is missing$"), lambda m: "必填项缺失"),
    (re.compile(r"^not a whole number: (.*)$"), lambda m: f"不是整数：{m[1]}"),
    (re.compile(r"^not a finite number: (.*)$"), lambda m: f"不是有限数值：{m[1]}"),
    (re.compile(r"^not a number: (.*)$"), lambda m: f"不是数字：{m[1]}"),
    (re.compile(r"^not a valid date \(expected (.*)\): (.*)$"),
     lambda m: f"日期无效（应为{_date_format(m[1])}）：{m[2]}"),
    (re.compile(r"^not a valid date-time \(expected (.*)\): (.*)$"),
     lambda m: f"日期时间无效（应为{_date_format(m[1])}）：{m[2]}"),
    (re.compile(r"^not a yes/no value: (.*)$"), lambda m: f"不是“是/否”：{m[1]}"),
    (re.compile(r"^15-digit ID number must be all digits$"), lambda m: "15位证件号必须全为数字"),
    (re.compile(r"^ID number must have 15 or 18 characters, has (\d+)$"),
     lambda m: f"证件号应为15位或18位，实际{m[1]}位"),
    (re.compile(r"^the first 17 characters of an ID number must be digits$"), lambda m: "证件号前17位必须为数字"),
    (re.compile(r"^ID number check character is wrong \(GB 11643 MOD 11-2\)$"),
     lambda m: "证件号校验位错误（国标GB 11643）"),
    (re.compile(r"^ID number holds an impossible birth date$"), lambda m: "证件号中的出生日期不存在"),
    (re.compile(r"^ID number region code (\S+) is unknown for birth year (\d+)$"),
     lambda m: f"证件号地区码{m[1]}在{m[2]}年不存在"),
    (re.compile(r"^not a mainland mobile number \(11 digits starting 13-19\)$"),
     lambda m: "不是有效的大陆手机号（11位，以13–19开头）"),
    (re.compile(r"^must not be negative: (.*)$"), lambda m: f"不能为负数：{m[1]}"),
    (re.compile(r"^date (\S+) is in the future \(after (\S+)\)$"), lambda m: f"日期{m[1]}晚于数据日期{m[2]}"),
    (re.compile(r"^date (\S+) is before (\S+)$"), lambda m: f"日期{m[1]}早于{m[2]}"),
    (re.compile(r"^not an email address$"), lambda m: "不是有效的电子邮箱"),
    (re.compile(r"^not valid JSON: (.*)$"), lambda m: "不是有效的JSON格式"),
    (re.compile(r"^must be a JSON object$"), lambda m: "必须是JSON对象"),
    (re.compile(r"^(.*) is not one of \[(.*)\]$"), lambda m: f"{m[1]}不是允许的取值（{_allowed(m[2])}）"),
    (re.compile(r"^birth date in the ID number \((.*)\) disagrees with birth_date \((.*)\)$"),
     lambda m: f"证件号中的出生日期（{m[1]}）与出生日期（{m[2]}）不一致"),
    (re.compile(r"^expected (\d+) columns, found (\d+)$"), lambda m: f"应有{m[1]}列，实际{m[2]}列"),
    (re.compile(r"^invalid JSON: .*$"), lambda m: "该行不是有效的JSON格式"),
    (re.compile(r"^a line must hold one JSON object$"), lambda m: "每行必须是一个JSON对象"),
]


def _date_format(text: str) -> str:
    return {"YYYY-MM-DD": "年-月-日，如2024-01-31", "ISO 8601": "年-月-日 时:分:秒",
            "%Y%m%d": "年月日8位数字，如20240131"}.get(text, "规定格式")


def _allowed(codes: str) -> str:
    names = [c.strip().strip("'\"") for c in codes.split(",") if c.strip()]
    return "、".join(_ENUM_VALUES.get(n, n) for n in names)


def quarantine_reason(reason: Any, lang: str) -> str:
    text = "" if reason is None else str(reason)
    if lang != "zh":
        return text
    for pattern, render in _REASONS:
        match = pattern.match(text)
        if match:
            return render(match)
    return text


# Refresh runs and their steps.
RUN_STATUS: dict[str, Pair] = {"succeeded": ("成功", "succeeded"), "failed": ("失败", "failed"),
                               "running": ("运行中", "running"), "started": ("运行中", "started")}
STEPS: dict[str, Pair] = {
    "activities": ("待办", "activities"), "identity": ("身份识别", "identity"), "golden": ("黄金记录", "golden"),
    "households": ("家庭关系", "households"), "customer_360": ("客户360", "customer 360"),
    "gaps": ("保障缺口", "gaps"), "tags": ("标签", "tags"), "value": ("客户价值", "value"),
    "actions": ("下一步行动", "actions"), "publish": ("发布", "publish"), "lapse": ("失效评分", "lapse"),
    "scores": ("评分", "scores"), "segments": ("客群", "segments"), "channels": ("渠道", "channels"),
    "cases": ("服务工单", "cases"), "kpi": ("考核指标", "KPI"),
}


def run_status(code: Any, lang: str) -> str:
    return _pick(RUN_STATUS.get(str(code)), str(code), lang)


def step_label(code: Any, lang: str) -> str:
    return _pick(STEPS.get(str(code)), str(code), lang)


# Multi-touch attribution models (channels.attribution).
ATTRIBUTION_MODELS: dict[str, Pair] = {
    "first_touch": ("首次触点", "First touch"), "last_touch": ("末次触点", "Last touch"),
    "linear": ("线性平均", "Linear"), "time_decay": ("时间衰减", "Time decay"),
    "position_based": ("位置加权（首尾40%）", "Position based"),
    "markov": ("马尔可夫链（一阶）", "Markov chain (1st order)"),
    "markov_2": ("马尔可夫链（二阶）", "Markov chain (2nd order)"),
    "shapley": ("Shapley值", "Shapley value"),
}


def life_method(code: Any, lang: str) -> str:
    """A life-need method (advice.methods) by its Chinese name; English pages keep the method's name."""
    from shouhu.advice.methods import LIFE_METHODS

    found = LIFE_METHODS.get(str(code))
    return str(found.zh) if found is not None and lang == "zh" else str(code).replace("_", " ")


def attribution_model(code: Any, lang: str) -> str:
    return _pick(ATTRIBUTION_MODELS.get(str(code)), str(code), lang)


# Audit log.
AUDIT_ACTIONS: dict[str, Pair] = {
    "login": ("登录", "Sign in"), "login_failed": ("登录失败", "Failed sign-in"), "logout": ("退出", "Sign out"),
    "h5_login": ("客户登录H5", "Customer H5 sign-in"), "h5_logout": ("客户退出H5", "Customer H5 sign-out"),
    "token_created": ("创建接口令牌", "API token created"), "token_revoked": ("吊销接口令牌", "API tokens revoked"),
    "reveal": ("查看明文", "Reveal"), "export": ("导出", "Export"),
    "identity_confirm": ("确认同一人", "Identity: same person"),
    "identity_reject": ("确认不同人", "Identity: different people"),
    "merge": ("合并客户", "Merge customers"), "split": ("拆分记录", "Split a record"),
    "revert": ("撤销身份决定", "Revert a decision"), "permission_changed": ("修改账号权限", "Permissions changed"),
    "user_created": ("新建账号", "Account created"), "advice_run": ("需求诊断", "Needs diagnosis"),
    "assessment": ("问卷评估", "Questionnaire"), "sensitive_filter": ("按敏感字段筛选", "Filter on sensitive field"),
    "case_opened": ("新建服务工单", "Case opened"), "case_status": ("工单状态变更", "Case status changed"),
    "case_reopened": ("重新打开工单", "Case reopened"), "case_comment": ("工单备注", "Case comment"),
    "case_checklist": ("理赔材料更新", "Claim documents updated"), "case_reveal": ("查看工单明文", "Case reveal"),
    "task_created": ("新建待办", "Task created"), "activity_logged": ("记录跟进", "Activity logged"),
    "wallet_add": ("添加他司保单", "External policy added"),
    "wallet_remove": ("删除他司保单", "External policy removed"),
    "contact_agent": ("客户请求代理人联系", "Customer asked the agent to call"),
    "task_done": ("完成待办", "Task done"), "task_snoozed": ("推迟待办", "Task snoozed"),
    "task_cancelled": ("取消待办", "Task cancelled"), "task_reopened": ("重新打开待办", "Task reopened"),
    "task_reassigned": ("转派待办", "Task reassigned"), "collection_outcome": ("记录催收结果", "Collection outcome"),
    "proposal_created": ("生成建议书链接", "Proposal link created"),
    "proposal_opened": ("客户打开建议书", "Proposal opened"),
    "proposal_revoked": ("撤回建议书链接", "Proposal revoked"),
    "h5_login_failed": ("客户H5登录失败", "Customer H5 failed sign-in"),
    "pod.assign": ("服务小组分配", "Pod assignment"), "pod.orphan": ("孤儿单移交", "Orphan handover"),
    "journey_publish": ("发布客户旅程", "Journey published"),
    "journey_status": ("旅程状态变更", "Journey status changed"),
    "template_added": ("新建消息模板", "Template added"), "template_review": ("消息模板审批", "Template review"),
    "consent_change": ("客户授权变更", "Consent changed"), "contact_block": ("加入免打扰", "Do-not-contact added"),
    "contact_unblock": ("解除免打扰", "Do-not-contact lifted"), "journey_events": ("接收旅程事件", "Journey events"),
}
TARGET_KINDS: dict[str, Pair] = {
    "user": ("账号", "account"), "customer": ("客户", "customer"), "customers": ("客户", "customers"),
    "segment": ("客群", "segment"), "case": ("工单", "case"), "task": ("待办", "task"),
    "identity_pair": ("记录对", "record pair"), "identity_record": ("源记录", "record"),
    "identity_decision": ("身份决定", "decision"), "pod": ("服务小组", "pod"), "policy": ("保单", "policy"),
    "proposal": ("建议书", "proposal"), "phone": ("手机号", "phone"),
    "fact_find": ("需求调查问卷", "fact-find"), "risk_tolerance": ("风险承受能力问卷", "risk tolerance"),
    "journey": ("客户旅程", "journey"), "template": ("消息模板", "template"),
}
DETAIL_KEYS: dict[str, Pair] = {
    "fields": ("字段", "fields"), "purpose": ("用途", "purpose"), "rows": ("行数", "rows"),
    "count": ("数量", "count"), "decision_id": ("决定编号", "decision"), "left": ("记录A", "record A"),
    "right": ("记录B", "record B"), "customers": ("客户", "customers"), "customer_id": ("客户", "customer"),
    "reverted_action": ("被撤销的决定", "reverted"), "role": ("角色", "role"), "can_reveal": ("可查看明文", "reveal"),
    "staff_id": ("员工号", "staff"), "branch_id": ("机构", "branch"), "team_id": ("团队", "team"),
    "name": ("名称", "name"), "days": ("天数", "days"), "before": ("修改前", "before"), "after": ("修改后", "after"),
    "active": ("启用", "active"), "display_name": ("显示名", "display name"), "reason": ("原因", "reason"),
    "status": ("状态", "status"), "case_type": ("工单类型", "case type"), "task_id": ("待办编号", "task"),
    "kind": ("类型", "kind"), "method": ("方法", "method"), "questionnaire": ("问卷", "questionnaire"),
    "segment": ("客群", "segment"), "field": ("字段", "field"), "note": ("备注", "note"),
    "agent_id": ("代理人", "agent"), "policy_no": ("保单号", "policy"), "activity_id": ("跟进编号", "activity"),
    "user_id": ("用户名", "user"), "channel": ("渠道", "channel"), "action": ("行动", "action"),
    "due_date": ("截止日期", "due"), "due_at": ("截止时间", "due"), "source": ("来源", "source"),
    "bytes": ("字节数", "bytes"), "fact_find": ("需求调查", "fact-find"),
    "fact_find_used": ("采用的需求调查", "fact-find used"),
    "lang": ("语言", "language"), "level": ("层级", "level"), "members_shown": ("显示成员数", "members shown"),
    "outcome": ("结果", "outcome"), "plan": ("方案", "plan"),
    "record_income_shown": ("展示记录收入", "record income shown"),
    "score": ("评分", "score"), "until": ("截至", "until"), "version": ("版本", "version"),
    "document": ("文档", "document"),
    "promised_date": ("承诺日期", "promised date"), "expires_at": ("到期时间", "expires"),
    "contact_channel": ("联系渠道", "contact channel"), "granted": ("同意", "granted"), "move": ("审批动作", "step"),
    "created": ("生成新版本", "new version"), "received": ("收到", "received"), "added": ("新增", "added"),
}
# Values that are codes in audit details.
DETAIL_VALUES: dict[str, Pair] = {
    "anonymous": ("匿名访问", "anonymous"), "contacted": ("已联系", "contacted"), "dime": ("DIME法", "DIME"),
    "en": ("英文", "English"), "zh": ("中文", "Chinese"), "phone": ("手机号", "phone"),
    "review_pdf": ("保单检视报告", "review report"), "risk_tolerance": ("风险承受能力问卷", "risk tolerance"),
    "fact_find": ("需求调查问卷", "fact-find"),
    "record": ("客户记录", "record"), "answers": ("客户作答", "answers"), "plan": ("方案", "plan"),
    "document": ("文档", "document"), "income": ("收入法", "income"), "hlv": ("生命价值法", "HLV"),
    "paid": ("已缴费", "paid"), "promised": ("承诺缴费", "promised"), "refused": ("拒绝缴费", "refused"),
    "unreachable": ("未联系上", "unreachable"), "not_reached": ("未联系上", "not reached"),
    "interested": ("有意向", "interested"), "not_interested": ("无意向", "not interested"),
    "converted": ("已成交", "converted"), "not_needed": ("无需跟进", "not needed"),
    # journeys: consent purposes, contact channels, template kinds, review steps and statuses
    "marketing": ("营销推广", "marketing"), "health_data": ("健康数据使用", "health data"),
    "profiling": ("客户画像", "profiling"), "partner_sharing": ("向合作机构共享", "partner sharing"),
    "service": ("服务", "service"), "transactional": ("交易通知", "transactional"),
    "any": ("全部渠道", "all channels"), "sms": ("短信", "SMS"), "email": ("电子邮件", "e-mail"),
    "wecom": ("企业微信", "WeCom"), "inbox": ("站内信", "inbox"),
    "submit": ("提交审批", "submit"), "approve": ("批准", "approve"), "reject": ("驳回", "reject"),
    "retire": ("停用", "retire"), "draft": ("草稿", "draft"), "pending": ("待审批", "pending"),
    "approved": ("已批准", "approved"), "rejected": ("已驳回", "rejected"), "retired": ("已停用", "retired"),
    "active": ("进行中", "active"), "paused": ("已暂停", "paused"), "archived": ("已归档", "archived"),
}


ORIGINS: dict[str, Pair] = {
    "console": ("员工后台", "console"), "h5": ("客户H5", "customer H5"), "api": ("接口", "API"),
    "cli": ("命令行", "command line"), "customer": ("客户请求", "customer request"), "manual": ("手工", "manual"),
    "nba": ("下一步最佳行动", "next best action"), "case": ("服务工单", "service case"),
    "journey": ("客户旅程", "journey"),
    **{c.value: (c.label("zh"), c.label("en")) for c in Channel},
}


def audit_action(code: Any, lang: str) -> str:
    return _pick(AUDIT_ACTIONS.get(str(code)), str(code), lang)


def target_kind(code: Any, lang: str) -> str:
    return _pick(TARGET_KINDS.get(str(code)), str(code), lang)


def role_label(code: Any, lang: str) -> str:
    text = "" if code is None else str(code)
    if text.startswith("cli"):
        return "命令行" if lang == "zh" else "command line"
    if text in ("none", "anonymous", ""):
        return "—"
    if text == "customer":
        return "客户" if lang == "zh" else "customer"
    try:
        return _pick(ROLE_LABELS[Role(text)], text, lang)
    except (ValueError, KeyError):
        return text


def _scalar(key: str, value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if value is None:
        return "—"
    if key == "role":
        return role_label(value, lang)
    if key in ("field", "fields") and isinstance(value, str):
        return field_label(value, lang)
    if key == "case_type":
        from shouhu.operations.cases import CaseType

        try:
            return CaseType(str(value)).label(lang)
        except ValueError:
            return str(value)
    if key == "channel" or key == "source":
        return _pick(ORIGINS.get(str(value)), str(value), lang)
    if isinstance(value, str) and value in DETAIL_VALUES:
        return _pick(DETAIL_VALUES[value], value, lang)
    if key == "reverted_action":
        return _pick({"confirm": ("确认同一人", "confirm"), "reject": ("确认不同人", "reject"),
                      "merge": ("合并", "merge"), "split": ("拆分", "split")}.get(str(value)), str(value), lang)
    return str(value)


def _detail_value(key: str, value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return "；".join(f"{detail_key(k, lang)}：{_detail_value(k, v, lang)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "、".join(_detail_value(key, v, lang) for v in value)
    return _scalar(key, value, lang)


def detail_key(key: str, lang: str) -> str:
    return _pick(DETAIL_KEYS.get(key) or _FIELD_NAMES.get(key), key, lang)


def audit_detail(detail: Any, lang: str) -> str:
    """An audit entry's detail (a JSON object) as "键：值；…" with Chinese keys, not raw JSON."""
    if isinstance(detail, str):
        text = detail
        try:
            detail = json.loads(text) if text.strip() else {}
        except ValueError:
            return text
    if not isinstance(detail, dict):
        return "" if detail is None else str(detail)
    return "；".join(f"{detail_key(k, lang)}：{_detail_value(k, v, lang)}" for k, v in detail.items()
                    if v not in (None, "", [], {}))


# Account scopes on the users page.
SCOPE_KEYS: dict[str, Pair] = {"staff_id": ("员工号", "staff"), "branch_id": ("机构", "branch"),
                               "team_id": ("团队", "team"), "customer_id": ("客户", "customer")}


def scope_label(key: str, lang: str) -> str:
    return _pick(SCOPE_KEYS.get(key), key, lang)


def finalize(value: Any) -> Any:
    """Jinja's last step for every ``{{ … }}``: None prints as nothing instead of the word "None"."""
    return "" if value is None else value


FILTERS: dict[str, Callable[..., str]] = {
    "localtime": local_time, "localminutes": local_minutes,
}


def lang_filters(lang: str) -> dict[str, Callable[..., str]]:
    """The label functions bound to a language, for templates (``L_source(code)`` etc.)."""
    return {
        "L_source": lambda c: source_label(c, lang), "L_uid": lambda u: record_ref(u, lang),
        "L_field": lambda c: field_label(c, lang),
        "L_entity": lambda c: entity_label(c, lang),
        "L_value": lambda f, v: record_value(f, v, lang), "L_level": lambda c: comparison_label(c, lang),
        "L_reason": lambda c: quarantine_reason(c, lang), "L_run": lambda c: run_status(c, lang),
        "L_step": lambda c: step_label(c, lang), "L_model": lambda c: attribution_model(c, lang),
        "L_method": lambda c: life_method(c, lang),
        "L_audit": lambda c: audit_action(c, lang), "L_target": lambda c: target_kind(c, lang),
        "L_role": lambda c: role_label(c, lang), "L_detail": lambda d: audit_detail(d, lang),
        "L_scope": lambda k: scope_label(k, lang),
    }
