"""SQL for tasks and activities (migration 0008), always through a row rule on the task's customer.

Rules (which transition is allowed, what a materialised task looks like) are in
``shouhu.operations.activities``; this module only reads and writes rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, Select, and_, func, insert, or_, select, update

from shouhu.access.policy import RowRule
from shouhu.storage.customers import scope_condition
from shouhu.storage.tables import activity, customer_scope, reflected, task

VIEWS = ("today", "overdue", "upcoming", "open", "closed", "all")
LIVE = ("open", "snoozed")
FINAL = ("cancelled", "done")


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def create_task(engine: Engine, values: Mapping[str, Any], actor: str) -> int:
    stamp = now()
    row = dict(values) | {"created_at": stamp, "created_by": actor, "updated_at": stamp}
    with engine.begin() as conn:
        return int(conn.execute(insert(task).values(**row).returning(task.c.id)).scalar_one())


def get_task(engine: Engine, rule: RowRule, task_id: int) -> dict[str, Any] | None:
    """The task, or None when absent or its customer is outside the rule."""
    query = select(task).where(task.c.id == task_id, scope_condition(rule, task.c.customer_id, task.c.customer_id))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def update_task(engine: Engine, task_id: int, changes: Mapping[str, Any], actor: str,
                expected_status: str | None = None) -> bool:
    """Apply the changes; with ``expected_status`` only while the task still has that status (False
    when it had changed meanwhile, so a concurrent completion cannot be overwritten)."""
    extra: dict[str, Any] = {"updated_at": now()}
    if changes.get("status") in FINAL:
        extra |= {"closed_at": extra["updated_at"], "closed_by": actor}
    query = update(task).where(task.c.id == task_id)
    if expected_status is not None:
        query = query.where(task.c.status == expected_status)
    with engine.begin() as conn:
        return bool(conn.execute(query.values(**(dict(changes) | extra))).rowcount)


def _actionable(today: str) -> Any:
    return or_(task.c.status == "open", and_(task.c.status == "snoozed", task.c.snoozed_until <= today))


def _view_condition(view: str, today: date) -> Any:
    day = today.isoformat()
    return {"today": and_(_actionable(day), task.c.due_date <= day),
            "overdue": and_(_actionable(day), task.c.due_date < day),
            "upcoming": and_(_actionable(day), task.c.due_date > day),
            "open": task.c.status.in_(list(LIVE)),
            "closed": task.c.status.in_(sorted(FINAL))}.get(view, task.c.id.isnot(None))


def _tasks_query(engine: Engine, rule: RowRule) -> Select[Any]:
    cust = reflected(engine, "customer")
    return (select(task, cust.c.name_masked, cust.c.name_enc)
            .select_from(task.outerjoin(cust, cust.c.customer_id == task.c.customer_id))
            .where(scope_condition(rule, task.c.customer_id)))


def list_tasks(engine: Engine, rule: RowRule, *, view: str = "today", today: date, customer_id: str | None = None,
               owner: tuple[str | None, str | None] | None = None, limit: int = 50, offset: int = 0
               ) -> list[dict[str, Any]]:
    """Tasks of the rule's customers in a view, soonest due and most urgent first.

    ``owner`` = (user id, staff id): only tasks given to that account, or (with no user set) to its staff id."""
    query = _tasks_query(engine, rule).where(_view_condition(view, today))
    if customer_id:
        query = query.where(task.c.customer_id == customer_id)
    if owner is not None:
        user_id, staff_id = owner
        mine = task.c.owner_user_id == user_id
        if staff_id:
            mine = or_(mine, and_(task.c.owner_user_id.is_(None), task.c.owner_staff_id == staff_id))
        query = query.where(mine)
    query = query.order_by(task.c.due_date, task.c.priority, task.c.id).limit(limit).offset(offset)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def calendar(engine: Engine, rule: RowRule, start: date, end: date) -> dict[str, dict[str, int]]:
    """Per due day in [start, end]: live tasks by status (snoozed ones on their due day too)."""
    query = (select(task.c.due_date, task.c.status, func.count())
             .where(scope_condition(rule, task.c.customer_id), task.c.status.in_(list(LIVE)),
                    task.c.due_date >= start.isoformat(), task.c.due_date <= end.isoformat())
             .group_by(task.c.due_date, task.c.status))
    out: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for day, status, n in conn.execute(query):
            out.setdefault(str(day), {})[str(status)] = int(n)
    return out


def add_activity(engine: Engine, values: Mapping[str, Any], actor: str) -> int:
    row = dict(values) | {"created_by": actor, "created_at": now()}
    with engine.begin() as conn:
        return int(conn.execute(insert(activity).values(**row).returning(activity.c.id)).scalar_one())


def list_activities(engine: Engine, rule: RowRule, *, customer_id: str | None = None,
                    household_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    query = select(activity).where(scope_condition(rule, activity.c.customer_id))
    if customer_id:
        query = query.where(activity.c.customer_id == customer_id)
    if household_id:
        query = query.where(activity.c.household_id == household_id)
    query = query.order_by(activity.c.occurred_at.desc(), activity.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


# --- materialising next best actions ----------------------------------------------------------------


def nba_inputs(engine: Engine) -> tuple[list[dict[str, Any]], dict[str, str | None], dict[str, list[dict[str, Any]]]]:
    """(published next best actions, customer -> primary agent, NBA tasks by source key)."""
    nba = reflected(engine, "next_best_action")
    with engine.connect() as conn:
        actions = [dict(r._mapping) for r in conn.execute(select(nba))]
        owners = {r[0]: r[1] for r in conn.execute(select(customer_scope.c.customer_id, customer_scope.c.agent_id))}
        existing: dict[str, list[dict[str, Any]]] = {}
        for r in conn.execute(select(task.c.id, task.c.source_key, task.c.status, task.c.closed_at)
                              .where(task.c.source == "nba")):
            existing.setdefault(str(r.source_key), []).append(dict(r._mapping))
    return actions, owners, existing


def write_materialised(engine: Engine, inserts: list[dict[str, Any]], updates: list[tuple[int, dict[str, Any]]]
                       ) -> None:
    """Insert new tasks and refresh the facts of live ones, in one transaction."""
    stamp = now()
    with engine.begin() as conn:
        if inserts:
            conn.execute(insert(task), [r | {"created_at": stamp, "created_by": "refresh", "updated_at": stamp}
                                        for r in inserts])
        for task_id, facts in updates:
            conn.execute(update(task).where(task.c.id == task_id).values(**facts))


def export_tables(engine: Engine) -> dict[str, pa.Table]:
    """Every task and activity as Arrow tables for the warehouse (activity summaries left out: the
    warehouse needs what happened, not the free text)."""
    with engine.connect() as conn:
        tasks = [dict(r._mapping) for r in conn.execute(select(task).order_by(task.c.id))]
        cols = [c for c in activity.c if c.name != "summary"]
        acts = [dict(r._mapping) for r in conn.execute(select(*cols).order_by(activity.c.id))]
    return {"op_task": _arrow(tasks, [c.name for c in task.c]),
            "op_activity": _arrow(acts, [c.name for c in cols])}


def _arrow(rows: list[dict[str, Any]], names: list[str]) -> pa.Table:
    ints = {"id", "priority", "task_id"}
    schema = pa.schema([(n, pa.int64() if n in ints else pa.float64() if n == "expected_value" else pa.string())
                        for n in names])
    return pa.Table.from_pylist(rows, schema=schema)
