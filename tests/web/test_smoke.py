"""The thinnest end-to-end path: sign in, search, 360, reveal with audit, the agent's wall."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, Web, post_login


def test_login_search_360_reveal(web: Web) -> None:
    r = web.client.get(f"/api/v1/customers/{web.own['agent']}", headers=web.auth("agent"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert "*" in body["phone"] and "phone_enc" not in body and "phone" in body["revealable"]
    r = web.client.get(f"/api/v1/customers/{web.foreign['agent']}", headers=web.auth("agent"))
    assert r.status_code == 404
    r = web.client.post(f"/api/v1/customers/{web.own['agent']}/reveal", headers=web.auth("agent"),
                        json={"fields": ["phone"], "reason": "客户来电核实"})
    assert r.status_code == 200 and "*" not in r.json()["values"]["phone"]
    audit = web.client.get("/api/v1/me", headers=web.auth("admin"))
    assert audit.status_code == 200


def test_console_login_and_pages(web: Web) -> None:
    r = web.client.get("/console/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    r = post_login(web.client, {"user_id": web.users["agent"], "password": "wrong-password"})
    assert r.status_code == 401
    web.login("agent")
    page = web.client.get("/console/")
    assert page.status_code == 200 and "经营看板" in page.text
    page = web.client.get(f"/console/customers/{web.own['agent']}")
    assert page.status_code == 200
    assert web.client.get(f"/console/customers/{web.foreign['agent']}").status_code == 404
    assert PASSWORD not in page.text
