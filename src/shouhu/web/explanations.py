"""Explanations of automated decisions, shared by the API, the console and the H5 page.

Reads the published rows about one customer within the caller's row rule (storage.explain; outside
the scope: 404, as every customer route), shapes the record for the caller (web.shaping: sensitive
fields masked, clear or absent as access.policy decides), builds the explanation (compliance.explain)
and writes an audit entry: an explanation is an access to personal data."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from shouhu.access.policy import SENSITIVE_FIELDS, Principal, field_view, row_rule
from shouhu.compliance.explain import Audience, Sources, explain
from shouhu.errors import ShouhuError
from shouhu.segments.tags import TagLibrary, load_tag_library
from shouhu.storage import explain as store
from shouhu.web import display, i18n
from shouhu.web.auth import record
from shouhu.web.shaping import shape
from shouhu.web.state import AppState

AUDIT_ACTION = "explanation"

i18n.register({
    "explanations": ("自动化决策说明", "Automated decisions explained"),
    "expl_intro": ("以下是系统对该客户自动作出的每一项决定：决定了什么、何时由哪个模型或规则作出、"
                   "使用了哪些信息及其取值、主要原因，以及客户可以怎么做。",
                   "Every decision the system made about this customer by automated means: what was decided, "
                   "when and by which model or rule, the inputs used with their values, the main reasons, and "
                   "what the customer can do."),
    "expl_as_of": ("数据截止日", "Data as of"), "expl_refreshed": ("计算时间", "Worked out at"),
    "expl_made": ("已作出", "Made"), "expl_not_made": ("未作出", "Not made"),
    "expl_outcome": ("结果", "Result"), "expl_when": ("时间", "When"), "expl_by": ("模型或规则", "Model or rule"),
    "expl_inputs": ("使用的信息", "Inputs used"), "expl_input": ("信息", "Input"), "expl_value": ("取值", "Value"),
    "expl_source": ("来源", "Source"), "expl_reasons": ("主要原因", "Main reasons"),
    "expl_why": ("为什么会有这项决定", "Why this decision exists"), "expl_rule": ("规则", "Rule"),
    "expl_internal": ("内部排序依据（不向客户展示）", "Internal ranking figures (not shown to the customer)"),
    "expl_withheld": ("已停用", "Withheld"), "expl_rights": ("客户可以怎么做", "What the customer can do"),
    "expl_legal": ("法律依据", "Legal basis"), "expl_back": ("返回客户360", "Back to the customer 360"),
    "expl_summary": ("项决定已作出，", " decisions made, "), "expl_summary_not": ("项未作出", " not made"),
    "expl_profiling": ("画像授权", "Profiling consent"),
    "expl_probability": ("概率", "probability"), "expl_expected_value": ("期望价值", "expected value"),
    "expl_outcome_value": ("成功价值", "outcome value"), "expl_rank": ("排序", "rank"),
    "expl_decile": ("风险档", "decile"), "expl_value_amount": ("价值", "value"),
    "h5_explanations": ("为什么推荐给我", "Why I see this"), "h5_expl_tab": ("推荐说明", "Why this"),
    "h5_expl_intro": ("我们会用系统自动分析您的信息，帮助安排服务和推荐。"
                      "下面逐项说明系统作出的决定、依据的信息和主要原因。"
                      "您可以申请人工复核、更正信息，或撤回画像授权。",
                      "We analyse your information automatically to plan service and offers. Below, each decision "
                      "the system made, the information it used and the main reasons. You can ask for a human "
                      "review, correct your information, or withdraw profiling consent."),
    "h5_expl_used": ("用到的信息", "Information used"), "h5_expl_reasons": ("主要原因", "Main reasons"),
    "h5_expl_review": ("申请人工复核", "Ask for a human review"),
    "h5_expl_consent": ("撤回画像授权", "Withdraw profiling consent"),
    "h5_expl_none": ("暂无", "None"), "h5_expl_when": ("时间", "When"),
})

display.AUDIT_ACTIONS.update({AUDIT_ACTION: ("查看自动化决策说明", "Automated decisions explained")})

SOURCES: dict[str, tuple[str, str]] = {
    "customer_360": ("客户360", "customer 360"), "customer_detail": ("保单明细", "policy list"),
    "lapse_score": ("失效风险评分", "lapse score"), "lapse_score.reasons": ("评分原因", "score reasons"),
    "lapse_model": ("模型计算", "model"), "customer_value": ("客户价值", "customer value"),
    "customer_gap": ("保障缺口", "protection gaps"), "premium_due": ("续期缴费", "premiums due"),
    "assumption": ("假设", "assumption"), "default": ("默认值", "default"), "src_claim": ("理赔系统", "claims system"),
    "crosssell_score": ("交叉销售评分", "cross-sell score"),
}


def source_label(code: str, lang: str) -> str:
    pair = SOURCES.get(code)
    return (pair[0] if lang == "zh" else pair[1]) if pair else code


def tag_library(state: AppState) -> TagLibrary | None:
    """The tag library the refresh used (shipped plus the data directory's file); None if it is unreadable."""
    try:
        return load_tag_library(state.settings.data_dir)
    except ShouhuError:
        return None


def explanation(state: AppState, principal: Principal, customer_id: str, request: Request | None, *,
                audience: Audience = "staff", lang: str = "zh") -> dict[str, Any]:
    """The explanation of every automated decision about ``customer_id`` for ``principal``; 404 outside its
    scope; audited (action ``explanation``)."""
    rows = store.explanation_rows(state.engine, row_rule(principal), customer_id)
    if rows is None:
        raise HTTPException(404, f"no customer {customer_id} that you may see")
    shaped = shape(principal, rows["record"], state.cipher)
    shaped.pop("revealable", None)
    views = {f: field_view(principal, f) for f in SENSITIVE_FIELDS}
    result = explain(Sources.of(customer_id, rows, shaped, tags=tag_library(state), views=views), audience)
    record(state, principal, AUDIT_ACTION, "customer", customer_id, request, count=result["count"]["made"],
           lang=lang)
    return result
