"""Ecosystem services over the real application (SQLite and PostgreSQL): the staff API and console by role
(service staff manage orders, agents see their own customers' orders only, head office settles and reads
the funnel; everyone else 403), settlement run twice with one statement, and the H5 "my services" flow of
a signed-in customer down to the last entitlement unit, which cannot be taken twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, insert

from shouhu.partners import ecosystem as eco
from shouhu.storage import audit
from shouhu.storage import ecosystem as store
from shouhu.storage.tables import reflected
from shouhu.web import display
from tests.conftest import Published
from tests.web.conftest import Web
from tests.web.shared_web import BACKENDS, module_web
from tests.web.test_h5 import _people, sign_in

OCT = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # Monday 12 October 2026, 10:00 in Shanghai


def set_tier(engine: Engine, customer_id: str, tier: str) -> None:
    table = reflected(engine, "customer_value")
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.customer_id == customer_id))
        conn.execute(insert(table).values(customer_id=customer_id, value=1.0, tier=tier, tier_zh=tier, tier_en=tier,
                                          policies=1))


@pytest.fixture(scope="module", params=BACKENDS)
def web(request: pytest.FixtureRequest, published: Published,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    with module_web(request, published, tmp_path_factory.mktemp("eco")) as w:
        eco.seed_catalogue(w.engine, datetime.now(UTC))
        for cid in {w.own["agent"], w.foreign["agent"]}:
            set_tier(w.engine, cid, "silver")
        yield w


def console(web: Web, role: str) -> tuple[TestClient, str]:
    client = TestClient(web.client.app, base_url="http://127.0.0.1")
    return client, web.login(role, client)


def api(web: Web, role: str, method: str, path: str, **kwargs: Any) -> Any:
    return web.client.request(method, f"/api/v1/ecosystem{path}", headers=web.auth(role), **kwargs)


def last_audit(web: Web, action: str) -> dict[str, Any]:
    [entry] = audit.read(web.engine, action=action, limit=1)
    return entry


# --- the staff API -----------------------------------------------------------------------------------


def test_api_orders_by_role_and_scope(web: Web) -> None:
    own, neighbour, far = web.own["agent"], web.foreign["agent"], web.foreign["service"]
    r = api(web, "agent", "GET", "/services")
    assert r.status_code == 200
    cats = {c["category"]: c for c in r.json()["categories"]}
    assert {"health_checkup", "family_doctor", "elderly_care", "legal", "finance"} <= set(cats)
    consult = next(s for s in cats["family_doctor"]["services"] if s["service_code"] == "family_doctor_consult")
    assert consult["entitled"] == {"platinum": "不限", "gold": "不限", "silver": "6", "standard": "2", "eco": "1"}
    assert consult["sla"] == "2 小时"

    r = api(web, "service", "POST", "/orders", json={"customer_id": own, "service_code": "checkup_standard"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["basis"], first["tier"], first["status"], first["sla_state"]) == ("entitlement", "silver",
                                                                                   "requested", "due")
    assert first["due_at"] and first["events"][0]["actor"] == "t-service"
    assert last_audit(web, "eco_order_placed")["target_id"] == first["order_id"]
    r = api(web, "service", "POST", "/orders", json={"customer_id": own, "service_code": "checkup_standard"})
    assert r.status_code == 409 and "has used all 1 checkup_standard" in r.json()["message"]
    r = api(web, "service", "POST", "/orders", json={"customer_id": own, "service_code": "checkup_standard",
                                                     "pay": True})
    assert r.status_code == 201 and (r.json()["basis"], r.json()["charge"]) == ("paid", "¥680.00")
    r = api(web, "agent", "GET", f"/customers/{own}/entitlements")
    left = {i["service_code"]: i for i in r.json()["items"]}
    assert (r.json()["tier"], left["checkup_standard"]["remaining"], left["family_doctor_consult"]["remaining"]) == (
        "silver", 0, 6)
    assert api(web, "service", "POST", "/orders", json={"customer_id": own, "service_code": "massage"}
               ).status_code == 422

    r = api(web, "agent", "POST", "/orders", json={"customer_id": own, "service_code": "legal_consult"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert api(web, "service", "POST", "/orders", json={"customer_id": far, "service_code": "legal_consult"}
               ).status_code == 404  # another branch: not the service team's customer
    theirs = api(web, "service", "POST", "/orders", json={"customer_id": neighbour, "service_code": "legal_consult"})
    assert theirs.status_code == 201
    hidden = theirs.json()["order_id"]

    listed = api(web, "agent", "GET", "/orders", params={"limit": 500}).json()["items"]
    assert first["order_id"] in {o["order_id"] for o in listed} and hidden not in {o["order_id"] for o in listed}
    assert {o["customer_id"] for o in listed} == {own}
    assert api(web, "agent", "GET", f"/orders/{hidden}").status_code == 404
    assert api(web, "agent", "GET", "/orders", params={"customer_id": neighbour}).json()["items"] == []
    assert api(web, "agent", "GET", f"/customers/{neighbour}/entitlements").status_code == 404
    assert api(web, "head_office", "GET", f"/orders/{hidden}").status_code == 200

    moved = api(web, "service", "POST", f"/orders/{first['order_id']}/status", json={"status": "accepted"})
    assert moved.status_code == 200 and moved.json()["status_label"] == "已受理"
    assert last_audit(web, "eco_order_status")["detail"]["to_status"] == "accepted"
    r = api(web, "service", "POST", f"/orders/{first['order_id']}/status", json={"status": "scheduled"})
    assert r.status_code == 422 and "scheduled_for" in r.json()["message"]
    r = api(web, "service", "POST", f"/orders/{first['order_id']}/status",
            json={"status": "scheduled", "scheduled_for": "2026-12-20T09:30:00+08:00"}, params={"lang": "en"})
    assert r.status_code == 200 and (r.json()["sla_state"], r.json()["sla_label"]) == ("done", "Met")
    r = api(web, "service", "POST", f"/orders/{hidden}/status", json={"status": "completed"})
    assert r.status_code == 409 and "cannot become completed" in r.json()["message"]
    assert api(web, "agent", "POST", f"/orders/{first['order_id']}/status", json={"status": "completed"}
               ).status_code == 403


def test_sla_breaches_are_scoped(web: Web) -> None:
    own, neighbour = web.own["agent"], web.foreign["agent"]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    mine = eco.order(web.engine, "family_doctor_consult", yesterday, customer_id=own)["order_id"]
    theirs = eco.order(web.engine, "family_doctor_consult", yesterday, customer_id=neighbour)["order_id"]
    fresh = eco.order(web.engine, "family_doctor_consult", datetime.now(UTC), customer_id=own)["order_id"]
    by_service = {o["order_id"]: o for o in api(web, "service", "GET", "/sla-breaches").json()["items"]}
    assert {mine, theirs} <= set(by_service) and fresh not in by_service
    assert by_service[mine]["sla_label"] == "已超时" and by_service[mine]["breached"] is False  # not swept yet
    by_agent = {o["order_id"] for o in api(web, "agent", "GET", "/sla-breaches").json()["items"]}
    assert mine in by_agent and theirs not in by_agent
    eco.sla_sweep(web.engine, datetime.now(UTC))
    swept = api(web, "service", "GET", "/orders", params={"sla": "breached", "limit": 500}).json()["items"]
    assert next(o for o in swept if o["order_id"] == mine)["breached"] is True
    due = {o["order_id"] for o in api(web, "service", "GET", "/orders", params={"sla": "due"}).json()["items"]}
    assert fresh in due and mine not in due


def test_settlement_and_funnel_are_head_office_only_and_settle_once(web: Web) -> None:
    cid = web.own["agent"]
    for hours in (0, 50):  # the second one completed after its 1-working-day SLA: breached, 20 % off
        row = eco.order(web.engine, "legal_consult", OCT, customer_id=cid, pay=True)
        eco.transition(web.engine, row["order_id"], "accepted", OCT + timedelta(hours=hours))
        eco.transition(web.engine, row["order_id"], "completed", OCT + timedelta(hours=hours))
    for role in ("service", "agent", "branch_manager", "analyst", "compliance", "health_manager"):
        assert api(web, role, "GET", "/settlements").status_code == 403, role
        assert api(web, role, "POST", "/settlements", json={"provider": "hengzheng_legal", "period": "2026-10"}
                   ).status_code == 403, role
        assert api(web, role, "GET", "/funnel").status_code == 403, role

    r = api(web, "head_office", "POST", "/settlements", json={"provider": "hengzheng_legal", "period": "2026-10"})
    assert r.status_code == 200, r.text
    first = r.json()["settlement"]
    # legal_consult pays 8000 fen; the breached order loses 20 %: 8000 + 6400
    assert (first["orders"], first["gross_fen"], first["deduction_fen"], first["amount_fen"]) == (2, 16000, 1600,
                                                                                                 14400)
    assert first["amount"] == "¥144.00" and len(first["lines"]) == 2
    again = api(web, "head_office", "POST", "/settlements", json={"provider": "hengzheng_legal", "period": "2026-10"})
    assert again.json()["settlement"] == first
    listed = api(web, "head_office", "GET", "/settlements", params={"provider": "hengzheng_legal"}).json()
    assert [s["settlement_id"] for s in listed["items"]] == [first["settlement_id"]]
    r = api(web, "head_office", "POST", f"/settlements/{first['settlement_id']}/confirm")
    assert r.status_code == 200 and (r.json()["status"], r.json()["confirmed_by"]) == ("confirmed", "t-head_office")
    assert last_audit(web, "eco_settlement_confirmed")["target_id"] == first["settlement_id"]
    assert last_audit(web, "eco_settlement_run")["detail"]["amount_fen"] == 14400
    r = api(web, "head_office", "POST", "/settlements", json={"provider": "nobody", "period": "2026-10"})
    assert r.status_code == 422 and "unknown provider 'nobody'" in r.json()["message"]
    this_month = datetime.now(display.LOCAL_TZ).strftime("%Y-%m")
    r = api(web, "head_office", "POST", "/settlements", json={"provider": "hengzheng_legal", "period": this_month})
    assert r.status_code == 422 and "not over" in r.json()["message"]
    assert api(web, "head_office", "GET", "/settlements/ESnothing").status_code == 404

    now = datetime.now(UTC)
    users = [eco.register_eco_user(web.engine, "travel-app", now, source_ref=f"web-u{i}")["eco_user_id"]
             for i in range(4)]
    eco.record_step(web.engine, users[0], "quoted", now, ref="Q1")
    eco.convert(web.engine, users[0], "CU0000000000ff", now)
    r = api(web, "head_office", "GET", "/funnel", params={"lang": "en"})
    assert r.status_code == 200
    group = next(g for g in r.json()["groups"] if g["group"] == "travel-app")
    assert [(s["label"], s["users"]) for s in group["steps"]] == [
        ("Registered", 4), ("Used a service", 0), ("Got a quote", 1), ("Became a customer", 1)]
    assert api(web, "head_office", "GET", "/funnel", params={"since": "0001-01-01"}).status_code == 422


# --- the console -------------------------------------------------------------------------------------


def test_console_catalogue_orders_and_actions_for_service_staff(web: Web) -> None:
    client, csrf = console(web, "service")
    page = client.get("/console/")
    assert 'id="nav-ecosystem"' in page.text
    page = client.get("/console/ecosystem")
    assert page.status_code == 200
    assert "健康体检" in page.text and "居家养老" in page.text and "2 小时" in page.text and "3 个工作日" in page.text
    row = re.search(r'id="eco-service-family_doctor_consult">(.*?)</tr>', page.text, re.S)
    assert row and re.findall(r'class="eco-units tier-\w+">([^<]*)<', row.group(1)) == ["不限", "不限", "6", "2", "1"]
    english = client.get("/console/ecosystem?lang=en")
    assert "Health check-up" in english.text and "2 hours" in english.text and "unlimited" in english.text
    client.get("/console/ecosystem?lang=zh")

    cid = web.own["agent"]
    page = client.get("/console/ecosystem/orders", params={"customer_id": cid})
    assert page.status_code == 200 and 'id="eco-order-form"' in page.text and 'id="eco-tier">白银' in page.text
    before = page.text.count('class="eco-order ')
    assert client.post("/console/ecosystem/orders", data={"customer_id": cid, "service_code": "legal_consult"}
                       ).status_code == 403  # no CSRF token
    r = client.post("/console/ecosystem/orders", data={"csrf_token": csrf, "customer_id": cid,
                                                       "service_code": "legal_consult", "pay": "yes"},
                    follow_redirects=False)
    assert r.status_code == 303 and "ordered=EO" in r.headers["location"]
    order_id = re.search(r"ordered=(EO[0-9a-f]+)", r.headers["location"]).group(1)  # type: ignore[union-attr]
    page = client.get(r.headers["location"])
    assert page.text.count('class="eco-order ') == before + 1
    mine = re.search(rf'id="eco-order-{order_id}">(.*?)</tr>', page.text, re.S)
    assert mine and "待受理" in mine.group(1) and "时限内" in mine.group(1)
    assert last_audit(web, "eco_order_placed")["actor"] == "t-service"

    r = client.post(f"/console/ecosystem/orders/{order_id}/status",
                    data={"csrf_token": csrf, "status": "completed", "back_customer": cid}, follow_redirects=False)
    assert r.status_code == 303 and "error=" in r.headers["location"]
    assert "cannot become completed" in client.get(r.headers["location"]).text
    r = client.post(f"/console/ecosystem/orders/{order_id}/status",
                    data={"csrf_token": csrf, "status": "accepted", "back_customer": cid}, follow_redirects=False)
    assert r.status_code == 303 and "error" not in r.headers["location"]
    assert store.get_order(web.engine, order_id)["status"] == "accepted"  # type: ignore[index]
    r = client.post(f"/console/ecosystem/orders/{order_id}/status",
                    data={"csrf_token": csrf, "status": "scheduled", "scheduled_for": "2026-12-20T09:30"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert store.get_order(web.engine, order_id)["scheduled_for"] == "2026-12-20T01:30:00Z"  # type: ignore[index]
    assert client.get("/console/ecosystem/settlements").status_code == 403
    assert client.get("/console/ecosystem/funnel").status_code == 403


def test_console_agent_reads_own_orders_only(web: Web) -> None:
    client, csrf = console(web, "agent")
    page = client.get("/console/ecosystem/orders", params={"customer_id": web.own["agent"]})
    assert page.status_code == 200 and 'id="eco-entitlements"' in page.text and "eco-order-form" not in page.text
    assert 'class="inline eco-move"' not in page.text
    assert client.get("/console/ecosystem/orders", params={"customer_id": web.foreign["agent"]}).status_code == 404
    listing = client.get("/console/ecosystem/orders").text
    assert web.foreign["agent"] not in listing
    r = client.post("/console/ecosystem/orders", data={"csrf_token": csrf, "customer_id": web.own["agent"],
                                                       "service_code": "legal_consult"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert client.get("/console/ecosystem/settlements").status_code == 403
    assert 'id="eco-tab-settlements"' not in client.get("/console/ecosystem").text


def test_console_head_office_settles_and_sees_the_funnel(web: Web) -> None:
    cid = web.own["agent"]
    row = eco.order(web.engine, "dental_cleaning", OCT, customer_id=cid, pay=True)
    eco.transition(web.engine, row["order_id"], "accepted", OCT)
    eco.transition(web.engine, row["order_id"], "completed", OCT + timedelta(hours=1))
    client, csrf = console(web, "head_office")
    page = client.get("/console/ecosystem/settlements")
    assert page.status_code == 200 and 'id="eco-settle-form"' in page.text
    r = client.post("/console/ecosystem/settlements", data={"csrf_token": csrf, "provider": "jiechi_dental",
                                                            "period": "2026-10"}, follow_redirects=False)
    assert r.status_code == 303 and "settlement=ES" in r.headers["location"]
    page = client.get(r.headers["location"])
    assert 'id="eco-statement-amount">¥150.00' in page.text and 'id="eco-statement-status">草稿' in page.text
    assert row["order_id"] in page.text
    again = client.post("/console/ecosystem/settlements", data={"csrf_token": csrf, "provider": "jiechi_dental",
                                                                "period": "2026-10"}, follow_redirects=False)
    assert again.headers["location"] == r.headers["location"]  # the same statement, nothing added
    sid = re.search(r"settlement=(ES[0-9a-f]+)", r.headers["location"]).group(1)  # type: ignore[union-attr]
    r = client.post(f"/console/ecosystem/settlements/{sid}/confirm", data={"csrf_token": csrf},
                    follow_redirects=True)
    assert 'id="eco-statement-status">已确认' in r.text and 'id="eco-confirm"' not in r.text
    r = client.post("/console/ecosystem/settlements", data={"csrf_token": csrf, "provider": "jiechi_dental",
                                                            "period": "2026-13"}, follow_redirects=True)
    assert 'id="eco-error"' in r.text and "YYYY-MM" in r.text

    eco.register_eco_user(web.engine, "console-campaign", datetime.now(UTC), source_ref="c-1")
    page = client.get("/console/ecosystem/funnel")
    assert page.status_code == 200 and 'id="chart-eco-funnel"' in page.text and "echarts.min.js" in page.text
    assert 'id="eco-funnel-console-campaign"' in page.text and "成为客户" in page.text
    assert "Became a customer" in client.get("/console/ecosystem/funnel?lang=en&by=all").text


# --- the H5 ------------------------------------------------------------------------------------------


def _book_form(page: str, service_code: str) -> dict[str, str] | None:
    found = re.search(r'name="service_code" value="' + service_code + r'">\s*<input type="hidden" '
                      r'name="request_key" value="([^"]+)"', page)
    return {"service_code": service_code, "request_key": found.group(1)} if found else None


def test_h5_my_services_order_flow_to_the_last_unit(web: Web) -> None:
    taken = set(web.own.values()) | set(web.foreign.values())
    cid, phone, _ = next(p for p in _people(web, 12) if p[0] not in taken)
    set_tier(web.engine, cid, "silver")
    client = TestClient(web.client.app, base_url="http://127.0.0.1")
    csrf = sign_in(client, phone)
    assert 'href="/h5/services"' in client.get("/h5/").text

    page = client.get("/h5/services")
    assert page.status_code == 200 and 'id="h5-tier">白银' in page.text
    assert re.search(r'id="h5-ent-checkup_standard">.*?<span class="h5-left">1</span>', page.text, re.S)
    form = _book_form(page.text, "checkup_standard")
    assert form is not None
    assert client.post("/h5/services", data=form).status_code == 403  # no CSRF token

    r = client.post("/h5/services", data=form | {"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/h5/services?ordered=EO")
    order_id = r.headers["location"].split("=", 1)[1]
    row = store.get_order(web.engine, order_id)
    assert row is not None and (row["customer_id"], row["basis"], row["tier"]) == (cid, "entitlement", "silver")
    page = client.get(r.headers["location"])
    assert f'id="h5-services-due">{display.local_minutes(row["due_at"])}<' in page.text
    assert f'id="h5-order-{order_id}"' in page.text and "待受理" in page.text
    assert _book_form(page.text, "checkup_standard") is None and "本年度已用完" in page.text
    assert last_audit(web, "eco_order_placed")["actor"] == f"customer:{cid}"

    # the same form sent again (a double tap, a retry) is the same order: the unit is not taken twice
    r = client.post("/h5/services", data=form | {"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(order_id)
    # a new request for it is refused: the last unit is gone
    r = client.post("/h5/services", data={"service_code": "checkup_standard", "request_key": "another-key-1",
                                          "csrf_token": csrf})
    assert r.status_code == 409 and 'id="h5-services-error"' in r.text and "本年度已无可用的权益次数" in r.text
    orders = store.orders(web.engine, customer_id=cid)
    assert [(o["service_code"], o["basis"]) for o in orders] == [("checkup_standard", "entitlement")]
    r = client.post("/h5/services", data={"service_code": "legal_estate_review", "csrf_token": csrf})
    assert r.status_code == 409 and "本年度已无可用的权益次数" in r.text  # not a silver benefit; no paying here
    r = client.post("/h5/services", data={"service_code": "massage", "csrf_token": csrf})
    assert r.status_code == 422 and "暂时无法预约" in r.text

    # another customer's order id in the URL shows nothing of it
    other = eco.order(web.engine, "legal_consult", datetime.now(UTC), customer_id=web.own["agent"], pay=True)
    page = client.get(f"/h5/services?ordered={other['order_id']}")
    assert page.status_code == 200 and other["order_id"] not in page.text and web.own["agent"] not in page.text
    from tests.browser.test_zh_cn_pages import untranslated

    assert not untranslated(_text(page.text))
    english = client.get("/h5/services?lang=en")
    assert "My services" in english.text and "Used up this year" in english.text and "Silver" in english.text


def _text(html: str) -> str:
    """Roughly what a reader sees: no scripts, no <code>, no tags, no attribute values."""
    html = re.sub(r"<(script|style|code|select|header)\b.*?</\1>", " ", html, flags=re.S)  # header: account names
    return re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " ")


def test_the_zh_pages_show_no_codes(web: Web) -> None:
    from tests.browser.test_zh_cn_pages import untranslated

    client, _ = console(web, "head_office")
    settled = api(web, "head_office", "GET", "/settlements").json()["items"]
    pages = ["/console/ecosystem", f"/console/ecosystem/orders?customer_id={web.own['agent']}",
             "/console/ecosystem/orders?sla=breached", "/console/ecosystem/settlements"]
    pages += [f"/console/ecosystem/settlements?settlement={s['settlement_id']}" for s in settled[:1]]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        assert not untranslated(_text(page.text)), url
