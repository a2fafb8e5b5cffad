"""Service cases through the application (SQLite and PostgreSQL): scoping, audit, masking, 409s, the
SLA sweep with escalation to the branch manager, the console pages and an H5 submission."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from shouhu.operations import cases as ops
from shouhu.operations.calendar import load_calendar
from shouhu.storage import accounts, audit
from shouhu.storage.tables import case_event, service_case, task
from shouhu.web.auth import H5_COOKIE
from tests.web.conftest import Web

ADDRESS = "上海市浦东新区世纪大道100号15楼"


def _open(web: Web, role: str, customer: str, **body: object) -> dict[str, object]:
    r = web.client.post("/api/v1/cases", headers=web.auth(role), json={"customer_id": customer} | body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_cases_scoped_audited_masked_and_lifecycle_refusals(web: Web) -> None:
    own, foreign = web.own["agent"], web.foreign["agent"]
    case = _open(web, "agent", own, case_type="address_change", subject="客户搬家", fields={"new_address": ADDRESS},
                 detail="客户来电 13812345678 要求变更地址")
    assert case["status"] == "open" and case["response_due_at"] and case["owner_user_id"] == web.users["agent"]
    assert ADDRESS not in json.dumps(case, ensure_ascii=False)
    assert case["fields"] == [{"name": "new_address", "label": "新地址", "value": "上海市浦东新*************",
                               "sensitive": True}][:1] or case["fields"][0]["value"].startswith("上海市浦东新")
    assert "13812345678" not in json.dumps(case, ensure_ascii=False)   # numbers typed in are masked
    with web.engine.connect() as conn:
        stored = conn.execute(select(service_case.c.payload_enc).where(service_case.c.id == case["id"])).scalar_one()
    assert ADDRESS not in stored                                         # encrypted at rest
    entry = audit.read(web.engine, action="case_opened", limit=1)[0]
    assert entry["target_id"] == str(case["id"]) and entry["actor"] == web.users["agent"]

    # another agent's customer's case: invisible (404), absent from lists, not writable
    theirs = _open(web, "admin", foreign, case_type="complaint", subject="投诉服务态度")
    for path in (f"/api/v1/cases/{theirs['id']}",):
        assert web.client.get(path, headers=web.auth("agent")).status_code == 404
    listed = web.client.get("/api/v1/cases", headers=web.auth("agent"), params={"view": "all"}).json()
    assert [c["id"] for c in listed["items"]] == [case["id"]]
    r = web.client.post(f"/api/v1/cases/{theirs['id']}/status", headers=web.auth("agent"), json={"status": "closed"})
    assert r.status_code == 404
    r = web.client.post("/api/v1/cases", headers=web.auth("agent"),
                        json={"customer_id": foreign, "case_type": "complaint", "subject": "越权"})
    assert r.status_code == 404
    # the branch manager of the branch sees both; analysts may read but not write
    assert web.client.get(f"/api/v1/cases/{theirs['id']}", headers=web.auth("head_office")).status_code == 200
    r = web.client.post(f"/api/v1/cases/{case['id']}/comments", headers=web.auth("analyst"), json={"note": "x"})
    assert r.status_code == 403

    # lifecycle: resolve, a refused move (409), reopen, audit of each
    cid = case["id"]
    r = web.client.post(f"/api/v1/cases/{cid}/status", headers=web.auth("agent"), json={"status": "resolved"})
    assert r.status_code == 200 and r.json()["first_response_at"] and r.json()["resolved_at"]
    r = web.client.post(f"/api/v1/cases/{cid}/status", headers=web.auth("agent"), json={"status": "waiting_customer"})
    assert r.status_code == 409 and "resolved" in r.json()["message"]
    r = web.client.post(f"/api/v1/cases/{cid}/reopen", headers=web.auth("agent"), json={"reason": "客户未收到"})
    assert r.status_code == 200 and r.json()["status"] == "in_progress" and r.json()["reopened"] == 1
    r = web.client.post(f"/api/v1/cases/{cid}/reopen", headers=web.auth("agent"), json={"reason": "再次"})
    assert r.status_code == 409
    actions = [e["action"] for e in audit.read(web.engine, actor=web.users["agent"], limit=20)]
    assert "case_reopened" in actions and "case_status" in actions

    # reveal: clear for a role with the grant, audited with the reason
    r = web.client.post(f"/api/v1/cases/{cid}/reveal", headers=web.auth("agent"), json={"reason": "寄送保单"})
    assert r.status_code == 200 and r.json()["values"] == {"new_address": ADDRESS}
    assert audit.read(web.engine, action="case_reveal", limit=1)[0]["reason"] == "寄送保单"
    r = web.client.post(f"/api/v1/cases/{cid}/reveal", headers=web.auth("analyst"), json={"reason": "看看"})
    assert r.status_code == 403

    # bad input names the field
    r = web.client.post("/api/v1/cases", headers=web.auth("agent"),
                        json={"customer_id": own, "case_type": "account_change", "subject": "换卡",
                              "fields": {"bank_name": "工行", "new_account_no": "12ab"}})
    assert r.status_code == 422 and "new_account_no" in r.json()["message"]


def test_sla_sweep_records_breaches_once_and_escalates_to_the_branch_manager(web: Web) -> None:
    own = web.own["agent"]
    case = _open(web, "agent", own, case_type="complaint", subject="理赔太慢投诉")
    with web.engine.begin() as conn:  # opened on 30 Sep 2026 16:00, as if untouched since
        conn.execute(update(service_case).where(service_case.c.id == case["id"]).values(
            opened_at="2026-09-30T16:00:00+08:00", clock_since="2026-09-30T16:00:00+08:00",
            response_due_at="2026-10-08T11:00:00+08:00", resolution_due_at="2026-10-21T11:00:00+08:00"))
    cal, sla = load_calendar(), ops.load_sla()
    when = datetime.fromisoformat("2026-10-08T11:30:00+08:00")
    first = ops.sweep(web.engine, cal, sla, when)
    assert first["breaches"] == 1 and first["escalation_tasks"] == 1          # response missed, resolution not yet
    assert ops.sweep(web.engine, cal, sla, when + timedelta(hours=1))["breaches"] == 0   # idempotent
    later = ops.sweep(web.engine, cal, sla, datetime.fromisoformat("2026-10-21T11:01:00+08:00"))
    assert later["breaches"] == 1 and later["already_recorded"] == 1           # resolution now, response known
    with web.engine.connect() as conn:
        kinds = [r.kind for r in conn.execute(select(case_event.c.kind).where(case_event.c.case_id == case["id"])
                                              .order_by(case_event.c.id))]
        tasks = conn.execute(select(task).where(task.c.source == "case")).fetchall()
    assert kinds == ["created", "breach", "escalation", "breach", "escalation"]
    assert len(tasks) == 2 and {t.owner_user_id for t in tasks} == {web.users["branch_manager"]}
    mine = web.client.get("/api/v1/work/tasks", headers=web.auth("branch_manager"),
                          params={"view": "all", "mine": True}).json()["items"]
    assert any(f"工单#{case['id']}" in t["title"] for t in mine)
    breached = web.client.get("/api/v1/cases", headers=web.auth("agent"), params={"view": "breached"}).json()
    assert [c["id"] for c in breached["items"]] == [case["id"]]


def test_console_pages_and_h5_submission(web: Web) -> None:
    own = web.own["agent"]
    csrf = web.login("agent")
    page = web.client.get(f"/console/customers/{own}")
    assert f"/console/cases/new?customer_id={own}" in page.text
    form = web.client.get(f"/console/cases/new?customer_id={own}")
    assert form.status_code == 200 and "新建服务工单" in form.text
    r = web.client.post("/console/cases", data={"csrf_token": csrf, "customer_id": own, "case_type": "complaint",
                                                "subject": "等待时间过长"}, follow_redirects=False)
    assert r.status_code == 303
    one = web.client.get(r.headers["location"])
    assert one.status_code == 200 and "投诉" in one.text and "计时中" in one.text
    bad = web.client.post("/console/cases", data={"csrf_token": csrf, "customer_id": own,
                                                  "case_type": "address_change", "subject": "搬家"})
    assert bad.status_code == 400 and "new_address" in bad.text
    listing = web.client.get("/console/cases")
    assert "等待时间过长" in listing.text

    # the customer, in the H5, files an address change and sees its status
    token, _ = accounts.create_session(web.engine, "customer", own)
    h5 = TestClient(web.client.app, base_url="http://127.0.0.1", cookies={H5_COOKIE: token})
    mine = h5.get("/h5/cases")
    h5_csrf = mine.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = h5.post("/h5/cases", data={"csrf_token": h5_csrf, "case_type": "address_change", "subject": "我搬家了",
                                   "new_address": ADDRESS}, follow_redirects=False)
    assert r.status_code == 303
    after = h5.get("/h5/cases")
    assert "我搬家了" in after.text and "待处理" in after.text and ADDRESS not in after.text
    r = h5.post("/h5/cases", data={"csrf_token": h5_csrf, "case_type": "partial_surrender", "subject": "退保"})
    assert r.status_code == 400                                            # not a self-service case type
    staff_view = web.client.get("/api/v1/cases", headers=web.auth("agent"), params={"customer_id": own}).json()
    filed = next(c for c in staff_view["items"] if c["subject"] == "我搬家了")
    assert filed["channel"] == "h5" and filed["owner_user_id"] is None
    assert audit.read(web.engine, action="case_opened", limit=1)[0]["actor_role"] == "customer"
