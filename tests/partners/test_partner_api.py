"""The partner API end to end over the real application (SQLite and PostgreSQL): an intermediary prices a
return-shipping policy, shows the disclosures in a traceability session, binds it once per order number
(idempotency replay, a reused key with another body, concurrent binds with one key), previews and
confirms a cancellation, and a returned parcel claims automatically; an unlicensed scene partner is
refused pricing with the rule named; a missing acknowledgement or page view names what is missing;
a partner over its rate limit gets 429."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shouhu.partners import registry, sales
from shouhu.settings import Settings
from shouhu.web.app import create_app
from tests.conftest import KEY

ID_NUMBER, PHONE = "110101199003074514", "13912345678"


@pytest.fixture
def api(serving_url: str, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path / "data", serving_url=serving_url, encryption_key=KEY))
    engine = app.state.shouhu.engine
    sales.publish_disclosures(engine, "compliance")
    registry.create_partner(engine, "broker-b", "某保险经纪有限公司", "intermediary", licence_no="260000000000000001",
                            product_codes=["RS01"], scenes=["ecommerce"])
    registry.create_partner(engine, "shop-a", "某电商平台", "scene", product_codes=["RS01"], scenes=["ecommerce"],
                            rate_per_minute=5)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.keys = {p: registry.issue_key(engine, p, "sandbox")["key"]  # type: ignore[attr-defined]
                       for p in ("broker-b", "shop-a")}
        client.engine = engine  # type: ignore[attr-defined]
        yield client
    engine.dispose()


def h(api: TestClient, partner: str = "broker-b", key: str | None = None) -> dict[str, str]:
    out = {"Authorization": f"Bearer {api.keys[partner]}"}  # type: ignore[attr-defined]
    return out | {"Idempotency-Key": key or uuid.uuid4().hex}


def facts(order_no: str = "TB20261207001") -> dict[str, Any]:
    return {"seller_id": "S-889", "seller_orders_12m": 1200, "seller_returns_12m": 96, "category": "apparel",
            "order_no": order_no, "order_value_fen": 15900, "delivered_on": date.today().isoformat()}


def quote(api: TestClient, order_no: str = "TB20261207001") -> dict[str, Any]:
    r = api.post("/api/v1/partner/quotes", json={"product_code": "RS01", "facts": facts(order_no)}, headers=h(api))
    assert r.status_code == 201, r.text
    return dict(r.json())


def session(api: TestClient, q: dict[str, Any], *, skip: str | None = None) -> str:
    r = api.post("/api/v1/partner/trace/sessions", json={"product_code": "RS01", "customer_ref": "u-1"},
                 headers=h(api))
    assert r.status_code == 201, r.text
    sid = str(r.json()["session_id"])
    events = []
    for i, d in enumerate(q["disclosures"]):
        if d["code"] == skip:
            continue
        page = {"page_code": d["code"], "page_version": d["version"], "page_hash": d["sha256"]}
        events += [{"client_event_id": f"v{i}", "type": "page_view", "at": "2026-12-07T10:00:00+08:00",
                    "duration_ms": 20_000, "scrolled_to_end": True} | page,
                   {"client_event_id": f"c{i}", "type": "confirm", "at": "2026-12-07T10:00:30+08:00",
                    "field": "read", "value": True} | page]
    r = api.post(f"/api/v1/partner/trace/sessions/{sid}/events", json={"events": events}, headers=h(api))
    assert r.status_code == 200, r.text
    return sid


def bind_body(q: dict[str, Any], sid: str, order_no: str = "TB20261207001") -> dict[str, Any]:
    return {"quote_id": q["quote_id"], "partner_order_no": order_no, "customer_ref": "u-1",
            "applicant": {"name": "张三", "id_number": ID_NUMBER, "phone": PHONE},
            "acknowledgements": [{k: d[k] for k in ("code", "version", "sha256")} for d in q["disclosures"]],
            "trace_session_id": sid}


def test_quote_bind_cancel_and_automatic_claim(api: TestClient) -> None:
    q = quote(api)
    assert q["premium_fen"] > 0 and {d["code"] for d in q["disclosures"]} == {"rs01_notice", "rs01_terms"}
    assert all(len(d["sha256"]) == 64 for d in q["disclosures"])
    page = api.get(q["disclosures"][0]["url"], headers=h(api))
    assert page.status_code == 200 and "退货" in page.json()["content"]
    sid = session(api, q)
    r = api.post("/api/v1/partner/policies", json=bind_body(q, sid), headers=h(api))
    assert r.status_code == 201, r.text
    policy = r.json()
    assert policy["status"] == "in_force" and policy["policy_no"].startswith("PPSBX")
    assert ID_NUMBER not in r.text and PHONE not in r.text
    with api.engine.connect() as conn:  # type: ignore[attr-defined]
        stored = " ".join(str(v) for v in conn.execute(text("SELECT * FROM partner_policy")).one())
        closed = conn.execute(text("SELECT outcome, policy_no FROM trace_session WHERE session_id = :s"),
                              {"s": sid}).one()
        events = [r[0] for r in conn.execute(text("SELECT type FROM webhook_event ORDER BY created_at"))]
    assert ID_NUMBER not in stored and PHONE not in stored and "张三" not in stored
    assert tuple(closed) == ("issued", policy["policy_no"])
    assert "policy.bound" in events
    # the same order number cannot bind twice, even from a new quote
    q2 = quote(api)
    r = api.post("/api/v1/partner/policies", json=bind_body(q2, session(api, q2)), headers=h(api))
    assert r.status_code == 409 and r.json()["policy_no"] == policy["policy_no"]
    # the parcel goes back: an automatic claim, once per trigger id
    trig = {"id": "wl-1", "type": "return_shipped", "order_no": "TB20261207001",
            "shipped_on": (date.today() + timedelta(days=3)).isoformat()}
    first = api.post("/api/v1/partner/triggers", json=trig, headers=h(api)).json()["claims"]
    again = api.post("/api/v1/partner/triggers", json=trig, headers=h(api)).json()["claims"]
    assert len(first) == 1 and first[0]["status"] == "approved" and first[0]["amount_fen"] > 0
    assert [c["claim_id"] for c in again] == [first[0]["claim_id"]]
    # cancellation: preview then confirm
    r = api.post(f"/api/v1/partner/policies/{policy['policy_no']}/changes", json={"kind": "cancel"}, headers=h(api))
    assert r.status_code == 201, r.text
    r = api.post(f"/api/v1/partner/changes/{r.json()['change_id']}/confirm", headers=h(api))
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    got = api.get(f"/api/v1/partner/policies/{policy['policy_no']}", headers=h(api)).json()
    assert got["status"] == "cancelled" and len(got["claims"]) == 1


def test_scene_partner_is_refused_pricing_with_the_rule(api: TestClient) -> None:
    r = api.post("/api/v1/partner/quotes", json={"product_code": "RS01", "facts": facts()}, headers=h(api, "shop-a"))
    assert r.status_code == 403
    assert "第三条" in r.json()["message"] and r.json()["field"] == "licence"


def test_unauthenticated_and_rate_limited(api: TestClient) -> None:
    r = api.post("/api/v1/partner/quotes", json={"product_code": "RS01", "facts": facts()},
                 headers={"Authorization": "Bearer shk_test_nothing"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    codes = [api.get("/api/v1/partner/orders/none", headers=h(api, "shop-a")).status_code for _ in range(6)]
    assert codes[:5] == [404] * 5 and codes[5] == 429


def test_idempotency_over_http(api: TestClient) -> None:
    body = {"product_code": "RS01", "facts": facts()}
    first = api.post("/api/v1/partner/quotes", json=body, headers=h(api, key="k-1"))
    again = api.post("/api/v1/partner/quotes", json=body, headers=h(api, key="k-1"))
    assert first.status_code == again.status_code == 201
    assert again.json()["quote_id"] == first.json()["quote_id"] and again.headers["Idempotent-Replayed"] == "true"
    other = api.post("/api/v1/partner/quotes", json={"product_code": "RS01", "facts": facts("X2")},
                     headers=h(api, key="k-1"))
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"


def test_concurrent_binds_with_one_key_make_one_policy(api: TestClient) -> None:
    q = quote(api, "TB-RACE")
    body = bind_body(q, session(api, q), "TB-RACE")
    answers: list[int] = []

    def go() -> None:
        answers.append(api.post("/api/v1/partner/policies", json=body, headers=h(api, key="race-1")).status_code)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(answers) <= {201, 409} and 201 in answers
    with api.engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(text("SELECT count(*) FROM partner_policy")).scalar_one() == 1


def test_bind_names_what_is_missing(api: TestClient) -> None:
    q = quote(api)
    body = bind_body(q, session(api, q, skip="rs01_terms"))
    r = api.post("/api/v1/partner/policies", json=body, headers=h(api))
    assert r.status_code == 422 and r.json()["field"] == "trace_session_id" and r.json()["disclosure"] == "rs01_terms"
    body = bind_body(q, session(api, q))
    body["acknowledgements"] = body["acknowledgements"][:1]
    r = api.post("/api/v1/partner/policies", json=body, headers=h(api))
    assert r.status_code == 422 and r.json()["field"] == "acknowledgements", r.text
    body = bind_body(q, session(api, q))
    body["applicant"]["id_number"] = ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1")
    r = api.post("/api/v1/partner/policies", json=body, headers=h(api))
    assert r.status_code == 422 and r.json()["field"] == "applicant.id_number" and ID_NUMBER[:-1] not in r.text
    assert json.loads(r.text)["error"] == "invalid_input"


# --- found by tests/partners/test_partner_fuzz.py: each was a 500 ---------------------------------------

def bound_policy(api: TestClient, order_no: str = "TB-REG-1") -> str:
    q = quote(api, order_no)
    r = api.post("/api/v1/partner/policies", json=bind_body(q, session(api, q), order_no), headers=h(api))
    assert r.status_code == 201, r.text
    return str(r.json()["policy_no"])


@pytest.mark.parametrize("at", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+14:00"])
def test_a_time_with_no_utc_equivalent_names_its_field(api: TestClient, at: str) -> None:
    policy_no = bound_policy(api)
    r = api.post("/api/v1/partner/claims", json={"policy_no": policy_no, "event_type": "loss", "occurred_at": at},
                 headers=h(api))
    assert r.status_code == 422 and r.json()["field"] == "occurred_at", r.text
    sid = api.post("/api/v1/partner/trace/sessions", json={"product_code": "RS01", "customer_ref": "u-2"},
                   headers=h(api)).json()["session_id"]
    r = api.post(f"/api/v1/partner/trace/sessions/{sid}/events", json={"events": [{"type": "submit", "at": at}]},
                 headers=h(api))
    assert r.status_code == 422 and r.json()["field"] == "events[0].at", r.text
    registry.update(api.engine, "broker-b", product_codes=["RS01", "TD01"],  # type: ignore[attr-defined]
                    scenes=["ecommerce", "travel"])
    flight = {"flight_no": "CA1234", "departure_date": (date.today() + timedelta(days=30)).isoformat(),
              "departure_hour": 19, "departure_airport": "PEK", "booked_on": at}
    r = api.post("/api/v1/partner/quotes", json={"product_code": "TD01", "facts": flight}, headers=h(api))
    assert r.status_code == 422 and r.json()["field"] == "booked_on", r.text


def test_nul_characters_and_lone_surrogates_name_their_field(api: TestClient) -> None:
    policy_no = bound_policy(api)
    for path in ("/api/v1/partner/policies/PP%00X", "/api/v1/partner/orders/TB%00X",
                 "/api/v1/partner/disclosures/rs01%00notice/1"):
        r = api.get(path, headers=h(api))
        assert r.status_code == 422 and r.json()["error"] == "invalid_input", (path, r.text)
    assert api.get("/api/v1/partner/policies/PP%00X", headers=h(api)).json()["field"] == "policy_no"
    r = api.get("/api/v1/partner/webhooks/deliveries?state=a%00", headers=h(api))
    assert r.status_code == 422 and r.json()["field"] == "state"
    raw = {"Content-Type": "application/json"}
    r = api.post("/api/v1/partner/triggers", headers=h(api) | raw,
                 content=b'{"id": "t\\u0000", "type": "return_shipped", "order_no": "TB-REG-1"}')
    assert r.status_code == 422 and r.json()["field"] == "id", r.text
    r = api.post(f"/api/v1/partner/policies/{policy_no}/changes", headers=h(api) | raw,
                 content=b'{"kind": "modify", "facts": {"note": "\\ud800"}}')
    assert r.status_code == 422 and r.json()["field"] == "facts.note", r.text
    r = api.post("/api/v1/partner/webhooks", headers=h(api) | raw, content=b'{"url": "https://a.example/\\u0000"}')
    assert r.status_code == 422 and r.json()["field"] == "url", r.text
    with api.engine.connect() as conn:  # type: ignore[attr-defined]  # nothing was stored for the refused writes
        assert conn.execute(text("SELECT count(*) FROM partner_change")).scalar_one() == 0
