"""Shared vocabulary: enums whose members carry zh-CN and English labels.

Values are stable English codes (stored in the warehouse); labels are for people.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class LabelledEnum(StrEnum):
    """A string enum whose members carry ``zh`` and ``en`` labels: ``Member = ("code", "中文", "English")``."""

    zh: str
    en: str

    def __new__(cls, value: str, zh: str = "", en: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.zh = zh or value
        member.en = en or value
        return member

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang.startswith("zh") else self.en

    @classmethod
    def codes(cls) -> list[str]:
        return [m.value for m in cls]


class Channel(LabelledEnum):
    AGENT = ("agent", "个险代理人", "Agency")
    BANCASSURANCE = ("bancassurance", "银保", "Bancassurance")
    BROKER = ("broker", "专业中介", "Broker / intermediary")
    INTERNET = ("internet", "互联网", "Internet platform")
    GROUP = ("group", "团险", "Group / employer")
    DIRECT = ("direct", "自营App/微信", "Own app / WeChat")


class Gender(LabelledEnum):
    MALE = ("M", "男", "Male")
    FEMALE = ("F", "女", "Female")


class IdType(LabelledEnum):
    RESIDENT_ID = ("resident_id", "居民身份证", "Resident ID card")
    PASSPORT = ("passport", "护照", "Passport")
    HK_MACAO_PERMIT = ("hk_macao_permit", "港澳居民来往内地通行证", "Home-return permit")
    OTHER = ("other", "其他", "Other")


class MaritalStatus(LabelledEnum):
    SINGLE = ("single", "未婚", "Single")
    MARRIED = ("married", "已婚", "Married")
    DIVORCED = ("divorced", "离异", "Divorced")
    WIDOWED = ("widowed", "丧偶", "Widowed")


class Relation(LabelledEnum):
    SELF = ("self", "本人", "Self")
    SPOUSE = ("spouse", "配偶", "Spouse")
    CHILD = ("child", "子女", "Child")
    PARENT = ("parent", "父母", "Parent")
    SIBLING = ("sibling", "兄弟姐妹", "Sibling")
    OTHER = ("other", "其他", "Other")


class ProductType(LabelledEnum):
    TERM_LIFE = ("term_life", "定期寿险", "Term life")
    WHOLE_LIFE = ("whole_life", "终身寿险", "Whole life")
    INCREASING_WHOLE_LIFE = ("increasing_whole_life", "增额终身寿", "Increasing whole life")
    CRITICAL_ILLNESS = ("critical_illness", "重疾险", "Critical illness")
    MEDICAL = ("medical", "百万医疗", "Million-yuan medical")
    ACCIDENT = ("accident", "意外险", "Accident")
    ANNUITY = ("annuity", "年金/养老", "Annuity / pension")
    ENDOWMENT = ("endowment", "两全/教育金", "Endowment / education")
    UNIVERSAL = ("universal", "万能险", "Universal life")
    UNIT_LINKED = ("unit_linked", "投连险", "Unit-linked")


class CoverageType(LabelledEnum):
    LIFE = ("life", "身故/寿险", "Death / life")
    CRITICAL_ILLNESS = ("critical_illness", "重大疾病", "Critical illness")
    MEDICAL = ("medical", "医疗", "Medical")
    ACCIDENT = ("accident", "意外", "Accident")
    PENSION = ("pension", "养老/年金", "Pension / annuity")
    EDUCATION = ("education", "教育金", "Education")
    SAVINGS = ("savings", "储蓄/投资", "Savings / investment")


class RiskGrade(LabelledEnum):
    """Product risk grade under 产品适当性管理 (in force since 2025-02-01)."""

    P1 = ("P1", "低风险", "Low")
    P2 = ("P2", "中低风险", "Medium-low")
    P3 = ("P3", "中风险", "Medium")
    P4 = ("P4", "中高风险", "Medium-high")
    P5 = ("P5", "高风险", "High")


class PaymentFrequency(LabelledEnum):
    SINGLE = ("single", "趸交", "Single premium")
    ANNUAL = ("annual", "年交", "Annual")
    SEMI_ANNUAL = ("semi_annual", "半年交", "Semi-annual")
    QUARTERLY = ("quarterly", "季交", "Quarterly")
    MONTHLY = ("monthly", "月交", "Monthly")

    @property
    def per_year(self) -> int:
        return {"single": 0, "annual": 1, "semi_annual": 2, "quarterly": 4, "monthly": 12}[self.value]


class PolicyStatus(LabelledEnum):
    IN_FORCE = ("in_force", "有效", "In force")
    LAPSED = ("lapsed", "失效", "Lapsed")
    REINSTATED = ("reinstated", "复效", "Reinstated")
    SURRENDERED = ("surrendered", "退保", "Surrendered")
    MATURED = ("matured", "满期", "Matured")
    CLAIMED = ("claimed", "理赔终止", "Terminated by claim")


class PolicyRole(LabelledEnum):
    HOLDER = ("holder", "投保人", "Policyholder")
    INSURED = ("insured", "被保险人", "Insured")
    BENEFICIARY = ("beneficiary", "受益人", "Beneficiary")


class ClaimType(LabelledEnum):
    DEATH = ("death", "身故", "Death")
    CRITICAL_ILLNESS = ("critical_illness", "重疾", "Critical illness")
    MEDICAL = ("medical", "医疗", "Medical")
    ACCIDENT = ("accident", "意外", "Accident")
    DISABILITY = ("disability", "伤残", "Disability")


class ClaimStatus(LabelledEnum):
    REPORTED = ("reported", "已报案", "Reported")
    PAID = ("paid", "已赔付", "Paid")
    DECLINED = ("declined", "拒赔", "Declined")
    PENDING = ("pending", "审核中", "Pending")


class StaffRole(LabelledEnum):
    AGENT = ("agent", "代理人", "Agent")
    BANK_SELLER = ("bank_seller", "银行理财经理", "Bank seller")
    BROKER_SELLER = ("broker_seller", "经纪人", "Broker seller")
    SERVICE = ("service", "服务专员", "Service staff")
    HEALTH_MANAGER = ("health_manager", "健康管理师", "Health manager")
    TEAM_LEADER = ("team_leader", "团队主管", "Team leader")


class QualificationGrade(LabelledEnum):
    """Seller qualification grade used by suitability checks (higher may sell riskier products)."""

    Q1 = ("Q1", "初级", "Junior")
    Q2 = ("Q2", "中级", "Intermediate")
    Q3 = ("Q3", "高级", "Senior")


class TouchpointType(LabelledEnum):
    VISIT = ("visit", "面访", "Visit")
    CALL = ("call", "电话", "Call")
    WECHAT_MESSAGE = ("wechat_message", "微信消息", "WeChat message")
    APP_LOGIN = ("app_login", "App登录", "App login")
    PAGE_VIEW = ("page_view", "页面浏览", "Page view")
    CONTENT_READ = ("content_read", "内容阅读", "Content read")
    EVENT_ATTEND = ("event_attend", "活动参与", "Event attended")
    SERVICE_REQUEST = ("service_request", "服务申请", "Service request")
    HEALTH_CHECKIN = ("health_checkin", "健康打卡", "Health check-in")
    QUOTE = ("quote", "询价/试算", "Quote")


class ConsentPurpose(LabelledEnum):
    MARKETING = ("marketing", "个性化营销", "Personalised marketing")
    HEALTH_DATA = ("health_data", "健康数据使用", "Health data use")
    DATA_SHARING = ("data_sharing", "关联方数据共享", "Sharing with affiliates")
    SERVICE_CONTACT = ("service_contact", "服务联系", "Service contact")
