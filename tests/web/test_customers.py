"""Dashboard, search, the customer 360 page and the task list: API and console, within each role's scope,
masked on every path, reveals and exports audited."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from typing import Any, get_args

import pytest
from sqlalchemy import func, insert, select

from shouhu.customer360.lifecycle import LifecycleStage
from shouhu.privacy.crypto import FieldCipher
from shouhu.scoring.nba import ACTION_TYPES
from shouhu.storage import audit
from shouhu.storage.tables import customer_scope, reflected
from shouhu.web.api.customers import ActionCode
from tests.web.conftest import Web


def _cipher(web: Web) -> FieldCipher:
    from shouhu.privacy.crypto import cipher_from_settings

    return cipher_from_settings(web.settings)


def clear_values(web: Web, customer_id: str) -> dict[str, str]:
    """The customer's name, phone and ID number in clear (decrypted here, to look for leaks)."""
    cust = reflected(web.engine, "customer")
    with web.engine.connect() as conn:
        row = conn.execute(select(cust).where(cust.c.customer_id == customer_id)).one()._mapping
    cipher = _cipher(web)
    out = {}
    for field in ("name", "phone", "id_number"):
        value = cipher.decrypt(row[f"{field}_enc"])
        if value:
            out[field] = str(value)
    return out


def assert_no_clear(web: Web, text: str, customer_id: str, fields: tuple[str, ...] = ("phone", "id_number")) -> None:
    for field, value in clear_values(web, customer_id).items():
        if field in fields:
            assert value not in text, f"clear {field} of {customer_id} in a response"


def agent_customers(web: Web) -> int:
    with web.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(customer_scope).where(
            customer_scope.c.agent_id == web.scope["agent"]["staff_id"])).scalar_one())


def mixed_household_customer(web: Web) -> str:
    """A customer of the agent sharing a household with someone outside the agent's scope."""
    member = reflected(web.engine, "household_member")
    staff_id = web.scope["agent"]["staff_id"]
    other = member.alias("other")
    scope_other = customer_scope.alias("scope_other")
    query = (select(member.c.customer_id)
             .join(customer_scope, customer_scope.c.customer_id == member.c.customer_id)
             .join(other, other.c.household_id == member.c.household_id)
             .join(scope_other, scope_other.c.customer_id == other.c.customer_id)
             .where(customer_scope.c.agent_id == staff_id,
                    (scope_other.c.agent_id != staff_id) | scope_other.c.agent_id.is_(None))
             .order_by(member.c.customer_id).limit(1))
    with web.engine.connect() as conn:
        found = conn.execute(query).scalar()
    if found is None:
        pytest.skip("no household in this book spans the agent's scope")
    return str(found)


# --- dashboard -----------------------------------------------------------------------------------


def test_dashboard_aggregates_stay_within_scope(web: Web) -> None:
    admin = web.client.get("/api/v1/dashboard", headers=web.auth("admin")).json()
    agent = web.client.get("/api/v1/dashboard", headers=web.auth("agent")).json()
    branch = web.client.get("/api/v1/dashboard", headers=web.auth("branch_manager")).json()
    assert 0 < agent["customers"] < admin["customers"]
    assert agent["customers"] == agent_customers(web)
    assert agent["customers"] <= branch["customers"] < admin["customers"]
    assert agent["in_force_premium"] < admin["in_force_premium"]
    for body in (admin, agent):
        stages = [s["code"] for s in body["lifecycle"]]
        assert stages[:len(LifecycleStage)] == LifecycleStage.codes()  # funnel order
        assert sum(s["customers"] for s in body["lifecycle"]) == body["customers"]
        assert sum(t["customers"] for t in body["value_tiers"]) == body["customers"]
        assert {g["need"] for g in body["gaps"]} == {"life", "critical_illness", "medical", "accident", "pension",
                                                      "education"}
        for g in body["gaps"]:
            assert sum(g["bands"].values()) == g["customers_with_gap"]
        assert all(c["customers"] > 0 for c in body["channel_mix"])
    assert admin["lifecycle"][0]["label"] == "获客" and admin["channel_mix"][0]["label"]
    # persistency: the agent's policyholders' populations are a part of the whole book's
    p13 = admin["persistency"]["13"]
    assert p13["policies"] > 0 and 0 < p13["premium_persistency"] <= 1
    assert p13["premium_received"] <= p13["premium_due"]
    mine = agent["persistency"].get("13", {"policies": 0})
    assert mine["policies"] < p13["policies"]
    en = web.client.get("/api/v1/dashboard?lang=en", headers=web.auth("admin")).json()
    assert en["lifecycle"][0]["label"] == "Acquisition" and en["customers"] == admin["customers"]


def test_dashboard_persistency_matches_the_book_kpi(web: Web, published: Any) -> None:
    """Summed over every customer, the published populations give the book's own 13-month ratio."""
    from shouhu.scoring import persistency
    from shouhu.storage.warehouse import Warehouse

    admin = web.client.get("/api/v1/dashboard", headers=web.auth("admin")).json()["persistency"]
    as_of = json.loads((published.book / "manifest.json").read_text(encoding="utf-8"))["as_of"]
    with Warehouse(published.warehouse_url, read_only=True) as wh:
        book = persistency.compute(persistency.warehouse_tables(wh), months=(13,), as_of=date.fromisoformat(as_of))
    kpi = book[0]
    # policies whose holder record is in no identity cluster belong to no customer: at most a handful
    assert kpi["policies"] - 5 <= admin["13"]["policies"] <= kpi["policies"]
    assert admin["13"]["premium_persistency"] == pytest.approx(kpi["premium_persistency"], abs=0.01)


def test_dashboard_page_and_bad_input(web: Web) -> None:
    assert web.client.get("/api/v1/dashboard").status_code == 401
    r = web.client.get("/api/v1/dashboard?lang=fr", headers=web.auth("admin"))
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "query.lang"
    web.login("agent")
    page = web.client.get("/console/")
    assert page.status_code == 200
    for element in ("kpi-customers", "kpi-premium", "kpi-persistency-13", "chart-lifecycle", "chart-channels",
                    "chart-gaps", "chart-gap-bands", "chart-tiers", "chart-persistency", "link-tasks"):
        assert f'id="{element}"' in page.text, element
    shown = re.search(r'id="kpi-customers">([\d,]+)<', page.text)
    assert shown and int(shown.group(1).replace(",", "")) == agent_customers(web)
    assert "我的待办" in page.text and "'funnel'" in page.text and "'pie'" in page.text
    en = web.client.get("/console/?lang=en")
    assert "Dashboard" in en.text and "My tasks" in en.text


# --- search --------------------------------------------------------------------------------------


def test_search_by_name_phone_and_id_masked(web: Web) -> None:
    own = web.own["agent"]
    clear = clear_values(web, own)
    for field in ("phone", "id_number", "name"):
        r = web.client.get("/api/v1/customers", params={"q": clear[field]}, headers=web.auth("agent"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert own in [i["customer_id"] for i in body["items"]], field
        assert_no_clear(web, r.text, own)
        item = next(i for i in body["items"] if i["customer_id"] == own)
        assert "*" in item["phone"] and "*" in item["name"] and not any(k.endswith("_enc") for k in item)
    # explicit fields too
    r = web.client.get("/api/v1/customers", params={"phone": clear["phone"]}, headers=web.auth("agent"))
    assert [i["customer_id"] for i in r.json()["items"]] == [own]
    # a customer outside the scope is never found, even by exact phone
    foreign = web.foreign["agent"]
    r = web.client.get("/api/v1/customers", params={"q": clear_values(web, foreign)["phone"]},
                       headers=web.auth("agent"))
    assert r.status_code == 200 and foreign not in r.text


def test_search_paging_and_bad_input(web: Web) -> None:
    first = web.client.get("/api/v1/customers", params={"lifecycle_stage": "acquisition", "limit": 5},
                           headers=web.auth("admin")).json()
    assert first["count"] == 5 and first["next_offset"] == 5
    second = web.client.get("/api/v1/customers", params={"lifecycle_stage": "acquisition", "limit": 5, "offset": 5},
                            headers=web.auth("admin")).json()
    assert not {i["customer_id"] for i in first["items"]} & {i["customer_id"] for i in second["items"]}
    r = web.client.get("/api/v1/customers", params={"limit": 0}, headers=web.auth("admin"))
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "query.limit"
    assert web.client.get("/api/v1/customers?q=x").status_code == 401


def test_console_search_live_results_and_paging(web: Web) -> None:
    web.login("admin")
    own = web.own["admin"]
    clear = clear_values(web, own)
    page = web.client.get("/console/customers")
    assert 'id="search-box"' in page.text and 'hx-get="/console/customers"' in page.text
    frag = web.client.get("/console/customers", params={"q": clear["phone"]}, headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "<html" not in frag.text and 'id="search-results"' in frag.text
    assert own in frag.text
    assert_no_clear(web, frag.text, own, ("phone", "id_number", "name"))
    full = web.client.get("/console/customers", params={"q": clear["id_number"]})
    assert "<html" in full.text and own in full.text and 'id="search-masked"' in full.text
    assert_no_clear(web, full.text, own, ("phone", "id_number", "name"))
    paged = web.client.get("/console/customers", params={"stage": "acquisition"})
    assert 'id="search-next"' in paged.text and 'id="export-form"' in paged.text
    second = web.client.get("/console/customers", params={"stage": "acquisition", "offset": 20})
    assert 'id="search-prev"' in second.text
    none = web.client.get("/console/customers", params={"q": "不存在的人名"})
    assert 'id="no-results"' in none.text


# --- customer 360 --------------------------------------------------------------------------------


def test_360_api_sections_masked_and_scoped(web: Web) -> None:
    own = web.own["agent"]
    r = web.client.get(f"/api/v1/customers/{own}/360", headers=web.auth("agent"))
    assert r.status_code == 200, r.text
    view = r.json()
    for part in ("customer", "labels", "provenance", "household", "household_graph", "policies", "cover", "scores",
                 "actions", "timeline"):
        assert part in view, part
    assert_no_clear(web, r.text, own, ("phone", "id_number", "name"))
    assert "*" in view["customer"]["phone"] and "phone" in view["customer"]["revealable"]
    assert not any(k.endswith(("_enc", "_bidx")) for k in view["customer"])
    assert all("value" not in p for p in view["provenance"])
    assert {p["field"] for p in view["provenance"]} >= {"name", "phone"}
    assert [c["need"] for c in view["cover"]] == ["life", "critical_illness", "medical", "accident", "pension",
                                                  "education"]
    assert view["labels"]["lifecycle_stage"] in [s.zh for s in LifecycleStage]
    assert [a["rank"] for a in view["actions"]] == sorted(a["rank"] for a in view["actions"])
    assert web.client.get(f"/api/v1/customers/{web.foreign['agent']}/360", headers=web.auth("agent")).status_code \
        == 404
    assert web.client.get("/api/v1/customers/CUnothere/360", headers=web.auth("admin")).status_code == 404
    en = web.client.get(f"/api/v1/customers/{own}/360?lang=en", headers=web.auth("agent")).json()
    assert en["labels"]["lifecycle_stage"] in [s.en for s in LifecycleStage]
    # analyst: everything locked, nothing revealable, income hidden
    a = web.client.get(f"/api/v1/customers/{own}/360", headers=web.auth("analyst")).json()
    assert a["customer"]["revealable"] == [] and "annual_income" not in a["customer"]


def test_household_graph_hides_members_outside_scope(web: Web) -> None:
    cid = mixed_household_customer(web)
    r = web.client.get(f"/api/v1/customers/{cid}/360", headers=web.auth("agent"))
    assert r.status_code == 200
    graph = r.json()["household_graph"]
    hidden = [n for n in graph["nodes"] if not n["visible"]]
    assert hidden and all(n["customer_id"] is None and n["name"] == "" and n["role"] for n in hidden)
    assert any(n["current"] for n in graph["nodes"])
    assert len(graph["links"]) == len(graph["nodes"]) - 1
    members = web.client.get(f"/api/v1/customers/{cid}/household", headers=web.auth("agent")).json()["members"]
    outside = {m["customer_id"] for m in web.client.get(f"/api/v1/customers/{cid}/household",
                                                         headers=web.auth("admin")).json()["members"]}
    visible = {m["customer_id"] for m in members if m["visible"]}
    assert len(outside) == len(members) and visible < outside
    page_ids = outside - visible
    web.login("agent")
    page = web.client.get(f"/console/customers/{cid}")
    assert page.status_code == 200 and 'id="chart-household"' in page.text
    for hidden_id in page_ids:
        assert hidden_id not in page.text
        for value in clear_values(web, hidden_id).values():
            assert value not in page.text
        masked = reflected(web.engine, "customer")
        with web.engine.connect() as conn:
            name_masked = conn.execute(select(masked.c.name_masked).where(masked.c.customer_id == hidden_id)
                                       ).scalar()
        assert not name_masked or f'"name": "{name_masked}"' not in page.text


def test_360_page_sections_and_language(web: Web) -> None:
    own = web.own["agent"]
    web.login("agent")
    page = web.client.get(f"/console/customers/{own}")
    assert page.status_code == 200
    for element in ("profile", "field-phone", "reveal-phone", "reveal-form-phone", "reveal-reason-phone", "scores",
                    "score-value", "household", "chart-household", "cover", "chart-cover", "actions",
                    "actions-table", "policies", "policies-table", "timeline", "timeline-table", "provenance",
                    "provenance-table", "c360-lifecycle"):
        assert f'id="{element}"' in page.text, element
    assert_no_clear(web, page.text, own, ("phone", "id_number", "name"))
    assert "基本信息" in page.text and "下一步最佳行动" in page.text
    en = web.client.get(f"/console/customers/{own}?lang=en")
    assert "Next best actions" in en.text and "Golden-record provenance" in en.text
    assert web.client.get(f"/console/customers/{web.foreign['agent']}").status_code == 404


def test_lapse_scores_with_reasons_when_published(web: Web) -> None:
    own = web.own["agent"]
    detail = web.client.get(f"/api/v1/customers/{own}/360", headers=web.auth("agent")).json()
    assert detail["scores"]["lapse"] is None
    policy = detail["policies"][0]["policy_no"] if detail["policies"] else "P-TEST-1"
    table = reflected(web.engine, "lapse_score")
    with web.engine.begin() as conn:
        conn.execute(insert(table), [{"policy_no": policy, "customer_id": own, "probability": 0.42, "decile": 1,
                                      "reasons": json.dumps(["on_time_ratio = 0.5 raises the risk"]),
                                      "model": "lapse@1"}])
    view = web.client.get(f"/api/v1/customers/{own}/360", headers=web.auth("agent")).json()
    lapse = view["scores"]["lapse"]
    assert lapse["max_probability"] == pytest.approx(0.42)
    assert lapse["policies"][0]["reasons"] == ["on_time_ratio = 0.5 raises the risk"]
    web.login("agent")
    page = web.client.get(f"/console/customers/{own}")
    assert 'id="score-lapse"' in page.text and "42.0%" in page.text and "raises the risk" in page.text
    # another agent's customer's scores never show through
    other = web.client.get(f"/api/v1/customers/{web.foreign['agent']}/360", headers=web.auth("agent"))
    assert other.status_code == 404


def test_refresh_publishes_lapse_scores_once_per_policy(web: Web, published: Any, tmp_path: Any) -> None:
    """When the lapse model has scored the warehouse, publish carries its scores (one row per policy)."""
    import shutil

    import pyarrow as pa

    from shouhu.pipeline.publish import score_tables
    from shouhu.scoring.lapse import SCORE_TABLE
    from shouhu.storage.publish import publish_tables
    from shouhu.storage.warehouse import Warehouse

    own = web.own["agent"]
    policies = [p["policy_no"] for p in web.client.get(f"/api/v1/customers/{own}/360",
                                                       headers=web.auth("agent")).json()["policies"]]
    if not policies:
        pytest.skip("the agent's customer holds no policy")
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(published.warehouse_url.removeprefix("duckdb:///"), copy)
    rows = [{"policy_no": policies[0], "customer_id": own, "snapshot_date": date(2026, 10, 31), "probability": p,
             "decile": 1, "reasons": json.dumps([f"days_overdue_now = {d} raises the risk"]), "model": "lapse@1"}
            for p, d in ((0.61, 45), (0.60, 40))]  # the same policy exported by two sources
    as_of = date.fromisoformat(json.loads((published.book / "manifest.json").read_text(encoding="utf-8"))["as_of"])
    with Warehouse(f"duckdb:///{copy}") as wh:
        wh.write_table(SCORE_TABLE, pa.Table.from_pylist(rows))
        tables = score_tables(wh, as_of)
        assert set(tables) == {"customer_persistency", SCORE_TABLE}
        written = publish_tables(web.settings.serving, {SCORE_TABLE: tables[SCORE_TABLE]})
    assert written == {SCORE_TABLE: 1}
    lapse = web.client.get(f"/api/v1/customers/{own}/360", headers=web.auth("agent")).json()["scores"]["lapse"]
    assert lapse["policies"][0]["policy_no"] == policies[0] and lapse["max_probability"] in (0.61, 0.60)
    assert "raises the risk" in lapse["policies"][0]["reasons"][0]


# --- reveal and export ---------------------------------------------------------------------------


def test_console_reveal_needs_a_reason_and_is_audited(web: Web) -> None:
    own = web.own["agent"]
    clear = clear_values(web, own)
    csrf = web.login("agent")
    before = len(audit.read(web.engine, action="reveal", target_id=own))
    r = web.client.post(f"/console/customers/{own}/reveal", data={"field": "phone", "reason": ""},
                        headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 200 and r.headers["HX-Retarget"] == "#reveal-error-phone"
    assert "请填写查看原因" in r.text
    assert clear["phone"] not in r.text
    assert len(audit.read(web.engine, action="reveal", target_id=own)) == before
    r = web.client.post(f"/console/customers/{own}/reveal", data={"field": "phone", "reason": "客户来电核实身份"},
                        headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 200 and clear["phone"] in r.text and 'id="revealed-phone"' in r.text
    entries = audit.read(web.engine, action="reveal", target_id=own)
    assert len(entries) == before + 1
    assert entries[0]["reason"] == "客户来电核实身份" and entries[0]["actor"] == web.users["agent"]
    assert entries[0]["detail"]["fields"] == ["phone"]
    # without the CSRF token: refused
    r = web.client.post(f"/console/customers/{own}/reveal", data={"field": "phone", "reason": "x again"})
    assert r.status_code == 403
    # not a personal field
    r = web.client.post(f"/console/customers/{own}/reveal", data={"field": "city", "reason": "why not"},
                        headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and "field" in r.json()["message"]
    # a foreign customer: 404, nothing audited
    r = web.client.post(f"/console/customers/{web.foreign['agent']}/reveal",
                        data={"field": "phone", "reason": "客户来电"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404
    assert not audit.read(web.engine, action="reveal", target_id=web.foreign["agent"])


def test_reveal_forbidden_for_analyst(web: Web) -> None:
    own = web.own["analyst"]
    r = web.client.post(f"/api/v1/customers/{own}/reveal", headers=web.auth("analyst"),
                        json={"fields": ["phone"], "reason": "curious"})
    assert r.status_code == 403
    csrf = web.login("analyst")
    page = web.client.get(f"/console/customers/{own}")
    assert page.status_code == 200 and 'id="reveal-phone"' not in page.text
    r = web.client.post(f"/console/customers/{own}/reveal", data={"field": "phone", "reason": "curious"},
                        headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    r = web.client.post(f"/api/v1/customers/{own}/reveal", headers=web.auth("agent"), json={"fields": ["phone"]})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body.reason"


def test_export_is_masked_scoped_and_audited(web: Web) -> None:
    own, foreign = web.own["agent"], web.foreign["agent"]
    r = web.client.post("/api/v1/customers/export", headers=web.auth("agent"),
                        json={"customer_ids": [own, foreign], "purpose": "季度回访名单"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert [row["customer_id"] for row in rows] == [own]
    assert_no_clear(web, r.text, own)
    entry = audit.read(web.engine, action="export", actor=web.users["agent"])[0]
    assert entry["reason"] == "季度回访名单" and entry["detail"]["count"] == 1 and entry["detail"]["refused"] == 1
    r = web.client.post("/api/v1/customers/export", headers=web.auth("agent"), json={"customer_ids": [own]})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body.purpose"
    r = web.client.post("/api/v1/customers/export", headers=web.auth("analyst"),
                        json={"customer_ids": [own], "purpose": "分析"})
    assert r.status_code == 403
    # console: export the current search, masked, audited
    csrf = web.login("agent")
    r = web.client.post("/console/customers/export", data={"csrf_token": csrf, "stage": "", "q": own,
                                                            "purpose": "客户经营"})
    assert r.status_code == 200 and own in r.text
    assert_no_clear(web, r.text, own)
    entry = audit.read(web.engine, action="export", actor=web.users["agent"])[0]
    assert entry["reason"] == "客户经营" and entry["detail"]["count"] == 1
    r = web.client.post("/console/customers/export", data={"csrf_token": csrf, "q": foreign, "purpose": "越权"})
    assert r.status_code == 400  # nothing in scope to export
    r = web.client.post("/console/customers/export", data={"q": own, "purpose": "no csrf"})
    assert r.status_code == 403


# --- tasks ---------------------------------------------------------------------------------------


def test_agent_tasks_are_their_own(web: Web) -> None:
    r = web.client.get("/api/v1/tasks", params={"limit": 500}, headers=web.auth("agent"))
    assert r.status_code == 200, r.text
    body = r.json()
    nba = reflected(web.engine, "next_best_action")
    staff_id = web.scope["agent"]["staff_id"]
    with web.engine.connect() as conn:
        expected = conn.execute(select(func.count()).select_from(nba.join(
            customer_scope, customer_scope.c.customer_id == nba.c.customer_id)).where(
            customer_scope.c.agent_id == staff_id)).scalar_one()
        mine = {r[0] for r in conn.execute(select(customer_scope.c.customer_id).where(
            customer_scope.c.agent_id == staff_id))}
    assert body["count"] == expected and sum(s["count"] for s in body["summary"]) == expected
    assert {i["customer_id"] for i in body["items"]} <= mine
    values = [i["expected_value"] for i in body["items"]]
    assert values == sorted(values, reverse=True)
    for item in body["items"]:
        assert "*" in (item["name"] or "*") and not any(k.endswith("_enc") for k in item)
        assert item["action_label"] and item["reason"] == item["reason_zh"]
    if body["items"]:
        action = body["items"][0]["action"]
        only = web.client.get("/api/v1/tasks", params={"action": action}, headers=web.auth("agent")).json()
        assert only["items"] and all(i["action"] == action for i in only["items"])
    admin = web.client.get("/api/v1/tasks", params={"limit": 1}, headers=web.auth("admin")).json()
    assert sum(s["count"] for s in admin["summary"]) > expected and admin["next_offset"] == 1
    r = web.client.get("/api/v1/tasks", params={"action": "sell_everything"}, headers=web.auth("agent"))
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "query.action"
    assert set(get_args(ActionCode)) == {a.code for a in ACTION_TYPES}
    assert web.client.get("/api/v1/tasks").status_code == 401


def test_console_task_list(web: Web) -> None:
    web.login("agent")
    page = web.client.get("/console/tasks")
    assert page.status_code == 200 and 'id="tasks-title"' in page.text and "我的待办" in page.text
    assert 'id="task-filter"' in page.text
    assert 'id="tasks-table"' in page.text or 'id="no-tasks"' in page.text
    assert web.foreign["agent"] not in page.text
    filtered = web.client.get("/console/tasks?action=policy_review&lang=en")
    assert filtered.status_code == 200 and "My tasks" in filtered.text
    assert 'class="on" id="task-filter-policy_review"' in filtered.text


def test_every_customer_path_masks_by_default(web: Web) -> None:
    """No clear phone or ID number in any response body, for any role that may read customers."""
    own = web.own["agent"]
    clear = clear_values(web, own)
    paths = ["/api/v1/customers/{c}", "/api/v1/customers/{c}/360", "/api/v1/customers/{c}/household",
             "/api/v1/customers/{c}/provenance", "/api/v1/tasks?limit=500", "/api/v1/dashboard",
             "/api/v1/customers?q=" + clear["phone"], "/api/v1/customers?q=" + clear["id_number"]]
    for role in ("admin", "agent", "branch_manager", "analyst", "compliance"):
        for path in paths:
            r = web.client.get(path.format(c=own), headers=web.auth(role))
            assert r.status_code in (200, 404), (role, path, r.status_code)
            assert_no_clear(web, r.text, own)
    web.login("admin")
    for path in ("/console/", f"/console/customers/{own}", "/console/tasks", "/console/customers?q=" + clear["phone"]):
        r = web.client.get(path)
        assert r.status_code == 200, path
        assert_no_clear(web, r.text, own)


def test_foreign_customer_is_not_found_on_every_path(web: Web) -> None:
    for role, foreign in web.foreign.items():
        for path in ("/api/v1/customers/{c}", "/api/v1/customers/{c}/360", "/api/v1/customers/{c}/household",
                     "/api/v1/customers/{c}/provenance"):
            r = web.client.get(path.format(c=foreign), headers=web.auth(role))
            assert r.status_code == 404, (role, path)
            assert foreign in r.json()["message"] and "phone" not in r.text
        r = web.client.post(f"/api/v1/customers/{foreign}/reveal", headers=web.auth(role),
                            json={"fields": ["phone"], "reason": "试一试"})
        assert r.status_code == 404, role
        tasks = web.client.get("/api/v1/tasks", params={"limit": 500}, headers=web.auth(role)).json()
        assert foreign not in {i["customer_id"] for i in tasks["items"]}, role
    web.login("agent")
    assert web.client.get(f"/console/customers/{web.foreign['agent']}").status_code == 404
