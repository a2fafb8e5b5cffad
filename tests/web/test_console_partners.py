"""The partner registry's console pages over the real application (SQLite and PostgreSQL): admin and head
office see the list and a partner's calls, policies and webhook deliveries (zh first, English on request);
other roles are refused; a form refused by the registry shows the error next to its field; a new key's
secret is on the page that issued it and nowhere afterwards (the database holds its hash only); revoking
a key and suspending a partner stop the partner API at once; every change writes an audit entry."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select

from shouhu.partners import registry, webhooks
from shouhu.privacy.crypto import FieldCipher
from shouhu.privacy.passwords import hash_password
from shouhu.settings import Settings
from shouhu.storage import accounts, audit
from shouhu.storage import partners as store
from shouhu.storage.tables import audit_log
from shouhu.web.app import create_app
from tests.conftest import KEY
from tests.web.conftest import PASSWORD, post_login

ROLES = ("admin", "head_office", "agent")
SECRET = re.compile(r'id="new-key-secret"[^>]*value="(shk_test_[A-Za-z0-9]{12}_[A-Za-z0-9_-]+)"')


@dataclass
class Console:
    engine: Engine
    api: TestClient
    clients: dict[str, TestClient]
    csrf: dict[str, str]
    cipher: FieldCipher

    def post(self, role: str, path: str, data: dict[str, Any] | None = None) -> Response:
        return self.clients[role].post(path, data={"csrf_token": self.csrf[role]} | (data or {}),
                                       follow_redirects=False)


@pytest.fixture
def console(serving_url: str, tmp_path: Path) -> Iterator[Console]:
    app = create_app(Settings(data_dir=tmp_path / "data", serving_url=serving_url, encryption_key=KEY))
    engine = app.state.shouhu.engine
    hashed = hash_password(PASSWORD)
    for role in ROLES:
        accounts.create_user(engine, user_id=f"p-{role}", display_name=f"测试{role}", role=role, password_hash=hashed,
                             staff_id="AG-1" if role == "agent" else None)
    registry.create_partner(engine, "broker-b", "某保险经纪有限公司", "intermediary", licence_no="260000000000000001",
                            product_codes=["RS01"], scenes=["ecommerce"])
    registry.create_partner(engine, "shop-a", "某电商平台", "scene", product_codes=["RS01"], scenes=["ecommerce"])
    clients, csrf = {}, {}
    with TestClient(app, base_url="http://127.0.0.1") as api:
        for role in ROLES:
            client = TestClient(app, base_url="http://127.0.0.1")
            r = post_login(client, {"user_id": f"p-{role}", "password": PASSWORD}, follow_redirects=False)
            assert r.status_code == 303, r.text
            found = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/console/login").text
                              + client.get("/console/partners").text)
            assert found
            clients[role], csrf[role] = client, found.group(1)
        yield Console(engine, api, clients, csrf, app.state.shouhu.cipher)
    engine.dispose()


def _audits(c: Console, action: str) -> list[dict[str, object]]:
    return [e for e in audit.read(c.engine, limit=1000) if e["action"] == action]


def _call(c: Console, key: str) -> int:
    """One real partner API call with ``key``: its HTTP status."""
    return int(c.api.get("/api/v1/partner/webhooks", headers={"Authorization": f"Bearer {key}"}).status_code)


def _policy(c: Console) -> None:
    """A policy as ``sales.bind`` stores it (the applicant sealed with the field cipher)."""
    applicant = c.cipher.encrypt('{"name": "张三", "id_number": "110101199003074514", "phone": "13912345678"}')
    store.add_policy(c.engine, {
        "policy_no": "PPSBX0000000001", "partner_id": "broker-b", "mode": "sandbox", "partner_order_no": "TB-77",
        "quote_id": "q-1", "product_code": "RS01", "scene": "ecommerce", "scene_key": "TB-77", "customer_ref": "u-1",
        "applicant": applicant, "trace_session_id": "ts-1", "acknowledgements": [], "premium_fen": 1234,
        "sum_assured_fen": 2000, "status": "in_force", "cover_start": "2026-12-07", "cover_end": "2027-01-06",
        "bound_at": "2026-12-07T02:00:00Z", "via": "api", "cancelled_at": None, "refund_fen": None})


# --- reading -----------------------------------------------------------------------------------------------

def test_admin_and_head_office_see_the_list_and_a_partners_calls_policies_and_deliveries(console: Console) -> None:
    c = console
    key = registry.issue_key(c.engine, "broker-b", "sandbox")["key"]
    assert _call(c, key) == 200 and _call(c, "shk_test_AAAAAAAAAAAA_" + "x" * 43) == 401
    _policy(c)
    webhooks.add_endpoint(c.engine, c.cipher, "broker-b", "https://hooks.example.com/shouhu", ["*"])
    webhooks.emit(c.engine, "broker-b", "sandbox", "policy.bound", {"policy_no": "PPSBX0000000001"})
    for role in ("admin", "head_office"):
        listing = c.clients[role].get("/console/partners")
        assert listing.status_code == 200
        row = listing.text.split('id="partner-broker-b"')[1].split("</tr>")[0]
        assert "某保险经纪有限公司" in row and "持牌保险中介机构" in row and "沙箱" in row and "RS01" in row
        assert "电商" in row and ">600<" in row and '<td class="key-count">1</td>' in row
        assert re.search(r"<td>20\d\d-\d\d-\d\d \d\d:\d\d</td>", row), "the last call's time is shown"
        shop = listing.text.split('id="partner-shop-a"')[1].split("</tr>")[0]
        assert "场景合作方（非持牌）" in shop and '<td class="key-count">0</td>' in shop
        assert 'id="nav-partners"' in listing.text
        page = c.clients[role].get("/console/partners/broker-b").text
        assert "PPSBX0000000001" in page and "TB-77" in page and ">12.34<" in page and "u-1" not in page
        assert "张" not in page and "13912345678" not in page and "110101199003074514" not in page
        assert "GET /api/v1/partner/webhooks" in page and 'data-class="2xx">成功 2xx：<b>1</b>' in page
        assert "保单已承保" in page and "待发送/重试中" in page and "hooks.example.com" in page
        assert re.search(r'id="key-[A-Za-z0-9]{12}" data-state="live"', page)
    english = c.clients["admin"].get("/console/partners?lang=en").text
    assert "Licensed insurance intermediary" in english and "Scene partner (unlicensed)" in english
    head = c.clients["head_office"].get("/console/partners/broker-b").text
    assert 'id="settings-table"' in head and 'id="issue-form"' not in head and 'id="status-form"' not in head
    assert 'id="partner-new"' not in c.clients["head_office"].get("/console/partners").text
    assert c.clients["admin"].get("/console/partners/nobody").status_code == 404


def test_roles_without_the_permission_are_refused(console: Console) -> None:
    c = console
    agent = c.clients["agent"]
    for path in ("/console/partners", "/console/partners/broker-b", "/console/partners/new"):
        assert agent.get(path).status_code == 403
    assert 'id="nav-partners"' not in agent.get("/console/partners").text
    assert c.clients["head_office"].get("/console/partners/new").status_code == 403
    for role in ("agent", "head_office"):
        r = c.post(role, "/console/partners/broker-b/keys", {"mode": "sandbox"})
        assert r.status_code == 403
        r = c.post(role, "/console/partners/broker-b/status", {"status": "suspended", "confirm": "yes"})
        assert r.status_code == 403
    assert store.keys_of(c.engine, "broker-b") == [] and store.get_partner(c.engine, "broker-b")["status"] == "active"
    r = c.clients["admin"].post("/console/partners/broker-b/keys", data={"mode": "sandbox"}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text and store.keys_of(c.engine, "broker-b") == []


# --- registering ---------------------------------------------------------------------------------------------

def test_registering_shows_each_refusal_next_to_its_field_and_audits_the_partner(console: Console) -> None:
    c = console
    form = {"partner_id": "broker-c", "name": "某保险代理有限公司", "licence": "intermediary", "licence_no": "",
            "products": ["RS01"], "scenes": ["ecommerce"], "frame_origins": "", "rate_per_minute": "120"}
    r = c.post("admin", "/console/partners", form)
    assert r.status_code == 422
    text = r.text
    assert 'id="err-licence_no"' in text and "持牌保险中介机构须填写许可证编号" in text
    assert 'value="某保险代理有限公司"' in text and 'id="pf-product-RS01" checked' in text  # what was typed is kept
    assert store.get_partner(c.engine, "broker-c") is None
    english = c.clients["admin"].post("/console/partners?lang=en", data={"csrf_token": c.csrf["admin"]} | form)
    assert english.status_code == 422 and "needs its licence number" in english.text
    c.clients["admin"].get("/console/partners?lang=zh")  # the language sticks (a cookie): back to Chinese
    r = c.post("admin", "/console/partners", form | {"licence_no": "260000000000000002", "scenes": ["travel"]})
    assert 'id="err-products"' in r.text and "其场景也须选中" in r.text
    r = c.post("admin", "/console/partners", form | {"licence_no": "260000000000000002", "rate_per_minute": "many"})
    assert 'id="err-rate_per_minute"' in r.text
    r = c.post("admin", "/console/partners", form | {"licence_no": "2600", "frame_origins": "http://shop.example"})
    assert 'id="err-frame_origins"' in r.text
    r = c.post("admin", "/console/partners", form | {"partner_id": "broker-b", "licence_no": "2600"})
    assert 'id="err-partner_id"' in r.text
    assert _audits(c, "partner_created") == []
    r = c.post("admin", "/console/partners", form | {"licence_no": "260000000000000002",
                                                     "frame_origins": "https://a.example.com\nhttps://b.example.com"})
    assert r.status_code == 303 and r.headers["location"].startswith("/console/partners/broker-c")
    made = store.get_partner(c.engine, "broker-c")
    assert made is not None and made["mode"] == "sandbox" and made["rate_per_minute"] == 120
    assert made["frame_origins"] == ["https://a.example.com", "https://b.example.com"]
    [entry] = _audits(c, "partner_created")
    assert entry["target_id"] == "broker-c" and entry["actor"] == "p-admin"
    assert entry["detail"]["licence"] == "intermediary" and entry["detail"]["rate_per_minute"] == 120
    audit_page = c.clients["admin"].get("/console/audit").text
    assert "登记合作方" in audit_page


# --- keys ----------------------------------------------------------------------------------------------------

def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(console: Console) -> None:
    c = console
    r = c.post("admin", "/console/partners/shop-a/keys", {"mode": "sandbox", "scopes": ["hosted", "read"]})
    assert r.status_code == 200
    found = SECRET.search(r.text)
    assert found, "the issuing page shows the key"
    key = found.group(1)
    key_id, secret = key.split("_")[2], key.split("_", 3)[3]
    assert registry.authenticate(c.engine, key).scopes == {"hosted", "read"}
    again = c.clients["admin"].get("/console/partners/shop-a").text
    assert secret not in again and 'id="new-key-secret"' not in again and f"shk_test_{key_id}_…" in again
    [row] = store.keys_of(c.engine, "shop-a")
    assert row["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(row)
    with c.engine.connect() as conn:
        assert not [a for a in conn.execute(select(audit_log)) if secret in repr(tuple(a))]
    [entry] = _audits(c, "partner_key_issued")
    assert entry["target_id"] == key_id and entry["detail"] == {"partner_id": "shop-a", "mode": "sandbox",
                                                                 "scopes": ["hosted", "read"]}
    refused = c.post("admin", "/console/partners/shop-a/keys", {"mode": "sandbox", "scopes": ["bind"]})
    assert refused.status_code == 422 and 'id="err-scopes"' in refused.text
    live = c.post("admin", "/console/partners/shop-a/keys", {"mode": "production"})
    assert live.status_code == 422 and 'id="err-mode"' in live.text
    assert len(store.keys_of(c.engine, "shop-a")) == 1


def test_rotate_keeps_the_old_key_for_a_while_and_revoke_stops_it_at_once(console: Console) -> None:
    c = console
    old = registry.issue_key(c.engine, "broker-b", "sandbox")
    r = c.post("admin", f"/console/partners/broker-b/keys/{old['key_id']}/rotate")
    assert r.status_code == 200
    found = SECRET.search(r.text)
    assert found and found.group(1) != old["key"] and "旧密钥到期" in r.text
    new = found.group(1)
    assert _call(c, old["key"]) == 200 and _call(c, new) == 200  # the overlap
    page = c.clients["admin"].get("/console/partners/broker-b").text
    assert f'id="key-{old["key_id"]}" data-state="expiring"' in page and new not in page
    [rotated] = _audits(c, "partner_key_rotated")
    assert rotated["target_id"] == old["key_id"] and rotated["detail"]["new_key_id"] == new.split("_")[2]

    r = c.post("admin", f"/console/partners/broker-b/keys/{old['key_id']}/revoke")
    assert r.status_code == 303
    with pytest.raises(registry.Unauthorised):
        registry.authenticate(c.engine, old["key"])
    assert _call(c, old["key"]) == 401 and _call(c, new) == 200
    [revoked] = _audits(c, "partner_key_revoked")
    assert revoked["target_id"] == old["key_id"] and revoked["actor"] == "p-admin"
    page = c.clients["admin"].get("/console/partners/broker-b").text
    assert f'id="key-{old["key_id"]}" data-state="revoked"' in page
    twice = c.post("admin", f"/console/partners/broker-b/keys/{old['key_id']}/revoke")
    assert twice.status_code == 422 and 'id="err-key_id"' in twice.text
    other = c.post("admin", f"/console/partners/shop-a/keys/{new.split('_')[2]}/revoke")  # not shop-a's key
    assert other.status_code == 404 and _call(c, new) == 200
    assert len(_audits(c, "partner_key_revoked")) == 1


# --- status and settings -------------------------------------------------------------------------------------

def test_suspending_needs_a_confirmation_and_stops_the_partners_api_calls(console: Console) -> None:
    c = console
    key = registry.issue_key(c.engine, "broker-b", "sandbox")["key"]
    assert _call(c, key) == 200
    r = c.post("admin", "/console/partners/broker-b/status", {"status": "suspended"})
    assert r.status_code == 422 and 'id="err-confirm"' in r.text
    assert _call(c, key) == 200 and _audits(c, "partner_status") == []
    r = c.post("admin", "/console/partners/broker-b/status", {"status": "suspended", "confirm": "yes"})
    assert r.status_code == 303
    assert _call(c, key) == 403
    with pytest.raises(registry.Forbidden):
        registry.authenticate(c.engine, key)
    page = c.clients["admin"].get("/console/partners/broker-b").text
    assert 'data-status="suspended"' in page and "恢复合作" in page
    [entry] = _audits(c, "partner_status")
    assert entry["detail"] == {"before": "active", "after": "suspended"}
    r = c.post("admin", "/console/partners/broker-b/status", {"status": "active", "confirm": "yes"})
    assert r.status_code == 303 and _call(c, key) == 200
    assert len(_audits(c, "partner_status")) == 2


def test_settings_changes_are_checked_shown_next_to_the_field_and_audited(console: Console) -> None:
    c = console
    base = {"products": ["RS01"], "scenes": ["ecommerce"], "frame_origins": "", "rate_per_minute": "600"}
    r = c.post("admin", "/console/partners/broker-b/settings", base | {"products": ["RS01", "TD01"]})
    assert r.status_code == 422 and 'id="err-products"' in r.text
    assert 'id="ps-product-TD01" checked' in r.text
    r = c.post("admin", "/console/partners/broker-b/settings", base | {"rate_per_minute": "0"})
    assert r.status_code == 422 and 'id="err-rate_per_minute"' in r.text
    assert _audits(c, "partner_updated") == []
    r = c.post("admin", "/console/partners/broker-b/settings",
               base | {"products": ["RS01", "TD01"], "scenes": ["ecommerce", "travel"], "rate_per_minute": "90",
                       "frame_origins": "https://shop.example.com"})
    assert r.status_code == 303
    after = store.get_partner(c.engine, "broker-b")
    assert after is not None and after["products"] == ["RS01", "TD01"] and after["rate_per_minute"] == 90
    assert after["frame_origins"] == ["https://shop.example.com"]
    [entry] = _audits(c, "partner_updated")
    assert entry["detail"]["before"] == {"products": ["RS01"], "scenes": ["ecommerce"], "frame_origins": [],
                                       "rate_per_minute": 600}
    assert entry["detail"]["after"]["rate_per_minute"] == 90
    same = c.post("admin", "/console/partners/broker-b/settings",
                  base | {"products": ["RS01", "TD01"], "scenes": ["ecommerce", "travel"], "rate_per_minute": "90",
                          "frame_origins": "https://shop.example.com"})
    assert same.status_code == 303 and len(_audits(c, "partner_updated")) == 1
