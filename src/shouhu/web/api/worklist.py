"""Tasks and activities (notes, calls, visits): list, create, complete, snooze, cancel, reopen, reassign,
and the calendar. (``GET /tasks`` is the list of next best actions; these are the tasks staff work on.)"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from shouhu.access.policy import Principal
from shouhu.access.roles import Action
from shouhu.web import activities
from shouhu.web.auth import app_state, require
from shouhu.web.params import MAX_ID, Offset, RowId

router = APIRouter(tags=["tasks and activities"])
Reader = Depends(require(Action.CUSTOMER_READ))
Writer = Depends(require(Action.ACTIVITY_WRITE))
Lang = Literal["zh", "en"]
View = Literal["today", "overdue", "upcoming", "open", "closed", "all"]


@router.get("/work/tasks", summary="Tasks of your customers: today (due or overdue), overdue, upcoming, open, closed")
def list_tasks(request: Request, principal: Principal = Reader, view: View = "today",
               mine: bool = Query(False, description="only tasks given to you"),
               customer_id: str | None = Query(None, max_length=64), limit: int = Query(50, ge=1, le=500),
               offset: Offset = 0, lang: Lang = "zh") -> dict[str, Any]:
    return activities.list_tasks(app_state(request), principal, view=view, mine=mine, customer_id=customer_id,
                                 limit=limit, offset=offset, lang=lang)


class NewTask(BaseModel):
    customer_id: str = Field(max_length=64)
    title: str = Field(min_length=2, max_length=200)
    due_date: str = Field(description="YYYY-MM-DD")
    priority: int = Field(2, ge=1, le=3, description="1 high, 2 normal, 3 low")
    source: Literal["manual", "journey", "case"] = "manual"


@router.post("/work/tasks", summary="Create a task about a customer you see (audited)", status_code=201)
def create_task(body: NewTask, request: Request, principal: Principal = Writer) -> dict[str, Any]:
    return activities.create_task(app_state(request), principal, request, customer_id=body.customer_id,
                                  title=body.title, due_date=body.due_date, priority=body.priority, source=body.source)


@router.get("/work/tasks/{task_id}", summary="One task")
def get_task(task_id: RowId, request: Request, principal: Principal = Reader, lang: Lang = "zh") -> dict[str, Any]:
    return activities.get_task(app_state(request), principal, task_id, lang)


class Done(BaseModel):
    outcome: str = Field(description="contacted, not_reached, interested, not_interested, converted, not_needed")
    note: str = Field("", max_length=2000)


@router.post("/work/tasks/{task_id}/complete", summary="Complete a task with its outcome (audited; 409 if closed)")
def complete(task_id: RowId, body: Done, request: Request, principal: Principal = Writer) -> dict[str, Any]:
    return activities.complete(app_state(request), principal, request, task_id, body.outcome, body.note)


class Snooze(BaseModel):
    until: str = Field(description="YYYY-MM-DD, after today")


@router.post("/work/tasks/{task_id}/snooze", summary="Snooze a task until a day (audited; 409 if closed)")
def snooze(task_id: RowId, body: Snooze, request: Request, principal: Principal = Writer) -> dict[str, Any]:
    return activities.snooze(app_state(request), principal, request, task_id, body.until)


class Reason(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


@router.post("/work/tasks/{task_id}/cancel", summary="Cancel a task (audited; 409 if closed)")
def cancel(task_id: RowId, body: Reason, request: Request, principal: Principal = Writer) -> dict[str, Any]:
    return activities.cancel(app_state(request), principal, request, task_id, body.reason)


@router.post("/work/tasks/{task_id}/reopen", summary="Wake a snoozed task now (audited)")
def reopen(task_id: RowId, request: Request, principal: Principal = Writer) -> dict[str, Any]:
    return activities.reopen(app_state(request), principal, request, task_id)


class Reassign(Reason):
    to_user: str = Field(max_length=64, description="an active account that may see the task's customer")


@router.post("/work/tasks/{task_id}/reassign", summary="Give a task to another account (audited)")
def reassign(task_id: RowId, body: Reassign, request: Request,
             principal: Principal = Depends(require(Action.TASK_ASSIGN))) -> dict[str, Any]:
    return activities.reassign(app_state(request), principal, request, task_id, body.to_user, body.reason)


@router.get("/work/activities", summary="Notes, calls and visits of your customers, newest first")
def list_activities(request: Request, principal: Principal = Reader,
                    customer_id: str | None = Query(None, max_length=64), limit: int = Query(50, ge=1, le=500),
                    lang: Lang = "zh") -> dict[str, Any]:
    return activities.activities(app_state(request), principal, customer_id=customer_id, limit=limit, lang=lang)


class NewActivity(BaseModel):
    customer_id: str = Field(max_length=64)
    kind: Literal["note", "call", "visit"]
    summary: str = Field(min_length=1, max_length=2000)
    outcome: str | None = None
    task_id: int | None = Field(None, ge=1, le=MAX_ID)


@router.post("/work/activities", summary="Log a note, call or visit (audited; numbers typed in are masked)",
             status_code=201)
def log_activity(body: NewActivity, request: Request, principal: Principal = Writer) -> dict[str, Any]:
    return activities.log_activity(app_state(request), principal, request, customer_id=body.customer_id,
                                   kind=body.kind, summary=body.summary, outcome=body.outcome, task_id=body.task_id)


@router.get("/work/calendar", summary="Live tasks per due day (open and snoozed), from a day for N days")
def calendar(request: Request, principal: Principal = Reader, start: str | None = Query(None, max_length=10),
             days: int = Query(7, ge=1, le=62)) -> dict[str, Any]:
    return activities.calendar(app_state(request), principal, start, days)
