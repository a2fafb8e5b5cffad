"""Sales traceability over HTTP on the real application (SQLite and PostgreSQL): the sales pages record a
session through the API (a bad batch is a 422 naming the field and records nothing), compliance replays it in
the console masked (no clear phone or ID number in the HTML) and the viewing is audited, roles without the
action get 403, the receipt verifies with the public key the API serves, and the H5 receipt is the
signed-in customer's only."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from shouhu.access.policy import RowRule
from shouhu.compliance import traceability as trace
from shouhu.storage import accounts, audit
from shouhu.storage import customers as customer_store
from shouhu.web.auth import H5_COOKIE
from tests.web.conftest import Web

TERMS = "第一条 保险责任\n被保险人初次确诊重大疾病，我们按基本保险金额给付。\n"


def _clear(web: Web, customer_id: str) -> dict[str, str]:
    row = customer_store.get_record(web.engine, RowRule(), customer_id)
    assert row is not None
    cipher = web.client.app.state.shouhu.cipher  # type: ignore[attr-defined]
    return {f: v for f in ("name", "phone", "id_number") if (v := cipher.decrypt(row[f"{f}_enc"]))}


def _batch(clear: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"client_event_id": "v1", "type": "page_view", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_web",
         "page_version": 1, "duration_ms": 61_000, "scrolled_to_end": True},
        {"client_event_id": "c1", "type": "confirm", "at": "2026-12-07T10:01:00+08:00", "page_code": "terms_web",
         "page_version": 1, "field": "read_terms", "value": True},
        {"client_event_id": "h1", "type": "answer", "at": "2026-12-07T10:02:00+08:00", "page_code": "health_web",
         "page_version": 1, "question": "q1_hospital", "answer": "no"},
        {"client_event_id": "i1", "type": "input", "at": "2026-12-07T10:03:00+08:00", "page_code": "health_web",
         "page_version": 1, "field": "applicant", "personal": clear},
        {"client_event_id": "s1", "type": "sign", "at": "2026-12-07T10:04:00+08:00", "method": "handwritten"},
    ]


def _sale(web: Web, customer: str, clear: dict[str, str]) -> str:
    trace.publish_page(web.engine, "terms_web", "terms", "重大疾病保险条款", TERMS, "compliance")
    trace.publish_page(web.engine, "health_web", "health_notice", "健康告知", "1. 过去两年内是否曾住院？\n",
                       "compliance")
    api = web.client
    r = api.post("/api/v1/trace/sessions", headers=web.auth("head_office"),
                 json={"customer_id": customer, "product_code": "ci_web", "application_no": "AP0001"})
    assert r.status_code == 201, r.text
    sid = str(r.json()["session_id"])
    r = api.post(f"/api/v1/trace/sessions/{sid}/events", headers=web.auth("head_office"),
                 json={"events": _batch(clear)})
    assert r.status_code == 200 and r.json()["recorded"] == 5, r.text
    r = api.post(f"/api/v1/trace/sessions/{sid}/close", headers=web.auth("head_office"),
                 json={"outcome": "issued", "policy_no": "P0001", "cover_start": "2026-12-08",
                       "cover_end": "2046-12-07"})
    assert r.status_code == 200 and r.json()["retain_until"] == "2056-12-07", r.text
    return sid


def test_record_replay_masked_and_audited(web: Web) -> None:
    own = web.own["agent"]
    clear = _clear(web, own)
    assert {"phone", "id_number"} <= set(clear)
    sid = _sale(web, own, clear)
    api = web.client

    # a bad batch names the field and records nothing; a repeated batch records nothing twice
    bad = _batch(clear)
    bad[0]["page_version"] = 7
    del bad[2]["answer"]
    r = api.post(f"/api/v1/trace/sessions/{sid}/events", headers=web.auth("head_office"), json={"events": bad})
    assert r.status_code == 409  # closed
    start = api.post("/api/v1/trace/sessions", headers=web.auth("head_office"),
                     json={"customer_id": own, "product_code": "ci_web"}).json()["session_id"]
    r = api.post(f"/api/v1/trace/sessions/{start}/events", headers=web.auth("head_office"), json={"events": bad})
    assert r.status_code == 422 and r.json()["field"] == "events[2].answer", r.text
    bad[2]["answer"] = "yes"
    r = api.post(f"/api/v1/trace/sessions/{start}/events", headers=web.auth("head_office"), json={"events": bad})
    assert r.status_code == 422 and r.json()["field"] == "events[0].page_version", r.text
    assert "no published version 7 of page terms_web" in r.json()["message"]
    r = api.post(f"/api/v1/trace/sessions/{start}/events", headers=web.auth("head_office"),
                 json={"events": [{"type": "page_view", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_web",
                                   "page_version": 1, "note": "客户很犹豫"}]})
    assert r.status_code == 422 and r.json()["field"] == "events[0].note"
    r = api.post(f"/api/v1/trace/sessions/{start}/events", headers=web.auth("head_office"), json={"events": []})
    assert r.status_code == 422
    assert api.post("/api/v1/trace/sessions/ts_nope/events", headers=web.auth("head_office"),
                    json={"events": _batch(clear)}).status_code == 404
    assert api.post("/api/v1/trace/sessions", headers=web.auth("head_office"),
                    json={"customer_id": own, "product_code": "ci web"}).status_code == 422
    for role in ("agent", "compliance", "analyst"):
        assert api.post("/api/v1/trace/sessions", headers=web.auth(role),
                        json={"customer_id": own, "product_code": "ci_web"}).status_code == 403, role
    pages = api.get("/api/v1/trace/pages", headers=web.auth("head_office")).json()
    assert {(p["code"], p["version"]) for p in pages} == {("terms_web", 1), ("health_web", 1)}
    assert trace.seal(web.engine)["sealed"] == 1

    # compliance replays it: masked, and the viewing is audited
    client = TestClient(web.client.app, base_url="http://127.0.0.1")
    web.login("compliance", client)
    listing = client.get("/console/trace")
    assert listing.status_code == 200 and sid in listing.text
    page = client.get(f"/console/trace/sessions/{sid}")
    assert page.status_code == 200
    html = page.text
    for value in clear.values():
        assert value not in html, "a clear personal value in the replay"
    assert clear["phone"][:3] + "****" + clear["phone"][-4:] in html
    assert "trace-chain-ok" in html and "重大疾病保险条款" in html and "61秒" in html and "read_terms" in html
    entry = audit.read(web.engine, action="trace.replay", limit=1)[0]
    assert entry["actor"] == web.users["compliance"] and entry["target_id"] == sid
    assert client.get("/console/trace/pages/terms_web/1").status_code == 200
    assert client.get("/console/trace/pages/terms_web/9").status_code == 404
    verified = client.get("/console/trace?verify=1")
    assert "trace-verify-ok" in verified.text
    assert audit.read(web.engine, action="trace.verify", limit=1)[0]["detail"]["ok"] is True
    assert client.get("/console/trace/sessions/ts_nope").status_code == 404
    for role in ("agent", "head_office", "analyst"):
        other = TestClient(web.client.app, base_url="http://127.0.0.1")
        web.login(role, other)
        assert other.get(f"/console/trace/sessions/{sid}").status_code == 403, role
        assert other.get("/console/trace").status_code == 403, role
    english = client.get(f"/console/trace/sessions/{sid}?lang=en")
    assert "Sales replay" in english.text and "Operation trail" in english.text

    # the receipt verifies with the public key anyone may fetch
    pem = api.get("/api/v1/trace/public-key")
    assert pem.status_code == 200 and pem.text.startswith("-----BEGIN PUBLIC KEY-----")
    doc = api.get(f"/api/v1/trace/sessions/{sid}/receipt", headers=web.auth("compliance")).json()
    assert trace.verify_receipt(doc, trace.load_public_key(pem.text)) == []
    assert api.get(f"/api/v1/trace/sessions/{sid}/receipt", headers=web.auth("agent")).status_code == 403
    assert api.get(f"/api/v1/trace/sessions/{start}/receipt", headers=web.auth("compliance")).status_code == 409


def test_h5_receipt_for_the_signed_in_customer_only(web: Web) -> None:
    own, foreign = web.own["agent"], web.foreign["agent"]
    mine = _sale(web, own, {"name": "张三"})
    theirs = trace.start_session(web.engine, customer_id=foreign, product_code="ci_web", recorded_by="t")["session_id"]
    trace.close_session(web.engine, theirs, outcome="abandoned")
    unsealed = trace.start_session(web.engine, customer_id=own, product_code="ci_web", recorded_by="t")["session_id"]
    trace.seal(web.engine)
    trace.close_session(web.engine, unsealed, outcome="abandoned")
    token, _ = accounts.create_session(web.engine, "customer", own)
    h5 = TestClient(web.client.app, base_url="http://127.0.0.1", cookies={H5_COOKIE: token})
    listing = h5.get("/h5/trace")
    assert listing.status_code == 200 and mine in listing.text and theirs not in listing.text
    page = h5.get(f"/h5/trace/{mine}")
    assert page.status_code == 200 and "h5-receipt-verified" in page.text and "h5-receipt-download" in page.text
    download = h5.get(f"/h5/trace/{mine}/receipt.json")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    doc = json.loads(download.content)
    pem = web.client.get("/api/v1/trace/public-key").text
    assert trace.verify_receipt(doc, trace.load_public_key(pem)) == []
    assert own not in download.text  # the customer id is masked in the receipt
    assert audit.read(web.engine, action="trace.receipt", limit=1)[0]["actor"] == f"customer:{own}"
    pending = h5.get(f"/h5/trace/{unsealed}")
    assert pending.status_code == 200 and "h5-receipt-pending" in pending.text
    assert h5.get(f"/h5/trace/{unsealed}/receipt.json").status_code == 409
    for path in (f"/h5/trace/{theirs}", f"/h5/trace/{theirs}/receipt.json", "/h5/trace/ts_nope"):
        assert h5.get(path).status_code == 404, path
    # staff sessions and tokens do not open a customer's receipts
    staff = TestClient(web.client.app, base_url="http://127.0.0.1")
    web.login("compliance", staff)
    r = staff.get(f"/h5/trace/{mine}/receipt.json", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/h5/login")
