"""Web fixtures: the small book refreshed once per session (``published``, in tests/conftest.py, shared
with the browser tests), served by the real application.

``web`` gives each test its own copy of the serving database (SQLite file copy, or a PostgreSQL
database cloned from a template), accounts for every role, and customers inside and outside each
account's scope, so that permission tests can try foreign objects.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from shouhu.access.policy import service_team_id
from shouhu.privacy.passwords import hash_password
from shouhu.settings import Settings
from shouhu.storage import accounts
from shouhu.storage.tables import customer_scope, staff
from tests.conftest import KEY, Published

PASSWORD = "correct-horse-battery"
ROLES = ("admin", "head_office", "branch_manager", "agent", "service", "health_manager", "analyst", "compliance")



def post_login(client: Any, data: dict[str, str], **kwargs: Any) -> Any:
    """POST the console sign-in form as a browser does: GET the form first for its CSRF token."""
    form = client.get("/console/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found, "the sign-in form carries a CSRF token"
    return client.post("/console/login", data={"csrf_token": found.group(1)} | data, **kwargs)

@dataclass
class Web:
    client: TestClient
    settings: Settings
    engine: Engine
    users: dict[str, str]                           # role -> user id
    scope: dict[str, dict[str, Any]]                 # role -> account scope
    own: dict[str, str] = field(default_factory=dict)        # role -> a customer inside its scope
    foreign: dict[str, str] = field(default_factory=dict)    # role -> a customer outside its scope
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, role: str) -> str:
        if role not in self._tokens:
            self._tokens[role] = accounts.create_token(self.engine, self.users[role], "test")
        return self._tokens[role]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role)}"}

    def login(self, role: str, client: TestClient | None = None) -> str:
        """Sign in to the console with a cookie session; returns the CSRF token of the session."""
        c = client or self.client
        r = post_login(c, {"user_id": self.users[role], "password": PASSWORD},
                   follow_redirects=False)
        assert r.status_code == 303, r.text
        page = c.get("/console/customers")
        import re

        found = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
        assert found, "no CSRF token on the page"
        return found.group(1)


_HASH: list[str] = []


def _accounts(engine: Engine) -> tuple[dict[str, str], dict[str, dict[str, Any]], dict[str, str], dict[str, str]]:
    """An account per role in the busiest branch; own and foreign customers for each."""
    with engine.connect() as conn:
        busiest = conn.execute(
            select(customer_scope.c.agent_id, customer_scope.c.branch_id, func.count())
            .join(staff, staff.c.staff_id == customer_scope.c.agent_id)
            .group_by(customer_scope.c.agent_id, customer_scope.c.branch_id)
            .order_by(func.count().desc(), customer_scope.c.agent_id).limit(1)).one()
        agent, branch = busiest[0], busiest[1]
        team = service_team_id(branch)

        def one(cond: Any) -> str:
            return str(conn.execute(select(customer_scope.c.customer_id).where(cond)
                                    .order_by(customer_scope.c.customer_id).limit(1)).scalar_one())

        own_agent = one(customer_scope.c.agent_id == agent)
        other_branch = one(customer_scope.c.branch_id != branch)
        same_branch_other_agent = one((customer_scope.c.branch_id == branch)
                                      & ((customer_scope.c.agent_id != agent) | customer_scope.c.agent_id.is_(None)))
    scope = {"admin": {}, "head_office": {}, "branch_manager": {"branch_id": branch},
             "agent": {"staff_id": agent, "branch_id": branch}, "service": {"team_id": team},
             "health_manager": {"team_id": team}, "analyst": {}, "compliance": {}}
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    users = {}
    for role in ROLES:
        user_id = f"t-{role}"
        accounts.create_user(engine, user_id=user_id, display_name=f"测试{role}", role=role,
                             password_hash=_HASH[0], can_reveal=role not in ("analyst", "compliance"),
                             **scope[role])
        users[role] = user_id
    own = {r: own_agent for r in ROLES}
    foreign = {"agent": same_branch_other_agent, "branch_manager": other_branch, "service": other_branch,
               "health_manager": other_branch}
    return users, scope, own, foreign


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def web(request: pytest.FixtureRequest, published: Published, tmp_path: Path) -> Iterator[Web]:
    from shouhu.web.app import create_app

    if request.param == "sqlite":
        copy = tmp_path / "serving.sqlite"
        shutil.copy(published.sqlite_path, copy)
        url = f"sqlite:///{copy}"
        cleanup = None
    else:
        import psycopg

        server = request.getfixturevalue("pg_server")
        template = request.getfixturevalue("pg_template")
        name = f"shouhu_web_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = f"{server.rsplit('/', 1)[0]}/{name}"

        def cleanup() -> None:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    settings = Settings(data_dir=tmp_path / "data", warehouse_url=published.warehouse_url, serving_url=url,
                        encryption_key=KEY)
    app = create_app(settings, otp_sender=lambda phone, code: SENT.append((phone, code)))
    engine = app.state.shouhu.engine
    users, scope, own, foreign = _accounts(engine)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield Web(client, settings, engine, users, scope, own, foreign)
    engine.dispose()
    if cleanup:
        cleanup()


SENT: list[tuple[str, str]] = []  # (phone, code) of every one-time code "sent" in tests


def serving_count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())
