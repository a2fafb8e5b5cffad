"""Canonical entities: what every channel extract is mapped onto.

Each :class:`Entity` becomes one warehouse table ``src_<name>`` holding the rows of every source,
plus lineage columns (``_source``, ``_file_id``, ``_row_number``). ``docs/data-model.md`` is
generated from these definitions (``shouhu model docs``), so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shouhu.model import vocab
from shouhu.model.vocab import LabelledEnum

FieldType = Literal["string", "int", "float", "date", "datetime", "bool"]
Check = Literal["id_number", "phone", "landline", "email", "non_negative", "past_date", "json"]

# Lineage columns added to every warehouse source table.
LINEAGE_COLUMNS: tuple[str, ...] = ("_source", "_file_id", "_row_number")


@dataclass(frozen=True)
class Field:
    name: str
    dtype: FieldType
    zh: str
    en: str
    required: bool = False
    enum: type[LabelledEnum] | None = None
    checks: tuple[Check, ...] = ()
    sensitive: bool = False


@dataclass(frozen=True)
class Entity:
    name: str
    zh: str
    en: str
    fields: tuple[Field, ...]
    key: tuple[str, ...] = field(default=())
    table_name: str | None = None  # marts name their table; source entities load into src_<name>

    @property
    def table(self) -> str:
        return self.table_name or f"src_{self.name}"

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


def F(name: str, dtype: FieldType, zh: str, en: str, **kw: object) -> Field:
    return Field(name, dtype, zh, en, **kw)  # type: ignore[arg-type]


PARTY = Entity(
    "party",
    "渠道客户记录",
    "Channel party record",
    (
        F("record_id", "string", "渠道客户编号", "Record id in the channel system", required=True),
        F("channel", "string", "渠道", "Channel", required=True, enum=vocab.Channel),
        F("name", "string", "姓名", "Full name", required=True, sensitive=True),
        F("gender", "string", "性别", "Gender", enum=vocab.Gender),
        F("birth_date", "date", "出生日期", "Birth date", checks=("past_date",)),
        F("id_type", "string", "证件类型", "ID type", enum=vocab.IdType),
        F("id_number", "string", "证件号码", "ID number", checks=("id_number",), sensitive=True),
        F("phone", "string", "手机号", "Mobile phone", checks=("phone",), sensitive=True),
        F("email", "string", "电子邮箱", "Email", checks=("email",), sensitive=True),
        F("province", "string", "省份", "Province"),
        F("city", "string", "城市", "City"),
        F("address", "string", "联系地址", "Address", sensitive=True),
        F("occupation", "string", "职业", "Occupation"),
        F("occupation_class", "int", "职业类别", "Occupation class (1-6)"),
        F("annual_income", "float", "年收入(元)", "Annual income (CNY)", checks=("non_negative",),
          sensitive=True),
        F("marital_status", "string", "婚姻状况", "Marital status", enum=vocab.MaritalStatus),
        F("agent_id", "string", "服务人员编号", "Serving agent / seller id"),
        F("created_at", "datetime", "建档时间", "Record created at", checks=("past_date",)),
        F("landline", "string", "固定电话", "Landline (secondary contact)", checks=("landline",), sensitive=True),
    ),
    key=("record_id",),
)

RELATIONSHIP = Entity(
    "relationship",
    "家庭关系",
    "Family relationship",
    (
        F("record_id", "string", "客户编号", "Party record id", required=True),
        F("related_record_id", "string", "关系人客户编号", "Related party record id", required=True),
        F("relation", "string", "关系(关系人是客户的)", "Relation (related party is the party's …)",
          required=True, enum=vocab.Relation),
    ),
    key=("record_id", "related_record_id"),
)

PRODUCT = Entity(
    "product",
    "产品",
    "Product",
    (
        F("product_code", "string", "产品代码", "Product code", required=True),
        F("product_name", "string", "产品名称", "Product name", required=True),
        F("product_type", "string", "产品类型", "Product type", required=True, enum=vocab.ProductType),
        F("risk_grade", "string", "风险等级", "Risk grade P1-P5", required=True, enum=vocab.RiskGrade),
        F("coverage_types", "string", "保障责任(逗号分隔)", "Coverage types, comma separated", required=True),
        F("min_issue_age", "int", "最低投保年龄", "Minimum issue age"),
        F("max_issue_age", "int", "最高投保年龄", "Maximum issue age"),
        F("coverage_term_years", "int", "保障期限(年,0=终身)", "Coverage term in years (0 = whole life)"),
        F("premium_term_years", "int", "缴费期限(年)", "Premium term in years"),
        F("premium_per_1000", "float", "每千元保额年保费(参考)", "Indicative annual premium per 1,000 sum assured"),
        F("waiting_period_days", "int", "等待期(天)", "Waiting period (days)"),
        F("launched_on", "date", "上市日期", "Launch date"),
    ),
    key=("product_code",),
)

POLICY = Entity(
    "policy",
    "保单",
    "Policy",
    (
        F("policy_no", "string", "保单号", "Policy number", required=True),
        F("product_code", "string", "产品代码", "Product code", required=True),
        F("channel", "string", "销售渠道", "Sales channel", required=True, enum=vocab.Channel),
        F("holder_record_id", "string", "投保人客户编号", "Policyholder record id", required=True),
        F("insured_record_id", "string", "被保险人客户编号", "Insured record id", required=True),
        F("agent_id", "string", "销售人员编号", "Seller id"),
        F("issue_date", "date", "生效日期", "Issue date", required=True, checks=("past_date",)),
        F("sum_assured", "float", "基本保额(元)", "Basic sum assured (CNY)", checks=("non_negative",)),
        F("annual_premium", "float", "年化保费(元)", "Annualised premium (CNY)", required=True,
          checks=("non_negative",)),
        F("payment_frequency", "string", "缴费频率", "Payment frequency", required=True,
          enum=vocab.PaymentFrequency),
        F("premium_term_years", "int", "缴费年期", "Premium term (years)"),
        F("coverage_term_years", "int", "保障年期(0=终身)", "Coverage term (years, 0 = whole life)"),
        F("status", "string", "保单状态", "Current status", required=True, enum=vocab.PolicyStatus),
        F("status_date", "date", "状态日期", "Status since"),
    ),
    key=("policy_no",),
)

POLICY_COVERAGE = Entity(
    "policy_coverage",
    "保单保障责任",
    "Policy coverage",
    (
        F("policy_no", "string", "保单号", "Policy number", required=True),
        F("coverage_type", "string", "保障类型", "Coverage type", required=True, enum=vocab.CoverageType),
        F("sum_assured", "float", "保额(元)", "Sum assured (CNY)", required=True, checks=("non_negative",)),
    ),
    key=("policy_no", "coverage_type"),
)

POLICY_BENEFICIARY = Entity(
    "policy_beneficiary",
    "保单受益人",
    "Policy beneficiary",
    (
        F("policy_no", "string", "保单号", "Policy number", required=True),
        F("record_id", "string", "受益人客户编号", "Beneficiary record id", required=True),
        F("relation_to_insured", "string", "与被保险人关系", "Relation to the insured", required=True,
          enum=vocab.Relation),
        F("share_pct", "float", "受益比例(%)", "Benefit share (%)", checks=("non_negative",)),
    ),
    key=("policy_no", "record_id"),
)

POLICY_STATUS_EVENT = Entity(
    "policy_status_event",
    "保单状态变更",
    "Policy status change",
    (
        F("policy_no", "string", "保单号", "Policy number", required=True),
        F("status", "string", "新状态", "New status", required=True, enum=vocab.PolicyStatus),
        F("effective_date", "date", "生效日期", "Effective date", required=True, checks=("past_date",)),
        F("reason", "string", "原因", "Reason"),
    ),
    key=("policy_no", "status", "effective_date"),
)

PREMIUM_PAYMENT = Entity(
    "premium_payment",
    "保费缴纳",
    "Premium payment",
    (
        F("policy_no", "string", "保单号", "Policy number", required=True),
        F("due_date", "date", "应缴日期", "Due date", required=True),
        F("amount_due", "float", "应缴金额(元)", "Amount due (CNY)", required=True, checks=("non_negative",)),
        F("paid_date", "date", "实缴日期", "Paid date", checks=("past_date",)),
        F("amount_paid", "float", "实缴金额(元)", "Amount paid (CNY)", checks=("non_negative",)),
    ),
    key=("policy_no", "due_date"),
)

CLAIM = Entity(
    "claim",
    "理赔",
    "Claim",
    (
        F("claim_no", "string", "赔案号", "Claim number", required=True),
        F("policy_no", "string", "保单号", "Policy number", required=True),
        F("claim_type", "string", "理赔类型", "Claim type", required=True, enum=vocab.ClaimType),
        F("incident_date", "date", "出险日期", "Incident date", required=True, checks=("past_date",)),
        F("report_date", "date", "报案日期", "Report date", checks=("past_date",)),
        F("amount_claimed", "float", "申请金额(元)", "Amount claimed (CNY)", checks=("non_negative",),
          sensitive=True),
        F("amount_paid", "float", "赔付金额(元)", "Amount paid (CNY)", checks=("non_negative",), sensitive=True),
        F("status", "string", "理赔状态", "Claim status", required=True, enum=vocab.ClaimStatus),
    ),
    key=("claim_no",),
)

STAFF = Entity(
    "staff",
    "销售与服务人员",
    "Sellers and staff",
    (
        F("staff_id", "string", "工号", "Staff id", required=True),
        F("name", "string", "姓名", "Name", required=True),
        F("role", "string", "岗位", "Role", required=True, enum=vocab.StaffRole),
        F("channel", "string", "渠道", "Channel", enum=vocab.Channel),
        F("team_id", "string", "团队编号", "Team id"),
        F("team_name", "string", "团队名称", "Team name"),
        F("branch_id", "string", "机构编号", "Branch id"),
        F("branch_name", "string", "机构名称", "Branch name"),
        F("qualification_grade", "string", "销售资质等级", "Sales qualification grade",
          enum=vocab.QualificationGrade),
        F("hire_date", "date", "入职日期", "Hire date", checks=("past_date",)),
    ),
    key=("staff_id",),
)

TOUCHPOINT = Entity(
    "touchpoint",
    "触点事件",
    "Touchpoint event",
    (
        F("event_id", "string", "事件编号", "Event id", required=True),
        F("record_id", "string", "客户编号", "Party record id", required=True),
        F("channel", "string", "渠道", "Channel", required=True, enum=vocab.Channel),
        F("event_type", "string", "事件类型", "Event type", required=True, enum=vocab.TouchpointType),
        F("occurred_at", "datetime", "发生时间", "Occurred at", required=True, checks=("past_date",)),
        F("staff_id", "string", "服务人员", "Staff involved"),
        F("properties", "string", "属性(JSON)", "Properties (JSON object)", checks=("json",)),
    ),
    key=("event_id",),
)

WEARABLE_DAILY = Entity(
    "wearable_daily",
    "可穿戴设备日汇总",
    "Wearable daily aggregate",
    (
        F("record_id", "string", "客户编号", "Party record id", required=True),
        F("day", "date", "日期", "Day", required=True, checks=("past_date",)),
        F("steps", "int", "步数", "Steps", required=True, checks=("non_negative",)),
        F("active_minutes", "int", "活动分钟", "Active minutes", checks=("non_negative",)),
        F("resting_heart_rate", "int", "静息心率", "Resting heart rate", checks=("non_negative",),
          sensitive=True),
    ),
    key=("record_id", "day"),
)

CONSENT = Entity(
    "consent",
    "授权同意",
    "Consent",
    (
        F("record_id", "string", "客户编号", "Party record id", required=True),
        F("purpose", "string", "授权目的", "Purpose", required=True, enum=vocab.ConsentPurpose),
        F("granted", "bool", "是否同意", "Granted", required=True),
        F("recorded_at", "datetime", "记录时间", "Recorded at", required=True, checks=("past_date",)),
        F("withdrawn_at", "datetime", "撤回时间", "Withdrawn at", checks=("past_date",)),
    ),
    key=("record_id", "purpose", "recorded_at"),
)

MARKETING_SPEND = Entity(
    "marketing_spend",
    "渠道营销投入",
    "Marketing spend",
    (
        F("channel", "string", "渠道", "Channel", required=True, enum=vocab.Channel),
        F("week_start", "date", "周起始日", "Week starting (Monday)", required=True),
        F("amount", "float", "投入金额(元)", "Amount (CNY)", required=True, checks=("non_negative",)),
        F("campaign", "string", "活动", "Campaign"),
    ),
    key=("channel", "week_start", "campaign"),
)

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        PARTY,
        RELATIONSHIP,
        PRODUCT,
        POLICY,
        POLICY_COVERAGE,
        POLICY_BENEFICIARY,
        POLICY_STATUS_EVENT,
        PREMIUM_PAYMENT,
        CLAIM,
        STAFF,
        TOUCHPOINT,
        WEARABLE_DAILY,
        CONSENT,
        MARKETING_SPEND,
    )
}


def entity(name: str) -> Entity:
    """Look up an entity by name; unknown names list the valid ones."""
    from shouhu.errors import UnknownName

    try:
        return ENTITIES[name]
    except KeyError:
        raise UnknownName("entity", name, list(ENTITIES)) from None
