"""The shipped tag library: it loads, every rule compiles, and each tag picks the hand-expected customers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shouhu.errors import ConfigError, StorageError, UnknownName
from shouhu.segments import apply_tags, compile_rule, load_tag_library, tag_counts
from shouhu.storage.warehouse import Warehouse
from tests.segments.conftest import PutCustomers
from tests.segments.factory import make_customer_360

# c000 is the ordinary customer of the factory defaults: no tag at all.
CUSTOMERS: list[dict[str, Any]] = [
    {},
    {"marital_status": "married", "age": 28},
    {"marital_status": "married", "age": 33, "children_count": 1, "youngest_child_age": 2},
    {"annual_income": 1_500_000.0, "sa_critical_illness": 5_000_000.0},
    {"annual_income": 300_000.0, "sa_critical_illness": 500_000.0},
    {"last_contact_at": None, "days_since_last_contact": None},
    {"days_since_last_contact": 400},
    {"policies_lapsed": 1},
    {"max_days_overdue": 45},
    {"on_time_ratio": 0.8},
    {"channels": "agent,bancassurance", "channel_count": 2},
    {"has_wearable": True, "avg_daily_steps_30d": 9_000.0},
    {"has_wearable": True, "avg_daily_steps_30d": None},
    {"gender": "M", "age": 58},
    {"gender": "F", "age": 50},
    {"age": 45, "sa_pension": 100_000.0},
    {"policies_in_force": 0},
    {"marketing_consent": False},
    {"marketing_consent": None},
    {"annualised_premium": 120_000.0},
    {"annual_income": None, "sa_critical_illness": None},
    {"marital_status": "married", "age": 30, "children_count": None},
    {"channels": "bancassurance", "children_count": 2, "youngest_child_age": 12, "sa_education": 0.0},
]
EXPECTED: dict[str, set[str]] = {
    "newly_married": {"c001", "c021"},
    "young_children": {"c002"},
    "high_net_worth": {"c003", "c019"},
    "ci_underinsured": {"c004"},
    "life_gap": set(),  # no customer_gap table here: gap columns are empty
    "long_no_contact": {"c005", "c006"},
    "policy_lapsed": {"c007"},
    "premium_overdue": {"c008", "c009"},
    "multi_channel": {"c010"},
    "bancassurance_customer": {"c010", "c022"},
    "health_enthusiast": {"c011"},
    "near_retirement": {"c013", "c014"},
    "pension_gap": {"c013", "c014"},
    "education_gap": {"c002", "c022"},
    "no_policy_in_force": {"c016"},
    "no_marketing_consent": {"c017", "c018"},
}


def test_shipped_library_loads_with_labels_and_rules() -> None:
    library = load_tag_library()
    assert set(library.codes) == set(EXPECTED)
    assert {"新婚", "有幼儿", "高净值", "重疾保障不足", "长期未联系", "保单失效", "缴费逾期", "多渠道客户",
            "健康达人", "临近退休", "无营销授权"} <= {t.zh for t in library}
    assert all(t.en and t.description and t.rule.text for t in library)
    assert library.get("高净值").code == "high_net_worth"
    with pytest.raises(UnknownName, match="high_net_worth"):
        library.get("rich")


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_each_shipped_tag_picks_the_expected_customers(code: str, tmp_path: Path) -> None:
    with Warehouse(f"duckdb:///{tmp_path}/w.duckdb") as wh:
        wh.write_table("customer_360", make_customer_360(CUSTOMERS))
        from shouhu.segments.tags import customer_360 as rule_input  # 360 plus the gap columns

        t = rule_input(wh)
        tag = load_tag_library().get(code)
        got = set(t.filter(compile_rule(tag.rule, t)).customer_id.to_pyarrow().to_pylist())
    assert got == EXPECTED[code], tag.rule.text


def test_apply_tags_materialises_customer_tag(warehouse_url: str, put_customers: PutCustomers) -> None:
    wh = put_customers(CUSTOMERS, warehouse_url)
    counts = apply_tags(wh)
    assert counts == {code: len(ids) for code, ids in EXPECTED.items()}
    rows = wh.read("customer_tag").to_pylist()
    assert set(rows[0]) == {"customer_id", "tag", "label_zh", "label_en"}
    assert {(r["customer_id"], r["tag"]) for r in rows} == {(c, t) for t, ids in EXPECTED.items() for c in ids}
    assert {r["label_zh"] for r in rows if r["tag"] == "high_net_worth"} == {"高净值"}
    assert tag_counts(wh) == counts


def test_user_file_overrides_adds_and_disables(tmp_path: Path, put_customers: PutCustomers) -> None:
    (tmp_path / "tags.toml").write_text('''
[[tag]]
code = "high_net_worth"
zh = "高净值"
en = "High net worth"
rule = "annualised_premium >= 100000"

[[tag]]
code = "policy_lapsed"
enabled = false

[[tag]]
code = "shanghai"
zh = "上海客户"
en = "Shanghai"
rule = 'city == "上海市"'
''', encoding="utf-8")
    library = load_tag_library(tmp_path)
    assert "policy_lapsed" not in library.codes and "shanghai" in library.codes
    wh = put_customers([*CUSTOMERS, {"city": "上海市"}])
    counts = apply_tags(wh, library)
    assert counts["high_net_worth"] == 1 and counts["shanghai"] == 1 and "policy_lapsed" not in counts


@pytest.mark.parametrize(("body", "message"), [
    ('[[tag]]\ncode = "a"\nzh = "甲"\nen = "A"\nrule = "age > 1"\n[[tag]]\ncode = "a"\nzh = "乙"\nen = "B"\n'
     'rule = "age > 2"\n', "defined twice"),
    ('[[tag]]\ncode = "a"\nzh = "甲"\nen = "A"\nrule = "agee > 1"\n', "bad rule: unknown column 'agee'"),
    ('[[tag]]\ncode = "a"\nzh = "甲"\nen = "A"\nrule = "__import__(\'os\')"\n', "bad rule"),
    ('[[tag]]\ncode = "Bad Code"\nzh = "甲"\nen = "A"\nrule = "age > 1"\n', "lower_snake_case"),
    ('[[tag]]\ncode = "a"\nzh = "甲"\nen = "A"\nrule = "age > 1"\ncolour = "red"\n', "unknown keys"),
    ('[[tag]]\ncode = "a"\nen = "A"\nrule = "age > 1"\n', "zh must be non-empty"),
    ("[[tag]\n", "not valid TOML"),
    ('tags = 1\n', "unknown top-level keys"),
])
def test_bad_tag_files_are_refused(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "tags.toml").write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_tag_library(tmp_path)


def test_apply_needs_customer_360(tmp_path: Path) -> None:
    with Warehouse(f"duckdb:///{tmp_path}/w.duckdb") as wh, pytest.raises(StorageError, match="customer_360"):
        apply_tags(wh)


def test_empty_library_gives_an_empty_customer_tag(put_customers: PutCustomers, tmp_path: Path) -> None:
    (tmp_path / "only.toml").write_text("", encoding="utf-8")
    wh = put_customers(CUSTOMERS)
    assert apply_tags(wh, load_tag_library(path=tmp_path / "only.toml")) == {}
    assert wh.read("customer_tag").num_rows == 0


def test_tags_can_use_the_batch_gaps(tmp_path: Path) -> None:
    import pyarrow as pa

    from shouhu.model.marts import CUSTOMER_GAP
    from shouhu.segments.tags import apply_tags

    with Warehouse(f"duckdb:///{tmp_path}/w.duckdb") as wh:
        wh.write_table("customer_360", make_customer_360(CUSTOMERS))
        gaps = {f.name: [0.0, 0.0] for f in CUSTOMER_GAP.fields[1:]} | {"gap_life": [500_000.0, 0.0]}
        wh.write_table("customer_gap", pa.table({"customer_id": ["c001", "c002"], **gaps}))
        counts = apply_tags(wh, load_tag_library())
        rows = wh.query("SELECT customer_id FROM customer_tag WHERE tag = 'life_gap'")
    assert counts["life_gap"] == 1 and rows == [("c001",)]
