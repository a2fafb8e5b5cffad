"""The marts the refresh pipeline builds: the contract between pipeline steps and their readers.

Each step writes its table with exactly these columns (extra columns are allowed only where the
docstring says so); later steps, the serving database and the web layer read them by these names.
Keys: ``unique_id`` = ``<source>:<record_id>`` names one channel record; ``customer_id`` names
one golden customer; ``household_id`` one household.
"""

from __future__ import annotations

from shouhu.model import vocab
from shouhu.model.schema import Entity
from shouhu.model.schema import F as _F

IDENTITY_CLUSTER = Entity(
    "identity_cluster", "身份归并结果", "Identity cluster membership",
    (
        _F("unique_id", "string", "记录标识", "<source>:<record_id>", required=True),
        _F("source", "string", "来源", "Source", required=True),
        _F("record_id", "string", "渠道客户编号", "Record id in the source", required=True),
        _F("customer_id", "string", "客户号", "Golden customer id", required=True),
        _F("decided_by", "string", "归并依据", "rule | model | manual | singleton", required=True),
    ),
    key=("unique_id",), table_name="identity_cluster",
)

IDENTITY_PAIR = Entity(
    "identity_pair", "候选匹配对", "Scored record pair",
    (
        _F("unique_id_l", "string", "记录标识(左)", "Left record", required=True),
        _F("unique_id_r", "string", "记录标识(右)", "Right record", required=True),
        _F("match_weight", "float", "匹配权重", "Match weight (log2 Bayes factor)", required=True),
        _F("match_probability", "float", "匹配概率", "Match probability", required=True),
        _F("decision", "string", "结论", "link | no_link | review", required=True),
        _F("reason", "string", "依据", "Why: rule name, model, manual decision or guard rail", required=True),
        _F("explanation", "string", "解释(JSON)", "Per-comparison level and weight, JSON", checks=("json",)),
    ),
    key=("unique_id_l", "unique_id_r"), table_name="identity_pair",
)

CUSTOMER = Entity(
    "customer", "黄金客户记录", "Golden customer record",
    (
        _F("customer_id", "string", "客户号", "Customer id", required=True),
        _F("name", "string", "姓名", "Name", sensitive=True),
        _F("gender", "string", "性别", "Gender", enum=vocab.Gender),
        _F("birth_date", "date", "出生日期", "Birth date"),
        _F("id_number", "string", "证件号码", "ID number (18 digits)", sensitive=True),
        _F("phone", "string", "手机号", "Mobile phone", sensitive=True),
        _F("email", "string", "电子邮箱", "Email", sensitive=True),
        _F("province", "string", "省份", "Province"),
        _F("city", "string", "城市", "City"),
        _F("address", "string", "联系地址", "Address", sensitive=True),
        _F("occupation", "string", "职业", "Occupation"),
        _F("occupation_class", "int", "职业类别", "Occupation class"),
        _F("annual_income", "float", "年收入(元)", "Annual income (CNY)", sensitive=True),
        _F("marital_status", "string", "婚姻状况", "Marital status", enum=vocab.MaritalStatus),
        _F("record_count", "int", "渠道记录数", "Channel records merged", required=True),
        _F("channels", "string", "渠道(逗号分隔)", "Channels, comma separated, sorted", required=True),
        _F("first_seen", "datetime", "最早建档", "Earliest record creation"),
    ),
    key=("customer_id",), table_name="customer",
)

CUSTOMER_PROVENANCE = Entity(
    "customer_provenance", "字段来源", "Per-field provenance of the golden record",
    (
        _F("customer_id", "string", "客户号", "Customer id", required=True),
        _F("field", "string", "字段", "Golden field", required=True),
        _F("value", "string", "取值", "Chosen value as text (sensitive fields masked)"),
        _F("unique_id", "string", "来源记录", "Record the value came from", required=True),
        _F("source", "string", "来源", "Source", required=True),
        _F("channel", "string", "渠道", "Channel"),
        _F("rule", "string", "存活规则", "Survivorship rule that chose it", required=True),
    ),
    key=("customer_id", "field"), table_name="customer_provenance",
)

HOUSEHOLD_MEMBER = Entity(
    "household_member", "家庭成员", "Household member",
    (
        _F("household_id", "string", "家庭号", "Household id", required=True),
        _F("customer_id", "string", "客户号", "Customer id", required=True),
        _F("role", "string", "家庭角色", "head | spouse | child | parent | other", required=True),
        _F("evidence", "string", "依据", "relationship | policy | shared_address | shared_phone | self",
           required=True),
    ),
    key=("customer_id",), table_name="household_member",
)

# customer_360 columns: the wide per-customer mart. Tags and segments are rules over these names.
CUSTOMER_360 = Entity(
    "customer_360", "客户360视图", "Customer 360",
    (
        _F("customer_id", "string", "客户号", "Customer id", required=True),
        _F("household_id", "string", "家庭号", "Household id"),
        _F("household_role", "string", "家庭角色", "Role in the household"),
        _F("household_size", "int", "家庭人数", "Members in the household"),
        _F("gender", "string", "性别", "Gender"),
        _F("age", "int", "年龄", "Age at the as-of date"),
        _F("life_stage", "string", "人生阶段", "young_single | young_family | established_family | "
           "pre_retirement | retired"),
        _F("marital_status", "string", "婚姻状况", "Marital status"),
        _F("children_count", "int", "子女数", "Children in the household"),
        _F("youngest_child_age", "int", "最小子女年龄", "Age of the youngest child"),
        _F("province", "string", "省份", "Province"),
        _F("city", "string", "城市", "City"),
        _F("annual_income", "float", "年收入(元)", "Annual income (CNY)", sensitive=True),
        _F("policies_total", "int", "保单数", "Policies as holder or insured"),
        _F("policies_in_force", "int", "有效保单数", "Policies in force or reinstated"),
        _F("policies_lapsed", "int", "失效保单数", "Policies lapsed"),
        _F("annualised_premium", "float", "年化保费(元)", "Annualised premium of in-force policies as holder"),
        _F("sa_life", "float", "寿险保额", "In-force sum assured: life"),
        _F("sa_critical_illness", "float", "重疾保额", "In-force sum assured: critical illness"),
        _F("sa_medical", "float", "医疗保额", "In-force sum assured: medical"),
        _F("sa_accident", "float", "意外保额", "In-force sum assured: accident"),
        _F("sa_pension", "float", "养老/年金保额", "In-force sum assured: pension / annuity"),
        _F("sa_education", "float", "教育金保额", "In-force sum assured: education"),
        _F("on_time_ratio", "float", "按时缴费率", "Share of due premiums paid by the due date + 60 days"),
        _F("max_days_overdue", "int", "最长逾期天数", "Longest payment delay in days"),
        _F("next_premium_due", "date", "下次缴费日", "Next premium due date"),
        _F("claims_count", "int", "理赔次数", "Claims"),
        _F("claims_paid", "float", "理赔金额(元)", "Claims paid (CNY)", sensitive=True),
        _F("channels", "string", "接触渠道", "Channels that know the customer, comma separated"),
        _F("channel_count", "int", "渠道数", "Number of channels"),
        _F("primary_agent_id", "string", "主服务人员", "Agent of the most recent policy"),
        _F("touchpoints_30d", "int", "近30天触点", "Touchpoints in the last 30 days"),
        _F("touchpoints_90d", "int", "近90天触点", "Touchpoints in the last 90 days"),
        _F("touchpoints_365d", "int", "近365天触点", "Touchpoints in the last 365 days"),
        _F("last_contact_at", "datetime", "最近接触", "Last touchpoint"),
        _F("days_since_last_contact", "int", "距上次接触天数", "Days since the last touchpoint"),
        _F("tenure_years", "float", "客龄(年)", "Years since the first policy"),
        _F("first_policy_date", "date", "首单日期", "First policy issue date"),
        _F("has_wearable", "bool", "穿戴设备", "Shares wearable data"),
        _F("avg_daily_steps_30d", "float", "近30天日均步数", "Average daily steps, last 30 days"),
        _F("marketing_consent", "bool", "营销授权", "Consents to personalised marketing"),
        _F("lifecycle_stage", "string", "生命周期阶段", "acquisition | conversion | ongoing | service | "
           "upgrade | retention (docs/customer360.md)", required=True),
    ),
    key=("customer_id",), table_name="customer_360",
)

CUSTOMER_TAG = Entity(
    "customer_tag", "客户标签", "Customer tag",
    (
        _F("customer_id", "string", "客户号", "Customer id", required=True),
        _F("tag", "string", "标签代码", "Tag code", required=True),
        _F("label_zh", "string", "标签", "Label (zh)", required=True),
        _F("label_en", "string", "Label", "Label (en)", required=True),
    ),
    key=("customer_id", "tag"), table_name="customer_tag",
)

_NEEDS = (("life", "寿险"), ("critical_illness", "重疾"), ("medical", "医疗"), ("accident", "意外"),
          ("pension", "养老"), ("education", "教育金"))
CUSTOMER_GAP = Entity(
    "customer_gap", "保障缺口", "Protection gaps (batch, from customer_360)",
    (
        _F("customer_id", "string", "客户号", "Customer id", required=True),
        *(_F(f"need_{code}", "float", f"{zh}需求(元)", f"Need: {code.replace('_', ' ')} (CNY)") for code, zh in _NEEDS),
        *(_F(f"gap_{code}", "float", f"{zh}缺口(元)", f"Gap: {code.replace('_', ' ')} (CNY)") for code, zh in _NEEDS),
    ),
    key=("customer_id",), table_name="customer_gap",
)

MARTS: dict[str, Entity] = {m.name: m for m in (
    IDENTITY_CLUSTER, IDENTITY_PAIR, CUSTOMER, CUSTOMER_PROVENANCE, HOUSEHOLD_MEMBER, CUSTOMER_360, CUSTOMER_GAP,
    CUSTOMER_TAG,
)}
