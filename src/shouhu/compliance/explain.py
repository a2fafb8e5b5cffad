"""Explanations of the automated decisions about one customer (PIPL art. 24, 44, 45 and 48).

:func:`explain` assembles, from the published rows about a customer (storage.explain), one entry per
automated decision the platform made about them: what was decided (zh and en), when and by which
model or rule version, the inputs used with the values the decision saw (sensitive ones as the
caller may see them), the main reasons, and what the person can do about it (ask for a human
review, correct an input, withdraw profiling consent). A decision that was not made for the customer
(its table is missing, or holds no row of theirs) says so; nothing is invented.

Decisions: the lapse-risk score of each policy (scoring.lapse), the customer value tier
(scoring.value), the next best actions (scoring.nba: the rule that fired and its inputs, re-derived
from ``customer_360`` and the other published marts), the protection-gap diagnosis (advice, the batch
``customer_gap``), the tags the customer carries (the tag library's rules, and tags set by journeys),
the lifecycle stage and the life stage (customer360.lifecycle).

Two audiences: ``staff`` (everything, including the internal figures behind a ranking) and
``customer`` (the H5 page: plain words, the main reasons and inputs, no internal coefficients, margins
or expected values). Pure: rows in, a JSON-ready dict out. docs/explanations.md is the user guide.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from shouhu import __version__
from shouhu.access.policy import SENSITIVE_FIELDS, FieldView
from shouhu.advice.methods import Assumptions
from shouhu.customer360.lifecycle import (
    PRE_RETIREMENT_AGE,
    RETIREMENT_AGE,
    YOUNG_CHILD_AGE,
    YOUNG_COUPLE_AGE,
    LifecycleStage,
    LifeStage,
)
from shouhu.model.marts import CUSTOMER_360, CUSTOMER_GAP
from shouhu.model.masking import mask
from shouhu.model.vocab import (
    Channel,
    CoverageType,
    Gender,
    LabelledEnum,
    MaritalStatus,
    PaymentFrequency,
    PolicyStatus,
    ProductType,
    Relation,
    RiskGrade,
)
from shouhu.scoring.nba import ACTION_TYPES, GAP_LABEL, SALES, Config
from shouhu.scoring.renewal import GRACE_DAYS, REINSTATE_YEARS
from shouhu.scoring.value import DEFAULT_LAPSE, MARGIN_RATES, MAX_YEARS, TIER_BY_CODE, TIERS
from shouhu.segments.tags import TagLibrary

Audience = Literal["staff", "customer"]
Rows = Sequence[Mapping[str, Any]] | None  # None: the table is missing; []: no row of the customer
Text = dict[str, str]  # {"zh": ..., "en": ...}

VERSION = __version__
HUMAN_REVIEW_URL = "/h5/requests/new?kind=human_review"
CONSENT_URL = "/h5/consent"
IN_FORCE = ("in_force", "reinstated")
NEEDS = tuple(c.value for c in CoverageType if f"gap_{c.value}" in CUSTOMER_GAP.field_names)


def _t(zh: str, en: str) -> Text:
    return {"zh": zh, "en": en}


# --- what a person can do -------------------------------------------------------------------------

RIGHTS: dict[str, dict[str, Any]] = {
    "human_review": {"label": _t("申请人工复核", "Ask for a human review"), "href": HUMAN_REVIEW_URL,
                     "detail": _t("由工作人员重新审视这一结果，不再仅由系统自动决定；您可以说明理由。",
                                  "Staff look at the result again, so that it is not left to the system alone; "
                                  "you can say why.")},
    "correct_input": {"label": _t("更正信息", "Correct an input"), "href": HUMAN_REVIEW_URL,
                      "detail": _t("如发现所用信息有误或已过时，请在申请复核时一并说明，更正后结果将重新计算。",
                                   "If an input is wrong or out of date, say so in your review request; the "
                                   "result is worked out again once it is corrected.")},
    "withdraw_profiling": {"label": _t("撤回画像授权", "Withdraw profiling consent"), "href": CONSENT_URL,
                           "detail": _t("撤回后，我们不再根据您的画像为您个性化推荐，只保留合同约定的服务。",
                                        "Once withdrawn, we stop personalised recommendations based on your "
                                        "profile; the services of your contract stay.")},
}
LEGAL_BASIS: tuple[dict[str, Any], ...] = (
    {"ref": _t("《个人信息保护法》第二十四条", "PIPL art. 24"),
     "text": _t("利用个人信息进行自动化决策，应当保证决策的透明度和结果公平、公正；通过自动化决策方式作出对个人权益有"
                "重大影响的决定，个人有权要求说明，并有权拒绝仅通过自动化决策的方式作出决定。",
                "Automated decision-making must be transparent and its results fair; where a decision made "
                "by automated means significantly affects a person's rights, the person may ask for an "
                "explanation and may refuse a decision made solely by automated means.")},
    {"ref": _t("《个人信息保护法》第四十四条", "PIPL art. 44"),
     "text": _t("个人对其个人信息的处理享有知情权、决定权，有权限制或者拒绝他人对其个人信息进行处理。",
                "A person has the right to know about and decide on the processing of their personal "
                "information, and may restrict or refuse it.")},
    {"ref": _t("《个人信息保护法》第四十五条", "PIPL art. 45"),
     "text": _t("个人有权向个人信息处理者查阅、复制其个人信息。",
                "A person may consult and copy their personal information.")},
    {"ref": _t("《个人信息保护法》第四十八条", "PIPL art. 48"),
     "text": _t("个人有权要求个人信息处理者对其个人信息处理规则进行解释说明。",
                "A person may ask the handler to explain its rules for processing personal information.")},
)

# --- the decisions --------------------------------------------------------------------------------

TITLES: dict[str, Text] = {
    "lapse_risk": _t("失效风险评分", "Lapse-risk score"),
    "customer_value": _t("客户价值分层", "Customer value tier"),
    "next_best_action": _t("下一步最佳行动", "Next best action"),
    "protection_gap": _t("保障缺口诊断", "Protection gap diagnosis"),
    "tag": _t("客户标签", "Customer tag"),
    "lifecycle_stage": _t("生命周期阶段", "Lifecycle stage"),
    "life_stage": _t("人生阶段", "Life stage"),
}
# "Why you see this": what the decision is for, in plain words (both audiences).
PURPOSES: dict[str, Text] = {
    "lapse_risk": _t("我们估计每张期缴保单未来12个月内停止缴费（失效）的可能性，"
                     "以便服务人员在缴费日前提醒您，避免保障中断。",
                     "We estimate how likely each regular-premium policy is to lapse (premiums stop) within "
                     "12 months, so that staff can remind you before a premium falls due and your cover "
                     "does not stop."),
    "customer_value": _t("我们根据您的有效保单估算其未来价值，用于安排服务等级和会员权益；"
                         "它不改变您的保单条款、保费或理赔。",
                         "We estimate the future value of your policies in force to set service levels and "
                         "membership benefits; it does not change your policy terms, premiums or claims."),
    "next_best_action": _t("系统为服务人员建议下一步可以为您做的事（如缴费提醒、保单检视、补足保障），"
                           "是否联系您由工作人员决定；"
                           "营销类建议只在您同意营销授权时产生。",
                           "The system suggests to staff what to do next for you (a premium reminder, a policy "
                           "review, closing a gap); staff decide whether to contact you. Sales suggestions are "
                           "made only with your marketing consent."),
    "protection_gap": _t("我们按公开的测算方法比较您的保障需求与已有保额，找出可能的保障缺口，"
                         "供您和顾问参考；它不是投保要求。",
                         "We compare your protection needs with your cover by a published method to find "
                         "possible gaps, for you and your adviser to consider; it is not a requirement to buy."),
    "tag": _t("标签是按固定规则对客户信息所做的分组（画像），用于安排服务与推荐；您可以撤回画像授权。",
              "A tag groups customers by a fixed rule over their data (profiling), to plan service and "
              "offers; you can withdraw profiling consent."),
    "lifecycle_stage": _t("生命周期阶段按固定规则由您的保单和联系记录得出，用于安排服务重点。",
                          "The lifecycle stage follows by fixed rules from your policies and contacts, to "
                          "decide what service to focus on."),
    "life_stage": _t("人生阶段按您的年龄、婚姻和子女情况得出，用于提示可能的保障需求。",
                     "The life stage follows from your age, marital status and children, to point to "
                     "likely protection needs."),
}
NOT_MADE: dict[str, Text] = {
    "lapse_risk": _t("未作出：失效风险模型没有为您的保单评分（模型未运行，或您没有缴费中的期缴保单）。",
                     "Not made: the lapse-risk model has not scored a policy of yours (the model has not run, "
                     "or you hold no regular-premium policy still being paid)."),
    "customer_value": _t("未作出：客户价值尚未计算。", "Not made: customer value has not been worked out."),
    "next_best_action": _t("未作出：目前没有为您生成下一步行动建议。",
                           "Not made: no next best action has been suggested for you."),
    "protection_gap": _t("未作出：尚未为您做保障缺口诊断。",
                         "Not made: no protection gap diagnosis has been run for you."),
    "tag": _t("未作出：您目前没有任何标签。", "Not made: you carry no tag."),
    "lifecycle_stage": _t("未作出：尚未确定生命周期阶段。", "Not made: no lifecycle stage has been set."),
    "life_stage": _t("未作出：缺少年龄，无法确定人生阶段。", "Not made: without an age no life stage is set."),
}
TABLE_MISSING = _t("（该数据表尚未发布）", "(the table is not published)")
RIGHTS_OF: dict[str, tuple[str, ...]] = {
    "lapse_risk": ("human_review", "correct_input"),
    "customer_value": ("human_review", "correct_input", "withdraw_profiling"),
    "next_best_action": ("human_review", "correct_input", "withdraw_profiling"),
    "protection_gap": ("human_review", "correct_input"),
    "tag": ("human_review", "correct_input", "withdraw_profiling"),
    "lifecycle_stage": ("human_review", "correct_input", "withdraw_profiling"),
    "life_stage": ("human_review", "correct_input", "withdraw_profiling"),
}

# --- inputs: labels and how to show their values --------------------------------------------------

Kind = str  # money | int | float | pct | date | datetime | bool | text | code:<vocab> | tier
_VOCABS: dict[str, type[LabelledEnum]] = {
    "gender": Gender, "marital_status": MaritalStatus, "product_type": ProductType, "channel": Channel,
    "payment_frequency": PaymentFrequency, "policy_status": PolicyStatus, "relation": Relation,
    "risk_grade": RiskGrade, "lifecycle_stage": LifecycleStage, "life_stage": LifeStage,
}
_ROLES: dict[str, Text] = {"head": _t("户主", "head of household"),
                           **{r.value: _t(r.zh, r.en) for r in Relation}}

INPUTS: dict[str, tuple[str, str, Kind]] = {
    # customer_360 (labels of the mart, shortened where the mart's English is a definition)
    "age": ("年龄", "Age", "int"), "gender": ("性别", "Gender", "code:gender"),
    "marital_status": ("婚姻状况", "Marital status", "code:marital_status"),
    "children_count": ("子女数", "Children", "int"),
    "youngest_child_age": ("最小子女年龄", "Youngest child's age", "int"),
    "household_role": ("家庭角色", "Role in the household", "role"),
    "annual_income": ("年收入", "Annual income", "money"), "claims_paid": ("理赔金额", "Claims paid", "money"),
    "policies_total": ("保单数", "Policies", "int"), "policies_in_force": ("有效保单数", "Policies in force", "int"),
    "policies_lapsed": ("失效保单数", "Policies lapsed", "int"),
    "annualised_premium": ("年化保费", "Annualised premium", "money"),
    "on_time_ratio": ("按时缴费率", "On-time payment ratio", "pct"),
    "max_days_overdue": ("最长逾期天数", "Longest delay (days)", "int"),
    "next_premium_due": ("下次缴费日", "Next premium due", "date"),
    "claims_count": ("理赔次数", "Claims", "int"), "channel_count": ("渠道数", "Channels", "int"),
    "channels": ("接触渠道", "Channels", "channels"),
    "touchpoints_30d": ("近30天联系次数", "Contacts in 30 days", "int"),
    "touchpoints_90d": ("近90天联系次数", "Contacts in 90 days", "int"),
    "last_contact_at": ("最近接触", "Last contact", "datetime"),
    "days_since_last_contact": ("距上次接触天数", "Days since the last contact", "int"),
    "first_policy_date": ("首单日期", "First policy", "date"),
    "tenure_years": ("客龄（年）", "Years as a customer", "float"),
    "has_wearable": ("共享穿戴设备数据", "Shares wearable data", "bool"),
    "avg_daily_steps_30d": ("近30天日均步数", "Daily steps, last 30 days", "int"),
    "marketing_consent": ("营销授权", "Marketing consent", "bool"),
    "province": ("省份", "Province", "text"), "city": ("城市", "City", "text"),
    **{f"sa_{c}": (f"已有{CoverageType(c).zh}保额", f"{CoverageType(c).en} cover in force", "money") for c in NEEDS},
    **{f"need_{c}": (f"{CoverageType(c).zh}需求", f"{CoverageType(c).en} need", "money") for c in NEEDS},
    **{f"gap_{c}": (f"{CoverageType(c).zh}缺口", f"{CoverageType(c).en} gap", "money") for c in NEEDS},
    # other published marts and re-derived facts
    "customer_value": ("客户价值", "Customer value", "money"), "value_tier": ("价值等级", "Value tier", "tier"),
    "lapse_probability": ("预计失效概率（最高的一张保单）", "Estimated lapse risk (riskiest policy)", "pct"),
    "in_grace": ("宽限期内保单数", "Policies in the grace period", "int"),
    "grace_premium": ("宽限期内未缴保费", "Unpaid premium in the grace period", "money"),
    "grace_ends": ("宽限期结束", "Grace period ends", "date"),
    "reinstatable": ("可复效的失效保单数", "Lapsed policies that can be reinstated", "int"),
    "lapsed_premium": ("失效保单年缴保费", "Yearly premium of the lapsed policies", "money"),
    "reinstate_until": ("可申请复效至", "Reinstatement possible until", "date"),
    "pending_claims": ("处理中的理赔", "Claims in progress", "int"),
    "crosssell_probability": ("购买可能性评分", "Purchase likelihood score", "pct"),
    # policies (value) and the lapse model's features
    "policy_no": ("保单号", "Policy", "text"), "product_type": ("产品类型", "Product type", "code:product_type"),
    "annual_premium": ("年缴保费", "Yearly premium", "money"),
    "payment_frequency": ("缴费方式", "Payment frequency", "code:payment_frequency"),
    "margin_rate": ("利润率假设", "Margin rate assumed", "pct"),
    "lapse_rate": ("年失效率假设", "Yearly lapse rate assumed", "pct"),
    "sum_assured": ("保额", "Sum assured", "money"), "premium_term_years": ("缴费年限", "Premium term (years)", "int"),
    "installments_due": ("应缴期数", "Premiums due so far", "int"),
    "payments_count": ("已缴期数", "Premiums paid", "int"),
    "max_days_late": ("最长迟缴天数", "Longest delay (days)", "int"),
    "days_overdue_now": ("当前逾期天数", "Days overdue now", "int"),
    "days_since_last_payment": ("距上次缴费天数", "Days since the last payment", "int"),
    "risk_grade": ("产品风险等级", "Product risk grade", "code:risk_grade"),
    "holder_age": ("投保人年龄", "Policyholder's age", "int"),
    "holder_income": ("投保人年收入", "Policyholder's income", "money"),
    "holder_gender": ("投保人性别", "Policyholder's gender", "code:gender"),
    "policy_age_months": ("保单已生效月数", "Months since issue", "int"),
    "agent_tenure_years": ("服务人员从业年限", "Agent's years of service", "float"),
    "channel_of_sale": ("销售渠道", "Sales channel", "code:channel"),
}
# Inputs whose value is a sensitive field of the record, and the field whose view decides how it shows.
SENSITIVE_INPUTS = {f: f for f in SENSITIVE_FIELDS} | {"holder_income": "annual_income"}
LAPSE_FEATURE_ALIASES = {"channel": "channel_of_sale"}  # the lapse frame's "channel" is the policy's sales channel
LAPSE_FEATURES = ("installments_due", "payments_count", "on_time_ratio", "max_days_late", "days_overdue_now",
                  "days_since_last_payment", "policy_age_months", "annual_premium", "payment_frequency",
                  "sum_assured", "premium_term_years", "product_type", "risk_grade", "channel", "holder_age",
                  "holder_income", "holder_gender", "channel_count", "touchpoints_90d", "agent_tenure_years")
LAPSE_OTHER_INPUTS = _t("模型还参考了截至评分日的缴费记录（应缴与已缴期数、迟缴天数）、"
                        "保单情况（保额、缴费年限、生效时长）、"
                        "投保人情况（年龄、性别、收入、联系次数）和服务人员从业年限。",
                        "The model also used, as of the scoring date, the payment record (premiums due and paid, "
                        "days late), the policy (sum assured, premium term, months since issue), the policyholder "
                        "(age, gender, income, contacts) and the agent's years of service.")
_REASON = re.compile(r"^(?P<name>[a-z_0-9]+) = (?P<value>.*) (?P<verb>raises|lowers) the risk$")


def _mart_label(name: str) -> tuple[str, str, Kind]:
    for f in (*CUSTOMER_360.fields, *CUSTOMER_GAP.fields):
        if f.name == name:
            kind = {"int": "int", "float": "float", "bool": "bool", "date": "date", "datetime": "datetime"}.get(
                f.dtype, "text")
            return f.zh, f.en, kind
    return name, name.replace("_", " "), "text"


def input_label(name: str) -> Text:
    zh, en, _ = INPUTS.get(name) or _mart_label(name)
    return _t(zh, en)


# --- formatting -----------------------------------------------------------------------------------

HIDDEN = _t("（您无权查看）", "(not shown to you)")
MISSING = _t("无记录", "not recorded")
NOT_KEPT = _t("未随结果保存", "not kept with the result")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value == ""


def _num(value: Any) -> float | None:
    if _blank(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _money(v: float) -> Text:
    return _t(f"{v:,.0f}元", f"CNY {v:,.0f}")


def _date_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text[:16].replace("T", " ") if len(text) > 10 else text


def _code(vocab: str, value: Any) -> Text:
    enum = _VOCABS.get(vocab)
    if enum is not None:
        try:
            member = enum(str(value))
            return _t(member.zh, member.en)
        except ValueError:
            pass
    return _t(str(value), str(value))


def show(kind: Kind, value: Any) -> Text:
    """A value as the person reads it, in both languages."""
    if _blank(value):
        return dict(MISSING)
    if isinstance(value, str) and kind in ("money", "int", "float", "pct") and _num(value) is None:
        return _t(value, value)  # a masked value ("••••", "2****0"): shown as it is
    if kind == "money":
        return _money(float(value))
    if kind == "int":
        return _t(f"{float(value):,.0f}", f"{float(value):,.0f}")
    if kind == "float":
        return _t(f"{float(value):,.1f}", f"{float(value):,.1f}")
    if kind == "pct":
        return _t(f"{float(value):.0%}", f"{float(value):.0%}")
    if kind in ("date", "datetime"):
        return _t(_date_text(value), _date_text(value))
    if kind == "bool":
        yes = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "t")
        return _t("是", "yes") if yes else _t("否", "no")
    if kind.startswith("code:"):
        return _code(kind[5:], value)
    if kind == "role":
        return dict(_ROLES.get(str(value), _t(str(value), str(value))))
    if kind == "tier":
        tier = TIER_BY_CODE.get(str(value))
        return _t(tier.label_zh, tier.label_en) if tier else _t(str(value), str(value))
    if kind == "channels":
        names = [_code("channel", c.strip()) for c in str(value).split(",") if c.strip()]
        return _t("、".join(n["zh"] for n in names), ", ".join(n["en"] for n in names))
    return _t(str(value), str(value))


# --- the sources ----------------------------------------------------------------------------------

def default_views() -> dict[str, FieldView]:
    """Every sensitive field masked: the view when the caller's own is not given."""
    return {f: FieldView.LOCKED for f in SENSITIVE_FIELDS}


@dataclass(frozen=True)
class Sources:
    """The rows about one customer (storage.explain.explanation_rows, the record shaped for the caller).

    ``record``: the golden record with its 360 row and value tier, sensitive fields as the caller may see
    them (masked, clear or absent). Every ``Rows`` field is None when its table is missing. ``views``:
    the caller's view of each sensitive field (access.policy.field_view), for values the marts hold in
    clear (a lapse reason naming the holder's income)."""

    customer_id: str
    record: Mapping[str, Any]
    policies: Sequence[Mapping[str, Any]] = ()
    lapse_score: Rows = None
    customer_value: Rows = None
    next_best_action: Rows = None
    customer_gap: Rows = None
    customer_tag: Rows = None
    journey_tag: Rows = None
    premium_due: Rows = None
    refresh: Mapping[str, Any] | None = None
    consent: Mapping[tuple[str, str], bool] = field(default_factory=dict)
    sales_stopped: bool = False
    tags: TagLibrary | None = None
    views: Mapping[str, FieldView] = field(default_factory=default_views)

    @classmethod
    def of(cls, customer_id: str, rows: Mapping[str, Any], record: Mapping[str, Any], *,
           tags: TagLibrary | None = None, views: Mapping[str, FieldView] | None = None) -> Sources:
        """From storage.explain.explanation_rows' answer and the record shaped for the caller."""
        names = ("lapse_score", "customer_value", "next_best_action", "customer_gap", "customer_tag", "journey_tag",
                 "premium_due")
        return cls(customer_id, record, tuple(rows.get("policies") or ()), **{n: rows.get(n) for n in names},
                   refresh=rows.get("refresh"), consent=rows.get("consent") or {},
                   sales_stopped=bool(rows.get("sales_stopped")), tags=tags,
                   views=views if views is not None else default_views())


class _Ctx:
    def __init__(self, src: Sources, audience: Audience) -> None:
        self.src, self.audience = src, audience
        self.staff = audience == "staff"
        run = src.refresh or {}
        self.as_of = _date_text(run["as_of"]) if run.get("as_of") is not None else None
        self.run_at = _date_text(run["finished_at"]) if run.get("finished_at") is not None else None

    def view(self, name: str) -> FieldView:
        source = SENSITIVE_INPUTS.get(name)
        return FieldView.CLEAR if source is None else self.src.views.get(source, FieldView.LOCKED)

    def value(self, name: str, value: Any, source: str, *, shaped: bool = False, note: Text | None = None,
              kind: Kind | None = None) -> dict[str, Any]:
        """One input. ``shaped``: the value comes from the shaped record (already as the caller may see it);
        otherwise a sensitive value is masked or hidden here by the caller's view."""
        kind = kind or (INPUTS.get(name) or _mart_label(name))[2]
        view = self.view(name)
        if not shaped and name in SENSITIVE_INPUTS and view is not FieldView.CLEAR and not _blank(value):
            value = None if view is FieldView.HIDDEN else mask(SENSITIVE_INPUTS[name], _plain(value))
        hidden = name in SENSITIVE_INPUTS and view is FieldView.HIDDEN
        if hidden:
            value = None
        shown = dict(HIDDEN) if hidden else (dict(note) if note is not None and _blank(value) else show(kind, value))
        return {"name": name, "label": input_label(name), "value": _json_value(value), "shown": shown,
                "source": source, "sensitive": name in SENSITIVE_INPUTS}

    def field(self, name: str, source: str = "customer_360") -> dict[str, Any]:
        rec = self.src.record
        if name in SENSITIVE_FIELDS and name not in rec:  # shaped away: the caller may not see it
            return {"name": name, "label": input_label(name), "value": None, "shown": dict(HIDDEN), "source": source,
                    "sensitive": True}
        return self.value(name, rec.get(name), source, shaped=True)

    def made_by_rules(self, zh: str, en: str) -> dict[str, Any]:
        return {"kind": "rules", "version": VERSION,
                "label": _t(f"{zh}（shouhu {VERSION}）", f"{en} (shouhu {VERSION})")}

    def refresh_time(self) -> str | None:
        return self.as_of


def _plain(value: Any) -> str:
    f = _num(value)
    return f"{f:.0f}" if f is not None and f == int(f) else str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return _date_text(value)
    if isinstance(value, float) and value != value:
        return None
    return value


def _decision(ctx: _Ctx, code: str, *, made: bool, outcome: Text | None = None, subject: Text | None = None,
              made_at: str | None = None, made_by: dict[str, Any] | None = None,
              inputs: list[dict[str, Any]] | None = None, reasons: list[Text] | None = None,
              internal: dict[str, Any] | None = None, missing_table: bool = False,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    not_made = None
    if not made:
        base = NOT_MADE[code]
        not_made = _t(base["zh"] + (TABLE_MISSING["zh"] if missing_table else ""),
                      base["en"] + (" " + TABLE_MISSING["en"] if missing_table else ""))
    out: dict[str, Any] = {
        "code": code, "title": TITLES[code], "made": made, "subject": subject, "outcome": outcome,
        "not_made": not_made, "why": PURPOSES[code], "made_at": made_at, "made_by": made_by,
        "inputs": inputs or [], "reasons": reasons or [], "rights": list(RIGHTS_OF[code]),
    }
    if extra:
        out.update(extra)
    if ctx.staff and internal:
        out["internal"] = internal
    return out


# --- lapse risk -----------------------------------------------------------------------------------

def _band(p: float) -> Text:
    return _t("较高", "high") if p >= 0.3 else _t("中等", "medium") if p >= 0.1 else _t("较低", "low")


def _reason_of(ctx: _Ctx, text: str) -> tuple[Text, dict[str, Any] | None]:
    """A lapse reason ("days_overdue_now = 43 raises the risk") in both languages, and the input it names."""
    m = _REASON.match(text.strip())
    if m is None:
        return _t(text, text), None
    name = LAPSE_FEATURE_ALIASES.get(m["name"], m["name"])
    raw: Any = None if m["value"] == "missing" else m["value"]
    item = ctx.value(name, raw, "lapse_score.reasons")
    up = m["verb"] == "raises"
    label, shown = item["label"], item["shown"]
    return (_t(f"{label['zh']}为{shown['zh']}，{'提高' if up else '降低'}了失效风险",
               f"{label['en']} = {shown['en']} {'raises' if up else 'lowers'} the risk"), item)


def _reasons_json(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        parsed = json.loads(value) if value else []
    except (TypeError, ValueError):
        return []
    return [str(v) for v in parsed] if isinstance(parsed, list) else []


def _policy_of(src: Sources, policy_no: Any) -> Mapping[str, Any]:
    return next((p for p in src.policies if p.get("policy_no") == policy_no), {})


def lapse_decisions(ctx: _Ctx) -> list[dict[str, Any]]:
    rows = ctx.src.lapse_score
    if not rows:
        return [_decision(ctx, "lapse_risk", made=False, missing_table=rows is None)]
    out = []
    for r in sorted(rows, key=lambda r: (-(_num(r.get("probability")) or 0.0), str(r.get("policy_no")))):
        p = _num(r.get("probability")) or 0.0
        band = _band(p)
        decile = r.get("decile")
        tail_zh = f"，在全部保单中排第{decile}档（第1档风险最高）" if ctx.staff and decile is not None else ""
        tail_en = f"; decile {decile} of all policies (1 = riskiest)" if ctx.staff and decile is not None else ""
        outcome = _t(f"失效风险{band['zh']}（约{p:.0%}）{tail_zh}", f"Lapse risk {band['en']} (about {p:.0%}){tail_en}")
        reasons, named = [], {}
        for text in _reasons_json(r.get("reasons")):
            reason, item = _reason_of(ctx, text)
            reasons.append(reason)
            if item is not None:
                named[item["name"]] = item
        if not reasons:
            reasons.append(_t("只为风险最高的30%保单计算主要原因，这张保单不在其中。",
                              "Main reasons are worked out only for the riskiest 30% of policies; this one is "
                              "not among them."))
        policy = _policy_of(ctx.src, r.get("policy_no"))
        inputs = [ctx.value("policy_no", r.get("policy_no"), "lapse_score")]
        for feature in LAPSE_FEATURES:
            name = LAPSE_FEATURE_ALIASES.get(feature, feature)
            if name in named:
                inputs.append(named[name])
            elif feature in ("product_type", "annual_premium", "payment_frequency") and policy.get(feature) is not None:
                inputs.append(ctx.value(name, policy.get(feature), "customer_detail"))
            else:  # computed at the snapshot from the source systems; the value is not published
                inputs.append(ctx.value(name, None, "lapse_model", note=NOT_KEPT))
        if not ctx.staff:  # the person sees the inputs the result names or shows; the rest as groups
            inputs = [i for i in inputs if i["value"] is not None]
            reasons.append(LAPSE_OTHER_INPUTS)
        model = str(r.get("model") or "")
        out.append(_decision(
            ctx, "lapse_risk", made=True, outcome=outcome,
            subject=_t(f"保单 {r.get('policy_no')}", f"Policy {r.get('policy_no')}"),
            made_at=_date_text(r["snapshot_date"]) if r.get("snapshot_date") is not None else None,
            made_by={"kind": "model", "version": model,
                     "label": _t(f"失效风险模型 {model}", f"Lapse-risk model {model}")},
            inputs=inputs, reasons=reasons,
            internal={"probability": p, "decile": decile, "model": model},
            extra={"policy_no": r.get("policy_no"), "level": band}))
    return out


# --- customer value -------------------------------------------------------------------------------

def _in_force_policies(src: Sources) -> list[Mapping[str, Any]]:
    return [p for p in src.policies if p.get("is_holder") is not False and p.get("status") in IN_FORCE]


def value_decision(ctx: _Ctx) -> dict[str, Any]:
    rows = ctx.src.customer_value
    if not rows:
        return _decision(ctx, "customer_value", made=False, missing_table=rows is None)
    row = rows[0]
    tier = TIER_BY_CODE.get(str(row.get("tier")))
    tier_zh = tier.label_zh if tier else str(row.get("tier_zh") or row.get("tier"))
    tier_en = tier.label_en if tier else str(row.get("tier_en") or row.get("tier"))
    value = _num(row.get("value")) or 0.0
    outcome = _t(f"价值等级：{tier_zh}", f"Value tier: {tier_en}")
    if ctx.staff:
        outcome = _t(f"{outcome['zh']}（预期未来利润现值约{value:,.0f}元）",
                     f"{outcome['en']} (expected present value of margins about CNY {value:,.0f})")
    lapse = {str(r.get("policy_no")): _num(r.get("probability")) for r in ctx.src.lapse_score or ()}
    inputs = [ctx.field("age"), ctx.field("gender")]
    policies = _in_force_policies(ctx.src)
    for p in policies:
        no = str(p.get("policy_no"))
        inputs.append(ctx.value("policy_no", no, "customer_detail"))
        inputs.append(ctx.value("product_type", p.get("product_type"), "customer_detail"))
        inputs.append(ctx.value("annual_premium", p.get("annual_premium"), "customer_detail"))
        if ctx.staff:
            rate = lapse.get(no)
            inputs.append(ctx.value("lapse_rate", rate if rate is not None else DEFAULT_LAPSE,
                                    "lapse_score" if rate is not None else "default"))
            inputs.append(ctx.value("margin_rate", MARGIN_RATES.get(str(p.get("product_type")), 0.10), "assumption"))
    n = int(_num(row.get("policies")) or len(policies))
    premium = sum(_num(p.get("annual_premium")) or 0.0 for p in policies)
    bands = "、".join(f"{t.label_zh}前{(1 - t.quantile):.0%}" for t in TIERS[:-1])
    bands_en = ", ".join(f"{t.label_en} the top {(1 - t.quantile):.0%}" for t in TIERS[:-1])
    reasons = [
        _t(f"按您作为投保人的{n}张有效保单估算（年缴保费合计约{premium:,.0f}元）：每年保费的利润部分，乘以继续缴费和生存的概率，"
           f"折现到今天，最多计{MAX_YEARS}年；趸交和已缴清的保单按所持资金估算。生存概率按被保险人的年龄、性别和"
           "中国人身保险业经验生命表（2010-2013）。",
           f"Worked out from the {n} polic{'y' if n == 1 else 'ies'} in force you hold (about CNY {premium:,.0f} a "
           f"year in premiums): the margin in each year's premium, times the chance that premiums continue and of "
           f"survival, discounted to today, for at most {MAX_YEARS} years; single-premium and paid-up policies on the "
           "money held for them. Survival follows the insured person's age and sex in the China life insurance "
           "mortality table CL(2010-2013)."),
        _t(f"等级按全部客户价值的位次划分：{bands}，其余为标准。",
           f"Tiers follow the rank among all customers' values: {bands_en}; the rest are Standard."),
    ]
    if not any(r.get("probability") is not None for r in ctx.src.lapse_score or ()):
        reasons.append(_t(f"失效风险模型未为您的保单评分，按每年{DEFAULT_LAPSE:.0%}的失效率估算。",
                          f"The lapse model has not scored your policies: a lapse rate of {DEFAULT_LAPSE:.0%} a year "
                          "is assumed."))
    return _decision(ctx, "customer_value", made=True, outcome=outcome, made_at=ctx.refresh_time(),
                     made_by=ctx.made_by_rules("客户价值模型", "Customer value model"), inputs=inputs,
                     reasons=reasons, internal={"value": value, "tier": row.get("tier")},
                     extra={"tier": row.get("tier")})


# --- next best actions ----------------------------------------------------------------------------

ACTION_LABEL = {a.code: _t(a.label_zh, a.label_en) for a in ACTION_TYPES}
ACTION_KIND = {a.code: a.kind for a in ACTION_TYPES}
# The customer's "why you see this" per action: plain words, no internal figures.
ACTION_PLAIN: dict[str, Text] = {
    "retention_contact": _t("您的下一期保费即将到期，服务人员可能会提前提醒您缴费，以免保障中断。",
                            "A premium of yours falls due soon; staff may remind you beforehand so that your "
                            "cover does not stop."),
    "grace_collection": _t("您有保费已到期未缴，目前在宽限期内、保障仍然有效；服务人员可能会提醒您按原合同缴费。",
                           "A premium of yours is due and unpaid; you are in the grace period and still covered. "
                           "Staff may remind you to pay under your contract."),
    "reinstatement": _t("您有失效的保单仍可申请复效，恢复原合同通常比重新投保更划算；服务人员可能会联系您说明。",
                        "A lapsed policy of yours can still be reinstated, usually better value than buying "
                        "again; staff may contact you to explain."),
    "claim_help": _t("您有理赔记录或正在处理的理赔，服务人员可能会联系您提供协助。",
                     "You have claims on record or in progress; staff may contact you to help."),
    "policy_review": _t("您已较长时间没有与我们联系，服务人员可能会邀请您检视现有保单。",
                        "We have not been in touch for a long time; staff may invite you to review your policies."),
    "close_gap": _t("保障缺口诊断发现您可能存在保障缺口，顾问可能会向您介绍合适的产品；是否购买完全由您决定。",
                    "The gap diagnosis found a possible protection gap; an adviser may suggest suitable products. "
                    "Whether to buy is entirely your choice."),
    "health_programme": _t("根据您的年龄，您可以加入我们的健康计划（步数换积分与会员权益）。",
                           "At your age you can join our health programme (steps earn points and benefits)."),
    "upgrade_membership": _t("根据您的客户价值等级，您可以享受更高一级的会员权益。",
                             "Your value tier makes you eligible for a higher membership level."),
}
SALES_RULE = _t(f"营销类建议只在您同意营销授权、且近30天联系少于{Config().sales_touch_cap}次时产生。",
                f"Sales suggestions are made only with your marketing consent and fewer than "
                f"{Config().sales_touch_cap} contacts in the last 30 days.")
WITHHELD = _t("已停用：您在本次计算后撤回了营销或画像授权，此建议不再向工作人员展示。",
              "Withheld: you withdrew marketing or profiling consent after this was worked out, so staff no "
              "longer see it.")


def _renewal_facts(rows: Rows) -> dict[str, Any]:
    """The grace-period and reinstatement facts of scoring.renewal, from the published ``premium_due``."""
    grace = [r for r in rows or () if r.get("state") == "grace"]
    lapsed = [r for r in rows or () if r.get("state") == "lapsed"]
    out: dict[str, Any] = {"in_grace": len({r.get("policy_no") for r in grace}),
                           "reinstatable": len({r.get("policy_no") for r in lapsed})}
    if grace:
        out["grace_premium"] = sum(_num(r.get("amount_due")) or 0.0 for r in grace)
        ends = [_as_date(r.get("lapse_date")) or _plus_days(r.get("due_date"), GRACE_DAYS) for r in grace]
        out["grace_ends"] = min((d for d in ends if d is not None), default=None)
    if lapsed:
        out["lapsed_premium"] = sum(_num(r.get("annual_premium")) or 0.0 for r in lapsed)
        first = min((d for d in (_as_date(r.get("due_date")) for r in lapsed) if d is not None), default=None)
        out["reinstate_until"] = None if first is None else _plus_years(first, REINSTATE_YEARS)
    return out


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _plus_days(value: Any, days: int) -> date | None:
    d = _as_date(value)
    return None if d is None else d + timedelta(days=days)


def _plus_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _action_inputs(ctx: _Ctx, action: str, product_type: Any) -> list[dict[str, Any]]:
    src = ctx.src
    value_row = (src.customer_value or [{}])[0]
    value_in = ctx.value("customer_value", value_row.get("value"), "customer_value")
    lapse = [p for p in (_num(r.get("probability")) for r in src.lapse_score or ()) if p is not None]
    facts = _renewal_facts(src.premium_due)
    gap = (src.customer_gap or [{}])[0]

    def fact(name: str) -> dict[str, Any]:
        return ctx.value(name, facts.get(name), "premium_due")

    if action == "retention_contact":
        items = [ctx.field("next_premium_due"), ctx.field("policies_in_force"),
                 ctx.value("lapse_probability", max(lapse) if lapse else None, "lapse_score",
                           note=_t(f"未评分，按{Config().default_lapse:.0%}估算",
                                   f"not scored: {Config().default_lapse:.0%} assumed")),
                 ctx.field("annualised_premium")]
        return [*items, value_in] if ctx.staff else items
    if action == "grace_collection":
        items = [fact("in_grace"), fact("grace_premium"), fact("grace_ends")]
        return [*items, ctx.field("annualised_premium"), value_in] if ctx.staff else items
    if action == "reinstatement":
        return [fact("reinstatable"), fact("lapsed_premium"), fact("reinstate_until")]
    if action == "claim_help":
        return [ctx.field("claims_count"), ctx.value("pending_claims", None, "src_claim", note=NOT_KEPT)]
    if action == "policy_review":
        items = [ctx.field("policies_in_force"), ctx.field("days_since_last_contact"), ctx.field("last_contact_at")]
        return [*items, value_in] if ctx.staff else items
    if action == "close_gap":
        items = [ctx.value(f"gap_{c}", gap.get(f"gap_{c}"), "customer_gap") for c in NEEDS
                 if (_num(gap.get(f"gap_{c}")) or 0.0) > 0]
        if ctx.staff:
            items.append(ctx.value("crosssell_probability", None, "crosssell_score",
                                   note=_t(f"未随结果保存（无评分时按{Config().gap_conversion:.0%}）",
                                           f"not kept with the result ({Config().gap_conversion:.0%} "
                                           "without a score)")))
        return items
    if action == "health_programme":
        return [ctx.field("age"), ctx.field("has_wearable")]
    if action == "upgrade_membership":
        tier = ctx.value("value_tier", value_row.get("tier"), "customer_value")
        return [tier, value_in] if ctx.staff else [tier]
    return []


def _action_rule(action: str) -> Text:
    cfg = Config()
    rules = {
        "retention_contact": _t(f"规则：有有效保单，且下次保费在{cfg.due_window_days}天内到期。",
                                f"Rule: a policy in force and the next premium due within {cfg.due_window_days} days."),
        "grace_collection": _t(f"规则：有保费已到期未缴，且仍在{GRACE_DAYS}天宽限期内（《保险法》第三十六条）。",
                               f"Rule: a premium due and unpaid, still inside the {GRACE_DAYS}-day grace period "
                               "(Insurance Law art. 36)."),
        "reinstatement": _t(f"规则：有失效不满{REINSTATE_YEARS}年的保单（《保险法》第三十七条）。",
                            f"Rule: a policy lapsed less than {REINSTATE_YEARS} years ago (Insurance Law art. 37)."),
        "claim_help": _t("规则：有正在处理的理赔，或有理赔记录。", "Rule: a claim in progress, or claims on record."),
        "policy_review": _t(f"规则：有有效保单，且{cfg.review_after_days}天以上没有联系（或从未联系）。",
                            f"Rule: a policy in force and no contact for {cfg.review_after_days}+ days (or ever)."),
        "close_gap": _t("规则：保障缺口诊断发现缺口，推荐补足最大的一项。",
                        "Rule: the gap diagnosis found a gap; the largest one is suggested."),
        "health_programme": _t(f"规则：年龄{cfg.health_ages[0]}–{cfg.health_ages[1]}岁，且尚未共享穿戴设备数据。",
                               f"Rule: aged {cfg.health_ages[0]}–{cfg.health_ages[1]} and sharing no wearable data."),
        "upgrade_membership": _t("规则：价值等级为白金或黄金。", "Rule: value tier Platinum or Gold."),
    }
    return rules.get(action, _t(action, action))


def action_decisions(ctx: _Ctx) -> list[dict[str, Any]]:
    rows = ctx.src.next_best_action
    if not rows:
        return [_decision(ctx, "next_best_action", made=False, missing_table=rows is None)]
    out = []
    for r in sorted(rows, key=lambda r: int(_num(r.get("rank")) or 0)):
        action = str(r.get("action"))
        kind = str(r.get("kind") or ACTION_KIND.get(action, ""))
        label = ACTION_LABEL.get(action, _t(action, action))
        product = r.get("product_type")
        outcome = dict(label)
        if product:
            pt = _code("product_type", product)
            outcome = _t(f"{label['zh']}（{pt['zh']}）", f"{label['en']} ({pt['en']})")
        inputs = _action_inputs(ctx, action, product)
        if kind == SALES:
            inputs += [ctx.field("marketing_consent"), ctx.field("touchpoints_30d")]
        stated = _t(str(r.get("reason_zh") or ""), str(r.get("reason_en") or ""))
        reasons = [stated if ctx.staff else ACTION_PLAIN.get(action, stated), _action_rule(action)]
        if kind == SALES:
            reasons.append(SALES_RULE)
        withheld = kind == SALES and ctx.src.sales_stopped
        if withheld:
            reasons.append(WITHHELD)
        out.append(_decision(
            ctx, "next_best_action", made=True, outcome=outcome,
            subject=_t(f"第{r.get('rank')}项建议", f"Suggestion {r.get('rank')}"), made_at=ctx.refresh_time(),
            made_by=ctx.made_by_rules("下一步最佳行动规则", "Next-best-action rules"), inputs=inputs, reasons=reasons,
            internal={"rank": r.get("rank"), "probability": r.get("probability"),
                      "outcome_value": r.get("outcome_value"), "expected_value": r.get("expected_value")},
            extra={"action": action, "kind": kind, "withheld": withheld}))
    return out


# --- protection gaps ------------------------------------------------------------------------------

GAP_INPUTS = ("age", "gender", "annual_income", "household_role", "children_count", "youngest_child_age",
              *(f"sa_{c}" for c in NEEDS))


def _method_text() -> list[Text]:
    a = Assumptions()
    return [
        _t("寿险按DIME法：负债 + 年收入×需供养年数 + 房贷 + 子女教育费用；每项缺口 = 需求 − 已有有效保额。",
           "Life by the DIME method: debts + income × years of support + mortgage + education; each gap is the "
           "need less the cover in force."),
        _t(f"重疾：{a.ci_income_years:g}年收入（退休前）加治疗费用{a.ci_treatment_cost:,.0f}元；医疗：一份{a.medical_limit:,.0f}元"
           f"额度的百万医疗；意外：{a.accident_income_years:g}年收入与{a.accident_floor:,.0f}元中的较高者。",
           f"Critical illness: {a.ci_income_years:g} years of income (before retirement) plus treatment of CNY "
           f"{a.ci_treatment_cost:,.0f}; medical: one million-yuan medical policy with a CNY {a.medical_limit:,.0f} "
           f"limit; accident: the larger of {a.accident_income_years:g} years of income and CNY "
           f"{a.accident_floor:,.0f}."),
        _t(f"养老：退休后目标收入为现收入的{a.pension_target_ratio:.0%}，扣除估算的基本养老金；教育金：每年{a.education_cost_per_year:,.0f}元"
           f"至子女{a.education_end_age}岁。",
           f"Pension: {a.pension_target_ratio:.0%} of income in retirement less the estimated basic pension; "
           f"education: CNY {a.education_cost_per_year:,.0f} a year until the child is {a.education_end_age}."),
    ]


def gap_decision(ctx: _Ctx) -> dict[str, Any]:
    rows = ctx.src.customer_gap
    if not rows:
        return _decision(ctx, "protection_gap", made=False, missing_table=rows is None)
    gap = rows[0]
    found = {c: _num(gap.get(f"gap_{c}")) or 0.0 for c in NEEDS}
    positive = {c: v for c, v in found.items() if v > 0}
    if positive:
        biggest = max(positive, key=lambda c: (positive[c], c))
        zh, en = GAP_LABEL.get(biggest, (CoverageType(biggest).zh, CoverageType(biggest).en))
        outcome = _t(f"发现{len(positive)}项保障缺口，最大的是{zh}（约{positive[biggest] / 10_000:,.1f}万元）",
                     f"{len(positive)} protection gap{'s' if len(positive) > 1 else ''} found; the largest is {en} "
                     f"(about CNY {positive[biggest]:,.0f})")
    else:
        outcome = _t("未发现保障缺口", "No protection gap found")
    inputs = [ctx.field(name) for name in GAP_INPUTS]
    reasons = []
    for c in NEEDS:
        need, cover, g = _num(gap.get(f"need_{c}")), _num(ctx.src.record.get(f"sa_{c}")) or 0.0, found[c]
        if need is None:
            continue
        label = CoverageType(c)
        reasons.append(_t(f"{label.zh}：需求约{need / 10_000:,.1f}万元，已有保额{cover / 10_000:,.1f}万元，"
                          f"缺口{g / 10_000:,.1f}万元",
                          f"{label.en}: need about CNY {need:,.0f}, cover CNY {cover:,.0f}, gap CNY {g:,.0f}"))
    reasons += _method_text()
    return _decision(ctx, "protection_gap", made=True, outcome=outcome, made_at=ctx.refresh_time(),
                     made_by=ctx.made_by_rules("保障缺口测算（DIME法）", "Gap engine (DIME method)"), inputs=inputs,
                     reasons=reasons, extra={"gaps": {c: found[c] for c in NEEDS}})


# --- tags -----------------------------------------------------------------------------------------

_SPLIT = re.compile(r"^(?P<zh>.*?[。.])\s*(?P<en>[A-Z].*)$", re.S)


def split_description(text: str) -> Text:
    """A tag description "中文说明。English text." as its two languages (the whole text in both if it has one)."""
    m = _SPLIT.match(text.strip())
    if m is None or not re.search(r"[\u4e00-\u9fff]", m["zh"]):
        return _t(text, text)
    return _t(m["zh"].strip(), m["en"].strip())


def _tag_inputs(ctx: _Ctx, columns: Sequence[str]) -> list[dict[str, Any]]:
    gap = (ctx.src.customer_gap or [{}])[0]
    out = []
    for name in sorted(columns):
        if name.startswith(("gap_", "need_")):
            out.append(ctx.value(name, gap.get(name), "customer_gap"))
        else:
            out.append(ctx.field(name))
    return out


def tag_decisions(ctx: _Ctx) -> list[dict[str, Any]]:
    rows, journey = ctx.src.customer_tag, ctx.src.journey_tag
    if not rows and not journey:
        return [_decision(ctx, "tag", made=False, missing_table=rows is None)]
    library = {t.code: t for t in ctx.src.tags} if ctx.src.tags is not None else {}
    out = []
    for r in sorted(rows or (), key=lambda r: str(r.get("tag"))):
        code = str(r.get("tag"))
        tag = library.get(code)
        label = _t(str(r.get("label_zh") or (tag.zh if tag else code)),
                   str(r.get("label_en") or (tag.en if tag else code)))
        if tag is None:
            reasons = [_t("该标签的规则已不在当前标签库中，下次刷新时将重新计算。",
                          "The tag's rule is no longer in the tag library; the next refresh works it out again.")]
            inputs: list[dict[str, Any]] = []
            rule_text = None
        else:
            reasons = [split_description(tag.description)] if tag.description else []
            inputs = _tag_inputs(ctx, sorted(tag.rule.columns))
            rule_text = tag.rule.text
        out.append(_decision(ctx, "tag", made=True, outcome=label, subject=label, made_at=ctx.refresh_time(),
                             made_by=ctx.made_by_rules("标签库规则", "Tag library rule"), inputs=inputs,
                             reasons=reasons,
                             extra={"tag": code, "rule": rule_text if ctx.staff else None}))
    for r in journey or ():
        code = str(r.get("tag"))
        tag = library.get(code)
        label = _t(tag.zh, tag.en) if tag else _t(code, code)
        source = str(r.get("source") or "")
        out.append(_decision(
            ctx, "tag", made=True, outcome=label, subject=label, made_at=_date_text(r.get("set_at") or ""),
            made_by={"kind": "journey", "version": source, "label": _t(f"客户旅程 {source}", f"Journey {source}")},
            reasons=[_t("该标签由您进入的客户旅程中的一个步骤设置（例如您完成了某项操作）。",
                        "A step of a customer journey you were in set this tag (for example after an action "
                        "of yours).")],
            extra={"tag": code, "rule": None}))
    return out


# --- lifecycle and life stage ---------------------------------------------------------------------

LIFECYCLE_RULES: tuple[tuple[str, Text], ...] = (
    ("acquisition", _t("尚无任何保单（作为投保人或被保险人）。", "No policy yet, as holder or insured.")),
    ("retention", _t("有失效保单、已无有效保单、有到期未缴的保费，或最近一次接触已超过365天且一年内没有新保单。",
                     "A lapsed policy, no policy in force, a premium past due and unpaid, or the last contact 365+ "
                     "days ago with no new policy in the year.")),
    ("conversion", _t("首张保单在最近365天内生效。", "The first policy was issued in the last 365 days.")),
    ("service", _t("最近365天内有理赔报案或服务请求。", "A claim or a service request in the last 365 days.")),
    ("upgrade", _t("最近365天内新增了保单。", "A further policy was issued in the last 365 days.")),
    ("ongoing", _t("以上都不满足：有有效保单且状况良好。", "None of the above: in force and in good standing.")),
)
LIFECYCLE_INPUTS = ("policies_total", "policies_in_force", "policies_lapsed", "first_policy_date", "max_days_overdue",
                    "last_contact_at", "days_since_last_contact", "claims_count")
LIFE_RULES: tuple[tuple[str, Text], ...] = (
    ("retired", _t(f"{RETIREMENT_AGE}岁及以上。", f"Aged {RETIREMENT_AGE} or over.")),
    ("pre_retirement", _t(f"{PRE_RETIREMENT_AGE}岁及以上。", f"Aged {PRE_RETIREMENT_AGE} or over.")),
    ("young_family", _t(f"家中有子女且最小的不满{YOUNG_CHILD_AGE}岁，或已婚且不满{YOUNG_COUPLE_AGE}岁。",
                        f"Children at home, the youngest under {YOUNG_CHILD_AGE}; or married and under "
                        f"{YOUNG_COUPLE_AGE}.")),
    ("established_family", _t("家中有子女（均已较大），或已婚。", "Older children at home, or married.")),
    ("young_single", _t(f"不满{PRE_RETIREMENT_AGE}岁、未婚且无子女。",
                        f"Under {PRE_RETIREMENT_AGE}, single, no children.")),
)
LIFE_INPUTS = ("age", "marital_status", "children_count", "youngest_child_age", "household_role")


def _stage_decision(ctx: _Ctx, code: str, column: str, rules: tuple[tuple[str, Text], ...],
                    inputs: Sequence[str], enum: type[LabelledEnum], first_rule: Text) -> dict[str, Any]:
    stage = ctx.src.record.get(column)
    if _blank(stage):
        return _decision(ctx, code, made=False)
    label = _code(column, stage)
    fired = next((text for value, text in rules if value == stage), None)
    reasons = [first_rule]
    if fired is not None:
        reasons.append(_t(f"符合的规则：{fired['zh']}", f"Rule that holds: {fired['en']}"))
    order = [_t(enum(v).zh, enum(v).en) for v, _ in rules]
    reasons.append(_t("规则按顺序检查，第一条符合的决定结果：" + " → ".join(o["zh"] for o in order) + "。",
                      "The rules are checked in order and the first that holds decides: "
                      + " → ".join(o["en"] for o in order) + "."))
    return _decision(ctx, code, made=True, outcome=label, made_at=ctx.refresh_time(),
                     made_by=ctx.made_by_rules(f"{TITLES[code]['zh']}规则", f"{TITLES[code]['en']} rules"),
                     inputs=[ctx.field(n) for n in inputs], reasons=reasons, extra={"stage": stage})


def lifecycle_decision(ctx: _Ctx) -> dict[str, Any]:
    return _stage_decision(ctx, "lifecycle_stage", "lifecycle_stage", LIFECYCLE_RULES, LIFECYCLE_INPUTS,
                           LifecycleStage, _t("阶段按您在数据截止日的保单、缴费、理赔和联系记录确定。",
                                              "The stage follows from your policies, payments, claims and contacts "
                                              "at the data's as-of date."))


def life_stage_decision(ctx: _Ctx) -> dict[str, Any]:
    return _stage_decision(ctx, "life_stage", "life_stage", LIFE_RULES, LIFE_INPUTS, LifeStage,
                           _t("人生阶段只看年龄、婚姻状况和家中子女。",
                              "The life stage looks only at age, marital status and children at home."))


# --- the whole explanation ------------------------------------------------------------------------

BUILDERS: tuple[Callable[[_Ctx], list[dict[str, Any]]], ...] = (
    lapse_decisions, lambda c: [value_decision(c)], action_decisions, lambda c: [gap_decision(c)], tag_decisions,
    lambda c: [lifecycle_decision(c)], lambda c: [life_stage_decision(c)],
)


def profiling_consent(consent: Mapping[tuple[str, str], bool]) -> bool | None:
    """The customer's latest answer on profiling (any channel): True, False, or None (never asked)."""
    answers = [v for (purpose, _), v in consent.items() if purpose == "profiling"]
    if not answers:
        return None
    return consent.get(("profiling", "any"), all(answers))


def explain(src: Sources, audience: Audience = "staff", now: datetime | None = None) -> dict[str, Any]:
    """Every automated decision about ``src.customer_id``, as a JSON-ready dict (module docstring)."""
    ctx = _Ctx(src, audience)
    decisions = [d for build in BUILDERS for d in build(ctx)]
    made = [d for d in decisions if d["made"]]
    return {
        "customer_id": src.customer_id,
        "audience": audience,
        "generated_at": (now or datetime.now()).replace(microsecond=0).isoformat(),
        "data_as_of": ctx.as_of,
        "refreshed_at": ctx.run_at,
        "decisions": decisions,
        "count": {"made": len(made), "not_made": len(decisions) - len(made)},
        "rights": [{"code": code, **right} for code, right in RIGHTS.items()],
        "profiling_consent": profiling_consent(src.consent),
        "legal_basis": list(LEGAL_BASIS),
    }
