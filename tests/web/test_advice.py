"""Advice over the web: questionnaires, assessments, diagnosis, plan, review PDF; API and console;
row scope (404), role (403), audit, suitability log, household members outside the scope, and the
HiGHS stdout redirect under concurrency."""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any

from sqlalchemy import select

from shouhu.storage import audit
from shouhu.storage.tables import customer_scope, reflected
from tests.web.conftest import Web, serving_count

RISK = {"age_band": "31_45", "income_stability": "stable", "investable_share": "25_50", "experience": "funds",
        "horizon": "5_10y", "goal": "balanced", "max_loss": "15pct", "reaction": "hold", "liquidity_need": "maybe"}
FACT = {"age": 38, "sex": "M", "annual_income": 300_000, "annual_expenses": 120_000, "debts": 0,
        "mortgage": 800_000, "savings": 100_000, "dependents": [{"relation": "child", "age": 6}],
        "retirement_age": 60, "health_conditions": [], "budget": 25_000}


def _actions(web: Web, action: str, target: str) -> list[dict[str, Any]]:
    return audit.read(web.engine, action=action, target_id=target)


def test_api_assessment_diagnosis_plan_review(web: Web) -> None:
    cid, headers = web.own["agent"], web.auth("agent")
    q = web.client.get("/api/v1/questionnaires/risk_tolerance", headers=headers)
    assert q.status_code == 200 and len(q.json()["questions"]) == 9 and q.json()["levels"][0]["code"] == "R1"

    r = web.client.post(f"/api/v1/customers/{cid}/assessments", headers=headers,
                        json={"questionnaire": "risk_tolerance", "answers": RISK})
    assert r.status_code == 201, r.text
    risk = r.json()
    assert risk["level"] == "R3" and risk["alias"] == "C3" and risk["score"] == 31
    r = web.client.post(f"/api/v1/customers/{cid}/assessments", headers=headers,
                        json={"questionnaire": "fact_find", "answers": FACT})
    assert r.status_code == 201, r.text
    entries = _actions(web, "assessment", cid)
    assert len(entries) == 2 and entries[0]["actor"] == web.users["agent"]
    assert "300000" not in str(entries[0]["detail"])  # answers (income) are not copied into the audit log
    listed = web.client.get(f"/api/v1/customers/{cid}/assessments", headers=headers).json()["items"]
    assert [a["questionnaire"] for a in listed] == ["risk_tolerance", "fact_find"]

    d = web.client.get(f"/api/v1/customers/{cid}/diagnosis", headers=headers)
    assert d.status_code == 200, d.text
    diag = d.json()
    assert diag["fact_find_used"] is True and diag["method"] == "dime"
    me = next(m for m in diag["members"] if m["person_id"] == cid)
    assert me["age"] == 38 and {g["coverage"] for g in me["gaps"]} >= {"life", "critical_illness"}
    life = next(g for g in me["gaps"] if g["coverage"] == "life")
    assert life["need"]["method"] == "dime" and life["need"]["zh"]
    runs = _actions(web, "advice_run", cid)  # every run is on record (sales traceability)
    assert len(runs) == 1 and runs[0]["detail"]["fact_find_used"] is True
    assert runs[0]["detail"]["record_income_shown"] is False and runs[0]["detail"]["plan"] is False

    before = serving_count(web.engine, "SELECT count(*) FROM suitability_check")
    p = web.client.get(f"/api/v1/customers/{cid}/plan", headers=headers)
    assert p.status_code == 200, p.text
    plan = p.json()["plan"]
    assert plan["risk_level"] == "R3" and plan["risk_assessed"] is True
    assert plan["recommended"]["budget"] <= 25_000 and plan["recommended"]["premium"] <= 25_000 + 0.01
    assert [a["name"] for a in plan["alternatives"]] == ["cheaper", "fuller"]
    for item in plan["recommended"]["items"]:
        assert {c["check"] for c in item["checks"]} >= {"customer_risk", "seller_qualification", "issue_age"}
        assert all(c["passed"] for c in item["checks"])
    assert plan["checks_logged"] > 0
    assert len(_actions(web, "advice_run", cid)) == 2
    assert serving_count(web.engine, "SELECT count(*) FROM suitability_check") == before + plan["checks_logged"]

    pdf = web.client.get(f"/api/v1/customers/{cid}/review.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    exports = _actions(web, "export", cid)
    assert exports and exports[0]["detail"]["document"] == "review_pdf"


def test_api_bad_input_names_the_field(web: Web) -> None:
    cid, headers = web.own["agent"], web.auth("agent")
    bad = dict(RISK, horizon="forever")
    del bad["goal"]
    r = web.client.post(f"/api/v1/customers/{cid}/assessments", headers=headers,
                        json={"questionnaire": "risk_tolerance", "answers": bad})
    assert r.status_code == 422
    fields = {p["field"]: p["reason"] for p in r.json()["problems"]}
    assert set(fields) == {"body.answers.horizon", "body.answers.goal"}
    assert "forever" in fields["body.answers.horizon"] and "required" in fields["body.answers.goal"]
    r = web.client.post(f"/api/v1/customers/{cid}/assessments", headers=headers,
                        json={"questionnaire": "fact_find", "answers": dict(FACT, age="old")})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body.answers.age"
    r = web.client.post(f"/api/v1/customers/{cid}/assessments", headers=headers,
                        json={"questionnaire": "tarot", "answers": {}})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "body.questionnaire"
    r = web.client.get(f"/api/v1/customers/{cid}/plan?method=astrology", headers=headers)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "query.method"
    r = web.client.get(f"/api/v1/customers/{cid}/plan?budget=-5", headers=headers)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "query.budget"
    assert not _actions(web, "assessment", cid)


def test_api_denials(web: Web) -> None:
    paths = ["/diagnosis", "/plan", "/review.pdf", "/assessments"]
    for role in ("agent", "branch_manager"):
        foreign, headers = web.foreign[role], web.auth(role)
        for path in paths:
            assert web.client.get(f"/api/v1/customers/{foreign}{path}", headers=headers).status_code == 404, path
        r = web.client.post(f"/api/v1/customers/{foreign}/assessments", headers=headers,
                            json={"questionnaire": "risk_tolerance", "answers": RISK})
        assert r.status_code == 404
    for role in ("analyst", "compliance", "service", "health_manager"):
        headers = web.auth(role)
        for path in paths:
            r = web.client.get(f"/api/v1/customers/{web.own['agent']}{path}", headers=headers)
            assert r.status_code == 403, (role, path)
        r = web.client.post(f"/api/v1/customers/{web.own['agent']}/assessments", headers=headers,
                            json={"questionnaire": "risk_tolerance", "answers": RISK})
        assert r.status_code == 403
    assert web.client.get(f"/api/v1/customers/{web.own['agent']}/plan").status_code == 401
    assert serving_count(web.engine, "SELECT count(*) FROM assessment") == 0


def test_household_members_outside_the_scope_are_role_only(web: Web) -> None:
    """An agent's customer whose household includes someone else's customer: that member shows up by
    household role only, in the diagnosis, the plan and the review."""
    member = reflected(web.engine, "household_member")
    agent = web.scope["agent"]["staff_id"]
    with web.engine.connect() as conn:
        mine = select(customer_scope.c.customer_id).where(customer_scope.c.agent_id == agent)
        households = select(member.c.household_id).where(member.c.customer_id.in_(mine))
        rows = conn.execute(select(member.c.household_id, member.c.customer_id, customer_scope.c.agent_id)
                            .join(customer_scope, customer_scope.c.customer_id == member.c.customer_id,
                                  isouter=True)
                            .where(member.c.household_id.in_(households))).all()
    by_household: dict[str, list[tuple[str, str | None]]] = {}
    for household_id, customer_id, owner in rows:
        by_household.setdefault(household_id, []).append((customer_id, owner))
    mixed = [m for m in by_household.values() if {o for _, o in m} - {agent} and agent in {o for _, o in m}]
    assert mixed, "the test book has no household shared between agents"
    members = sorted(mixed[0])
    own = next(c for c, o in members if o == agent)
    other = next(c for c, o in members if o != agent)
    headers = web.auth("agent")
    r = web.client.get(f"/api/v1/customers/{own}/plan", headers=headers)
    assert r.status_code == 200, r.text
    body = r.text
    assert other not in body
    run = _actions(web, "advice_run", own)[0]["detail"]
    assert run["record_income_shown"] is True  # no fact-find: the record's income is quoted, and on record
    hidden = [m for m in r.json()["diagnosis"]["members"] if not m["visible"]]
    assert hidden and all(set(m) == {"person_id", "visible", "role", "role_zh", "role_en"} for m in hidden)
    admin = web.client.get(f"/api/v1/customers/{own}/diagnosis", headers=web.auth("admin")).json()
    assert other in {m["person_id"] for m in admin["members"]}


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_console_advice_flow(web: Web) -> None:
    cid = web.own["agent"]
    csrf = web.login("agent")
    pick = web.client.get(f"/console/advice?q={cid}")
    assert pick.status_code == 200 and f"/console/advice?customer_id={cid}" in pick.text
    page = web.client.get(f"/console/advice?customer_id={cid}")
    assert page.status_code == 200
    for element in ('id="risk-form"', 'id="factfind-form"', 'id="advice-run-form"', 'id="review-pdf"',
                    "风险承受能力评估", "您的投资经验?"):
        assert element in page.text, element
    form = {"csrf_token": csrf, "customer_id": cid, "questionnaire": "risk_tolerance"} | RISK
    assert web.client.post("/console/advice/assessments", data={k: v for k, v in form.items() if k != "csrf_token"},
                           follow_redirects=False).status_code == 403
    r = web.client.post("/console/advice/assessments", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = web.client.get(r.headers["location"])
    assert "R3/C3" in page.text and 'id="advice-saved"' in page.text

    bad = {"csrf_token": csrf, "customer_id": cid, "questionnaire": "fact_find", "age": "200", "sex": "M",
           "annual_income": "abc", "dependents-0-relation": "child", "dependents-0-age": ""}
    r = web.client.post("/console/advice/assessments", data=bad)
    assert r.status_code == 400
    assert 'id="err-age"' in r.text and 'id="err-annual_income"' in r.text and 'id="err-dependents"' in r.text
    assert 'value="200"' in r.text  # what was typed is kept
    good = {"csrf_token": csrf, "customer_id": cid, "questionnaire": "fact_find", "age": "40", "sex": "F",
            "annual_income": "250,000", "dependents-0-relation": "child", "dependents-0-age": "8",
            "health_conditions": ["hypertension"], "education_goal": "true", "budget": ""}
    r = web.client.post("/console/advice/assessments", data=good, follow_redirects=False)
    assert r.status_code == 303, r.text

    result = web.client.get(f"/console/advice/result?customer_id={cid}&method=income_replacement&budget=20000",
                            headers={"HX-Request": "true"})
    assert result.status_code == 200
    for element in ('id="advice-diagnosis"', f'id="gap-chart-{cid}"', 'id="plan-recommended"', 'id="plan-budget"',
                    'id="plan-cheaper"', 'id="plan-fuller"', "echarts.init", "客户风险等级", "income_replacement"):
        assert element in result.text, element
    assert "<html" not in result.text
    full = web.client.get(f"/console/advice?customer_id={cid}&run=1&method=dime&budget=abc")
    assert full.status_code == 200 and 'id="advice-run-error"' in full.text
    en = web.client.get(f"/console/advice/result?customer_id={cid}&lang=en")
    assert "Customer risk level" in en.text

    html = web.client.get(f"/console/advice/review?customer_id={cid}&lang=zh")
    assert html.status_code == 200 and "家庭保单检视报告" in html.text
    pdf = web.client.get(f"/console/advice/review.pdf?customer_id={cid}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert _actions(web, "export", cid)

    foreign = web.foreign["agent"]
    for path in (f"/console/advice?customer_id={foreign}", f"/console/advice/result?customer_id={foreign}",
                 f"/console/advice/review?customer_id={foreign}", f"/console/advice/review.pdf?customer_id={foreign}"):
        assert web.client.get(path).status_code == 404, path
    r = web.client.post("/console/advice/assessments", data=dict(form, customer_id=foreign))
    assert r.status_code == 404
    picked = web.client.get(f"/console/advice?q={foreign}").text
    assert f"customer_id={foreign}" not in picked and 'id="no-results"' in picked


def test_console_advice_needs_the_permission(web: Web) -> None:
    web.login("analyst")
    assert web.client.get("/console/advice").status_code == 403
    assert web.client.get(f"/console/advice?customer_id={web.own['agent']}").status_code == 403
    assert web.client.get(f"/console/advice/review.pdf?customer_id={web.own['agent']}").status_code == 403
    page = web.client.get("/console/")
    assert 'href="/console/advice"' not in page.text


def test_plan_solves_never_leave_stdout_redirected() -> None:
    """The HiGHS stdout redirect is process-wide: overlapping solves in threads must restore fd 1."""
    from shouhu.advice import plan

    before = os.readlink("/proc/self/fd/1") if os.path.exists("/proc/self/fd/1") else None
    errors: list[BaseException] = []

    def solve() -> None:
        try:
            for _ in range(20):
                with plan._quiet_stdout():
                    time.sleep(0.001)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=solve) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    if before is not None:
        assert os.readlink("/proc/self/fd/1") == before
