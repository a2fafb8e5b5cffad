"""Proposal links (建议书): staff share a plan as an H5 link; anyone holding it sees the snapshot (masked
name, no ID number or phone, no customer id); the token is stored only as a hash; unknown, expired
and revoked links are 404; creation, every open and revocation are audited; scope holds. SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import re

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from shouhu.privacy.crypto import FieldCipher
from shouhu.storage import audit
from shouhu.storage.tables import proposal_link, reflected
from tests.conftest import KEY
from tests.web.conftest import Web


def _clear(web: Web, customer_id: str) -> dict[str, str]:
    cust = reflected(web.engine, "customer")
    with web.engine.connect() as conn:
        row = conn.execute(select(cust).where(cust.c.customer_id == customer_id)).one()._mapping
    cipher = FieldCipher.from_text(KEY)
    out = {f: v for f in ("name", "phone", "id_number") if (v := cipher.decrypt(row[f"{f}_enc"]))}
    return out | {"name_masked": row["name_masked"]}


def _row(web: Web, link_id: int) -> dict[str, object]:
    with web.engine.connect() as conn:
        return dict(conn.execute(select(proposal_link).where(proposal_link.c.id == link_id)).one()._mapping)


def test_share_open_expire_and_revoke_a_proposal_link(web: Web) -> None:
    own = web.own["agent"]
    r = web.client.post(f"/api/v1/customers/{own}/proposals", headers=web.auth("agent"), json={"days": 7})
    assert r.status_code == 201, r.text
    link = r.json()
    token = link["token"]
    assert link["path"] == f"/h5/proposal/{token}" and link["url"].endswith(link["path"]) and len(token) >= 40
    assert link["expires_at"] > link["created_at"]

    row = _row(web, link["id"])
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row)                                     # only the hash is kept
    assert (row["created_by"], row["customer_id"], row["opened"], row["revoked_at"]) == \
        (web.users["agent"], own, 0, None)
    clear = _clear(web, own)
    snapshot = str(row["snapshot"])
    for field in ("name", "phone", "id_number"):
        if field in clear:
            assert clear[field] not in snapshot, f"clear {field} in the snapshot"
    assert not re.findall(r"CU[0-9a-f]{12}|HH[0-9a-f]{12}", snapshot)  # no customer or household ids
    assert f'"name": "{clear["name_masked"]}"' in snapshot
    created = audit.read(web.engine, action="proposal_created", limit=1)[0]
    assert created["target_id"] == str(link["id"]) and created["detail"]["customer_id"] == own
    assert token not in str(created)
    assert audit.read(web.engine, action="advice_run", limit=1)[0]["target_id"] == own

    # anyone with the link (no session at all)
    anon = TestClient(web.client.app, base_url="http://127.0.0.1")
    page = anon.get(link["path"])
    assert page.status_code == 200, page.text
    assert "保障建议书" in page.text and clear["name_masked"] in page.text and "推荐方案" in page.text
    for field in ("name", "phone", "id_number"):
        if field in clear:
            assert clear[field] not in page.text
    assert own not in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert anon.get(link["path"]).status_code == 200
    assert _row(web, link["id"])["opened"] == 2
    opened = audit.read(web.engine, action="proposal_opened", limit=1)[0]
    assert (opened["actor"], opened["actor_role"], opened["target_id"]) == ("anonymous", "none", str(link["id"]))
    assert opened["detail"]["opened"] == 2 and token not in str(opened)
    assert anon.get(link["path"] + "?lang=en").status_code == 200

    # unknown tokens: 404 without counting anything
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "short", "x" * 200):
        assert anon.get(f"/h5/proposal/{bad}").status_code == 404
    assert _row(web, link["id"])["opened"] == 3

    listed = web.client.get(f"/api/v1/customers/{own}/proposals", headers=web.auth("agent")).json()["items"]
    mine = next(i for i in listed if i["id"] == link["id"])
    assert mine["status"] == "active" and mine["opened"] == 3 and "token_hash" not in mine and "snapshot" not in mine

    # expiry: a link past its time is gone
    second = web.client.post(f"/api/v1/customers/{own}/proposals", headers=web.auth("agent"), json={}).json()
    with web.engine.begin() as conn:
        conn.execute(update(proposal_link).where(proposal_link.c.id == second["id"])
                     .values(expires_at="2020-01-01T00:00:00+00:00"))
    assert anon.get(second["path"]).status_code == 404
    statuses = {i["id"]: i["status"] for i in
                web.client.get(f"/api/v1/customers/{own}/proposals", headers=web.auth("agent")).json()["items"]}
    assert statuses[second["id"]] == "expired"
    assert web.client.post(f"/api/v1/customers/{own}/proposals", headers=web.auth("agent"),
                           json={"days": 31}).status_code == 422

    # revocation: at once, audited, once
    r = web.client.post(f"/api/v1/proposals/{link['id']}/revoke", headers=web.auth("agent"),
                        json={"reason": "方案需调整"})
    assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["revoked_by"] == web.users["agent"]
    assert anon.get(link["path"]).status_code == 404
    assert web.client.post(f"/api/v1/proposals/{link['id']}/revoke", headers=web.auth("agent"),
                           json={}).status_code == 409
    revoked = audit.read(web.engine, action="proposal_revoked", limit=1)[0]
    assert revoked["reason"] == "方案需调整" and revoked["detail"]["customer_id"] == own


def test_proposal_links_stay_within_scope(web: Web) -> None:
    own, foreign = web.own["agent"], web.foreign["agent"]
    h = web.auth("agent")
    assert web.client.post(f"/api/v1/customers/{foreign}/proposals", headers=h, json={}).status_code == 404
    assert web.client.get(f"/api/v1/customers/{foreign}/proposals", headers=h).status_code == 404
    theirs = web.client.post(f"/api/v1/customers/{foreign}/proposals", headers=web.auth("admin"), json={})
    assert theirs.status_code == 201
    r = web.client.post(f"/api/v1/proposals/{theirs.json()['id']}/revoke", headers=h, json={})
    assert r.status_code == 404 and _row(web, theirs.json()["id"])["revoked_at"] is None
    for role in ("analyst", "compliance", "service"):                # no advice.run
        assert web.client.post(f"/api/v1/customers/{own}/proposals", headers=web.auth(role),
                               json={}).status_code == 403


def test_console_shares_the_plan_and_withdraws_the_link(web: Web) -> None:
    own = web.own["agent"]
    csrf = web.login("agent")
    result = web.client.get("/console/advice/result", params={"customer_id": own})
    assert result.status_code == 200 and 'id="proposal-create"' in result.text
    r = web.client.post("/console/advice/proposals", headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
                        data={"customer_id": own, "method": "dime", "budget": ""})
    assert r.status_code == 200, r.text
    found = re.search(r'id="proposal-url"[^>]*|value="(http[^"]+/h5/proposal/[^"]+)"', r.text)
    url = re.search(r'value="(http[^"]+/h5/proposal/([^"]+))"', r.text)
    assert found and url, r.text
    anon = TestClient(web.client.app, base_url="http://127.0.0.1")
    assert anon.get(f"/h5/proposal/{url.group(2)}").status_code == 200
    link_id = re.search(r'data-proposal="(\d+)"', r.text)
    assert link_id
    bad = web.client.post("/console/advice/proposals", headers={"X-CSRF-Token": csrf},
                          data={"customer_id": own, "budget": "lots"})
    assert bad.status_code == 400 and "budget" in bad.text
    gone = web.client.post(f"/console/proposals/{link_id.group(1)}/revoke", headers={"X-CSRF-Token": csrf})
    assert gone.status_code == 200 and 'id="proposal-revoked"' in gone.text
    assert anon.get(f"/h5/proposal/{url.group(2)}").status_code == 404
    assert web.client.post("/console/advice/proposals", headers={"X-CSRF-Token": csrf},
                           data={"customer_id": web.foreign["agent"]}).status_code == 404
