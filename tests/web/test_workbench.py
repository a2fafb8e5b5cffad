"""The agent workbench (/console/work): today's tasks given to the agent (due and overdue, nothing
foreign), one-tap complete with the outcome and snooze over HTMX (audited, 409 once closed), links
into needs diagnosis pre-filled for the customer (from the task, the customer list and the 360),
"my customers" by attention within scope, masked; and the outcome reaching the warehouse export
that the next refresh reads. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from shouhu.operations.activities import export_to_warehouse
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage import activities as activity_store
from shouhu.storage import audit
from shouhu.storage.tables import customer_scope, reflected, task
from shouhu.storage.warehouse import Warehouse
from shouhu.storage.workbench import due_condition
from tests.conftest import KEY
from tests.web.conftest import Web

HX = {"HX-Request": "true"}


def _task(web: Web, customer: str, due: int, owner: str | None, title: str, status: str = "open") -> int:
    return activity_store.create_task(web.engine, {
        "customer_id": customer, "owner_user_id": owner, "title": title, "source": "manual", "status": status,
        "priority": 1, "due_date": (date.today() + timedelta(days=due)).isoformat()}, "test")


def test_workbench_lists_todays_tasks_and_completes_and_snoozes_them(web: Web, tmp_path: Path) -> None:
    own, foreign, me = web.own["agent"], web.foreign["agent"], web.users["agent"]
    today_id = _task(web, own, 0, me, "今日回访任务")
    overdue_id = _task(web, own, -2, me, "逾期回访任务")
    later_id = _task(web, own, 5, me, "下周回访任务")
    others_id = _task(web, own, 0, web.users["service"], "服务专员的任务")
    foreign_id = _task(web, foreign, 0, me, "外部客户任务")  # a stray task about a customer not theirs
    csrf = web.login("agent")
    page = web.client.get("/console/work")
    assert page.status_code == 200
    html = page.text
    assert 'id="nav-workbench"' in html and "我的工作台" in html and "今日待办" in html
    for shown in (today_id, overdue_id):
        assert f'id="task-{shown}"' in html
    for hidden in (later_id, others_id, foreign_id):
        assert f'id="task-{hidden}"' not in html
    assert foreign not in html
    card = html.split(f'id="task-{overdue_id}"')[1].split("</li>")[0]
    assert "已逾期" in card and f"/console/advice?customer_id={own}&run=1" in card

    # one tap: complete with the outcome (HTMX answers the card in its new state)
    r = web.client.post(f"/console/work/tasks/{today_id}/complete", headers=HX | {"X-CSRF-Token": csrf},
                        data={"outcome": "converted", "note": "已续期"})
    assert r.status_code == 200 and f'id="task-{today_id}-done"' in r.text and "已成交/已续期" in r.text
    with web.engine.connect() as conn:
        row = conn.execute(select(task).where(task.c.id == today_id)).one()
    assert (row.status, row.outcome, row.closed_by) == ("done", "converted", me)
    entry = audit.read(web.engine, action="task_done", limit=1)[0]
    assert entry["target_id"] == str(today_id) and entry["actor"] == me
    again = web.client.post(f"/console/work/tasks/{today_id}/complete", headers=HX | {"X-CSRF-Token": csrf},
                            data={"outcome": "contacted"})
    assert again.status_code == 409 and f'id="task-{today_id}-error"' in again.text
    bad = web.client.post(f"/console/work/tasks/{overdue_id}/complete", headers=HX | {"X-CSRF-Token": csrf},
                          data={"outcome": "whatever"})
    assert bad.status_code == 400 and "outcome" in bad.text
    no_csrf = web.client.post(f"/console/work/tasks/{overdue_id}/complete", headers=HX, data={"outcome": "contacted"})
    assert no_csrf.status_code == 403
    r = web.client.post(f"/console/work/tasks/{foreign_id}/complete", headers=HX | {"X-CSRF-Token": csrf},
                        data={"outcome": "contacted"})
    assert r.status_code == 404

    # snooze three days: gone from today's list
    r = web.client.post(f"/console/work/tasks/{overdue_id}/snooze", headers=HX | {"X-CSRF-Token": csrf},
                        data={"days": "3"})
    until = (date.today() + timedelta(days=3)).isoformat()
    assert r.status_code == 200 and f"已推迟至 {until}" in r.text
    assert f'id="task-{overdue_id}"' not in web.client.get("/console/work").text
    # a plain form post (no script) goes back to the page
    plain = web.client.post(f"/console/work/tasks/{later_id}/complete", follow_redirects=False,
                            data={"outcome": "not_needed", "csrf_token": csrf})
    assert plain.status_code == 303 and plain.headers["location"] == "/console/work"

    # the outcome goes to the warehouse with the refresh's first step (op_task)
    with Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}") as wh:
        written = export_to_warehouse(web.engine, wh)
        exported = wh.read("op_task").to_pylist()
    assert written["op_task"] == len(exported)
    done = {r["id"]: r for r in exported}
    assert done[today_id]["status"] == "done" and done[today_id]["outcome"] == "converted"
    assert done[today_id]["closed_by"] == me and done[later_id]["outcome"] == "not_needed"
    assert done[overdue_id]["status"] == "snoozed" and done[overdue_id]["snoozed_until"] == until


def test_my_customers_by_attention_within_scope_masked_with_diagnosis_links(web: Web) -> None:
    web.login("agent")
    own = web.own["agent"]
    html = web.client.get("/console/work").text
    listed = re.findall(r'class="wb-cust" id="cust-(CU[0-9a-f]{12})"[^>]*data-attention="([0-9.]+)"', html)
    assert listed, "no customers on the workbench"
    with web.engine.connect() as conn:
        mine = {r[0] for r in conn.execute(select(customer_scope.c.customer_id)
                                           .where(customer_scope.c.agent_id == web.scope["agent"]["staff_id"]))}
        cust = reflected(web.engine, "customer")
        names = {r.customer_id: r.name_enc for r in conn.execute(select(cust.c.customer_id, cust.c.name_enc)
                                                                  .where(cust.c.customer_id.in_(mine)))}
    ids = [c for c, _ in listed]
    scores = [float(s) for _, s in listed]
    assert set(ids) <= mine and len(ids) == min(20, len(mine))
    assert scores == sorted(scores, reverse=True)
    cipher = FieldCipher.from_text(KEY)
    for cid in ids:
        clear = cipher.decrypt(names[cid])
        assert clear and len(clear) >= 2 and clear not in html, "a clear name on the workbench"
        assert f"/console/advice?customer_id={cid}&run=1" in html
    # a due task adds attention: the customer moves up
    last = ids[-1]
    before = dict(listed)[last]
    with web.engine.connect() as conn:
        due = conn.execute(select(func.count()).select_from(task).where(
            task.c.customer_id == last, due_condition(date.today()))).scalar_one()
    for i in range(3):
        _task(web, last, 0, web.users["agent"], f"关注度任务{i}")
    after = dict(re.findall(r'id="cust-(CU[0-9a-f]{12})"[^>]*data-attention="([0-9.]+)"',
                            web.client.get("/console/work").text))
    assert float(after[last]) == float(before) + 10 * (min(due + 3, 3) - min(due, 3))
    assert due < 3 or float(after[last]) == float(before)
    # the 360 links straight into diagnosis for that customer; the workbench is for roles that work tasks
    assert f'href="/console/advice?customer_id={own}&run=1#step-run" id="c360-diagnose"' in \
        web.client.get(f"/console/customers/{own}").text
    # a branch manager's scope is the branch: "my customers" are the ones given to them
    web.login("branch_manager")
    bm_page = web.client.get("/console/work").text
    assert 'id="wb-no-customers"' in bm_page
    _task(web, own, 9, web.users["branch_manager"], "机构经理跟进")
    listed_bm = re.findall(r'class="wb-cust" id="cust-(CU[0-9a-f]{12})"', web.client.get("/console/work").text)
    assert listed_bm == [own]
    web.login("analyst")
    assert web.client.get("/console/work").status_code == 403
    assert 'id="nav-workbench"' not in web.client.get("/console/").text
