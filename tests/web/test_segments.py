"""Segments over the web: counts, previews and exports are limited to the caller's scope (an agent's
count is the count among their own customers), bad rules answer 400 with the position, sensitive
filters are refused or audited, exports are audited, and roles without the actions get 403."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from sqlalchemy import and_, func, select, true

from shouhu.access.policy import RowRule
from shouhu.storage import audit
from shouhu.storage.customers import scope_condition
from shouhu.storage.tables import reflected
from tests.web.conftest import Web

RULE = "age >= 30 and policies_in_force > 0"


def _rule_of(web: Web, role: str) -> RowRule:
    s = web.scope[role]
    if role == "agent":
        return RowRule("agent_id", s["staff_id"])
    if role == "branch_manager":
        return RowRule("branch_id", s["branch_id"])
    if role in ("service", "health_manager"):
        return RowRule("service_team_id", s["team_id"])
    return RowRule()


def _expected(web: Web, role: str, tag: str | None = None) -> set[str]:
    """The same rule, computed on the serving database: customer_360 within the role's scope."""
    c360, tags = reflected(web.engine, "customer_360"), reflected(web.engine, "customer_tag")
    tagged = c360.c.customer_id.in_(select(tags.c.customer_id).where(tags.c.tag == tag)) if tag else true()
    query = select(c360.c.customer_id).where(and_(c360.c.age >= 30, c360.c.policies_in_force > 0, tagged,
                                                  scope_condition(_rule_of(web, role), c360.c.customer_id)))
    with web.engine.connect() as conn:
        return set(conn.execute(query).scalars())


def test_count_is_within_the_callers_scope(web: Web) -> None:
    everyone = web.client.post("/api/v1/segments/count", headers=web.auth("admin"), json={"rule": RULE}).json()
    for role in ("admin", "branch_manager", "agent", "service", "health_manager"):
        expected = _expected(web, role)
        r = web.client.post("/api/v1/segments/count", headers=web.auth(role), json={"rule": RULE})
        assert r.status_code == 200, r.text
        assert r.json()["customers"] == len(expected), role
        with_tag = _expected(web, role, "policy_lapsed")
        r = web.client.post("/api/v1/segments/count", headers=web.auth(role),
                            json={"rule": RULE, "tags": ["保单失效"]})
        assert r.status_code == 200
        assert r.json() == {"rule": RULE, "tags": ["policy_lapsed"], "customers": len(with_tag)}, role
        if role != "admin":
            assert everyone["customers"] > len(expected)


def test_agent_count_equals_own_customers_and_preview_is_masked(web: Web) -> None:
    mine = _expected(web, "agent")
    assert len(mine) > 0
    r = web.client.post("/api/v1/segments/preview", headers=web.auth("agent"), json={"rule": RULE, "limit": 200})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customers"] == len(mine) and {i["customer_id"] for i in body["items"]} == mine
    assert web.foreign["agent"] not in r.text
    for item in body["items"]:
        assert "*" in (item["phone"] or "*") and not any(k.endswith(("_enc", "_bidx")) for k in item)
    page = web.client.post("/api/v1/segments/preview", headers=web.auth("agent"),
                           json={"rule": RULE, "limit": 1, "offset": 1}).json()
    assert [i["customer_id"] for i in page["items"]] == sorted(mine)[1:2]
    r = web.client.post("/api/v1/segments/preview", headers=web.auth("agent"), json={"rule": RULE, "limit": 5000})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body.limit"


@pytest.mark.parametrize(("rule", "position", "words"), [
    ("age >= ", 7, "ends too early"),
    ("agee > 30", 0, "unknown column 'agee'"),
    ("age >= 30 and city == 5", 19, "cannot compare text with a number"),
    ('__import__("os")', 0, "names starting with '_' are not allowed"),
])
def test_bad_rules_answer_400_with_the_position(web: Web, rule: str, position: int, words: str) -> None:
    r = web.client.post("/api/v1/segments/count", headers=web.auth("analyst"), json={"rule": rule})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "invalid_rule" and body["position"] == position and body["column"] == position + 1
    assert words in body["message"] and f"at column {position + 1}" in body["message"]


def test_other_bad_input(web: Web) -> None:
    headers = web.auth("agent")
    r = web.client.post("/api/v1/segments/count", headers=headers, json={"rule": ""})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body.rule"
    r = web.client.post("/api/v1/segments/count", headers=headers, json={"rule": "age > 1", "tags": ["no_such"]})
    assert r.status_code == 400 and r.json()["error"] == "unknown_tag" and "no_such" in r.json()["message"]
    r = web.client.post("/api/v1/segments/export", headers=headers, json={"rule": "age > 1"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body.purpose"
    r = web.client.post("/api/v1/segments/export", headers=headers, json={"rule": "age >", "purpose": "回访"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_rule"
    assert not audit.read(web.engine, action="export")


def test_export_is_scoped_masked_and_audited(web: Web) -> None:
    mine = _expected(web, "agent")
    r = web.client.post("/api/v1/segments/export", headers=web.auth("agent"),
                        json={"rule": RULE, "purpose": "保单年检回访"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv") and r.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert {row["customer_id"] for row in rows} == mine
    assert all("*" in row["phone"] for row in rows if row["phone"])
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", r.text)
    [entry] = audit.read(web.engine, action="export")
    assert entry["actor"] == web.users["agent"] and entry["target_kind"] == "segment"
    assert entry["reason"] == "保单年检回访" and entry["detail"]["count"] == len(mine)
    assert entry["detail"]["rule"] == RULE


def test_sensitive_filters(web: Web) -> None:
    rule = "annual_income >= 500000"
    for role in ("analyst", "health_manager"):
        r = web.client.post("/api/v1/segments/count", headers=web.auth(role), json={"rule": rule})
        assert r.status_code == 403 and "annual_income" in r.json()["message"]
        r = web.client.post("/api/v1/segments/count", headers=web.auth(role),
                            json={"rule": "age > 0", "tags": ["high_net_worth"]})
        assert r.status_code == 403
    r = web.client.post("/api/v1/segments/count", headers=web.auth("agent"), json={"rule": rule})
    assert r.status_code == 200
    [entry] = audit.read(web.engine, action="sensitive_filter")
    assert entry["actor"] == web.users["agent"] and entry["detail"]["columns"] == ["annual_income"]
    tags = web.client.get("/api/v1/tags", headers=web.auth("analyst")).json()["items"]
    assert {t["code"]: t["usable"] for t in tags}["high_net_worth"] is False


def test_tags_counted_within_scope(web: Web) -> None:
    r = web.client.get("/api/v1/tags", headers=web.auth("agent"))
    assert r.status_code == 200
    counts = {t["code"]: t["customers"] for t in r.json()["items"]}
    tags = reflected(web.engine, "customer_tag")
    with web.engine.connect() as conn:
        expected: dict[str, Any] = dict(conn.execute(
            select(tags.c.tag, func.count()).where(scope_condition(_rule_of(web, "agent"), tags.c.customer_id))
            .group_by(tags.c.tag)).all())
    assert {k: v for k, v in counts.items() if v} == expected
    columns = web.client.get("/api/v1/segments/columns", headers=web.auth("agent")).json()["items"]
    assert {"age", "gap_life", "annual_income"} <= {c["column"] for c in columns}


def test_roles_without_segment_actions(web: Web) -> None:
    headers = web.auth("compliance")
    assert web.client.post("/api/v1/segments/count", headers=headers, json={"rule": RULE}).status_code == 403
    assert web.client.post("/api/v1/segments/preview", headers=headers, json={"rule": RULE}).status_code == 403
    assert web.client.get("/api/v1/tags", headers=headers).status_code == 403
    for reader in ("service", "health_manager", "analyst", "compliance"):  # may count, may not export
        r = web.client.post("/api/v1/segments/export", headers=web.auth(reader), json={"rule": RULE, "purpose": "x1"})
        assert r.status_code == 403
    assert not audit.read(web.engine, action="export")


def test_console_segments(web: Web) -> None:
    csrf = web.login("agent")
    page = web.client.get("/console/segments")
    assert page.status_code == 200
    for element in ('id="segment-rule"', 'id="segment-count-btn"', 'id="segment-export-btn"', 'id="tag-policy_lapsed"',
                    'id="chart-tags"'):
        assert element in page.text
    hx = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    mine = _expected(web, "agent")
    r = web.client.post("/console/segments/count", data={"rule": RULE}, headers=hx)
    assert r.status_code == 200 and re.search(rf'id="segment-count"[^>]*>{len(mine)}<', r.text)
    r = web.client.post("/console/segments/preview", data={"rule": RULE}, headers=hx)
    assert r.status_code == 200 and 'id="segment-preview"' in r.text and web.foreign["agent"] not in r.text
    r = web.client.post("/console/segments/count", data={"rule": "age >="}, headers=hx)
    assert r.status_code == 400 and 'id="segment-error"' in r.text and "at column" in r.text
    r = web.client.post("/console/segments/export", data={"rule": RULE, "purpose": "回访", "csrf_token": csrf})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))) == len(mine)
    r = web.client.post("/console/segments/export", data={"rule": RULE, "purpose": "", "csrf_token": csrf})
    assert r.status_code == 400 and 'id="segment-error"' in r.text
    assert len(audit.read(web.engine, action="export")) == 1

    web.client.cookies.clear()
    web.login("compliance")
    assert web.client.get("/console/segments").status_code == 403
