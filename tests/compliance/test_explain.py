"""Explanations of automated decisions (compliance.explain) built from small hand-made rows, as another
insurer's published marts would hold them: every decision lists its inputs with the values it used,
a decision not made says so (table missing or no row), zh and en texts exist throughout, sensitive
values follow the caller's field view, and the customer's version carries no internal figures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

from shouhu.access.policy import SENSITIVE_FIELDS, FieldView
from shouhu.compliance.explain import HUMAN_REVIEW_URL, Sources, explain, split_description
from shouhu.segments.tags import load_tag_library

CID = "CU0000000000a1"
LIBRARY = load_tag_library()

# An established customer: three policies (two scored by the lapse model), value, actions, gaps, tags.
RECORD: dict[str, Any] = {
    "customer_id": CID, "name": "王*", "phone": "139****0001", "id_number": "310***********0011",
    "annual_income": "2****0", "gender": "F", "age": 34, "marital_status": "married", "children_count": 1,
    "youngest_child_age": 3, "household_role": "head", "policies_total": 3, "policies_in_force": 2,
    "policies_lapsed": 1, "annualised_premium": 18_600.0, "first_policy_date": date(2019, 5, 2),
    "last_contact_at": datetime(2025, 11, 3, 9, 30), "days_since_last_contact": 89, "max_days_overdue": 12,
    "claims_count": 0, "next_premium_due": date(2026, 2, 20), "touchpoints_30d": 1, "marketing_consent": True,
    "has_wearable": False, "sa_life": 500_000.0, "sa_critical_illness": 0.0, "sa_medical": 0.0,
    "sa_accident": 0.0, "sa_pension": 0.0, "sa_education": 0.0, "lifecycle_stage": "retention",
    "life_stage": "young_family",
}
POLICIES = [
    {"policy_no": "P-A-1", "product_type": "critical_illness", "status": "in_force", "is_holder": True,
     "annual_premium": 12_000.0, "payment_frequency": "annual"},
    {"policy_no": "P-A-2", "product_type": "term_life", "status": "in_force", "is_holder": True,
     "annual_premium": 6_600.0, "payment_frequency": "monthly"},
    {"policy_no": "P-A-3", "product_type": "medical", "status": "lapsed", "is_holder": True,
     "annual_premium": 900.0, "payment_frequency": "annual"},
]
LAPSE = [
    {"policy_no": "P-A-1", "customer_id": CID, "snapshot_date": date(2026, 1, 31), "probability": 0.42, "decile": 1,
     "reasons": json.dumps(["days_overdue_now = 43 raises the risk", "holder_income = 250000 lowers the risk",
                            "product_type = critical_illness raises the risk"]), "model": "lapse@3"},
    {"policy_no": "P-A-2", "customer_id": CID, "snapshot_date": date(2026, 1, 31), "probability": 0.06, "decile": 7,
     "reasons": "[]", "model": "lapse@3"},
]
VALUE = [{"customer_id": CID, "value": 8_123.45, "tier": "gold", "tier_zh": "黄金", "tier_en": "Gold", "policies": 2}]
ACTIONS = [
    {"customer_id": CID, "rank": 1, "action": "retention_contact", "product_type": None, "expected_value": 500.0,
     "probability": 0.126, "outcome_value": 3_968.0, "kind": "service",
     "reason_zh": "下次保费将于2026-02-20到期(20天后),预计失效概率42%,建议提前联系提醒缴费。",
     "reason_en": "A premium falls due on 2026-02-20 (in 20 days) and the estimated lapse risk is 42%; contact "
                  "the customer before the due date."},
    {"customer_id": CID, "rank": 2, "action": "close_gap", "product_type": "critical_illness",
     "expected_value": 210.0, "probability": 0.04, "outcome_value": 5_250.0, "kind": "sales",
     "reason_zh": "重疾保障缺口约102.0万元,是最大的缺口,建议介绍合适的重疾类产品。",
     "reason_en": "The largest protection gap is critical illness: about CNY 1,020,000; suggest a suitable "
                  "critical illness product."},
]
GAP = [{"customer_id": CID, "need_life": 400_000.0, "gap_life": 0.0, "need_critical_illness": 1_020_000.0,
        "gap_critical_illness": 1_020_000.0, "need_medical": 2_000_000.0, "gap_medical": 2_000_000.0,
        "need_accident": 1_200_000.0, "gap_accident": 1_200_000.0, "need_pension": 0.0, "gap_pension": 0.0,
        "need_education": 570_000.0, "gap_education": 570_000.0}]
TAGS = [{"customer_id": CID, "tag": "ci_underinsured", "label_zh": "重疾保障不足",
         "label_en": "Critical illness cover too low"},
        {"customer_id": CID, "tag": "retired_tag", "label_zh": "旧标签", "label_en": "Old tag"}]
DUE = [{"policy_no": "P-A-3", "due_date": date(2025, 6, 1), "customer_id": CID, "state": "lapsed",
        "amount_due": 900.0, "annual_premium": 900.0, "lapse_date": date(2025, 6, 1)}]
RUN = {"run_id": "r1", "as_of": date(2026, 1, 31), "finished_at": datetime(2026, 2, 1, 2, 15)}


def sources(**over: Any) -> Sources:
    base: dict[str, Any] = {"customer_id": CID, "record": RECORD, "policies": POLICIES, "lapse_score": LAPSE,
                            "customer_value": VALUE, "next_best_action": ACTIONS, "customer_gap": GAP,
                            "customer_tag": TAGS, "journey_tag": [], "premium_due": DUE, "refresh": RUN,
                            "tags": LIBRARY}
    return Sources(**(base | over))


def by_code(result: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [d for d in result["decisions"] if d["code"] == code]


def inputs_of(decision: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in decision["inputs"]}


def texts(node: Any) -> Iterator[dict[str, Any]]:
    """Every {"zh", "en"} pair in the explanation."""
    if isinstance(node, dict):
        if set(node) == {"zh", "en"}:
            yield node
        else:
            for v in node.values():
                yield from texts(v)
    elif isinstance(node, list):
        for v in node:
            yield from texts(v)


def test_every_decision_is_there_with_zh_and_en_texts() -> None:
    result = explain(sources())
    codes = [d["code"] for d in result["decisions"]]
    assert codes == ["lapse_risk", "lapse_risk", "customer_value", "next_best_action", "next_best_action",
                     "protection_gap", "tag", "tag", "lifecycle_stage", "life_stage"]
    assert result["count"] == {"made": 10, "not_made": 0}
    pairs = list(texts(result))
    assert len(pairs) > 100
    for pair in pairs:
        assert pair["zh"].strip() and pair["en"].strip(), pair
    for d in result["decisions"]:
        assert d["made"] and d["outcome"]["zh"] and d["why"]["en"] and d["made_by"]["label"]["zh"]
        assert d["made_at"], d["code"]
        assert d["inputs"] or d.get("tag") == "retired_tag", f"{d['code']} lists no input"
        for i in d["inputs"]:
            assert i["label"]["zh"] and i["label"]["en"] and i["source"] and i["shown"]["zh"]
    assert {r["code"] for r in result["rights"]} == {"human_review", "correct_input", "withdraw_profiling"}
    assert next(r for r in result["rights"] if r["code"] == "human_review")["href"] == HUMAN_REVIEW_URL
    assert [b["ref"]["en"] for b in result["legal_basis"]] == ["PIPL art. 24", "PIPL art. 44", "PIPL art. 45",
                                                                "PIPL art. 48"]
    json.dumps(result, ensure_ascii=False)  # JSON-ready as it is


def test_lapse_score_per_policy_with_the_values_the_model_saw() -> None:
    first, second = by_code(explain(sources()), "lapse_risk")
    assert first["subject"]["en"] == "Policy P-A-1" and second["subject"]["en"] == "Policy P-A-2"
    assert first["made_by"]["version"] == "lapse@3" and first["made_at"] == "2026-01-31"
    assert "42%" in first["outcome"]["zh"] and "第1档" in first["outcome"]["zh"]
    got = inputs_of(first)
    assert got["days_overdue_now"]["value"] == "43" and got["days_overdue_now"]["source"] == "lapse_score.reasons"
    assert got["product_type"]["value"] == "critical_illness" and got["product_type"]["shown"]["zh"] == "重疾险"
    assert got["annual_premium"]["value"] == 12_000.0 and got["annual_premium"]["source"] == "customer_detail"
    assert got["installments_due"]["value"] is None and got["installments_due"]["shown"]["en"] == \
        "not kept with the result"
    zh = [r["zh"] for r in first["reasons"]]
    assert zh[0] == "当前逾期天数为43，提高了失效风险"
    assert first["reasons"][0]["en"] == "Days overdue now = 43 raises the risk"
    # the second policy is outside the riskiest 30%: no reasons were computed, and it says so
    assert "30%" in second["reasons"][0]["zh"] and "30%" in second["reasons"][0]["en"]
    assert first["internal"] == {"probability": 0.42, "decile": 1, "model": "lapse@3"}


def test_a_sensitive_value_in_a_lapse_reason_follows_the_callers_view() -> None:
    masked = inputs_of(by_code(explain(sources()), "lapse_risk")[0])["holder_income"]
    assert masked["value"] != "250000" and "*" in masked["value"] and "250000" not in json.dumps(masked)
    assert masked["sensitive"] is True
    views = {f: FieldView.CLEAR for f in SENSITIVE_FIELDS}
    clear = inputs_of(by_code(explain(sources(views=views)), "lapse_risk")[0])["holder_income"]
    assert clear["value"] == "250000" and clear["shown"] == {"zh": "250,000元", "en": "CNY 250,000"}
    hidden_views = {f: FieldView.HIDDEN for f in SENSITIVE_FIELDS}
    result = explain(sources(views=hidden_views, record={k: v for k, v in RECORD.items() if k != "annual_income"}))
    hidden = inputs_of(by_code(result, "lapse_risk")[0])["holder_income"]
    assert hidden["value"] is None and hidden["shown"]["en"] == "(not shown to you)"
    assert "250000" not in json.dumps(result) and "250,000" not in json.dumps(result)
    gap_income = inputs_of(by_code(result, "protection_gap")[0])["annual_income"]
    assert gap_income["value"] is None and gap_income["shown"]["zh"] == "（您无权查看）"


def test_a_customer_without_a_lapse_score_and_a_missing_table_say_not_made() -> None:
    none = explain(sources(lapse_score=[]))
    (lapse,) = by_code(none, "lapse_risk")
    assert lapse["made"] is False and lapse["inputs"] == [] and lapse["outcome"] is None
    assert lapse["not_made"]["zh"].startswith("未作出") and lapse["not_made"]["en"].startswith("Not made")
    assert "not published" not in lapse["not_made"]["en"]
    missing = explain(sources(lapse_score=None, next_best_action=None, customer_tag=None, customer_gap=[]))
    for code in ("lapse_risk", "next_best_action", "tag"):
        (d,) = by_code(missing, code)
        assert d["made"] is False and "not published" in d["not_made"]["en"] and "尚未发布" in d["not_made"]["zh"]
    (gap,) = by_code(missing, "protection_gap")
    assert gap["made"] is False and "not published" not in gap["not_made"]["en"]
    # without any lapse score the value explains the assumed lapse rate, and the retention action its default
    value = by_code(none, "customer_value")[0]
    assert any("5%" in r["zh"] for r in value["reasons"])
    retention = inputs_of(by_code(none, "next_best_action")[0])["lapse_probability"]
    assert retention["value"] is None and "10%" in retention["shown"]["zh"]


def test_value_tier_lists_the_policies_valued() -> None:
    (value,) = by_code(explain(sources()), "customer_value")
    assert value["outcome"]["zh"].startswith("价值等级：黄金") and "8,123" in value["outcome"]["zh"]
    got = [(i["name"], i["value"]) for i in value["inputs"]]
    assert ("policy_no", "P-A-1") in got and ("policy_no", "P-A-2") in got
    assert ("policy_no", "P-A-3") not in got  # lapsed: not valued
    assert ("lapse_rate", 0.42) in got and ("margin_rate", 0.18) in got
    assert "2张有效保单" in value["reasons"][0]["zh"]


def test_next_best_actions_name_the_rule_and_its_inputs() -> None:
    retention, gap = by_code(explain(sources()), "next_best_action")
    assert retention["outcome"]["en"] == "Retention contact before a premium falls due"
    got = inputs_of(retention)
    assert got["next_premium_due"]["value"] == "2026-02-20" and got["policies_in_force"]["value"] == 2
    assert got["lapse_probability"]["value"] == 0.42 and got["lapse_probability"]["source"] == "lapse_score"
    assert retention["reasons"][0]["zh"] == ACTIONS[0]["reason_zh"]
    assert "30天内到期" in retention["reasons"][1]["zh"]
    assert retention["internal"]["expected_value"] == 500.0
    assert gap["kind"] == "sales" and gap["outcome"]["zh"].startswith("补足保障缺口")
    gap_in = inputs_of(gap)
    assert gap_in["gap_critical_illness"]["value"] == 1_020_000.0 and "gap_life" not in gap_in
    assert gap_in["marketing_consent"]["value"] is True and gap_in["touchpoints_30d"]["value"] == 1
    assert any("营销授权" in r["zh"] for r in gap["reasons"]) and gap["withheld"] is False
    withheld = by_code(explain(sources(sales_stopped=True)), "next_best_action")
    assert [d["withheld"] for d in withheld] == [False, True]
    assert "Withheld" in withheld[1]["reasons"][-1]["en"]


def test_grace_and_reinstatement_inputs_come_from_the_premiums_due() -> None:
    rows = [*ACTIONS, {"customer_id": CID, "rank": 3, "action": "reinstatement", "product_type": None,
                       "expected_value": 10.0, "probability": 0.15, "outcome_value": 100.0, "kind": "service",
                       "reason_zh": "1张失效保单可复效。", "reason_en": "1 lapsed policy may be reinstated."}]
    reinstate = by_code(explain(sources(next_best_action=rows)), "next_best_action")[2]
    got = inputs_of(reinstate)
    assert got["reinstatable"]["value"] == 1 and got["lapsed_premium"]["value"] == 900.0
    assert got["reinstate_until"]["value"] == "2027-06-01" and got["reinstate_until"]["source"] == "premium_due"


def test_gap_diagnosis_per_need_with_the_method() -> None:
    (gap,) = by_code(explain(sources()), "protection_gap")
    assert gap["outcome"]["zh"].startswith("发现4项保障缺口") and "医疗" in gap["outcome"]["zh"]
    got = inputs_of(gap)
    assert got["annual_income"]["value"] == "2****0"  # as the shaped record shows it
    assert got["sa_life"]["value"] == 500_000.0 and got["children_count"]["value"] == 1
    assert any(r["zh"].startswith("身故/寿险：需求约40.0万元，已有保额50.0万元，缺口0.0万元") for r in gap["reasons"])
    assert any("DIME" in r["en"] for r in gap["reasons"])


def test_tags_show_the_rule_its_inputs_and_a_rule_no_longer_in_the_library() -> None:
    ci, old = by_code(explain(sources()), "tag")
    assert ci["outcome"]["zh"] == "重疾保障不足" and ci["rule"] and "sa_critical_illness" in ci["rule"]
    got = inputs_of(ci)
    assert set(got) == {"annual_income", "sa_critical_illness"} and got["sa_critical_illness"]["value"] == 0.0
    assert ci["reasons"][0]["zh"].startswith("重疾保额低于3年收入") and ci["reasons"][0]["en"].startswith("Critical")
    assert old["inputs"] == [] and "no longer" in old["reasons"][0]["en"]
    journey = explain(sources(customer_tag=[], journey_tag=[{"customer_id": CID, "tag": "high_net_worth",
                                                             "source": "welcome", "set_at": "2026-01-05T08:00:00"}]))
    (set_by_journey,) = by_code(journey, "tag")
    assert set_by_journey["made_by"]["kind"] == "journey" and set_by_journey["outcome"]["zh"] == "高净值"
    assert set_by_journey["made_at"] == "2026-01-05 08:00"
    assert by_code(explain(sources(customer_tag=[], journey_tag=[])), "tag")[0]["made"] is False


def test_lifecycle_and_life_stage_name_the_rule_that_holds() -> None:
    result = explain(sources())
    (stage,) = by_code(result, "lifecycle_stage")
    assert stage["outcome"] == {"zh": "留存", "en": "Retention"}
    assert any(r["zh"].startswith("符合的规则：有失效保单") for r in stage["reasons"])
    assert inputs_of(stage)["policies_lapsed"]["value"] == 1
    (life,) = by_code(result, "life_stage")
    assert life["outcome"]["en"] == "Young family" and inputs_of(life)["youngest_child_age"]["value"] == 3
    blank = explain(sources(record={**RECORD, "life_stage": None}))
    assert by_code(blank, "life_stage")[0]["made"] is False


def test_the_customers_version_has_no_internal_figures() -> None:
    result = explain(sources(), audience="customer")
    text = json.dumps(result, ensure_ascii=False)
    assert "internal" not in {k for d in result["decisions"] for k in d}
    for secret in ("margin_rate", "expected_value", "outcome_value", "8,123", "8123", "第1档", "decile"):
        assert secret not in text, secret
    retention, gap = by_code(result, "next_best_action")
    assert retention["reasons"][0]["zh"].startswith("您的下一期保费即将到期")
    assert "customer_value" not in inputs_of(retention)
    assert gap["reasons"][0]["zh"].startswith("保障缺口诊断发现")
    lapse = by_code(result, "lapse_risk")[0]
    assert all(i["value"] is not None for i in lapse["inputs"])  # what it names; the rest as groups
    assert any("缴费记录" in r["zh"] for r in lapse["reasons"])
    assert all(d.get("rule") is None for d in by_code(result, "tag"))


@pytest.mark.parametrize(("text", "zh", "en"), [
    ("已婚、35岁以下：适合定期寿险。Married, under 35.", "已婚、35岁以下：适合定期寿险。", "Married, under 35."),
    ("保障诊断（DIME法）的寿险需求高于保额。The needs diagnosis (DIME) finds a gap.",
     "保障诊断（DIME法）的寿险需求高于保额。", "The needs diagnosis (DIME) finds a gap."),
    ("只有中文。", "只有中文。", "只有中文。"),
])
def test_tag_descriptions_split_into_their_languages(text: str, zh: str, en: str) -> None:
    assert split_description(text) == {"zh": zh, "en": en}
