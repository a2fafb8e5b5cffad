"""Tasks and activities: the rules (statuses, transitions, outcomes, NBA materialisation), no SQL.

A task belongs to one customer (household tasks name the household too) and is seen by whoever sees
the customer (``access.policy.row_rule``). Statuses: open → done | cancelled | snoozed; snoozed →
open | done | cancelled | snoozed; done and cancelled are final. A snoozed task whose snooze date has
come counts as open again (``actionable``) without anyone having to wake it.

Next best actions become tasks through :func:`plan_materialisation`, keyed by
``nba:<customer>:<action>:<product type>``: an action that already has an open or snoozed task
updates it, one whose task was closed less than ``COOLDOWN_DAYS`` ago is left alone (a refresh never
reopens or duplicates a finished task), anything else becomes a new open task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shouhu.errors import InvalidInput
from shouhu.model.vocab import LabelledEnum
from shouhu.storage import activities as store
from shouhu.storage.warehouse import Warehouse


class TaskStatus(LabelledEnum):
    OPEN = ("open", "待办", "Open")
    SNOOZED = ("snoozed", "已推迟", "Snoozed")
    DONE = ("done", "已完成", "Done")
    CANCELLED = ("cancelled", "已取消", "Cancelled")


class TaskSource(LabelledEnum):
    NBA = ("nba", "下一步最佳行动", "Next best action")
    JOURNEY = ("journey", "客户旅程", "Journey")
    MANUAL = ("manual", "手工创建", "Manual")
    CASE = ("case", "服务工单", "Service case")
    CUSTOMER = ("customer", "客户请求联系", "Customer asked to be called")  # H5 "contact my agent"
    CONTENT = ("content", "内容阅读跟进", "Customer read shared content")  # shouhu.content.engagement


class Outcome(LabelledEnum):
    CONTACTED = ("contacted", "已联系", "Contacted")
    NOT_REACHED = ("not_reached", "未联系上", "Not reached")
    INTERESTED = ("interested", "有意向", "Interested")
    NOT_INTERESTED = ("not_interested", "无意向", "Not interested")
    CONVERTED = ("converted", "已成交/已续期", "Converted or renewed")
    NOT_NEEDED = ("not_needed", "无需跟进", "Not needed")


class ActivityKind(LabelledEnum):
    NOTE = ("note", "备注", "Note")
    CALL = ("call", "电话", "Call")
    VISIT = ("visit", "拜访", "Visit")


FINAL = frozenset(store.FINAL)
LIVE = frozenset(store.LIVE)
PRIORITIES = {1: ("高", "High"), 2: ("中", "Normal"), 3: ("低", "Low")}
COOLDOWN_DAYS = 90
MAX_SNOOZE_DAYS = 180
DUE_DAYS_BY_PRIORITY = {1: 2, 2: 7, 3: 14}  # an NBA task's due date: the refresh day plus this


class InvalidTransition(InvalidInput):
    """A task cannot go from its status to the one asked for (the web layer answers 409)."""

    code = "invalid_transition"


def _choice(kind: type[LabelledEnum], field: str, value: str) -> str:
    if value not in kind.codes():
        raise InvalidInput(f"{field}: {value!r} is not one of {', '.join(kind.codes())}", field=field)
    return value


def check_outcome(value: str) -> str:
    return _choice(Outcome, "outcome", value)


def check_kind(value: str) -> str:
    return _choice(ActivityKind, "kind", value)


def check_source(value: str) -> str:
    return _choice(TaskSource, "source", value)


def check_priority(value: int) -> int:
    if value not in PRIORITIES:
        raise InvalidInput(f"priority: {value!r} must be 1 (high), 2 (normal) or 3 (low)", field="priority")
    return value


def check_title(value: str) -> str:
    text = value.strip()
    if not 2 <= len(text) <= 200:
        raise InvalidInput("title: give 2 to 200 characters", field="title")
    return text


def parse_day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field}: {value!r} is not a date (YYYY-MM-DD)", field=field) from None


def _refuse(task: Mapping[str, Any], what: str) -> InvalidTransition:
    return InvalidTransition(f"task {task['id']} is {task['status']}: it cannot be {what}",
                             task_id=task["id"], status=task["status"])


def complete(task: Mapping[str, Any], outcome: str) -> dict[str, Any]:
    """The changes that close a live task as done with an outcome."""
    if task["status"] in FINAL:
        raise _refuse(task, "completed")
    return {"status": TaskStatus.DONE.value, "outcome": check_outcome(outcome), "snoozed_until": None}


def cancel(task: Mapping[str, Any]) -> dict[str, Any]:
    if task["status"] in FINAL:
        raise _refuse(task, "cancelled")
    return {"status": TaskStatus.CANCELLED.value, "snoozed_until": None}


def snooze(task: Mapping[str, Any], until: date, today: date) -> dict[str, Any]:
    """Hide a live task until ``until`` (after today, at most MAX_SNOOZE_DAYS ahead)."""
    if task["status"] in FINAL:
        raise _refuse(task, "snoozed")
    if until <= today:
        raise InvalidInput(f"until: {until} is not after today ({today})", field="until")
    if until > today + timedelta(days=MAX_SNOOZE_DAYS):
        raise InvalidInput(f"until: at most {MAX_SNOOZE_DAYS} days ahead", field="until")
    return {"status": TaskStatus.SNOOZED.value, "snoozed_until": until.isoformat()}


def reopen(task: Mapping[str, Any]) -> dict[str, Any]:
    if task["status"] != TaskStatus.SNOOZED.value:
        raise _refuse(task, "woken (only a snoozed task can)")
    return {"status": TaskStatus.OPEN.value, "snoozed_until": None}


def reassignable(task: Mapping[str, Any]) -> dict[str, Any]:
    """No change of its own (the new owner is the caller's to give); refused for a closed task."""
    if task["status"] in FINAL:
        raise _refuse(task, "reassigned")
    return {}


def actionable(task: Mapping[str, Any], today: date) -> bool:
    """Open, or snoozed until today or earlier."""
    if task["status"] == TaskStatus.OPEN.value:
        return True
    return task["status"] == TaskStatus.SNOOZED.value and str(task["snoozed_until"] or "") <= today.isoformat()


# --- next best actions → tasks -----------------------------------------------------------------------


def nba_key(row: Mapping[str, Any]) -> str:
    return f"nba:{row['customer_id']}:{row['action']}:{row.get('product_type') or ''}"


def nba_priority(rank: int) -> int:
    return 1 if rank <= 1 else 2 if rank == 2 else 3


@dataclass
class Materialisation:
    inserts: list[dict[str, Any]]
    updates: list[tuple[int, dict[str, Any]]]
    kept_closed: int


def plan_materialisation(actions: Iterable[Mapping[str, Any]], existing: Mapping[str, Sequence[Mapping[str, Any]]],
                         owners: Mapping[str, str | None], today: date, titles: Mapping[str, str]
                         ) -> Materialisation:
    """What to write for the published actions, given the tasks that exist per source key."""
    plan = Materialisation([], [], 0)
    cutoff = (today - timedelta(days=COOLDOWN_DAYS)).isoformat()
    for row in actions:
        key = nba_key(row)
        tasks = existing.get(key, [])
        live = next((t for t in tasks if t["status"] in LIVE), None)
        facts = {"reason": row.get("reason_zh"), "expected_value": row.get("expected_value")}
        if live is not None:
            plan.updates.append((int(live["id"]), facts))
        elif any(str(t.get("closed_at") or "") >= cutoff for t in tasks):
            plan.kept_closed += 1
        else:
            priority = nba_priority(int(row.get("rank") or 3))
            plan.inserts.append(facts | {
                "customer_id": row["customer_id"], "owner_staff_id": owners.get(str(row["customer_id"])),
                "title": titles.get(str(row["action"]), str(row["action"])), "source": TaskSource.NBA.value,
                "source_key": key, "action": row["action"], "status": TaskStatus.OPEN.value,
                "priority": priority,
                "due_date": (today + timedelta(days=DUE_DAYS_BY_PRIORITY[priority])).isoformat()})
    return plan


def materialise(engine: Any, today: date, lang: str = "zh") -> dict[str, int]:
    """Turn the published next best actions (``next_best_action``) into tasks; safe to run again."""
    from shouhu.scoring.nba import ACTION_TYPES

    titles = {a.code: a.label_zh if lang == "zh" else a.label_en for a in ACTION_TYPES}
    actions, owners, existing = store.nba_inputs(engine)
    plan = plan_materialisation(actions, existing, owners, today, titles)
    store.write_materialised(engine, plan.inserts, plan.updates)
    return {"created": len(plan.inserts), "updated": len(plan.updates), "kept_closed": plan.kept_closed}


def export_to_warehouse(engine: Any, wh: Warehouse) -> dict[str, int]:
    """Copy every task and activity into the warehouse (``op_task``, ``op_activity``) for the next steps."""
    written = {}
    for name, data in store.export_tables(engine).items():
        wh.write_table(name, data)
        written[name] = data.num_rows
    return written
