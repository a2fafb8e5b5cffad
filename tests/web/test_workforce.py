"""Scorecards and the simulator through the API and console, on the shared test book: scoping by role."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shouhu.storage import accounts
from shouhu.storage.tables import customer_scope
from tests.web.conftest import Web

pytestmark = pytest.mark.parametrize("web", ["sqlite"], indirect=True)


def _ids(web: Web, role: str, level: str, **params: str) -> list[str]:
    r = web.client.get("/api/v1/workforce/scorecards", params={"level": level, **params}, headers=web.auth(role))
    assert r.status_code == 200, r.text
    return [row["id"] for row in r.json()["rows"]]


def test_each_role_sees_its_own_scorecards(web: Web) -> None:
    agent = accounts.get_user(web.engine, web.users["agent"])
    manager = accounts.get_user(web.engine, web.users["branch_manager"])
    assert agent and manager
    assert _ids(web, "agent", "agent") == [agent["staff_id"]]
    assert web.client.get("/api/v1/workforce/scorecards?level=branch", headers=web.auth("agent")).status_code == 403
    assert _ids(web, "branch_manager", "branch") == [manager["branch_id"]]
    with web.engine.connect() as conn:
        in_branch = {r[0] for r in conn.execute(select(customer_scope.c.agent_id).where(
            customer_scope.c.branch_id == manager["branch_id"], customer_scope.c.agent_id.isnot(None)))}
    agents = _ids(web, "branch_manager", "agent")
    assert agents and set(agents) <= in_branch
    assert len(_ids(web, "head_office", "branch")) > 1
    for role in ("service", "analyst"):
        assert web.client.get("/api/v1/workforce/scorecards", headers=web.auth(role)).status_code == 403


def test_scorecard_measures_and_console(web: Web) -> None:
    r = web.client.get("/api/v1/workforce/scorecards?level=branch", headers=web.auth("head_office")).json()
    cells = {m["measure"]: m for m in r["rows"][0]["measures"]}
    assert cells["persistency_13"]["value"] is not None  # the test book has 13-month cohorts
    assert cells["csat"]["band"] == "no_data" and cells["csat"]["value"] is None
    web.login("head_office")
    page = web.client.get("/console/workforce?level=branch")
    assert page.status_code == 200 and "13个月继续率" in page.text and "下钻" in page.text


def test_simulator_api_with_a_custom_profile(web: Web) -> None:
    h = web.auth("branch_manager")
    body = {"plan": "balanced", "years": 5, "profiles": {"careless": {"free_look": 0.3, "lapse_first_year": 0.5}}}
    r = web.client.post("/api/v1/workforce/simulate", headers=h, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["leader"] == "steward" and "careless" in r.json()["profiles"]
    bad = web.client.post("/api/v1/workforce/simulate", headers=h, json={"profiles": {"x": {"free_look": 2}}})
    assert bad.status_code == 400 and "free_look" in bad.text
    assert web.client.post("/api/v1/workforce/simulate", headers=web.auth("agent"), json={}).status_code == 403


def test_handovers_and_pods_follow_the_new_scope(web: Web) -> None:
    """The web test's agent leaves: their customers go to agents of the branch, the branch manager
    sees the handovers, the agent who left no longer sees the customers or their pods."""
    from shouhu.workforce import service

    agent = accounts.get_user(web.engine, web.users["agent"])
    assert agent
    service.sync(web.engine)
    own = web.own["agent"]
    assert web.client.get(f"/api/v1/customers/{own}/pod", headers=web.auth("agent")).status_code == 200
    result = service.leave(web.engine, agent["staff_id"], reason="web test")
    moved = {m["customer_id"]: m["to_staff"] for m in result["moves"]}
    assert own in moved or own in {s["customer_id"] for s in result["stranded"]}
    assert web.client.get("/api/v1/workforce/handovers", headers=web.auth("agent")).json()["handovers"] == []
    branch = web.client.get("/api/v1/workforce/handovers", headers=web.auth("branch_manager")).json()["handovers"]
    assert set(moved) == {h["customer_id"] for h in branch if h["policy_no"] is None}
    if own in moved:
        assert web.client.get(f"/api/v1/customers/{own}/pod", headers=web.auth("agent")).status_code == 404
        pod = web.client.get(f"/api/v1/customers/{own}/pod", headers=web.auth("branch_manager")).json()
        assert pod["scope"]["agent_id"] == moved[own] != agent["staff_id"]
        assert all(p["producer_of_service"] != agent["staff_id"] for p in pod["policies"])
