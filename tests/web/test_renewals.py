"""Renewal collection through the application (SQLite and PostgreSQL): the published premium_due
mart, scoping, alerts, an audited outcome with its checks, the calendar, the persistency impact and
the outcomes' export to the warehouse for the next refresh."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, func, insert, select

from shouhu.operations import renewal
from shouhu.storage import audit
from shouhu.storage.tables import premium_due
from shouhu.storage.warehouse import Warehouse
from tests.web.conftest import Web

TODAY = date.today()


def _due(web: Web, customer: str, policy: str, due: date, state: str = "grace", premium: float = 1200.0) -> None:
    with web.engine.begin() as conn:
        conn.execute(insert(premium_due).values(
            policy_no=policy, due_date=due, customer_id=customer, agent_id="A-TEST", state=state,
            amount_due=premium, annual_premium=premium,
            lapse_date=due if state == "lapsed" else due + timedelta(days=renewal.GRACE_DAYS)))


def test_refresh_publishes_premium_due(web: Web) -> None:
    with web.engine.connect() as conn:
        states = dict(conn.execute(select(premium_due.c.state, func.count()).group_by(premium_due.c.state)).all())
    assert set(states) <= set(renewal.STATES) and sum(states.values()) > 0, states


def test_renewals_scoped_alerts_outcomes_calendar_and_impact(web: Web, tmp_path) -> None:
    own, foreign = web.own["agent"], web.foreign["agent"]
    with web.engine.begin() as conn:
        conn.execute(delete(premium_due))
    soon = TODAY - timedelta(days=renewal.GRACE_DAYS - 3)     # cover stops in 3 days: an alert
    _due(web, own, "P-SOON", soon, premium=6000.0)
    _due(web, own, "P-LATER", TODAY - timedelta(days=5))
    _due(web, own, "P-LAPSED", TODAY - timedelta(days=200), state="lapsed", premium=3000.0)
    _due(web, foreign, "P-FOREIGN", soon)
    agent = web.auth("agent")

    listed = web.client.get("/api/v1/renewals", headers=agent).json()
    assert [i["policy_no"] for i in listed["items"]] == ["P-LAPSED", "P-SOON", "P-LATER"]   # soonest lapse first
    assert [i["state_label"] for i in listed["items"]] == ["已失效可复效", "宽限期内", "宽限期内"]
    alerts = web.client.get("/api/v1/renewals", headers=agent, params={"alerts": True, "lang": "en"}).json()
    assert [(i["policy_no"], i["alert"], i["state_label"]) for i in alerts["items"]] == [
        ("P-SOON", True, "In grace period")]
    assert web.client.get("/api/v1/renewals", headers=agent, params={"customer_id": foreign}).json()["items"] == []
    assert web.client.get("/api/v1/renewals", headers=agent, params={"state": "paid"}).status_code == 422

    # a promise after cover stops is refused, naming the field; a valid one is stored and audited
    url = "/api/v1/renewals/P-SOON/outcome"
    late = (soon + timedelta(days=renewal.GRACE_DAYS + 1)).isoformat()
    r = web.client.post(url, headers=agent, json={"due_date": soon.isoformat(), "outcome": "promised",
                                                  "promised_date": late})
    assert r.status_code == 400 and "promised_date" in r.text and "grace period ends" in r.text
    r = web.client.post(url, headers=agent, json={"due_date": soon.isoformat(), "outcome": "promised",
                                                  "promised_date": (TODAY + timedelta(days=1)).isoformat(),
                                                  "note": "客户说明天转账, 手机 13812345678"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["note"] and "13812345678" not in body["note"]
    assert [h["outcome"] for h in body["history"]] == ["promised"]
    entry = audit.read(web.engine, action="collection_outcome", limit=1)[0]
    assert entry["target_id"] == "P-SOON" and entry["actor"] == web.users["agent"]
    again = web.client.get("/api/v1/renewals", headers=agent, params={"state": "grace"}).json()["items"]
    assert again[0]["latest_outcome"]["outcome_label"] == "承诺缴费"
    # the foreign customer's premium: 404 as if absent; analysts read but do not write
    r = web.client.post("/api/v1/renewals/P-FOREIGN/outcome", headers=agent,
                        json={"due_date": soon.isoformat(), "outcome": "unreachable"})
    assert r.status_code == 404
    r = web.client.post(url, headers=web.auth("analyst"), json={"due_date": soon.isoformat(), "outcome": "paid"})
    assert r.status_code == 403

    cal = web.client.get("/api/v1/renewals/calendar", headers=agent, params={"days": 90}).json()["items"]
    assert cal[0] == {"date": (soon + timedelta(days=renewal.GRACE_DAYS)).isoformat(), "premiums": 1,
                      "amount_due": 6000.0}
    assert sum(c["premiums"] for c in cal) == 2                # the foreign premium is not in the agent's calendar

    impact = web.client.get("/api/v1/renewals/impact", headers=agent).json()
    assert impact["premium_at_risk"] == 7200.0 and impact["policies_in_grace"] == 2
    assert impact["at_risk_by_outcome"] == {"none": 1200.0, "promised": 6000.0}
    assert impact["reinstatable_premium"] == 3000.0 and 0 < impact["share_at_risk"] <= 1
    web.client.post(url, headers=agent, json={"due_date": soon.isoformat(), "outcome": "paid"})
    assert web.client.get("/api/v1/renewals/impact", headers=agent).json()["premium_at_risk"] == 1200.0

    # outcomes go to the warehouse for the next refresh, without the note
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        assert renewal.export_to_warehouse(web.engine, wh) == {"op_collection_outcome": 2}
        rows = wh.query("SELECT policy_no, outcome FROM op_collection_outcome ORDER BY id")
        assert "note" not in wh.table("op_collection_outcome").columns
    assert [tuple(r) for r in rows] == [("P-SOON", "promised"), ("P-SOON", "paid")]


def test_console_renewals_page_and_outcome_form(web: Web) -> None:
    own = web.own["agent"]
    with web.engine.begin() as conn:
        conn.execute(delete(premium_due))
    soon = TODAY - timedelta(days=renewal.GRACE_DAYS - 2)
    _due(web, own, "P-CONSOLE", soon, premium=2400.0)
    csrf = web.login("agent")
    page = web.client.get("/console/renewals")
    assert page.status_code == 200 and "续期催收" in page.text and "P-CONSOLE" in page.text
    assert "即将失效" in page.text and "《保险法》第36条" in page.text and 'href="/console/renewals"' in page.text
    late = (soon + timedelta(days=renewal.GRACE_DAYS + 5)).isoformat()
    r = web.client.post("/console/renewals/P-CONSOLE/outcome", follow_redirects=False,
                        data={"csrf_token": csrf, "due_date": soon.isoformat(), "outcome": "promised",
                              "promised_date": late, "view": "alerts"})
    assert r.status_code == 303 and "error=" in r.headers["location"]
    shown = web.client.get(r.headers["location"])
    assert "grace period ends" in shown.text and 'id="renewal-error"' in shown.text
    r = web.client.post("/console/renewals/P-CONSOLE/outcome", follow_redirects=True,
                        data={"csrf_token": csrf, "due_date": soon.isoformat(), "outcome": "unreachable"})
    assert r.status_code == 200 and 'id="renewal-saved"' in r.text and "未联系上" in r.text
    r = web.client.post("/console/renewals/P-CONSOLE/outcome", follow_redirects=False,
                        data={"due_date": soon.isoformat(), "outcome": "paid"})          # no CSRF token
    assert r.status_code == 403
