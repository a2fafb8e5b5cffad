"""The channel dashboard and its API: attribution, ROI, budget plan; company-wide aggregates only."""

from __future__ import annotations

import pytest

from tests.web.conftest import Web

# Channel analytics read the warehouse only; the serving backend does not change them: SQLite suffices.
pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.parametrize("web", ["sqlite"], indirect=True)]


def test_channel_api_for_head_office(web: Web) -> None:
    h = web.auth("head_office")
    attribution = web.client.get("/api/v1/channels/attribution?lookback_days=60", headers=h)
    assert attribution.status_code == 200, attribution.text
    body = attribution.json()
    models = {r["model"] for r in body["results"]}
    assert {"first_touch", "last_touch", "linear", "markov_1", "shapley"} <= models or len(models) >= 5
    total = body["totals"]["conversions"]
    for model in models:  # every model hands out exactly the conversions there are
        credited = sum(r["conversions"] for r in body["results"] if r["model"] == model)
        assert credited == pytest.approx(total - body["unattributed"].get("conversions", 0), rel=1e-6, abs=1e-6)
    roi = web.client.get("/api/v1/channels/roi?period=year", headers=h)
    assert roi.status_code == 200 and roi.json()["by_channel"]
    assert web.client.get("/api/v1/channels/roi?period=decade", headers=h).status_code == 422


def test_plan_respects_the_constraints(web: Web) -> None:
    h = web.auth("analyst")
    base = web.client.post("/api/v1/channels/plan", headers=h, json={}).json()
    budget = base["budget"]
    fixed = base["channels"][0]["channel"]
    r = web.client.post("/api/v1/channels/plan", headers=h,
                        json={"budget": budget, "fixed": [fixed], "max_change": 0.2})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert sum(c["proposed"] for c in plan["channels"]) == pytest.approx(budget, rel=1e-6)
    for c in plan["channels"]:
        if c["channel"] == fixed:
            assert c["proposed"] == pytest.approx(c["today"])
        else:
            assert c["today"] * 0.8 - 1 <= c["proposed"] <= c["today"] * 1.2 + 1
    bad = web.client.post("/api/v1/channels/plan", headers=h, json={"budget": -5})
    assert bad.status_code == 422 and "budget" in bad.text


@pytest.mark.parametrize("role", ["agent", "branch_manager", "service", "health_manager", "compliance"])
def test_channel_aggregates_need_the_channels_permission(web: Web, role: str) -> None:
    assert web.client.get("/api/v1/channels/roi", headers=web.auth(role)).status_code == 403
    assert web.client.post("/api/v1/channels/plan", headers=web.auth(role), json={}).status_code == 403


def test_channel_console_page(web: Web) -> None:
    csrf = web.login("head_office")
    page = web.client.get("/console/channels?lang=zh")
    assert page.status_code == 200 and "渠道协同" in page.text
    part = web.client.get("/console/channels/roi")
    assert part.status_code == 200 and 'id="roi-table"' in part.text and "13个月继续率" in part.text
    part = web.client.get("/console/channels/attribution?lookback_days=30")
    assert part.status_code == 200 and "attribution-table" in part.text
    plan = web.client.post("/console/channels/plan", data={"csrf_token": csrf, "max_change": "0.3"})
    assert plan.status_code == 200 and 'id="plan-table"' in plan.text
    assert web.client.post("/console/channels/plan", data={"max_change": "0.3"}).status_code == 403  # no CSRF
