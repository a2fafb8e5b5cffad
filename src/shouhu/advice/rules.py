"""The rules the suitability guardrail applies, each with its name and where it comes from.

Every check record and block message ends with its rule's name and source, so a compliance officer
reading a log line knows what was applied. Article numbers are given only where we can support
them; elsewhere the source says "see docs/advice.md", which lists what each rule rests on and what
is a house rule (a company policy set under a regulation's principle, not its text).
"""

from __future__ import annotations

from dataclasses import dataclass

SUITABILITY_2025 = "《金融机构产品适当性管理办法》(2025-07-11发布, 2026-02-01施行)"
TRACEABILITY_2017 = "《保险销售行为可回溯管理暂行办法》(保监发〔2017〕54号)"
MINORS_2015 = "保监发〔2015〕90号"
SEE_DOCS = "see docs/advice.md"
SEE_DOCS_ZH = "依据详见需求诊断说明文档"


@dataclass(frozen=True)
class Rule:
    id: str
    zh: str
    en: str
    source: str
    article: str = SEE_DOCS
    house_rule: bool = False  # a company policy under the source's principle, not the source's text

    def cite(self, lang: str = "zh") -> str:
        zh = lang.startswith("zh")
        kind = ("内控规则," if zh else "house rule, ") if self.house_rule else ""
        name = self.zh if zh else self.en
        source, article = self.source, self.article
        if zh:  # the Chinese text stays Chinese: no English gloss, the documentation named in Chinese
            source = source.replace(" (product terms)", "")
            article = SEE_DOCS_ZH if article == SEE_DOCS else article
        return f"[{name}: {kind}{source}, {article}]"

    def to_dict(self) -> dict[str, str | bool]:
        return {"rule": self.id, "source": self.source, "article": self.article, "house_rule": self.house_rule}


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("customer_risk", "客户风险承受能力匹配", "customer risk tolerance match", SUITABILITY_2025),
    Rule("assessment_validity", "风险测评有效期", "risk assessment validity", SUITABILITY_2025, house_rule=True),
    Rule("protection_without_assessment", "低风险保障型产品免测评", "low-risk protection without assessment",
         SUITABILITY_2025, house_rule=True),
    Rule("seller_qualification", "销售人员资质匹配", "seller qualification match", SUITABILITY_2025),
    Rule("issue_age", "投保年龄", "issue ages", "产品条款 (product terms)", "—"),
    Rule("health", "健康告知", "health declaration", "产品条款 (product terms)", "—"),
    Rule("elderly", "老年客户特别保护", "elderly customers", SUITABILITY_2025, house_rule=True),
    Rule("affordability", "缴费能力", "affordability", SUITABILITY_2025, house_rule=True),
    Rule("double_recording", "双录", "double recording", TRACEABILITY_2017),
    Rule("cool_off", "犹豫期", "cool-off period", "产品条款与监管规定 (product terms)", SEE_DOCS),
    Rule("minor_death_cap", "未成年人身故保额限制", "minors' death-benefit cap", MINORS_2015),
)}


def cite(rule_id: str, lang: str = "zh") -> str:
    return RULES[rule_id].cite(lang)
