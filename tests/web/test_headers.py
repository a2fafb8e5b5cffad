"""Security headers (CSP with a per-request nonce, framing, sniffing, referrer, no-store, HSTS),
the vendored Swagger UI and CSRF on the console sign-in form (issue 13 items 7 and 9)."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from shouhu.web.auth import SESSION_COOKIE
from shouhu.web.console.pages import LOGIN_COOKIE
from shouhu.web.security import SecurityHeaders
from tests.web.conftest import PASSWORD, Web, post_login

SESSION_SET = SESSION_COOKIE


def _nonce(response: object) -> str:
    policy = response.headers["content-security-policy"]  # type: ignore[attr-defined]
    found = re.search(r"script-src 'self' 'nonce-([A-Za-z0-9_-]+)'", policy)
    assert found, policy
    return found.group(1)


def test_pages_and_api_answers_carry_the_security_headers(web: Web) -> None:
    for path, headers in (("/console/login", {}), ("/api/v1/me", web.auth("agent")), ("/h5/login", {})):
        r = web.client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.status_code)
        policy = r.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], policy
        assert "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store", path  # personal data is never cached
        assert "strict-transport-security" not in r.headers  # development: plain HTTP
    # static assets keep their caching; a fresh nonce on every answer
    css = web.client.get("/static/app.css")
    assert css.status_code == 200 and css.headers.get("cache-control") != "no-store"
    assert _nonce(web.client.get("/console/login")) != _nonce(web.client.get("/console/login"))


def test_every_inline_script_carries_the_answer_nonce(web: Web) -> None:
    web.login("agent")
    for path in ("/console/", f"/console/customers/{web.own['agent']}", "/console/segments", "/console/quality"):
        r = web.client.get(path)
        if r.status_code == 403:  # a page the agent may not open still has headers, nothing to run
            continue
        assert r.status_code == 200, (path, r.status_code)
        nonce = _nonce(r)
        scripts = re.findall(r"<script\b([^>]*)>", r.text)
        assert scripts, path
        for attrs in scripts:
            assert "src=" in attrs or f'nonce="{nonce}"' in attrs, (path, attrs)
        assert not re.search(r"\son(click|change|submit|load|input)=", r.text), path  # no inline handlers


def test_hsts_only_in_production() -> None:
    inner = FastAPI()

    @inner.get("/x")
    def x() -> PlainTextResponse:
        return PlainTextResponse("ok", headers={"Cache-Control": "max-age=600"})

    for production in (True, False):
        app = FastAPI()
        app.mount("/", inner)
        wrapped = SecurityHeaders(app, production=production)
        r = TestClient(wrapped).get("/x")  # type: ignore[arg-type]
        assert ("strict-transport-security" in r.headers) is production
        assert r.headers["cache-control"] == "no-store"  # the handler's own caching is overridden


def test_swagger_ui_is_served_from_this_site(web: Web) -> None:
    r = web.client.get("/api/v1/docs")
    assert r.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in r.text and "/static/swagger/swagger-ui.css" in r.text
    assert "cdn" not in r.text.lower() and "https://" not in r.text.split("<body")[1].split("url:")[0]
    nonce = _nonce(r)
    assert all(f'nonce="{nonce}"' in attrs for attrs in re.findall(r"<script\b([^>]*)>", r.text))
    js = web.client.get("/static/swagger/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000 and b"SwaggerUIBundle" in js.content


def test_console_sign_in_form_needs_its_csrf_token(web: Web) -> None:
    client = web.client
    client.cookies.clear()
    user = web.users["agent"]
    # a forged cross-site POST: no form token, or a token that is not this browser's cookie
    r = client.post("/console/login", data={"user_id": user, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and SESSION_SET not in r.headers.get("set-cookie", "")
    assert "登录页已过期" in r.text
    client.get("/console/login")
    assert client.cookies.get(LOGIN_COOKIE)
    r = client.post("/console/login", data={"user_id": user, "password": PASSWORD, "csrf_token": "forged"},
                    follow_redirects=False)
    assert r.status_code == 403 and SESSION_SET not in r.headers.get("set-cookie", "")
    # the form as the browser got it signs in
    r = post_login(client, {"user_id": user, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303 and SESSION_SET in r.headers.get("set-cookie", "")
