"""Data-subject requests through the application (SQLite and PostgreSQL): the customer asks on the H5 pages
(an opt-out works at once; a copy is downloadable once compliance made it, by that customer only), service
staff log a deletion received by phone, compliance sees the plan and completes it (the customer is gone from
every page), refusals say why, and who may do what."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import text

from shouhu.storage import accounts, audit
from shouhu.storage import journeys as consent_store
from shouhu.web.auth import H5_COOKIE
from tests.web.conftest import Web


def _console(web: Web, role: str) -> tuple[TestClient, str]:
    client = TestClient(web.client.app, base_url="http://127.0.0.1")
    return client, web.login(role, client)


def _h5(web: Web, customer: str) -> tuple[TestClient, str]:
    token, _ = accounts.create_session(web.engine, "customer", customer)
    h5 = TestClient(web.client.app, base_url="http://127.0.0.1", cookies={H5_COOKIE: token})
    page = h5.get("/h5/requests")
    assert page.status_code == 200 and 'id="h5-requests-title"' in page.text
    return h5, page.text.split('name="csrf_token" value="')[1].split('"')[0]


def test_the_customer_asks_for_a_copy_and_an_opt_out_on_the_h5(web: Web) -> None:
    own = web.own["agent"]
    other = next(c for c in (web.own["service"], web.foreign["agent"]) if c != own)
    h5, csrf = _h5(web, own)
    r = h5.post("/h5/requests", data={"csrf_token": csrf, "kind": "opt_out_personalised"}, follow_redirects=False)
    assert r.status_code == 303 and consent_store.sales_stopped(web.engine, own)  # at once, no one in between
    r = h5.post("/h5/requests", data={"csrf_token": csrf, "kind": "portability", "note": "换保险公司"},
                follow_redirects=False)
    assert r.status_code == 303
    bad = h5.post("/h5/requests", data={"csrf_token": csrf, "kind": "correction", "field": "phone"})
    assert bad.status_code == 422 and "detail.value" in bad.text
    queue = web.client.get("/api/v1/requests?status=open", headers=web.auth("compliance")).json()["items"]
    [copy_request] = [q for q in queue if q["customer_id"] == own and q["kind"] == "portability"]
    assert copy_request["channel"] == "h5" and copy_request["overdue"] is False
    compliance, ccsrf = _console(web, "compliance")
    assert f'id="request-{copy_request["id"]}"' in compliance.get("/console/requests").text
    r = compliance.post(f"/console/requests/{copy_request['id']}/complete", data={"csrf_token": ccsrf, "note": ""},
                        follow_redirects=False)
    assert r.status_code == 303
    listing = h5.get("/h5/requests").text
    assert f'id="h5-copy-{copy_request["id"]}"' in listing and "h5-proof" in listing
    download = h5.get(f"/h5/requests/{copy_request['id']}/copy")
    assert download.status_code == 200
    data = json.loads(download.text)
    assert data["customer_id"] == own and data["tables"]["customer"][0]["customer_id"] == own
    assert ("profiling", "any", False) in [(c["purpose"], c["channel"], c["granted"])
                                           for c in data["tables"]["consent_event"]]
    stranger, _ = _h5(web, other)
    assert stranger.get(f"/h5/requests/{copy_request['id']}/copy").status_code == 404  # never someone else's
    assert audit.read(web.engine, action="dsr_copy_download", limit=1)[0]["target_id"] == str(copy_request["id"])


def test_a_deletion_logged_by_phone_is_planned_and_carried_out_by_compliance(web: Web) -> None:
    target = web.own["service"]
    cipher = web.client.app.state.shouhu.cipher
    before = web.client.get(f"/api/v1/customers/{target}", headers=web.auth("service")).json()
    with web.engine.connect() as conn:
        row = conn.execute(text("SELECT phone_enc, name_enc FROM customer WHERE customer_id = :c"), {"c": target}).one()
    phone, name = cipher.decrypt(row[0]), cipher.decrypt(row[1])
    assert before and phone and name
    service, csrf = _console(web, "service")
    r = service.post(f"/console/customers/{target}/requests", data={"csrf_token": csrf, "kind": "deletion",
                                                                  "note": "客户来电要求删除"},
                     follow_redirects=False)
    assert r.status_code == 303
    [req] = [q for q in web.client.get("/api/v1/requests", headers=web.auth("compliance")).json()["items"]
             if q["customer_id"] == target and q["kind"] == "deletion"]
    one = web.client.get(f"/api/v1/requests/{req['id']}", headers=web.auth("compliance")).json()
    assert one["plan"]["action"] in ("erase", "restrict") and [t["action"] for t in one["trail"]] == ["received"]
    compliance, _ = _console(web, "compliance")
    page = compliance.get(f"/console/requests/{req['id']}")
    assert page.status_code == 200 and f'data-action="{one["plan"]["action"]}"' in page.text
    done = web.client.post(f"/api/v1/requests/{req['id']}/complete", headers=web.auth("compliance"),
                           json={"note": "已按规定处理"})
    assert done.status_code == 200, done.text
    outcome = done.json()["outcome"]
    if one["plan"]["action"] == "erase":
        assert outcome["mode"] == "erased" and outcome["serving"]["customer"] == 1
        assert service.get(f"/console/customers/{target}").status_code == 404
    else:  # the generated book's customers mostly hold policies: contract records are kept, sales stop
        assert outcome["mode"] == "restricted" and consent_store.sales_stopped(web.engine, target)
    again = web.client.post(f"/api/v1/requests/{req['id']}/complete", headers=web.auth("compliance"), json={})
    assert again.status_code == 422 and "already done" in again.text
    proof = compliance.get(f"/console/requests/{req['id']}").text
    assert done.json()["proof_hash"] in proof and "✓" in proof
    # the logs about the whole affair name the person by their customer id only, never phone or name
    with web.engine.connect() as conn:
        logged = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_log")))
        trail = " ".join(str(r) for r in conn.execute(text("SELECT * FROM dsr_event")))
    assert phone not in logged and name not in logged and phone not in trail and name not in trail


def test_refusals_and_who_may_do_what(web: Web) -> None:
    own = web.own["agent"]
    assert web.client.post(f"/api/v1/customers/{own}/requests", headers=web.auth("agent"),
                           json={"kind": "access"}).status_code == 403  # agents do not take requests
    made = web.client.post(f"/api/v1/customers/{own}/requests", headers=web.auth("compliance"),
                           json={"kind": "correction", "detail": {"field": "email", "value": "li@example.cn"}})
    assert made.status_code == 200
    rid = made.json()["id"]
    assert web.client.get("/api/v1/requests", headers=web.auth("service")).status_code == 403
    r = web.client.post(f"/api/v1/requests/{rid}/complete", headers=web.auth("compliance"), json={"note": ""})
    assert r.status_code == 422 and "which source system was corrected" in r.text
    r = web.client.post(f"/api/v1/requests/{rid}/reject", headers=web.auth("compliance"),
                        json={"reason": "无法核实身份，请携带证件到柜面办理"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    h5, _ = _h5(web, own)
    assert "无法核实身份" in h5.get("/h5/requests").text  # the customer is told why
    r = web.client.post(f"/api/v1/customers/{own}/requests", headers=web.auth("compliance"),
                        json={"kind": "forget_me"})
    assert r.status_code == 422
