"""Identity stewardship over the web: the review queue (masked, side by side), confirm / reject,
merge / split, revert, history, the audit entries, and who may do it."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import HTTPException
from sqlalchemy import func, select, text

from shouhu.access.policy import Principal
from shouhu.access.roles import Role
from shouhu.storage import audit
from shouhu.storage.tables import reflected
from shouhu.web.api import identity
from tests.web.conftest import Web

CLEAR_ID = re.compile(r"(?<![\w*])\d{17}[\dXx](?![\d*])")
CLEAR_PHONE = re.compile(r"(?<![\w*])1[3-9]\d{9}(?![\d*])")


def _entries(web: Web, action: str) -> list[dict[str, Any]]:
    return audit.read(web.engine, action=action)


def _no_clear_personal_data(body: str) -> None:
    assert not CLEAR_ID.search(body), CLEAR_ID.search(body)
    assert not CLEAR_PHONE.search(body), CLEAR_PHONE.search(body)


def test_queue_confirm_reject_revert_history(web: Web) -> None:
    admin = web.auth("admin")
    r = web.client.get("/api/v1/identity/queue", headers=admin)
    assert r.status_code == 200, r.text
    queue = r.json()
    assert queue["count"] >= 2, "the test book should have at least two uncertain pairs"
    first, second = queue["items"][:2]
    assert 0 < first["match_probability"] < 1 and first["explanation"]
    assert first["left"]["unique_id"] == first["unique_id_l"] and first["right"]["unique_id"] == first["unique_id_r"]
    for side in (first["left"], first["right"]):
        if side.get("name"):
            assert "*" in side["name"]
    _no_clear_personal_data(r.text)

    r = web.client.post("/api/v1/identity/confirm", headers=admin,
                        json={"left": first["unique_id_l"], "right": first["unique_id_r"], "reason": "同一手机号"})
    assert r.status_code == 200, r.text
    confirmed = r.json()["decision_id"]
    r = web.client.post("/api/v1/identity/reject", headers=web.auth("head_office"),
                        json={"left": second["unique_id_l"], "right": second["unique_id_r"], "reason": "出生日期不同"})
    assert r.status_code == 200, r.text
    rejected = r.json()["decision_id"]

    left = web.client.get("/api/v1/identity/queue", headers=admin).json()
    decided = {(first["unique_id_l"], first["unique_id_r"]), (second["unique_id_l"], second["unique_id_r"])}
    assert not decided & {(p["unique_id_l"], p["unique_id_r"]) for p in left["items"]}

    [entry] = _entries(web, "identity_confirm")
    assert entry["actor"] == web.users["admin"] and entry["reason"] == "同一手机号"
    assert entry["detail"]["decision_id"] == confirmed
    [entry] = _entries(web, "identity_reject")
    assert entry["actor"] == web.users["head_office"] and entry["reason"] == "出生日期不同"

    history = web.client.get(f"/api/v1/identity/customers/{first['customer_id_l']}", headers=admin).json()
    assert confirmed in [d["id"] for d in history["decisions"]]
    assert first["unique_id_l"] in [r["unique_id"] for r in history["records"]]
    _no_clear_personal_data(str(history))

    r = web.client.post(f"/api/v1/identity/decisions/{rejected}/revert", headers=admin, json={"reason": "看错了"})
    assert r.status_code == 200, r.text
    assert web.client.post(f"/api/v1/identity/decisions/{rejected}/revert", headers=admin,
                           json={"reason": "again"}).status_code == 409
    assert web.client.post("/api/v1/identity/decisions/999999/revert", headers=admin,
                           json={"reason": "nope"}).status_code == 404
    [entry] = _entries(web, "revert")
    assert entry["target_id"] == str(rejected) and entry["reason"] == "看错了"
    recent = web.client.get("/api/v1/identity/decisions", headers=admin).json()["items"]
    assert {d["id"]: d["active"] for d in recent} == {confirmed: True, rejected: False}
    # the reverted pair is back in the queue
    back = web.client.get("/api/v1/identity/queue", headers=admin).json()["items"]
    assert (second["unique_id_l"], second["unique_id_r"]) in {(p["unique_id_l"], p["unique_id_r"]) for p in back}


def _customers_for_merge(web: Web) -> tuple[str, str, str, str]:
    """Two customers that may merge (one has no ID number), and two with different ID numbers."""
    cust = reflected(web.engine, "customer")
    with web.engine.connect() as conn:
        no_id = conn.execute(select(cust.c.customer_id).where(cust.c.id_number_bidx.is_(None))
                             .order_by(cust.c.customer_id).limit(2)).scalars().all()
        with_id = conn.execute(select(cust.c.customer_id).where(cust.c.id_number_bidx.isnot(None))
                               .order_by(cust.c.customer_id).limit(2)).scalars().all()
    assert len(no_id) == 2 and len(with_id) == 2
    return no_id[0], no_id[1], with_id[0], with_id[1]


def _multi_record_customer(web: Web) -> tuple[str, str]:
    rec = reflected(web.engine, "identity_record")
    with web.engine.connect() as conn:
        customer = conn.execute(select(rec.c.customer_id).group_by(rec.c.customer_id)
                                .having(func.count() > 1).order_by(rec.c.customer_id).limit(1)).scalar_one()
        uid = conn.execute(select(rec.c.unique_id).where(rec.c.customer_id == customer)
                           .order_by(rec.c.unique_id).limit(1)).scalar_one()
        single = conn.execute(select(rec.c.unique_id).where(rec.c.customer_id.in_(
            select(rec.c.customer_id).group_by(rec.c.customer_id).having(func.count() == 1)))
            .order_by(rec.c.unique_id).limit(1)).scalar_one()
    return uid, single


def test_merge_split_and_bad_input(web: Web) -> None:
    admin = web.auth("admin")
    a, b, x, y = _customers_for_merge(web)
    r = web.client.post("/api/v1/identity/merge", headers=admin, json={"customer_a": a, "customer_b": b,
                                                                       "reason": "客户来电确认"})
    assert r.status_code == 200, r.text
    [entry] = _entries(web, "merge")
    assert entry["target_id"] == a and entry["detail"]["customers"] == [a, b] and entry["reason"] == "客户来电确认"

    r = web.client.post("/api/v1/identity/merge", headers=admin, json={"customer_a": x, "customer_b": y,
                                                                       "reason": "试试"})
    assert r.status_code == 400 and "different valid ID numbers" in r.json()["message"]
    r = web.client.post("/api/v1/identity/merge", headers=admin, json={"customer_a": a, "customer_b": "CU000000000000",
                                                                       "reason": "不存在"})
    assert r.status_code == 404
    r = web.client.post("/api/v1/identity/merge", headers=admin, json={"customer_a": a, "customer_b": b})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body.reason"

    uid, single = _multi_record_customer(web)
    r = web.client.post("/api/v1/identity/split", headers=admin, json={"unique_id": uid, "reason": "不是同一人"})
    assert r.status_code == 200, r.text
    [entry] = _entries(web, "split")
    assert entry["detail"]["decision_id"] == r.json()["decision_id"] and entry["reason"] == "不是同一人"
    r = web.client.post("/api/v1/identity/split", headers=admin, json={"unique_id": single, "reason": "单独"})
    assert r.status_code == 400 and "nothing to split" in r.json()["message"]
    r = web.client.post("/api/v1/identity/split", headers=admin, json={"unique_id": "crm:NOPE", "reason": "不存在"})
    assert r.status_code == 404
    r = web.client.post("/api/v1/identity/confirm", headers=admin, json={"left": uid, "right": uid, "reason": "同一"})
    assert r.status_code == 400
    assert web.client.get("/api/v1/identity/customers/CU000000000000", headers=admin).status_code == 404
    with web.engine.connect() as conn:
        decisions = conn.execute(text("SELECT action FROM identity_decision ORDER BY id")).scalars().all()
    assert decisions == ["merge", "split"]


def test_row_scope_of_decisions(web: Web) -> None:
    """Every role allowed to decide sees every customer today; the scope check still holds: a principal
    whose scope excludes a customer gets 404 on merge, split and history, never a decision."""
    agent = Principal(user_id="t-agent", role=Role.AGENT, staff_id=web.scope["agent"]["staff_id"])
    state = web.client.app.state.shouhu  # type: ignore[attr-defined]
    request: Any = SimpleNamespace(client=None)
    body = identity.MergeRequest(customer_a=web.own["agent"], customer_b=web.foreign["agent"], reason="越权")
    with pytest.raises(HTTPException) as e:
        identity.merge(state, agent, body, request)
    assert e.value.status_code == 404
    rec = reflected(web.engine, "identity_record")
    with web.engine.connect() as conn:
        foreign_record = conn.execute(select(rec.c.unique_id).where(rec.c.customer_id == web.foreign["agent"])
                                      ).scalars().first()
    assert foreign_record
    with pytest.raises(HTTPException) as e:
        identity.split(state, agent, identity.SplitRequest(unique_id=foreign_record, reason="越权"), request)
    assert e.value.status_code == 404
    with pytest.raises(HTTPException) as e:
        identity.customer_history(state, agent, web.foreign["agent"])
    assert e.value.status_code == 404
    assert identity.customer_history(state, agent, web.own["agent"])["customer_id"] == web.own["agent"]
    with web.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM identity_decision")).scalar_one() == 0


def test_roles_without_identity_actions(web: Web) -> None:
    for role in ("agent", "branch_manager", "service", "health_manager", "analyst", "compliance"):
        headers = web.auth(role)
        assert web.client.get("/api/v1/identity/queue", headers=headers).status_code == 403
        assert web.client.get("/api/v1/identity/decisions", headers=headers).status_code == 403
        assert web.client.get(f"/api/v1/identity/customers/{web.own[role]}", headers=headers).status_code == 403
        body = {"customer_a": web.own[role], "customer_b": web.own[role], "reason": "无权"}
        assert web.client.post("/api/v1/identity/merge", headers=headers, json=body).status_code == 403
        assert web.client.post("/api/v1/identity/split", headers=headers,
                               json={"unique_id": "crm:1", "reason": "无权"}).status_code == 403
        pair = {"left": "crm:1", "right": "crm:2", "reason": "无权"}
        assert web.client.post("/api/v1/identity/confirm", headers=headers, json=pair).status_code == 403
        assert web.client.post("/api/v1/identity/reject", headers=headers, json=pair).status_code == 403
        assert web.client.post("/api/v1/identity/decisions/1/revert", headers=headers,
                               json={"reason": "无权"}).status_code == 403
    assert not _entries(web, "merge") and not _entries(web, "split")


def test_console_identity_page(web: Web) -> None:
    csrf = web.login("admin")
    page = web.client.get("/console/identity")
    assert page.status_code == 200
    assert 'id="identity-queue"' in page.text and 'id="confirm-1"' in page.text and 'id="merge-form"' in page.text
    _no_clear_personal_data(page.text)
    pair = web.client.get("/api/v1/identity/queue", headers=web.auth("admin")).json()["items"][0]
    form = {"left": pair["unique_id_l"], "right": pair["unique_id_r"], "verdict": "confirm", "reason": "核实",
            "slot": "1"}
    r = web.client.post("/console/identity/decide", data=form)
    assert r.status_code == 403  # no CSRF token
    r = web.client.post("/console/identity/decide", data=form, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 200 and 'id="pair-1-done"' in r.text
    r = web.client.post("/console/identity/decide", data=form | {"reason": ""}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and r.headers["HX-Retarget"] == "#pair-1-result"
    r = web.client.post("/console/identity/merge", data={"customer_a": "CU000000000000", "customer_b": web.own["agent"],
                                                          "reason": "测试"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404 and "decision-error" in r.text
    r = web.client.get(f"/console/identity/history?customer_id={pair['customer_id_l']}")
    assert r.status_code == 200 and 'id="history-view"' in r.text and 'id="history-decisions"' in r.text
    assert len(_entries(web, "identity_confirm")) == 1

    web.client.cookies.clear()
    web.login("agent")
    assert web.client.get("/console/identity").status_code == 403
