"""The work API (/api/v1/work): task lifecycle with outcomes, 409 on closed tasks, scope (a foreign
customer's task is 404 on every path), an audit entry per action, activities with typed-in numbers
masked, and calendar counts. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from shouhu.storage import activities as activity_store
from shouhu.storage import audit
from shouhu.storage.tables import activity, customer_scope, task
from tests.web.conftest import Web

PHONE, ID_NUMBER = "13812345678", "110101199003071234"


def _day(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def _create(web: Web, role: str, customer: str, **body: Any) -> dict[str, Any]:
    r = web.client.post("/api/v1/work/tasks", headers=web.auth(role),
                        json={"customer_id": customer, "title": "回访客户", "due_date": _day(0)} | body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _last(web: Web, action: str) -> dict[str, Any]:
    entries = audit.read(web.engine, action=action, limit=1)
    assert entries, f"no audit entry {action}"
    return entries[0]


def test_complete_with_outcome_then_every_change_is_refused_with_409(web: Web) -> None:
    own, h = web.own["agent"], web.auth("agent")
    t = _create(web, "agent", own, priority=1)
    assert t["status"] == "open" and t["owner_user_id"] == web.users["agent"]
    created = _last(web, "task_created")
    assert created["target_id"] == str(t["id"]) and created["actor"] == web.users["agent"]
    assert created["detail"]["customer_id"] == own

    listed = web.client.get("/api/v1/work/tasks", headers=h, params={"view": "today", "mine": True,
                                                                     "limit": 500}).json()
    assert t["id"] in [i["id"] for i in listed["items"]]

    bad = web.client.post(f"/api/v1/work/tasks/{t['id']}/complete", headers=h, json={"outcome": "maybe"})
    assert bad.status_code == 400 and "outcome" in bad.json()["message"]
    r = web.client.post(f"/api/v1/work/tasks/{t['id']}/complete", headers=h,
                        json={"outcome": "interested", "note": f"客户说打 {PHONE} 联系"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done" and done["outcome"] == "interested" and done["closed_by"] == web.users["agent"]
    assert PHONE not in done["outcome_note"] and "138****5678" in done["outcome_note"]
    entry = _last(web, "task_done")
    assert entry["target_id"] == str(t["id"]) and entry["detail"] == {"customer_id": own, "outcome": "interested"}

    got = web.client.get(f"/api/v1/work/tasks/{t['id']}", headers=h).json()
    assert got["outcome_label"] == "有意向" and got["status_label"] == "已完成" and not got["overdue"]

    before = len(audit.read(web.engine, limit=10_000))
    for path, body in (("complete", {"outcome": "contacted"}), ("snooze", {"until": _day(3)}),
                       ("cancel", {"reason": "不需要了"}), ("reopen", None)):
        r = web.client.post(f"/api/v1/work/tasks/{t['id']}/{path}", headers=h, json=body)
        assert r.status_code == 409, (path, r.status_code, r.text)
        assert r.json()["error"] == "conflict" and "done" in r.json()["message"]
    r = web.client.post(f"/api/v1/work/tasks/{t['id']}/reassign", headers=web.auth("branch_manager"),
                        json={"to_user": web.users["agent"], "reason": "换人跟进"})
    assert r.status_code == 409
    assert len(audit.read(web.engine, limit=10_000)) == before      # refusals write nothing
    # a change decided on a stale read (someone completed the task meanwhile) is not written
    assert not activity_store.update_task(web.engine, t["id"], {"status": "cancelled"}, "late",
                                          expected_status="open")
    with web.engine.connect() as conn:
        row = conn.execute(select(task.c.outcome, task.c.status).where(task.c.id == t["id"])).one()
    assert (row.outcome, row.status) == ("interested", "done")


def test_snooze_reopen_cancel_and_reassign(web: Web) -> None:
    own, h = web.own["agent"], web.auth("agent")
    t = _create(web, "agent", own)
    for until in (_day(0), _day(181), "next week"):
        r = web.client.post(f"/api/v1/work/tasks/{t['id']}/snooze", headers=h, json={"until": until})
        assert r.status_code == 400 and "until" in r.json()["message"], (until, r.text)
    r = web.client.post(f"/api/v1/work/tasks/{t['id']}/snooze", headers=h, json={"until": _day(3)})
    assert r.status_code == 200 and r.json()["status"] == "snoozed" and r.json()["snoozed_until"] == _day(3)
    assert _last(web, "task_snoozed")["detail"] == {"customer_id": own, "until": _day(3)}
    today = web.client.get("/api/v1/work/tasks", headers=h, params={"view": "today", "limit": 500}).json()
    assert t["id"] not in [i["id"] for i in today["items"]]         # hidden until the day comes
    live = web.client.get("/api/v1/work/tasks", headers=h, params={"view": "open", "limit": 500}).json()
    assert t["id"] in [i["id"] for i in live["items"]]

    r = web.client.post(f"/api/v1/work/tasks/{t['id']}/reopen", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["snoozed_until"] is None
    assert _last(web, "task_reopened")["target_id"] == str(t["id"])
    r = web.client.post(f"/api/v1/work/tasks/{t['id']}/reopen", headers=h)
    assert r.status_code == 409                                      # only a snoozed task can be woken

    # reassigning needs task.assign (not an agent's); the new owner must see the customer and work tasks
    body = {"to_user": web.users["service"], "reason": "转服务专员"}
    assert web.client.post(f"/api/v1/work/tasks/{t['id']}/reassign", headers=h, json=body).status_code == 403
    bm = web.auth("branch_manager")
    for to_user in ("nobody-here", web.users["analyst"]):
        r = web.client.post(f"/api/v1/work/tasks/{t['id']}/reassign", headers=bm,
                            json={"to_user": to_user, "reason": "试试"})
        assert r.status_code == 400 and "to_user" in r.json()["message"], (to_user, r.text)
    r = web.client.post(f"/api/v1/work/tasks/{t['id']}/reassign", headers=bm, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["owner_user_id"] == web.users["service"]
    entry = _last(web, "task_reassigned")
    assert entry["reason"] == "转服务专员" and entry["detail"]["from_user"] == web.users["agent"]
    assert entry["detail"]["to_user"] == web.users["service"] and entry["actor"] == web.users["branch_manager"]
    mine = web.client.get("/api/v1/work/tasks", headers=web.auth("service"),
                          params={"view": "all", "mine": True, "limit": 500}).json()
    assert t["id"] in [i["id"] for i in mine["items"]]
    not_mine = web.client.get("/api/v1/work/tasks", headers=h, params={"view": "all", "mine": True,
                                                                       "limit": 500}).json()
    assert t["id"] not in [i["id"] for i in not_mine["items"]]

    r = web.client.post(f"/api/v1/work/tasks/{t['id']}/cancel", headers=h, json={"reason": "客户已自行处理"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["outcome_note"] == "客户已自行处理"
    entry = _last(web, "task_cancelled")
    assert entry["reason"] == "客户已自行处理" and entry["detail"]["customer_id"] == own


def test_an_agent_cannot_touch_a_foreign_customers_task(web: Web) -> None:
    foreign, h = web.foreign["agent"], web.auth("agent")
    theirs = _create(web, "admin", foreign)
    snoozed = _create(web, "admin", foreign)
    web.client.post(f"/api/v1/work/tasks/{snoozed['id']}/snooze", headers=web.auth("admin"), json={"until": _day(2)})
    before = len(audit.read(web.engine, limit=10_000))
    assert web.client.get(f"/api/v1/work/tasks/{theirs['id']}", headers=h).status_code == 404
    for path, body in (("complete", {"outcome": "contacted"}), ("snooze", {"until": _day(3)}),
                       ("cancel", {"reason": "越权取消"})):
        r = web.client.post(f"/api/v1/work/tasks/{theirs['id']}/{path}", headers=h, json=body)
        assert r.status_code == 404, (path, r.status_code)
        assert foreign not in r.text
    assert web.client.post(f"/api/v1/work/tasks/{snoozed['id']}/reopen", headers=h).status_code == 404
    other_branch = _create(web, "admin", web.foreign["branch_manager"])
    r = web.client.post(f"/api/v1/work/tasks/{other_branch['id']}/reassign", headers=web.auth("branch_manager"),
                        json={"to_user": web.users["branch_manager"], "reason": "越权"})
    assert r.status_code == 404                                       # a customer of another branch
    before += 1                                                       # the admin's task_created above
    assert len(audit.read(web.engine, limit=10_000)) == before
    with web.engine.connect() as conn:
        assert conn.execute(select(task.c.status).where(task.c.id == theirs["id"])).scalar_one() == "open"

    for view in ("all", "today", "open"):
        listed = web.client.get("/api/v1/work/tasks", headers=h, params={"view": view, "limit": 500}).json()
        assert foreign not in [i["customer_id"] for i in listed["items"]], view
    assert web.client.get("/api/v1/work/tasks", headers=h, params={"customer_id": foreign}).json()["items"] == []
    r = web.client.post("/api/v1/work/tasks", headers=h,
                        json={"customer_id": foreign, "title": "越权任务", "due_date": _day(1)})
    assert r.status_code == 404
    r = web.client.post("/api/v1/work/activities", headers=h,
                        json={"customer_id": foreign, "kind": "note", "summary": "越权备注"})
    assert r.status_code == 404
    assert web.client.get("/api/v1/work/activities", headers=h, params={"customer_id": foreign}).status_code == 404
    # the admin sees it
    assert web.client.get(f"/api/v1/work/tasks/{theirs['id']}", headers=web.auth("admin")).status_code == 200


def test_activities_mask_numbers_typed_in_and_are_audited(web: Web) -> None:
    own, h = web.own["agent"], web.auth("agent")
    t = _create(web, "agent", own)
    summary = f"电话回访，客户新号码 {PHONE}，身份证 {ID_NUMBER}，约下周见面"
    r = web.client.post("/api/v1/work/activities", headers=h,
                        json={"customer_id": own, "kind": "call", "summary": summary, "outcome": "contacted",
                              "task_id": t["id"]})
    assert r.status_code == 201, r.text
    logged = r.json()
    assert PHONE not in r.text and ID_NUMBER not in r.text
    assert "138****5678" in logged["summary"] and "110***********1234" in logged["summary"]
    with web.engine.connect() as conn:
        stored = conn.execute(select(activity.c.summary).where(activity.c.id == logged["id"])).scalar_one()
    assert PHONE not in stored and ID_NUMBER not in stored
    entry = _last(web, "activity_logged")
    assert entry["target_id"] == own and entry["detail"] == {"kind": "call", "activity_id": logged["id"]}

    listed = web.client.get("/api/v1/work/activities", headers=h, params={"customer_id": own}).json()
    first = listed["items"][0]
    assert first["id"] == logged["id"] and first["kind_label"] == "电话" and first["outcome_label"] == "已联系"
    assert PHONE not in str(listed)

    with web.engine.connect() as conn:  # a second customer of the agent's
        second = conn.execute(select(customer_scope.c.customer_id).where(
            customer_scope.c.agent_id == web.scope["agent"]["staff_id"], customer_scope.c.customer_id != own)
            .limit(1)).scalar_one()
    r = web.client.post("/api/v1/work/activities", headers=h,
                        json={"customer_id": second, "kind": "note", "summary": "记错客户", "task_id": t["id"]})
    assert r.status_code == 400 and "task_id" in r.json()["message"]
    r = web.client.post("/api/v1/work/activities", headers=h,
                        json={"customer_id": own, "kind": "visit", "summary": "拜访", "outcome": "later"})
    assert r.status_code == 400 and "outcome" in r.json()["message"]
    r = web.client.post("/api/v1/work/activities", headers=h, json={"customer_id": own, "kind": "sms", "summary": "x"})
    assert r.status_code == 422


def test_calendar_counts_live_tasks_per_due_day_in_scope(web: Web) -> None:
    own, foreign = web.own["agent"], web.foreign["agent"]
    h = web.auth("agent")
    params = {"start": _day(1), "days": 5}
    base = {d["day"]: d for d in web.client.get("/api/v1/work/calendar", headers=h, params=params).json()["days"]}
    ids = [_create(web, "agent", own, due_date=_day(2))["id"] for _ in range(3)]
    _create(web, "agent", own, due_date=_day(4))
    _create(web, "admin", foreign, due_date=_day(2))                   # not the agent's
    web.client.post(f"/api/v1/work/tasks/{ids[0]}/snooze", headers=h, json={"until": _day(3)})
    web.client.post(f"/api/v1/work/tasks/{ids[1]}/complete", headers=h, json={"outcome": "converted"})
    r = web.client.get("/api/v1/work/calendar", headers=h, params=params)
    assert r.status_code == 200
    cal = r.json()
    assert cal["start"] == _day(1) and cal["end"] == _day(5) and [d["day"] for d in cal["days"]] == \
        [_day(i) for i in range(1, 6)]
    now = {d["day"]: d for d in cal["days"]}

    def delta(day: str, status: str) -> int:
        return int(now[day].get(status, 0)) - int(base[day].get(status, 0))

    assert delta(_day(2), "open") == 1 and delta(_day(2), "snoozed") == 1   # the done one is not counted
    assert delta(_day(4), "open") == 1 and delta(_day(3), "open") == 0 and delta(_day(1), "open") == 0
    assert web.client.get("/api/v1/work/calendar", headers=h, params={"days": 63}).status_code == 422
    assert web.client.get("/api/v1/work/calendar", headers=h, params={"start": "tomorrow"}).status_code == 400
