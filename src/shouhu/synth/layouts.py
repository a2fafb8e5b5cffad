"""How each synthetic source system lays out its extracts: file, format, headers, codes, dates.

This is the one place that knows, e.g., that the bank writes gender as 1/2 under ``XB`` and dates
as YYYYMMDD. The shipped ingest mappings (``shouhu/ingest/mappings/*.toml``) are generated from
these layouts by :func:`mapping_toml`, so the files and the mappings cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shouhu.synth.config import SOURCES


@dataclass(frozen=True)
class Col:
    header: str
    field: str
    values: dict[str, str] | None = None  # canonical code -> value written by the source
    date_format: str | None = None  # strftime format for text formats; None = ISO


@dataclass(frozen=True)
class Layout:
    source: str
    path: str
    entity: str
    format: str  # csv | xlsx | jsonl | parquet
    columns: tuple[Col, ...]
    constants: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    sheet: str | None = None
    sort: tuple[str, ...] = ()

    def column(self, field_name: str) -> Col | None:
        return next((c for c in self.columns if c.field == field_name), None)


def _c(spec: str, **maps: dict[str, str]) -> tuple[Col, ...]:
    """Columns from "header=field" lines; value maps by field name; date formats via "@fmt"."""
    cols = []
    for line in spec.strip().splitlines():
        head, fld = (s.strip() for s in line.split("="))
        fld, _, fmt = fld.partition("@")
        cols.append(Col(head, fld, maps.get(fld), fmt or None))
    return tuple(cols)


GENDER_ZH = {"M": "男", "F": "女"}
MARITAL_ZH = {"single": "未婚", "married": "已婚", "divorced": "离异", "widowed": "丧偶"}
FREQ_ZH = {"single": "趸交", "annual": "年交", "semi_annual": "半年交", "quarterly": "季交", "monthly": "月交"}
STATUS_ZH = {
    "in_force": "有效",
    "lapsed": "失效",
    "reinstated": "复效",
    "surrendered": "退保",
    "matured": "满期",
    "claimed": "理赔终止",
}
RELATION_ZH = {
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "sibling": "兄弟姐妹",
    "other": "其他",
    "self": "本人",
}
ROLE_ZH = {
    "agent": "代理人",
    "team_leader": "团队主管",
    "service": "服务专员",
    "health_manager": "健康管理师",
    "bank_seller": "理财经理",
    "broker_seller": "经纪人",
}
QUAL_ZH = {"Q1": "初级", "Q2": "中级", "Q3": "高级"}
YMD = "%Y%m%d"

AGENT = (
    Layout(
        "agent_crm",
        "agent_crm/staff.csv",
        "staff",
        "csv",
        _c(
            """
        工号=staff_id
        姓名=name
        岗位=role
        团队编号=team_id
        团队名称=team_name
        机构编号=branch_id
        机构名称=branch_name
        资质等级=qualification_grade
        入职日期=hire_date""",
            role=ROLE_ZH,
            qualification_grade=QUAL_ZH,
        ),
        {"channel": "agent"},
        "utf-8",
        sort=("staff_id",),
    ),
    Layout(
        "agent_crm",
        "agent_crm/customers.csv",
        "party",
        "csv",
        _c(
            """
        客户编号=record_id
        姓名=name
        性别=gender
        出生日期=birth_date
        证件类型=id_type
        证件号码=id_number
        手机号码=phone
        电子邮箱=email
        省份=province
        城市=city
        联系地址=address
        职业=occupation
        职业类别=occupation_class
        年收入(元)=annual_income
        婚姻状况=marital_status
        代理人工号=agent_id
        建档时间=created_at""",
            gender=GENDER_ZH,
            marital_status=MARITAL_ZH,
            id_type={"resident_id": "身份证"},
        ),
        {"channel": "agent"},
        "utf-8-sig",
        sort=("record_id",),
    ),
    Layout(
        "agent_crm",
        "agent_crm/family.csv",
        "relationship",
        "csv",
        _c(
            """
        客户编号=record_id
        关系人客户编号=related_record_id
        关系=relation""",
            relation=RELATION_ZH,
        ),
        {},
        "utf-8",
        sort=("record_id", "related_record_id"),
    ),
    Layout(
        "agent_crm",
        "agent_crm/policies.csv",
        "policy",
        "csv",
        _c(
            """
        保单号=policy_no
        产品代码=product_code
        投保人客户编号=holder_record_id
        被保险人客户编号=insured_record_id
        代理人工号=agent_id
        生效日期=issue_date
        基本保额=sum_assured
        年化保费=annual_premium
        缴费方式=payment_frequency
        缴费年期=premium_term_years
        保障年期=coverage_term_years
        保单状态=status
        状态日期=status_date""",
            payment_frequency=FREQ_ZH,
            status=STATUS_ZH,
        ),
        {"channel": "agent"},
        "utf-8",
        sort=("policy_no",),
    ),
)
BANK = (
    Layout(
        "bancassurance",
        "bancassurance/sellers.csv",
        "staff",
        "csv",
        _c(
            f"""
        GH=staff_id
        XM=name
        WDDM=team_id
        WDMC=team_name
        FHDM=branch_id
        FHMC=branch_name
        ZGDJ=qualification_grade
        RZRQ=hire_date@{YMD}""",
            qualification_grade={"Q1": "1", "Q2": "2", "Q3": "3"},
        ),
        {"channel": "bancassurance", "role": "bank_seller"},
        "gbk",
        sort=("staff_id",),
    ),
    Layout(
        "bancassurance",
        "bancassurance/customers.csv",
        "party",
        "csv",
        _c(
            f"""
        KHH=record_id
        XM=name
        XB=gender
        CSRQ=birth_date@{YMD}
        ZJLX=id_type
        ZJHM=id_number
        SJHM=phone
        YX=email
        SF=province
        CS=city
        TXDZ=address
        ZY=occupation
        ZYLB=occupation_class
        NSR=annual_income
        HYZK=marital_status
        LCJL=agent_id
        KHRQ=created_at@{YMD}""",
            gender={"M": "1", "F": "2"},
            id_type={"resident_id": "1"},
            marital_status={"single": "10", "married": "20", "widowed": "30", "divorced": "40"},
        ),
        {"channel": "bancassurance"},
        "gbk",
        sort=("record_id",),
    ),
    Layout(
        "bancassurance",
        "bancassurance/policies.csv",
        "policy",
        "csv",
        _c(
            f"""
        BDH=policy_no
        CPDM=product_code
        TBRKHH=holder_record_id
        BBRKHH=insured_record_id
        LCJL=agent_id
        CBRQ=issue_date@{YMD}
        BE=sum_assured
        NHBF=annual_premium
        JFFS=payment_frequency
        JFNQ=premium_term_years
        BZNQ=coverage_term_years
        BDZT=status
        ZTRQ=status_date@{YMD}""",
            payment_frequency={"single": "1", "annual": "2", "semi_annual": "3", "quarterly": "4", "monthly": "5"},
            status={
                "in_force": "1",
                "lapsed": "2",
                "reinstated": "3",
                "surrendered": "4",
                "matured": "5",
                "claimed": "6",
            },
        ),
        {"channel": "bancassurance"},
        "gbk",
        sort=("policy_no",),
    ),
)
BROKER = (
    Layout(
        "broker",
        "broker/customers.xlsx",
        "party",
        "xlsx",
        _c(
            """
        Client ID=record_id
        Full Name=name
        Sex=gender
        Date of Birth=birth_date
        ID Type=id_type
        ID No.=id_number
        Mobile=phone
        Email=email
        Province=province
        City=city
        Address=address
        Occupation=occupation
        Occ. Class=occupation_class
        Annual Income (CNY)=annual_income
        Marital Status=marital_status
        Producer Code=agent_id
        Created On=created_at""",
            gender={"M": "Male", "F": "Female"},
            id_type={"resident_id": "PRC ID Card"},
            marital_status={"single": "Single", "married": "Married", "divorced": "Divorced", "widowed": "Widowed"},
        ),
        {"channel": "broker"},
        sheet="Clients",
        sort=("record_id",),
    ),
    Layout(
        "broker",
        "broker/policies.xlsx",
        "policy",
        "xlsx",
        _c(
            """
        Policy No.=policy_no
        Plan Code=product_code
        Policyholder ID=holder_record_id
        Life Assured ID=insured_record_id
        Producer Code=agent_id
        Commencement Date=issue_date
        Sum Insured=sum_assured
        Annualised Premium=annual_premium
        Pay Mode=payment_frequency
        Premium Term (Yrs)=premium_term_years
        Benefit Term (Yrs)=coverage_term_years
        Policy Status=status
        Status Date=status_date""",
            payment_frequency={
                "single": "Single",
                "annual": "Annual",
                "semi_annual": "Half-yearly",
                "quarterly": "Quarterly",
                "monthly": "Monthly",
            },
            status={
                "in_force": "Inforce",
                "lapsed": "Lapsed",
                "reinstated": "Reinstated",
                "surrendered": "Surrendered",
                "matured": "Matured",
                "claimed": "Claim Terminated",
            },
        ),
        {"channel": "broker"},
        sheet="Policies",
        sort=("policy_no",),
    ),
)
EVENTS_EN = {k: k.upper() for k in ("page_view", "quote", "content_read", "app_login", "service_request")}
INTERNET = (
    Layout(
        "internet",
        "internet/users.jsonl",
        "party",
        "jsonl",
        _c(
            """
        userId=record_id
        realName=name
        gender=gender
        birthday=birth_date
        certType=id_type
        certNo=id_number
        mobile=phone
        email=email
        province=province
        city=city
        address=address
        occupation=occupation
        registeredAt=created_at""",
            gender={"M": "MALE", "F": "FEMALE"},
            id_type={"resident_id": "ID_CARD"},
        ),
        {"channel": "internet"},
        "utf-8",
        sort=("record_id",),
    ),
    Layout(
        "internet",
        "internet/orders.jsonl",
        "policy",
        "jsonl",
        _c(
            """
        policyNo=policy_no
        productCode=product_code
        holderUserId=holder_record_id
        insuredUserId=insured_record_id
        effectiveDate=issue_date
        sumInsured=sum_assured
        premium=annual_premium
        payFrequency=payment_frequency
        payYears=premium_term_years
        coverYears=coverage_term_years
        status=status
        statusDate=status_date""",
            payment_frequency={
                "single": "SINGLE",
                "annual": "YEAR",
                "semi_annual": "HALF_YEAR",
                "quarterly": "QUARTER",
                "monthly": "MONTH",
            },
            status={
                "in_force": "EFFECTIVE",
                "lapsed": "LAPSED",
                "reinstated": "REINSTATED",
                "surrendered": "SURRENDERED",
                "matured": "EXPIRED",
                "claimed": "CLAIM_CLOSED",
            },
        ),
        {"channel": "internet"},
        "utf-8",
        sort=("policy_no",),
    ),
    Layout(
        "internet",
        "internet/events.jsonl",
        "touchpoint",
        "jsonl",
        _c(
            """
        eventId=event_id
        userId=record_id
        eventType=event_type
        eventTime=occurred_at
        properties=properties""",
            event_type=EVENTS_EN,
        ),
        {"channel": "internet"},
        "utf-8",
        sort=("event_id",),
    ),
)
APP = (
    Layout(
        "app",
        "app/users.parquet",
        "party",
        "parquet",
        _c("""
        user_id=record_id
        real_name=name
        gender=gender
        birth_date=birth_date
        id_type=id_type
        id_no=id_number
        mobile=phone
        email=email
        province=province
        city=city
        registered_at=created_at"""),
        {"channel": "direct"},
        sort=("record_id",),
    ),
    Layout(
        "app",
        "app/touchpoints.parquet",
        "touchpoint",
        "parquet",
        _c("""
        event_id=event_id
        user_id=record_id
        event_type=event_type
        event_time=occurred_at
        staff_id=staff_id
        properties=properties"""),
        {"channel": "direct"},
        sort=("event_id",),
    ),
    Layout(
        "app",
        "app/wearable_daily.parquet",
        "wearable_daily",
        "parquet",
        _c("""
        user_id=record_id
        day=day
        steps=steps
        active_minutes=active_minutes
        resting_hr=resting_heart_rate"""),
        sort=("record_id", "day"),
    ),
    Layout(
        "app",
        "app/consents.parquet",
        "consent",
        "parquet",
        _c("""
        user_id=record_id
        purpose=purpose
        granted=granted
        recorded_at=recorded_at
        withdrawn_at=withdrawn_at"""),
        sort=("record_id", "purpose"),
    ),
)
CORE = (
    Layout(
        "core",
        "core/products.csv",
        "product",
        "csv",
        _c("""
        PRODUCT_CODE=product_code
        PRODUCT_NAME=product_name
        PRODUCT_TYPE=product_type
        RISK_GRADE=risk_grade
        COVERAGE_TYPES=coverage_types
        MIN_ISSUE_AGE=min_issue_age
        MAX_ISSUE_AGE=max_issue_age
        COVER_YEARS=coverage_term_years
        PREMIUM_YEARS=premium_term_years
        PREMIUM_PER_1000=premium_per_1000
        WAITING_DAYS=waiting_period_days
        LAUNCH_DATE=launched_on"""),
        encoding="utf-8",
        sort=("product_code",),
    ),
    Layout(
        "core",
        "core/policy_coverages.parquet",
        "policy_coverage",
        "parquet",
        _c("""
        POL_NO=policy_no
        COV_TYPE=coverage_type
        SUM_ASSURED=sum_assured"""),
        sort=("policy_no", "coverage_type"),
    ),
    Layout(
        "core",
        "core/beneficiaries.parquet",
        "policy_beneficiary",
        "parquet",
        _c("""
        POL_NO=policy_no
        BENEF_CUST_NO=record_id
        RELATION_TO_INSURED=relation_to_insured
        SHARE_PCT=share_pct"""),
        sort=("policy_no", "record_id"),
    ),
    Layout(
        "core",
        "core/policy_status_events.parquet",
        "policy_status_event",
        "parquet",
        _c("""
        POL_NO=policy_no
        STATUS=status
        EFFECTIVE_DATE=effective_date
        REASON=reason"""),
        sort=("policy_no", "effective_date"),
    ),
    Layout(
        "core",
        "core/premium_payments.csv",
        "premium_payment",
        "csv",
        _c("""
        POL_NO=policy_no
        DUE_DATE=due_date
        AMOUNT_DUE=amount_due
        PAID_DATE=paid_date
        AMOUNT_PAID=amount_paid"""),
        encoding="utf-8",
        sort=("policy_no", "due_date"),
    ),
    Layout(
        "core",
        "core/claims.parquet",
        "claim",
        "parquet",
        _c("""
        CLAIM_NO=claim_no
        POL_NO=policy_no
        CLAIM_TYPE=claim_type
        INCIDENT_DATE=incident_date
        REPORT_DATE=report_date
        AMOUNT_CLAIMED=amount_claimed
        AMOUNT_PAID=amount_paid
        CLAIM_STATUS=status"""),
        sort=("claim_no",),
    ),
)
MARKETING = (
    Layout(
        "marketing",
        "marketing/weekly_spend.csv",
        "marketing_spend",
        "csv",
        _c(
            """
        渠道=channel
        周起始日=week_start
        投放金额(元)=amount
        活动名称=campaign""",
            channel={
                "agent": "个险",
                "bancassurance": "银保",
                "broker": "中介",
                "internet": "互联网",
                "direct": "自营App",
                "group": "团险",
            },
        ),
        encoding="utf-8",
        sort=("channel", "week_start", "campaign"),
    ),
)

# Manifest / ingest order: reference data, parties, relationships, policies, policy detail, activity.
_ORDER = (
    "product",
    "staff",
    "party",
    "relationship",
    "policy",
    "policy_coverage",
    "policy_beneficiary",
    "policy_status_event",
    "premium_payment",
    "claim",
    "touchpoint",
    "wearable_daily",
    "consent",
    "marketing_spend",
)
ALL: tuple[Layout, ...] = tuple(
    sorted(
        (*AGENT, *BANK, *BROKER, *INTERNET, *APP, *CORE, *MARKETING),
        key=lambda lay: (_ORDER.index(lay.entity), lay.path),
    )
)
ZH = {
    "agent_crm": "个险代理人CRM",
    "bancassurance": "银保通系统",
    "broker": "专业中介(经纪公司)报送",
    "internet": "互联网平台",
    "app": "自营App/微信",
    "core": "核心业务系统(保单管理)",
    "marketing": "营销投入台账",
}
CHANNEL_OF = dict(zip(SOURCES, ("agent", "bancassurance", "broker", "internet", "direct"), strict=True))


def layout(path: str) -> Layout:
    return next(lay for lay in ALL if lay.path == path)


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mapping_toml(source: str) -> str:
    """The ingest mapping (TOML) that reads this source's extracts back onto canonical entities."""
    lines = [
        f"# Mapping for the synthetic '{source}' extracts; generated from shouhu.synth.layouts.",
        "",
        f"source = {_q(source)}",
    ]
    if source in CHANNEL_OF:
        lines.append(f"channel = {_q(CHANNEL_OF[source])}")
    lines.append(f"zh = {_q(ZH[source])}")
    for lay in (x for x in ALL if x.source == source):
        sec = f"extracts.{lay.entity}"
        lines += ["", f"[{sec}]", f"files = [{_q(lay.path.split('/')[-1])}]", f"format = {_q(lay.format)}"]
        if lay.encoding and lay.format == "csv":
            lines.append(f"encoding = {_q(lay.encoding)}")
        if lay.sheet:
            lines.append(f"sheet = {_q(lay.sheet)}")
        lines += ["", f"[{sec}.columns]"] + [f"{c.field} = {_q(c.header)}" for c in lay.columns]
        if lay.constants:
            lines += ["", f"[{sec}.constants]"] + [f"{k} = {_q(v)}" for k, v in lay.constants.items()]
        for c in lay.columns:
            if c.values:
                lines += ["", f"[{sec}.values.{c.field}]"] + [f"{_q(v)} = {_q(k)}" for k, v in c.values.items()]
        fmts = [(c.field, c.date_format) for c in lay.columns if c.date_format]
        if fmts:
            lines += ["", f"[{sec}.date_formats]"] + [f"{f} = {_q(fmt)}" for f, fmt in fmts]
    return "\n".join(lines) + "\n"
