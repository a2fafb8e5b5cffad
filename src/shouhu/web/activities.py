"""Tasks and activities for the API and the console: scoped reads, audited writes.

A task or activity is seen by whoever sees its customer (404 otherwise, never 403, so that its
existence does not leak). Every write is audited (``task_created``, ``task_done``, ``task_snoozed``,
``task_cancelled``, ``task_reopened``, ``task_reassigned``, ``activity_logged``). A refused
transition (completing a done task) is 409 with the reason.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import HTTPException, Request

from shouhu.access.policy import Principal, allowed, row_rule
from shouhu.access.roles import Action
from shouhu.operations import activities as ops
from shouhu.storage import accounts, audit
from shouhu.storage import activities as store
from shouhu.storage import customers as customer_store
from shouhu.web.auth import principal_from_user, record
from shouhu.web.customers import record_or_404
from shouhu.web.shaping import shape
from shouhu.web.state import AppState


def today() -> date:
    return date.today()


def _shaped(state: AppState, principal: Principal, row: dict[str, Any], lang: str) -> dict[str, Any]:
    item = shape(principal, row, state.cipher)
    item.pop("revealable", None)
    item["status_label"] = ops.TaskStatus(row["status"]).label(lang)
    item["source_label"] = ops.TaskSource(row["source"]).label(lang) if row["source"] in ops.TaskSource.codes() \
        else row["source"]
    item["priority_label"] = ops.PRIORITIES.get(int(row["priority"]), ("", ""))[0 if lang == "zh" else 1]
    item["outcome_label"] = ops.Outcome(row["outcome"]).label(lang) if row.get("outcome") else None
    item["overdue"] = ops.actionable(row, today()) and str(row["due_date"]) < today().isoformat()
    return item


def list_tasks(state: AppState, principal: Principal, *, view: str = "today", mine: bool = False,
               customer_id: str | None = None, limit: int = 50, offset: int = 0, lang: str = "zh"
               ) -> dict[str, Any]:
    if view not in store.VIEWS:
        raise HTTPException(422, f"view: must be one of {', '.join(store.VIEWS)}, not {view!r}")
    owner = (principal.user_id, principal.staff_id) if mine else None
    rows = store.list_tasks(state.engine, row_rule(principal), view=view, today=today(), customer_id=customer_id,
                            owner=owner, limit=limit + 1, offset=offset)
    items = [_shaped(state, principal, r, lang) for r in rows[:limit]]
    return {"items": items, "count": len(items), "view": view, "offset": offset, "limit": limit,
            "next_offset": offset + limit if len(rows) > limit else None}


def task_or_404(state: AppState, principal: Principal, task_id: int) -> dict[str, Any]:
    row = store.get_task(state.engine, row_rule(principal), task_id)
    if row is None:
        raise HTTPException(404, f"no task {task_id} that you may see")
    return row


def get_task(state: AppState, principal: Principal, task_id: int, lang: str = "zh") -> dict[str, Any]:
    row = task_or_404(state, principal, task_id)
    cust = customer_store.get_record(state.engine, row_rule(principal), row["customer_id"]) or {}
    return _shaped(state, principal, row | {k: cust.get(k) for k in ("name_masked", "name_enc")}, lang)


def create_task(state: AppState, principal: Principal, request: Request, *, customer_id: str, title: str,
                due_date: str, priority: int = 2, source: str = "manual") -> dict[str, Any]:
    customer = record_or_404(state, principal, customer_id)
    values = {"customer_id": customer_id, "household_id": customer.get("household_id"),
              "owner_user_id": principal.user_id, "owner_staff_id": principal.staff_id,
              "title": audit.scrub(ops.check_title(title)), "source": ops.check_source(source),
              "status": ops.TaskStatus.OPEN.value, "priority": ops.check_priority(priority),
              "due_date": ops.parse_day(due_date, "due_date").isoformat()}
    task_id = store.create_task(state.engine, values, principal.user_id)
    record(state, principal, "task_created", "task", str(task_id), request, customer_id=customer_id, source=source)
    return {"id": task_id} | values


def _apply(state: AppState, principal: Principal, request: Request, task: dict[str, Any], action: str,
           changes: dict[str, Any], **detail: Any) -> dict[str, Any]:
    """Write the changes if the task still has the status they were decided on (409 otherwise: two
    people completing the same task at once get one success and one conflict), then audit."""
    task_id = int(task["id"])
    if not store.update_task(state.engine, task_id, changes, principal.user_id, expected_status=task["status"]):
        raise HTTPException(409, f"task {task_id} was changed by someone else meanwhile; load it again")
    record(state, principal, action, "task", str(task_id), request, **detail)
    return task_or_404(state, principal, task_id)


def _transition(fn: Any, task: dict[str, Any], *args: Any) -> dict[str, Any]:
    try:
        changes: dict[str, Any] = fn(task, *args)
    except ops.InvalidTransition as e:
        raise HTTPException(409, str(e)) from e
    return changes


def complete(state: AppState, principal: Principal, request: Request, task_id: int, outcome: str,
             note: str = "") -> dict[str, Any]:
    task = task_or_404(state, principal, task_id)
    changes = _transition(ops.complete, task, outcome) | {"outcome_note": audit.scrub(note.strip())[:2000] or None}
    return _apply(state, principal, request, task, "task_done", changes, customer_id=task["customer_id"],
                  outcome=outcome)


def snooze(state: AppState, principal: Principal, request: Request, task_id: int, until: str) -> dict[str, Any]:
    task = task_or_404(state, principal, task_id)
    changes = _transition(ops.snooze, task, ops.parse_day(until, "until"), today())
    return _apply(state, principal, request, task, "task_snoozed", changes, customer_id=task["customer_id"],
                  until=until)


def cancel(state: AppState, principal: Principal, request: Request, task_id: int, reason: str) -> dict[str, Any]:
    task = task_or_404(state, principal, task_id)
    changes = _transition(ops.cancel, task) | {"outcome_note": audit.scrub(reason.strip())[:2000] or None}
    return _apply(state, principal, request, task, "task_cancelled", changes, reason=reason.strip()[:200],
                  customer_id=task["customer_id"])


def reopen(state: AppState, principal: Principal, request: Request, task_id: int) -> dict[str, Any]:
    task = task_or_404(state, principal, task_id)
    return _apply(state, principal, request, task, "task_reopened", _transition(ops.reopen, task),
                  customer_id=task["customer_id"])


def reassign(state: AppState, principal: Principal, request: Request, task_id: int, to_user: str,
             reason: str) -> dict[str, Any]:
    """Give a live task to another active account that may see its customer (else 400, saying why)."""
    task = task_or_404(state, principal, task_id)
    _transition(ops.reassignable, task)
    user = accounts.get_user(state.engine, to_user)
    if user is None or not user["active"]:
        raise HTTPException(400, f"to_user: no active account {to_user!r}")
    new_owner = principal_from_user(user)
    if not allowed(new_owner, Action.ACTIVITY_WRITE):
        raise HTTPException(400, f"to_user: {to_user} has the role {new_owner.role.value}, which may not work on tasks")
    if not customer_store.in_scope(state.engine, row_rule(new_owner), task["customer_id"]):
        raise HTTPException(400, f"to_user: {to_user} may not see this task's customer")
    changes = {"owner_user_id": user["user_id"], "owner_staff_id": user["staff_id"]}
    return _apply(state, principal, request, task, "task_reassigned", changes, reason=reason.strip()[:200],
                  from_user=task["owner_user_id"], from_staff=task["owner_staff_id"], to_user=to_user)


def log_activity(state: AppState, principal: Principal, request: Request, *, customer_id: str, kind: str,
                 summary: str, outcome: str | None = None, occurred_at: str | None = None,
                 task_id: int | None = None) -> dict[str, Any]:
    """A note, call or visit against a customer (and its household); numbers typed in are masked."""
    customer = record_or_404(state, principal, customer_id)
    if task_id is not None and task_or_404(state, principal, task_id)["customer_id"] != customer_id:
        raise HTTPException(400, f"task_id: task {task_id} is not about customer {customer_id}")
    text = summary.strip()
    if not 1 <= len(text) <= 2000:
        raise HTTPException(422, "summary: give 1 to 2000 characters")
    values = {"customer_id": customer_id, "household_id": customer.get("household_id"),
              "kind": ops.check_kind(kind), "summary": audit.scrub(text),
              "outcome": ops.check_outcome(outcome) if outcome else None,
              "occurred_at": occurred_at or store.now(), "task_id": task_id}
    activity_id = store.add_activity(state.engine, values, principal.user_id)
    record(state, principal, "activity_logged", "customer", customer_id, request, kind=kind, activity_id=activity_id)
    return {"id": activity_id} | values


def activities(state: AppState, principal: Principal, *, customer_id: str | None = None, limit: int = 50,
               lang: str = "zh") -> dict[str, Any]:
    if customer_id:
        record_or_404(state, principal, customer_id)
    rows = store.list_activities(state.engine, row_rule(principal), customer_id=customer_id, limit=limit)
    items = [r | {"kind_label": ops.ActivityKind(r["kind"]).label(lang),
                  "outcome_label": ops.Outcome(r["outcome"]).label(lang) if r.get("outcome") else None}
             for r in rows]
    return {"items": items, "count": len(items)}


def calendar(state: AppState, principal: Principal, start: str | None = None, days: int = 7) -> dict[str, Any]:
    first = ops.parse_day(start, "start") if start else today()
    if not 1 <= days <= 62:
        raise HTTPException(422, "days: between 1 and 62")
    last = first + timedelta(days=days - 1)
    counts = store.calendar(state.engine, row_rule(principal), first, last)
    out = [{"day": (first + timedelta(days=i)).isoformat(), **counts.get((first + timedelta(days=i)).isoformat(), {})}
           for i in range(days)]
    return {"start": first.isoformat(), "end": last.isoformat(), "days": out}
