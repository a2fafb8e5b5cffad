"""Accounts over the web (admin only): create, change role / scope / reveal grant / password, disable;
every change audited with before and after and effective at once (token cache cleared); no lock-out;
and ``shouhu users create/set/list`` on the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shouhu.settings import get_settings
from shouhu.storage import accounts, audit, serving
from tests.web.conftest import Web

runner = CliRunner()
NEW_PASSWORD = "another-long-secret"


def _new_agent(web: Web, user_id: str = "a-new", **extra: Any) -> dict[str, Any]:
    body = {"user_id": user_id, "display_name": "新代理人", "role": "agent",
            "staff_id": web.scope["agent"]["staff_id"], "can_reveal": True, "password": NEW_PASSWORD,
            "reason": "新入职"} | extra
    return body


def _token(web: Web, user_id: str, password: str = NEW_PASSWORD) -> dict[str, str]:
    r = web.client.post("/api/v1/auth/token", json={"user_id": user_id, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_create_change_and_disable(web: Web) -> None:
    admin = web.auth("admin")
    r = web.client.post("/api/v1/users", headers=admin, json=_new_agent(web))
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "agent" and r.json()["can_reveal"] is True and "password_hash" not in r.text
    [created] = audit.read(web.engine, action="user_created")
    assert created["target_id"] == "a-new" and created["actor"] == web.users["admin"]
    assert created["detail"]["after"]["role"] == "agent" and NEW_PASSWORD not in json.dumps(created)
    listed = web.client.get("/api/v1/users", headers=admin).json()
    assert "a-new" in {u["user_id"] for u in listed["items"]} and "agent" in listed["roles"]

    token = _token(web, "a-new")
    own = web.own["agent"]
    reveal = {"fields": ["phone"], "reason": "核实"}
    assert web.client.post(f"/api/v1/customers/{own}/reveal", headers=token, json=reveal).status_code == 200

    r = web.client.patch("/api/v1/users/a-new", headers=admin, json={"can_reveal": False, "reason": "岗位调整"})
    assert r.status_code == 200, r.text
    assert r.json()["before"] == {"can_reveal": True} and r.json()["after"] == {"can_reveal": False}
    [changed] = audit.read(web.engine, action="permission_changed")
    assert changed["detail"] == {"before": {"can_reveal": True}, "after": {"can_reveal": False}}
    assert changed["reason"] == "岗位调整"
    # effective at once: the cached principal of the same token is gone
    assert web.client.post(f"/api/v1/customers/{own}/reveal", headers=token, json=reveal).status_code == 403

    r = web.client.patch("/api/v1/users/a-new", headers=admin,
                         json={"role": "branch_manager", "staff_id": None, "branch_id": web.scope["branch_manager"]
                               ["branch_id"], "reason": "晋升"})
    assert r.status_code == 200, r.text
    assert r.json()["after"]["role"] == "branch_manager" and r.json()["after"]["staff_id"] is None
    assert web.client.get("/api/v1/me", headers=token).json()["role"] == "branch_manager"

    r = web.client.patch("/api/v1/users/a-new", headers=admin, json={"password": "short", "reason": "重置"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body.password"
    r = web.client.patch("/api/v1/users/a-new", headers=admin, json={"password": "a-brand-new-secret",
                                                                      "reason": "重置密码"})
    assert r.status_code == 200 and r.json()["after"] == {"password": "(changed)"}
    assert "a-brand-new-secret" not in json.dumps(audit.read(web.engine, action="permission_changed"))
    _token(web, "a-new", "a-brand-new-secret")

    r = web.client.patch("/api/v1/users/a-new", headers=admin, json={"active": False, "reason": "离职"})
    assert r.status_code == 200
    assert web.client.get("/api/v1/me", headers=token).status_code == 401
    assert web.client.post("/api/v1/auth/token", json={"user_id": "a-new", "password": "a-brand-new-secret"}
                           ).status_code == 401
    assert len(audit.read(web.engine, action="permission_changed")) == 4


def test_bad_input(web: Web) -> None:
    admin = web.auth("admin")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"password": "short"}, 422, "body.password"),
        ({"role": "superuser"}, 422, "body.role"),
        ({"role": "customer"}, 422, "body.role"),
        ({"user_id": "bad id!"}, 422, "body.user_id"),
        ({"staff_id": None}, 400, "staff_id is required"),
        ({"user_id": "demo-x"}, 400, "reserved for demo"),
        ({"user_id": web.users["agent"]}, 409, "exists already"),
    ]
    for change, status, words in cases:
        r = web.client.post("/api/v1/users", headers=admin, json=_new_agent(web, **change))
        assert r.status_code == status, (change, r.text)
        body = r.json()
        text = body["problems"][0]["field"] if status == 422 else body["message"]
        assert words in text, (change, body)
    r = web.client.patch("/api/v1/users/no-such-user", headers=admin, json={"active": False, "reason": "清理"})
    assert r.status_code == 404
    r = web.client.patch(f"/api/v1/users/{web.users['agent']}", headers=admin, json={"active": False})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body.reason"
    r = web.client.patch(f"/api/v1/users/{web.users['agent']}", headers=admin,
                         json={"active": True, "reason": "无变化"})
    assert r.status_code == 400 and "nothing to change" in r.json()["message"]
    r = web.client.patch(f"/api/v1/users/{web.users['agent']}", headers=admin, json={"staff_id": "", "reason": "清空"})
    assert r.status_code == 400 and "staff_id is required" in r.json()["message"]
    assert not audit.read(web.engine, action="permission_changed")
    assert not audit.read(web.engine, action="user_created")


def test_an_admin_cannot_lock_themselves_out(web: Web) -> None:
    admin = web.auth("admin")
    me = web.users["admin"]
    for change in ({"role": "analyst"}, {"active": False}):
        r = web.client.patch(f"/api/v1/users/{me}", headers=admin, json=change | {"reason": "试试"})
        assert r.status_code == 409, r.text
    assert accounts.get_user(web.engine, me)["role"] == "admin"  # type: ignore[index]
    r = web.client.patch(f"/api/v1/users/{me}", headers=admin, json={"can_reveal": False, "reason": "自己降权"})
    assert r.status_code == 200
    # another admin may
    accounts.create_user(web.engine, user_id="t-admin2", display_name="admin2", role="admin",
                         password_hash=accounts.get_user(web.engine, me, with_hash=True)["password_hash"])  # type: ignore[index]
    r = web.client.patch(f"/api/v1/users/{me}", headers=_token(web, "t-admin2", "correct-horse-battery"),
                         json={"role": "analyst", "reason": "换岗"})
    assert r.status_code == 200
    assert web.client.get("/api/v1/users", headers=admin).status_code == 403


def test_roles_without_user_manage(web: Web) -> None:
    for role in ("head_office", "branch_manager", "agent", "service", "health_manager", "analyst", "compliance"):
        headers = web.auth(role)
        assert web.client.get("/api/v1/users", headers=headers).status_code == 403
        assert web.client.get(f"/api/v1/users/{web.users[role]}", headers=headers).status_code == 403
        assert web.client.post("/api/v1/users", headers=headers, json=_new_agent(web)).status_code == 403
        r = web.client.patch(f"/api/v1/users/{web.users[role]}", headers=headers,
                             json={"role": "admin", "reason": "提权"})
        assert r.status_code == 403
        assert accounts.get_user(web.engine, web.users[role])["role"] == role  # type: ignore[index]
    assert not audit.read(web.engine, action="permission_changed")


def test_console_users(web: Web) -> None:
    csrf = web.login("admin")
    page = web.client.get("/console/users")
    assert page.status_code == 200
    for element in ('id="users-table"', 'id="user-create-form"', 'id="new-user-password"',
                    f'id="user-{web.users["agent"]}"', f'id="edit-save-{web.users["agent"]}"'):
        assert element in page.text
    hx = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    form = {"user_id": "svc-new", "display_name": "服务专员", "role": "service",
            "team_id": web.scope["service"]["team_id"], "can_reveal": "yes", "password": NEW_PASSWORD,
            "reason": "新入职"}
    r = web.client.post("/console/users", data=form, headers=hx)
    assert r.status_code == 200 and 'id="user-created"' in r.text, r.text
    r = web.client.post("/console/users", data=form | {"user_id": "svc-2", "password": "short"}, headers=hx)
    assert r.status_code == 400 and "密码" in r.text  # the console speaks Chinese (English with ?lang=en)
    edit = {"display_name": "服务专员", "role": "service", "staff_id": "", "branch_id": "",
            "team_id": web.scope["service"]["team_id"], "can_reveal": "no", "active": "yes", "password": "",
            "reason": "权限回收"}
    r = web.client.post("/console/users/svc-new", data=edit, headers=hx)
    assert r.status_code == 200 and "user-changed" in r.text
    assert accounts.get_user(web.engine, "svc-new")["can_reveal"] is False  # type: ignore[index]
    [entry] = audit.read(web.engine, action="permission_changed")
    assert entry["detail"]["after"] == {"can_reveal": False}
    r = web.client.post(f"/console/users/{web.users['admin']}", data=edit | {"role": "analyst"}, headers=hx)
    assert r.status_code == 409 and "user-error" in r.text
    assert re.search(r'id="user-svc-new"', web.client.get("/console/users").text)

    web.client.cookies.clear()
    web.login("head_office")
    assert web.client.get("/console/users").status_code == 403


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'serving.sqlite'}"
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOUHU_SERVING_URL", url)
    monkeypatch.setenv("NEW_PW", NEW_PASSWORD)
    monkeypatch.setenv("SHORT_PW", "short")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_cli_users_create_set_list(cli_env: str) -> None:
    from shouhu.cli.main import app

    r = runner.invoke(app, ["users", "create", "alice", "--role", "agent", "--staff-id", "AG1", "--can-reveal",
                            "--password-env", "NEW_PW", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["role"] == "agent"
    r = runner.invoke(app, ["users", "create", "bob", "--role", "admin", "--password-env", "SHORT_PW"])
    assert r.exit_code != 0 and "at least 10 characters" in r.output + r.stderr
    r = runner.invoke(app, ["users", "create", "carol", "--role", "wizard", "--password-env", "NEW_PW"])
    assert r.exit_code != 0 and "wizard" in r.output + r.stderr
    r = runner.invoke(app, ["users", "set", "alice", "--no-reveal", "--role", "branch_manager", "--branch-id", "BR1",
                            "--reason", "晋升", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["before"] == {"role": "agent", "can_reveal": True, "branch_id": None}
    r = runner.invoke(app, ["users", "list", "--json"])
    assert r.exit_code == 0
    [alice] = json.loads(r.stdout)
    assert (alice["role"], alice["can_reveal"], alice["branch_id"]) == ("branch_manager", False, "BR1")
    r = runner.invoke(app, ["users", "set", "alice"])
    assert r.exit_code != 0
    engine = serving.engine_for(cli_env)
    try:
        actions = [e["action"] for e in audit.read(engine)]
        assert actions == ["permission_changed", "user_created"]
        assert audit.verify(engine).ok
    finally:
        engine.dispose()
