"""Security of the web layer: CSRF on cookie sessions (every unsafe route), login throttling, session
cookie flags, demo accounts outside demo mode, token revocation, open redirects after sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from shouhu.privacy.passwords import hash_password
from shouhu.storage import accounts
from shouhu.storage.tables import audit_log, login_attempt
from shouhu.web.auth import H5_COOKIE, SESSION_COOKIE
from tests.conftest import Published
from tests.web.conftest import PASSWORD, SENT, Web, post_login
from tests.web.shared_web import BACKENDS, make_app, module_web, settings_for
from tests.web.test_permission_matrix import ROUTES, app_routes

BASE = "http://127.0.0.1"


@pytest.fixture(scope="module", params=BACKENDS)
def sweb(request: pytest.FixtureRequest, published: Published,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    with module_web(request, published, tmp_path_factory.mktemp("security")) as web:
        yield web


@pytest.fixture
def fresh(sweb: Web) -> Iterator[Web]:
    """The module's app with no login attempts on record (throttling tests start clean and leave clean)."""
    def clear() -> None:
        with sweb.engine.begin() as conn:
            conn.execute(delete(login_attempt))
    clear()
    yield sweb
    clear()


def _app(web: Web) -> FastAPI:
    app = web.client.app
    assert isinstance(app, FastAPI)
    return app


def _client(web: Web, host: str = "testclient") -> TestClient:
    return TestClient(_app(web), base_url=BASE, client=(host, 50000))


def _audit_head(web: Web) -> int:
    with web.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(audit_log.c.seq), 0))).scalar_one())


def _fill(path: str, web: Web) -> str:
    values = {"customer_id": web.own["agent"], "user_id": web.users["analyst"], "decision_id": "1", "row_id": "1",
              "questionnaire": "risk_tolerance", "household_id": "HH000000000000"}
    return re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), "x"), path)


# --- CSRF ---------------------------------------------------------------------------------------

def test_every_unsafe_route_refuses_a_cookie_session_without_the_right_csrf_token(sweb: Web) -> None:
    """Admin (every action) with a console session; the H5 pages with a customer session. Neither a
    missing nor a wrong token (header or form field) gets past, and nothing is written."""
    app = _app(sweb)
    console = _client(sweb)
    sweb.login("admin", console)
    h5_token, _ = accounts.create_session(sweb.engine, "customer", sweb.own["agent"])
    h5 = TestClient(app, base_url=BASE, cookies={H5_COOKIE: h5_token})
    unsafe = [(key, path) for key, (path, guard) in app_routes(app).items()
              if key.split()[0] in ("POST", "PUT", "PATCH", "DELETE") and guard.kind != "public"]
    assert len(unsafe) >= 10
    head = _audit_head(sweb)
    for key, template in unsafe:
        method = key.split()[0]
        client = h5 if template.startswith("/h5") else console
        sample = ROUTES.get(key)
        form = {k: str(v) for k, v in (sample.form or {}).items() if "{" not in str(v)} if sample else {}
        for headers, data in (({}, form), ({"X-CSRF-Token": "wrong"}, form), ({}, form | {"csrf_token": "wrong"})):
            if sample is not None and sample.json is not None:
                r = client.request(method, _fill(template, sweb), json=sample.json, headers=headers,
                                   follow_redirects=False)
            else:
                r = client.request(method, _fill(template, sweb), data=data, headers=headers, follow_redirects=False)
            assert r.status_code == 403, (key, headers, data, r.status_code, r.text[:200])
            assert "CSRF" in r.text or "csrf" in r.text or template.startswith("/h5"), (key, r.text[:200])
    assert _audit_head(sweb) == head, "a refused request wrote to the audit log"


def test_the_session_token_is_accepted_in_the_header_or_the_form(sweb: Web) -> None:
    client = _client(sweb)
    csrf = sweb.login("agent", client)
    cid = sweb.own["agent"]
    r = client.post(f"/console/customers/{cid}/reveal", data={"field": "phone", "reason": "核实", "csrf_token": csrf})
    assert r.status_code == 200, r.text
    r = client.post(f"/console/customers/{cid}/reveal", data={"field": "phone", "reason": "核实"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/customers/{cid}/reveal", json={"fields": ["phone"], "reason": "核实"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/customers/{cid}/reveal", json={"fields": ["phone"], "reason": "核实"})
    assert r.status_code == 403  # the API with a cookie session needs the token too


def test_a_csrf_token_belongs_to_its_own_session(sweb: Web) -> None:
    a, b = _client(sweb), _client(sweb)
    sweb.login("agent", a)
    csrf_b = sweb.login("agent", b)
    r = a.post(f"/console/customers/{sweb.own['agent']}/reveal", data={"field": "phone", "reason": "核实"},
               headers={"X-CSRF-Token": csrf_b})
    assert r.status_code == 403


def test_bearer_token_posts_need_no_csrf_token(sweb: Web) -> None:
    client = _client(sweb)
    r = client.post(f"/api/v1/customers/{sweb.own['agent']}/reveal", headers=sweb.auth("agent"),
                    json={"fields": ["phone"], "reason": "核实"})
    assert r.status_code == 200 and "*" not in r.json()["values"]["phone"]
    r = client.post("/api/v1/segments/count", headers=sweb.auth("agent"), json={"rule": "age >= 18"})
    assert r.status_code == 200, r.text


# --- login throttling ---------------------------------------------------------------------------

def _token(client: TestClient, user: str, password: str) -> int:
    return client.post("/api/v1/auth/token", json={"user_id": user, "password": password}).status_code


def test_five_failures_lock_the_user_even_with_the_right_password(fresh: Web) -> None:
    client, user = _client(fresh), fresh.users["agent"]
    assert [_token(client, user, "wrong-password") for _ in range(5)] == [401] * 5
    r = client.post("/api/v1/auth/token", json={"user_id": user, "password": PASSWORD})
    assert r.status_code == 429 and r.headers.get("retry-after") and r.json()["error"] == "throttled"
    page = post_login(client, {"user_id": user, "password": PASSWORD}, follow_redirects=False)
    assert page.status_code == 429 and SESSION_COOKIE not in page.headers.get("set-cookie", "")
    # from another address too: the limit is per user
    assert _token(_client(fresh, "10.0.0.7"), user, PASSWORD) == 429
    # other users are not affected
    assert _token(client, fresh.users["admin"], PASSWORD) == 200


def test_unknown_user_names_are_throttled_like_real_ones(fresh: Web) -> None:
    client = _client(fresh)
    assert [_token(client, "no-such-user", "x") for _ in range(5)] == [401] * 5
    assert _token(client, "no-such-user", "x") == 429


def test_one_client_failing_on_many_users_is_throttled(fresh: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    noisy, quiet = _client(fresh, "10.0.0.66"), _client(fresh, "10.0.0.67")
    state = _app(fresh).state.shouhu
    assert state.client_fail_limit == 20
    monkeypatch.setattr(state, "client_fail_limit", 8)  # the same rule, fewer slow password checks
    for i in range(8):  # two failures per user name, so no user's own limit is reached
        assert _token(noisy, f"guess-{i // 2}", "wrong-password") == 401
    assert _token(noisy, fresh.users["agent"], PASSWORD) == 429
    assert _token(quiet, fresh.users["agent"], PASSWORD) == 200


def test_a_successful_login_clears_the_users_failures(fresh: Web) -> None:
    client, user = _client(fresh), fresh.users["service"]
    assert [_token(client, user, "wrong-password") for _ in range(4)] == [401] * 4
    assert _token(client, user, PASSWORD) == 200
    assert [_token(client, user, "wrong-password") for _ in range(4)] == [401] * 4  # 8 in all, none throttled
    assert _token(client, user, PASSWORD) == 200


# --- cookies ------------------------------------------------------------------------------------

def _cookie(headers: list[str], name: str) -> dict[str, str]:
    """The attributes of the Set-Cookie header for ``name`` (lower case; flags map to "")."""
    for header in headers:
        key, _, rest = header.partition("=")
        if key.strip() != name:
            continue
        attrs: dict[str, str] = {}
        for item in rest.split(";")[1:]:
            attr, _, value = item.strip().partition("=")
            attrs[attr.lower()] = value.lower()
        return attrs
    raise AssertionError(f"no {name} cookie set: {headers}")


def _h5_sign_in(client: TestClient, web: Web) -> list[str]:
    from shouhu.privacy.crypto import FieldCipher
    from shouhu.storage.tables import reflected
    from tests.conftest import KEY

    cust = reflected(web.engine, "customer")
    cipher = FieldCipher.from_text(KEY)
    with web.engine.connect() as conn:
        rows = conn.execute(select(cust.c.phone_enc, cust.c.phone_bidx).where(cust.c.phone_enc.isnot(None))
                            .order_by(cust.c.customer_id)).fetchall()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.phone_bidx] = counts.get(row.phone_bidx, 0) + 1
    phone = next(cipher.decrypt(r.phone_enc) for r in rows if counts[r.phone_bidx] == 1)
    assert phone is not None
    assert client.post("/api/v1/h5/code", json={"phone": phone}).status_code == 202
    code = next(c for p, c in reversed(SENT) if p == phone)
    r = client.post("/api/v1/h5/session", json={"phone": phone, "code": code})
    assert r.status_code == 200, r.text
    return r.headers.get_list("set-cookie")


@pytest.mark.parametrize("mode", ["development", "production"])
def test_session_cookies_are_httponly_lax_and_secure_in_production(sweb: Web, published: Published,
                                                                   tmp_path_factory: pytest.TempPathFactory,
                                                                   mode: str) -> None:
    folder = tmp_path_factory.mktemp("mode")
    app = make_app(settings_for(sweb.settings.serving, published, folder, mode=mode))
    try:
        client = TestClient(app, base_url=BASE)
        r = post_login(client, {"user_id": sweb.users["agent"], "password": PASSWORD},
                        follow_redirects=False)
        assert r.status_code == 303
        attrs = _cookie(r.headers.get_list("set-cookie"), SESSION_COOKIE)
        assert "httponly" in attrs and attrs.get("samesite") == "lax" and attrs.get("path") == "/"
        assert ("secure" in attrs) == (mode == "production")
        h5 = _cookie(_h5_sign_in(TestClient(app, base_url=BASE), sweb), H5_COOKIE)
        assert "httponly" in h5 and h5.get("samesite") == "lax"
        assert ("secure" in h5) == (mode == "production")
    finally:
        app.state.shouhu.engine.dispose()


def test_the_session_ends_at_logout(sweb: Web) -> None:
    client = _client(sweb)
    csrf = sweb.login("agent", client)
    token = client.cookies.get(SESSION_COOKIE)
    assert client.get("/console/tasks", follow_redirects=False).status_code == 200
    r = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    stale = TestClient(_app(sweb), base_url=BASE, cookies={SESSION_COOKIE: token or ""})
    r = stale.get("/console/tasks", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    assert stale.get("/api/v1/me").status_code == 401


# --- demo accounts ------------------------------------------------------------------------------

@pytest.fixture
def demo_user(sweb: Web) -> Iterator[str]:
    user_id = "demo-agent-t"
    if accounts.get_user(sweb.engine, user_id) is None:
        accounts.create_user(sweb.engine, user_id=user_id, display_name="演示", role="agent",
                             password_hash=hash_password(PASSWORD), **sweb.scope["agent"])
    yield user_id


def test_demo_accounts_are_refused_outside_demo_mode(sweb: Web, demo_user: str, published: Published,
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    client = _client(sweb, "10.0.0.90")
    r = post_login(client, {"user_id": demo_user, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 401 and SESSION_COOKIE not in r.headers.get("set-cookie", "")
    assert _token(client, demo_user, PASSWORD) == 401
    token = accounts.create_token(sweb.engine, demo_user, "made elsewhere")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    session, _ = accounts.create_session(sweb.engine, "staff", demo_user)
    planted = TestClient(_app(sweb), base_url=BASE, cookies={SESSION_COOKIE: session})
    assert planted.get("/console/tasks", follow_redirects=False).status_code == 303
    # the same account works while the server runs in demo mode
    demo = make_app(settings_for(sweb.settings.serving, published, tmp_path_factory.mktemp("demo"), mode="demo"))
    try:
        dc = TestClient(demo, base_url=BASE, client=("10.0.0.91", 50000))
        assert dc.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        r = post_login(dc, {"user_id": demo_user, "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303
    finally:
        demo.state.shouhu.engine.dispose()
    with sweb.engine.begin() as conn:
        conn.execute(delete(login_attempt))


# --- token revocation ---------------------------------------------------------------------------

def _me(web: Web, token: str) -> int:
    return _client(web).get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_revoking_tokens_through_the_api_takes_effect_at_once(sweb: Web) -> None:
    user = "revoke-me"
    if accounts.get_user(sweb.engine, user) is None:
        accounts.create_user(sweb.engine, user_id=user, display_name="r", role="analyst",
                             password_hash=hash_password(PASSWORD))
    token = accounts.create_token(sweb.engine, user, "t")
    assert _me(sweb, token) == 200  # now in the token cache
    r = _client(sweb).patch(f"/api/v1/users/{user}", headers=sweb.auth("admin"),
                            json={"active": False, "reason": "离职"})
    assert r.status_code == 200, r.text
    assert _me(sweb, token) == 401
    assert _token(_client(sweb, "10.0.0.95"), user, PASSWORD) == 401
    r = _client(sweb).patch(f"/api/v1/users/{user}", headers=sweb.auth("admin"),
                            json={"active": True, "reason": "复职"})
    assert r.status_code == 200
    assert _me(sweb, token) == 401  # revoked tokens stay revoked


def test_revoking_tokens_from_another_process_takes_effect_when_the_cache_expires(
        sweb: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    """``shouhu users revoke`` runs in its own process: the server notices within the token cache's TTL."""
    import time

    import shouhu.web.state as state_module

    token = accounts.create_token(sweb.engine, sweb.users["analyst"], "t")
    assert _me(sweb, token) == 200
    assert accounts.revoke_tokens(sweb.engine, sweb.users["analyst"]) >= 1
    ttl = _app(sweb).state.shouhu.tokens.ttl_s
    assert ttl <= 30
    later = time.monotonic() + ttl + 1
    monkeypatch.setattr(state_module.time, "monotonic", lambda: later)
    assert _me(sweb, token) == 401
    sweb._tokens.pop("analyst", None)  # the Web helper's cached token for the analyst is revoked too


# --- open redirects -----------------------------------------------------------------------------

EVIL = ["//evil.example", "//evil.example/console", "https://evil.example/console", "/\\evil.example",
        "\\\\evil.example", "/console/..//evil.example", "http:evil.example", "javascript:alert(1)",
        "/console\\@evil.example", " //evil.example", "/%2F%2Fevil.example", "//evil.example%2F%2E%2E"]


@pytest.mark.parametrize("target", EVIL)
def test_sign_in_never_redirects_off_site(sweb: Web, target: str) -> None:
    client = _client(sweb)
    form = client.get("/console/login", params={"next": target})
    assert form.status_code == 200
    hidden = re.search(r'name="next" value="([^"]*)"', form.text)
    assert hidden is None or _same_site(hidden.group(1)), hidden and hidden.group(1)
    r = post_login(client, {"user_id": sweb.users["agent"], "password": PASSWORD, "next": target},
                    follow_redirects=False)
    assert r.status_code == 303
    assert _same_site(r.headers["location"]), r.headers["location"]


def _same_site(location: str) -> bool:
    """Where a browser would go from a page of ours, after its usual forgiveness (backslashes as slashes)."""
    resolved = urljoin(f"{BASE}/console/login", location.replace("\\", "/").strip())
    parts = urlsplit(resolved)
    return parts.scheme == "http" and parts.netloc == "127.0.0.1"


# --- server log ---------------------------------------------------------------------------------

def test_the_demo_code_sender_logs_the_phone_masked(caplog: pytest.LogCaptureFixture) -> None:
    from shouhu.web.state import log_sender

    caplog.set_level("INFO")
    log_sender("13812345678", "246810")
    assert "13812345678" not in caplog.text and "138****5678" in caplog.text and "246810" in caplog.text
