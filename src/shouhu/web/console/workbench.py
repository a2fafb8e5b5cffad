"""Console: the agent workbench (工作台), mobile first. Today's tasks with one-tap complete (with its
outcome) and snooze, a link into needs diagnosis for the task's customer, and "my customers" by what
needs attention (protection gap, lapse risk, value tier). Needs ``activity.write``; every customer is
within the caller's row scope, every change is audited (web.activities)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.errors import ShouhuError
from shouhu.web import activities, i18n, workbench
from shouhu.web.auth import app_state, require
from shouhu.web.params import Offset, RowId
from shouhu.web.render import lang_of, page

router = APIRouter()
Worker = Depends(require(Action.ACTIVITY_WRITE))
PAGE_SIZE = 20

i18n.register({
    "wb_title": ("我的工作台", "My workbench"),
    "wb_today": ("今日待办", "Today's tasks"),
    "wb_today_hint": ("今天到期和已逾期的任务", "Due today or overdue"),
    "wb_no_tasks": ("今天没有待办任务", "No tasks due today"),
    "wb_overdue": ("已逾期", "Overdue"),
    "wb_due": ("到期", "Due"),
    "wb_complete": ("完成", "Done"),
    "wb_outcome": ("结果", "Outcome"),
    "wb_note": ("备注(可不填)", "Note (optional)"),
    "wb_snooze": ("推迟", "Snooze"),
    "wb_snooze_days": ("{n}天", "{n}d"),
    "wb_diagnose": ("需求诊断", "Diagnose needs"),
    "wb_open_360": ("客户360", "Customer 360"),
    "wb_done": ("已完成", "Done"),
    "wb_snoozed_until": ("已推迟至", "Snoozed until"),
    "wb_my_customers": ("我的客户", "My customers"),
    "wb_my_customers_hint": ("按需要关注的程度排序:失效风险、保障缺口、价值等级、今日待办",
                             "Most in need of attention first: lapse risk, protection gap, value tier, tasks due"),
    "wb_no_customers": ("没有客户", "No customers"),
    "wb_gap": ("保障缺口", "Protection gap"),
    "wb_lapse": ("失效风险", "Lapse risk"),
    "wb_tier": ("价值等级", "Value tier"),
    "wb_attention": ("关注度", "Attention"),
    "wb_not_assessed": ("未评估", "not assessed"),
    "wb_wan": ("万元", "10k CNY"),
    "wb_more": ("更多客户", "More customers"),
    "wb_prev": ("上一页", "Previous"),
    "wb_failed": ("未能保存", "Not saved"),
    "wb_retention": ("建议挽留", "Retention advised"),
})


@router.get("/work")
def workbench_page(request: Request, offset: Offset = 0, principal: Principal = Worker) -> Response:
    state, lang = app_state(request), lang_of(request)
    tasks = workbench.today_tasks(state, principal, lang)
    customers = workbench.my_customers(state, principal, limit=PAGE_SIZE, offset=offset, lang=lang)
    return page(request, "console/workbench.html", tasks=tasks, customers=customers,
                outcomes=workbench.outcomes(lang), snooze_days=workbench.SNOOZE_DAYS, offset=offset,
                prev_offset=max(offset - PAGE_SIZE, 0) if offset > 0 else None)


def _answer(request: Request, task_id: int, task: dict[str, object] | None, error: str | None,
            status_code: int = 200) -> Response:
    """HTMX: the task's card in its new state (or with the error); a plain form post: back to the page."""
    if not request.headers.get("hx-request"):
        if error:
            raise HTTPException(status_code, error)
        return RedirectResponse("/console/work", status_code=303)
    return page(request, "console/_workbench_task.html", status_code=status_code, r=task, task_id=task_id,
                error=error, outcomes=workbench.outcomes(lang_of(request)), snooze_days=workbench.SNOOZE_DAYS)


def _act(request: Request, principal: Principal, task_id: int, change: str, **args: object) -> Response:
    state = app_state(request)
    error: str | None
    try:
        if change == "complete":
            activities.complete(state, principal, request, task_id, str(args["outcome"]), str(args["note"]))
        else:
            until = activities.today() + timedelta(days=int(str(args["days"])))
            activities.snooze(state, principal, request, task_id, until.isoformat())
    except HTTPException as e:
        if e.status_code == 404:
            raise
        error, status = str(e.detail), e.status_code
    except ShouhuError as e:
        error, status = str(e), 400
    else:
        error, status = None, 200
    task = activities.get_task(state, principal, task_id, lang_of(request))  # the card in its state now
    return _answer(request, task_id, task, error, status)


@router.post("/work/tasks/{task_id}/complete")
def complete(task_id: RowId, request: Request, outcome: str = Form(..., max_length=32),
             note: str = Form("", max_length=2000), principal: Principal = Worker) -> Response:
    """Close the task as done with its outcome (exported to the warehouse by the next refresh)."""
    return _act(request, principal, task_id, "complete", outcome=outcome, note=note)


@router.post("/work/tasks/{task_id}/snooze")
def snooze(task_id: RowId, request: Request, days: int = Form(..., ge=1, le=30),
           principal: Principal = Worker) -> Response:
    return _act(request, principal, task_id, "snooze", days=days)
