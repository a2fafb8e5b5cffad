from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shouhu.identity import resolve_identities
from shouhu.storage.warehouse import Warehouse
from tests.identity.factories import background, make_party, write_party

ID_A = "310104198810084067"
ID_B = "310104198810084075"


def _people() -> list[dict[str, Any]]:
    return [
        *background(400),
        # same ID number, spelled differently: rule:id_number
        make_party("R1", "张伟", id_number=ID_A, birth_date="1988-10-08", phone="13800000001"),
        make_party("R2", "張偉", "broker", id_number=ID_A, birth_date="1988-10-08", phone="13800000001"),
        # same phone + birth date, no ID: rule:phone_birth_date
        make_party("R3", "李娜", gender="F", birth_date="1990-01-02", phone="13800000002"),
        make_party("R4", "李娜", "internet", gender="F", birth_date="1990-01-02", phone="13800000002"),
        # chain: C1 (ID_A') -- C2 (no id) -- C3 (ID_B): phone links C1-C2, phone links C2-C3
        make_party("C1", "王芳", gender="F", id_number=ID_B, birth_date="1988-10-08", phone="13800000003"),
        make_party("C2", "王芳", "app", gender="F", birth_date="1988-10-08", phone="13800000003"),
        make_party("C3", "王芳", "internet", gender="F", id_number="310104198810084083",
                   birth_date="1988-10-08", phone="13800000003"),
    ]


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any]:
    url = write_party(tmp_path_factory.mktemp("resolve"), _people())
    with Warehouse(url) as wh:
        result = resolve_identities(wh)
    return url, result


def _clusters(url: str) -> dict[str, str]:
    with Warehouse(url) as wh:
        return dict(wh.query("SELECT unique_id, customer_id FROM identity_cluster"))


def test_every_record_is_clustered_exactly_once(resolved: tuple[str, Any]) -> None:
    url, result = resolved
    with Warehouse(url) as wh:
        n, distinct = wh.query("SELECT COUNT(*), COUNT(DISTINCT unique_id) FROM identity_cluster")[0]
        assert n == distinct == wh.query("SELECT COUNT(*) FROM src_party")[0][0] == result.records


def test_deterministic_rules_link(resolved: tuple[str, Any]) -> None:
    url, _ = resolved
    c = _clusters(url)
    assert c["agent_crm:R1"] == c["broker:R2"]
    assert c["agent_crm:R3"] == c["internet:R4"]
    with Warehouse(url) as wh:
        reasons = dict(wh.query("SELECT unique_id_l || '|' || unique_id_r, reason FROM identity_pair"))
    assert reasons["agent_crm:R1|broker:R2"] == "rule:id_number"
    assert reasons["agent_crm:R3|internet:R4"] == "rule:phone_birth_date"


def test_guard_rail_never_merges_different_id_numbers_even_through_a_chain(resolved: tuple[str, Any]) -> None:
    url, _ = resolved
    c = _clusters(url)
    assert c["agent_crm:C1"] != c["internet:C3"]
    assert c["app:C2"] in (c["agent_crm:C1"], c["internet:C3"])
    with Warehouse(url) as wh:
        guarded = wh.query("SELECT decision FROM identity_pair WHERE reason = 'guard:different_id_number'")
        ids = wh.query("SELECT customer_id, COUNT(DISTINCT id_number) FROM identity_cluster JOIN identity_features "
                       "USING (unique_id) GROUP BY customer_id HAVING COUNT(DISTINCT id_number) > 1")
    assert guarded and {d for (d,) in guarded} == {"no_link"}
    assert ids == []


def test_explanation_names_every_comparison(resolved: tuple[str, Any]) -> None:
    url, _ = resolved
    with Warehouse(url) as wh:
        rows = wh.query("SELECT explanation FROM identity_pair WHERE reason <> 'manual:must_link'")
    assert rows
    for (text,) in rows:
        exp = json.loads(text)
        assert set(exp) == {"name", "birth_date", "gender", "id_number", "other_id", "phone", "email", "city",
                            "address"}
        assert all({"level", "weight"} <= set(v) for v in exp.values())


def test_must_link_and_cannot_link_are_honoured(tmp_path: Path) -> None:
    url = write_party(tmp_path, _people())
    with Warehouse(url) as wh:
        resolve_identities(wh, must_link=[("agent_crm:BG00001", "agent_crm:BG00002")],
                           cannot_link=[("agent_crm:R1", "broker:R2")])
        pairs = {(a, b): (d, r) for a, b, d, r in
                 wh.query("SELECT unique_id_l, unique_id_r, decision, reason FROM identity_pair")}
        decided = dict(wh.query("SELECT unique_id, decided_by FROM identity_cluster"))
    c = _clusters(url)
    assert c["agent_crm:BG00001"] == c["agent_crm:BG00002"] and decided["agent_crm:BG00001"] == "manual"
    assert c["agent_crm:R1"] != c["broker:R2"]
    assert pairs[("agent_crm:BG00001", "agent_crm:BG00002")] == ("link", "manual:must_link")
    assert pairs[("agent_crm:R1", "broker:R2")] == ("no_link", "manual:cannot_link")


def test_customer_ids_are_stable_across_runs(resolved: tuple[str, Any], tmp_path: Path) -> None:
    url, _ = resolved
    again = write_party(tmp_path, _people())
    with Warehouse(again) as wh:
        resolve_identities(wh)
    assert _clusters(again) == _clusters(url)
