"""H5: the next step after a protection plan, "contact my agent".

The signed-in customer asks to be called; the request becomes a task (operations.activities) for the
customer's primary agent, due the next day, with the plan's products in its title, and is audited
(``contact_agent``). A customer without one of our agents gets a task without an owner, which the
branch and its service team see in their task lists. While an earlier request is still open, a new
one creates nothing and says so.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine, select

from shouhu.access.policy import Principal
from shouhu.operations import activities as ops
from shouhu.storage import activities as store
from shouhu.storage import audit
from shouhu.storage.tables import task
from shouhu.web import i18n
from shouhu.web.activities import today
from shouhu.web.auth import app_state, record, require_customer_session
from shouhu.web.customers import record_or_404

router = APIRouter()
Customer = Depends(require_customer_session)
SOURCE = ops.TaskSource.CUSTOMER.value

i18n.register({
    "h5_contact_agent": ("联系我的代理人", "Contact my agent"),
    "h5_contact_hint": ("对方案有疑问或想投保？提交后您的代理人会尽快与您联系。",
                        "Questions, or ready to apply? Your agent will call you soon."),
    "h5_contact_done": ("已通知您的代理人，我们会在1个工作日内与您联系。",
                        "Your agent has been told and will call you within a working day."),
    "h5_contact_pending": ("您已提交过联系请求，代理人会尽快与您联系。",
                           "You have asked already; your agent will call you soon."),
    "h5_contact_note": ("想了解的内容（选填）", "What you would like to talk about (optional)"),
})


def _open_request(engine: Engine, customer_id: str) -> int | None:
    with engine.connect() as conn:
        found = conn.execute(select(task.c.id).where(task.c.customer_id == customer_id, task.c.source == SOURCE,
                                                     task.c.status.in_(sorted(store.LIVE)))).first()
    return None if found is None else int(found[0])


@router.post("/contact-agent")
def contact_agent(request: Request, products: str = Form("", max_length=300), note: str = Form("", max_length=300),
                  principal: Principal = Customer) -> Response:
    state = app_state(request)
    assert principal.customer_id
    customer_id = principal.customer_id
    customer = record_or_404(state, principal, customer_id)
    if _open_request(state.engine, customer_id) is not None:
        return RedirectResponse("/h5/plan?contact=pending#h5-contact", status_code=303)
    wanted = "、".join(p.strip() for p in products.split(",") if p.strip())[:120]
    title = "客户在H5查看保障方案后请求代理人联系" + (f"（方案：{wanted}）" if wanted else "")
    if note.strip():
        title += f"；客户留言：{note.strip()[:200]}"
    values = {"customer_id": customer_id, "household_id": customer.get("household_id"),
              "owner_user_id": None, "owner_staff_id": customer.get("agent_id"),
              "title": audit.scrub(ops.check_title(title[:200])), "source": SOURCE,
              "status": ops.TaskStatus.OPEN.value, "priority": 1,
              "due_date": (today() + timedelta(days=1)).isoformat()}
    task_id = store.create_task(state.engine, values, principal.user_id)
    record(state, principal, "contact_agent", "task", str(task_id), request, customer_id=customer_id,
           agent_id=customer.get("agent_id"), source=SOURCE)
    return RedirectResponse("/h5/plan?contact=done#h5-contact", status_code=303)
