"""The compliance rule checker: forbidden claims are refused, with the rule, field, line and source."""

from __future__ import annotations

import pytest

from shouhu.content import diseases, library, rules
from shouhu.content.rules import ComplianceRefused
from tests.content.factories import make_item, md, shipped


@pytest.mark.parametrize(("text", "rule"), [
    ("这款产品保本,放心买。", "guaranteed_principal"),
    ("每年保证收益3%。", "guaranteed_return"),
    ("长期持有稳赚不赔。", "guaranteed_return"),
    ("零风险的理财选择。", "guaranteed_return"),
    ("年化收益率高达 5%", "guaranteed_return"),
    ("比银行存款划算多了。", "bank_deposit_comparison"),
    ("收益跑赢定期存款。", "bank_deposit_comparison"),
    ("可以当作存款来用。", "bank_deposit_comparison"),
    ("市面上最好的重疾险。", "absolute_terms"),
])
def test_forbidden_claims_are_found(text: str, rule: str) -> None:
    findings = rules.check(make_item(body="第一行没问题。\n" + text))
    assert [f.rule for f in findings] == [rule]
    assert findings[0].line == 2 and findings[0].field == "body" and findings[0].severity == "block"


def test_a_blocking_claim_refuses_the_item_naming_rule_and_words() -> None:
    with pytest.raises(ComplianceRefused) as e:
        rules.require_clean(make_item(title="保证收益的年金", body="正常的正文。"))
    assert e.value.findings[0].field == "title"
    assert "guaranteed_return" in str(e.value) and "保证收益" in str(e.value)


def test_ordinary_words_that_contain_a_pattern_are_not_flagged() -> None:
    text = "确保本人信息准确;演示利益不代表实际收益;是否保证续保要看条款;医保报销目录外的药。"
    assert rules.check(make_item(body=text)) == []


def test_warnings_pass_only_when_confirmed() -> None:
    item = make_item(body="这款产品即将停售,请留意。")
    with pytest.raises(ComplianceRefused):
        rules.require_clean(item)
    assert [f.rule for f in rules.require_clean(item, confirmed_warnings=True)] == ["false_urgency"]


def test_quiz_text_is_checked_too() -> None:
    header = ("id: q-bad\nkind: quiz\ntitle: 小测验\ntags:\n  gaps: [life]\n"
              "questions:\n  - text: 哪种说法对?\n    options: [保险能稳赚, 看条款]\n    answer: 1")
    quiz = library.parse(md(header), "q.md", list(diseases.catalogue()))
    assert [(f.rule, f.field) for f in rules.check(quiz)] == [("guaranteed_return", "questions[0]")]


def test_every_rule_names_its_source_and_the_shipped_samples_are_clean() -> None:
    loaded = rules.load_rules()
    assert {r.code for r in loaded} >= {"guaranteed_principal", "guaranteed_return", "bank_deposit_comparison"}
    assert all(r.source and r.zh and r.en for r in loaded)
    assert {i.item_id: [str(f) for f in rules.check(i)] for i in shipped() if rules.check(i)} == {}
