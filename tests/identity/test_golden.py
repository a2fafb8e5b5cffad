"""Golden records: survivorship per field, provenance, configuration; same result on every engine."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from shouhu.errors import ConfigError, UnknownName
from shouhu.identity.golden import GOLDEN_FIELDS, Survivorship, build_golden_records
from shouhu.model.marts import CUSTOMER, CUSTOMER_PROVENANCE
from shouhu.storage.warehouse import Warehouse
from tests.identity.party_factory import cluster_table, make_party, party_table

RECORDS = [
    # one person in three channels
    make_party(record_id="A1", _source="agent_crm", channel="agent", name="张伟", phone="13800000001",
               address="上海市浦东新区世纪大道1号", created_at=datetime(2019, 5, 1), annual_income=300000.0,
               id_number="11010519491231002X", birth_date=date(1949, 12, 31)),
    make_party(record_id="B1", _source="bancassurance", channel="bancassurance", name="張偉",
               phone="13900000002", address="上海浦东世纪大道1号", created_at=datetime(2023, 2, 1),
               email="zw@example.com", birth_date=date(1949, 12, 31)),
    make_party(record_id="U1", _source="internet", channel="internet", name="张玮", phone="13700000003",
               created_at=datetime(2024, 8, 1), address=None, birth_date=date(1949, 12, 31)),
    # someone else, alone
    make_party(record_id="A2", _source="agent_crm", channel="agent", name="李娜", gender="F",
               birth_date=date(1990, 1, 2), created_at=None),
]
CLUSTERS = {"agent_crm:A1": "CU1", "bancassurance:B1": "CU1", "internet:U1": "CU1", "agent_crm:A2": "CU2"}


def build(url: str, rules: Survivorship | None = None) -> dict[str, dict[str, object]]:
    with Warehouse(url) as wh:
        wh.write_table("src_party", party_table(RECORDS))
        wh.write_table("identity_cluster", cluster_table(CLUSTERS))
        assert build_golden_records(wh, rules) == 2
        customers = {r["customer_id"]: r for r in wh.read("customer").to_pylist()}
        assert wh.read("customer").schema.names == CUSTOMER.field_names
        assert wh.read("customer_provenance").schema.names == CUSTOMER_PROVENANCE.field_names
        provenance = wh.read("customer_provenance").to_pylist()
    for p in provenance:
        customers[str(p["customer_id"])][f"from:{p['field']}"] = (p["unique_id"], p["rule"], p["value"])
    return customers


def test_each_rule_picks_the_right_record(warehouse_url: str) -> None:
    c = build(warehouse_url)["CU1"]
    assert c["name"] == "张伟"  # most trusted source: the agent CRM
    assert c["phone"] == "13700000003"  # most recent record
    assert c["address"] == "上海市浦东新区世纪大道1号"  # most complete
    assert c["email"] == "zw@example.com"  # the only record that has one
    assert c["id_number"] == "11010519491231002X"
    assert c["record_count"] == 3
    assert c["channels"] == "agent,bancassurance,internet"
    assert c["first_seen"] == datetime(2019, 5, 1)


def test_provenance_names_record_rule_and_masks_sensitive_values(warehouse_url: str) -> None:
    c = build(warehouse_url)["CU1"]
    assert c["from:phone"] == ("internet:U1", "most_recent", "137****0003")
    assert c["from:name"] == ("agent_crm:A1", "most_trusted", "张*")
    assert c["from:id_number"] == ("agent_crm:A1", "most_trusted", "110***********002X")
    assert c["from:city"][2] == "上海市"  # not sensitive: shown as is
    assert "from:email" in c and "zw@example.com" not in str(c["from:email"])


def test_fields_without_any_value_stay_empty_and_singletons_work(warehouse_url: str) -> None:
    c = build(warehouse_url)["CU2"]
    assert c["name"] == "李娜" and c["phone"] is None and c["record_count"] == 1
    assert "from:phone" not in c


def test_rules_are_configurable(tmp_path: Path) -> None:
    config = tmp_path / "survivorship.toml"
    shipped = (Path(__file__).parents[2] / "src/shouhu/identity/survivorship.toml").read_text(encoding="utf-8")
    config.write_text(shipped.replace('name = "most_trusted"', 'name = "most_recent"'), encoding="utf-8")
    c = build(f"duckdb:///{tmp_path / 'w.duckdb'}", Survivorship.load(config))["CU1"]
    assert c["name"] == "张玮"


def test_bad_configuration_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text('[fields]\nname = "loudest"\n', encoding="utf-8")
    with pytest.raises(UnknownName, match="most_complete, most_recent, most_trusted"):
        Survivorship.load(config)
    config.write_text('[fields]\nname = "most_recent"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="no survivorship rule"):
        Survivorship.load(config)
    assert set(Survivorship.load().fields) == set(GOLDEN_FIELDS)
